//! The ticket log: every stored Automerge change of a tenant numbered by `seq`, each ticket's
//! compacted document and index row, the tenant's ticket counter, and what each device holds.
//! Reads go through [`StoreRead`] (one consistent snapshot per call); one commit of changes is
//! one [`TicketCommit`], whoever wrote it (a device, a person, the server).
//!
//! The ordering rule the pull relies on (docs/adr/0009-storage-seam-and-commit-order.md):
//! within a tenant, seq order is commit order. A commit takes the tenant's next seqs and no
//! other commit of that tenant becomes visible in between, so a reader that has seen seq `n`
//! never later finds a new change with a seq at or below `n`.

use std::collections::HashMap;

use fieldwork_core::model::Erasure;
use fieldwork_core::ticket::{ActorId, Part};
use fieldwork_protocol::sync::SnapshotSummary;

use super::{BlobRef, Conflict, Missing, Result, StorageError};

/// The version of a ticket the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHead {
    pub tenant_id: String,
    /// Seq (within the tenant) of the ticket's newest change; identifies the stored snapshot.
    pub last_seq: u64,
    /// Who sees it, as of `last_seq` (written in the same transaction as the document).
    pub reporter_id: String,
    pub assignee: Option<String>,
    pub team: Option<String>,
    /// The user ids the ticket names, as last written ([`TicketWrite::people`]); empty for a
    /// ticket no commit has written them for yet (stored before the store kept them).
    pub people: Vec<String>,
    /// The `last_seq` of the commit that last changed [`Self::people`] or
    /// [`Self::staff_people`] (0 if none did).
    pub people_seq: u64,
    /// The user ids only the staff document names (internal notes' authors, the staff
    /// history): named to staff only.
    pub staff_people: Vec<String>,
    /// The seq of the ticket's last rewrite ([`TicketLog::rewrite`]); 0 if never rewritten. A
    /// device holding the ticket from before it holds a history that is gone.
    pub rewritten_seq: u64,
    /// The effective time of the ticket's newest timed change ([`ChangeTimes`]), if any.
    pub last_effective_at: Option<i64>,
    /// How many public changes of the ticket are stored after its compacted snapshot: the
    /// writer compacts again ([`TicketWrite::snapshot`]) once they are many.
    pub tail: u32,
}

/// When a change by a person happened on the server's clock (`docs/brain.md`, "Time of offline
/// edits"): its author, its time on the device's clock, and its effective time (that time
/// corrected by the device's measured offset, clamped between the ticket's previous change and
/// the change's arrival).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeTimes {
    /// The user id of the change's author.
    pub author_id: String,
    pub device_time: i64,
    pub effective_at: i64,
}

impl TicketHead {
    /// The fields visibility is judged on (`core::rules::sees`).
    pub fn audience(&self) -> fieldwork_core::rules::Audience<'_> {
        fieldwork_core::rules::Audience {
            tenant: &self.tenant_id,
            reporter: &self.reporter_id,
            assignee: self.assignee.as_deref(),
            team: self.team.as_deref(),
        }
    }
}

/// Narrows a pull's walk for a user who sees only some tickets (not the back office): tickets
/// they reported, are assigned, whose team queue they work, or that the device holds (so it
/// hears of evictions). The walk still judges each ticket exactly (`core::rules::sees`); this
/// only spares it the tenant's other tickets, which would otherwise cost every device a walk
/// over everyone's changes.
#[derive(Debug, Clone, Copy)]
pub struct PullScope<'a> {
    pub user_id: &'a str,
    pub team: Option<&'a str>,
    pub device_id: &'a str,
}

/// One stored change, as the pull walks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    pub seq: u64,
    pub ticket_id: String,
    /// The document of the ticket it belongs to.
    pub part: Part,
    /// Lowercase hex.
    pub actor_id: String,
    pub bytes: Vec<u8>,
}

/// A device's recorded relation to a ticket (see `device_tickets` in the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub covered_seq: u64,
    pub evicted: bool,
    pub since_cursor: u64,
}

/// A new state of a device's relation to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingUpdate {
    pub ticket_id: String,
    pub holding: Holding,
}

/// An accepted change, in the order it is to be numbered.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub ticket_id: String,
    /// The document of the ticket it belongs to.
    pub part: Part,
    pub hash: String,
    pub actor_id: String,
    pub bytes: Vec<u8>,
    /// When it happened, for a change by a person (`None` for the server's own).
    pub times: Option<ChangeTimes>,
}

/// The new state of a ticket touched by a commit: its index row and compacted document.
#[derive(Debug, Clone)]
pub struct TicketWrite {
    pub id: String,
    /// The `last_seq` the writer read; `None` for a ticket the store has never had. The commit
    /// fails with [`super::Conflict::Moved`] if another writer moved the ticket meanwhile.
    pub expected_last_seq: Option<u64>,
    pub number: Option<String>,
    pub reporter_id: String,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub status: String,
    /// The user ids the ticket names (`Ticket::people`, bounded by the writer), in order. When
    /// they differ from the stored ones, the store sets [`TicketHead::people_seq`] to the
    /// ticket's new `last_seq`, in the same commit.
    pub people: Vec<String>,
    /// The public document compacted at the ticket's new `last_seq`, or `None` to keep the
    /// stored snapshot: the commit's public changes of the ticket then follow it, and the stored
    /// document is that snapshot with every public change of the ticket stored after it
    /// ([`TicketHead::tail`]; [`StoreRead::ticket_snapshot`] reads them as one). A new ticket
    /// written without one starts from an empty snapshot; a rewrite must bring one.
    pub snapshot: Option<Vec<u8>>,
    /// What a device lists the ticket by, read from that document (`Ticket::summary` of its
    /// public view); stored beside it and sent with it in pulls.
    pub summary: Option<SnapshotSummary>,
    /// The compacted staff document when the commit changed it; `None` keeps the stored one.
    pub staff_snapshot: Option<Vec<u8>>,
    /// The user ids only the staff document names, when the commit changed it (`None` keeps
    /// the stored ones); a change of them moves [`TicketHead::people_seq`] as `people` does.
    pub staff_people: Option<Vec<String>>,
    /// The effective time of the ticket's newest timed change after the commit; `None` keeps
    /// the stored one.
    pub last_effective_at: Option<i64>,
    /// The ticket's category, for the index row.
    pub category: Option<String>,
    /// When the ticket was created (its creation's effective time); written with a new ticket
    /// only (`None` keeps the stored one).
    pub created_at: Option<i64>,
    /// What the ticket is listed and found by ([`super::TicketList`]); `None` keeps the stored.
    pub listing: Option<super::TicketListing>,
    /// Its tags and internal notes, when the commit changed the staff document (`None` keeps
    /// the stored ones).
    pub staff_listing: Option<super::StaffListing>,
}

/// One of a reporter's tickets, as the index row has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedTicket {
    pub id: String,
    pub category: Option<String>,
    pub created_at: i64,
}

/// Everything one commit stores, in one transaction.
#[derive(Debug, Clone)]
pub struct TicketCommit {
    pub tenant_id: String,
    /// The device that pushed the changes, which holds `held_by_device` from now on; `None`
    /// for changes written by a person through the API or by the server itself.
    pub device_id: Option<String>,
    /// Server time.
    pub received_at: i64,
    pub changes: Vec<NewChange>,
    pub tickets: Vec<TicketWrite>,
    /// The tenant's ticket counter moves from `.0` to `.1` (checked like `expected_last_seq`).
    pub numbers: Option<(u64, u64)>,
    /// Tickets the pushing device holds from now on (the ones it created).
    pub held_by_device: Vec<String>,
    /// Blobs named by the attachments of the touched tickets as written (kept if already there).
    pub blob_refs: Vec<BlobRef>,
}

/// A ticket's documents rewritten without erased content (`docs/staff-data.md`, "Erase"): its
/// stored changes all go, replaced by the rewrite's, in one transaction.
#[derive(Debug, Clone)]
pub struct TicketRewrite {
    pub tenant_id: String,
    /// Server time.
    pub at: i64,
    /// The ticket's new index row and documents; `expected_last_seq` is the `last_seq` the
    /// rewrite was made from ([`super::Conflict::Moved`] if the ticket moved since). The staff
    /// snapshot is `None` for a ticket with no staff data.
    pub ticket: TicketWrite,
    /// The rewrite's changes, public first: they get the tenant's next seqs, and the ticket's
    /// `rewritten_seq` is the last of them. Every change stored before for the ticket is deleted;
    /// its hash is remembered ([`StoreRead::forgotten_change`]), never its bytes.
    pub changes: Vec<NewChange>,
    /// Blobs the ticket no longer names (erased photos and their thumbnails): their references
    /// from this ticket go, so a blob no other ticket names is unnamed from now on.
    pub unnamed_blobs: Vec<String>,
    /// What was erased, recorded in the erasure log with who did it and why.
    pub erased: Vec<Erasure>,
    /// Who asked: a user id, or the operator of the admin command.
    pub by: String,
    /// The request's reference (a case number), never the content.
    pub reference: Option<String>,
}

/// One row of the erasure log: who erased what from which ticket, when and why, without the
/// content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureRecord {
    pub ticket_id: String,
    /// The ticket's `rewritten_seq` after the erase.
    pub seq: u64,
    #[serde(flatten)]
    pub erasure: Erasure,
    pub by: String,
    pub reference: Option<String>,
    /// Server time.
    pub at: i64,
}

/// Reads inside one consistent snapshot of the store. Everything is asked within one tenant:
/// tickets, changes and seqs of other tenants do not exist for the caller (a ticket id used in
/// another tenant is unknown here, exactly like one never used).
pub trait StoreRead {
    /// The ticket of an already stored change of the tenant, by hash (hex).
    fn change_ticket(&self, tenant_id: &str, hash: &str) -> Result<Option<String>>;
    /// The ticket of a change a rewrite deleted ([`TicketRewrite`]), by hash (hex): its content
    /// lives on in the rewrite, minus what was erased.
    fn forgotten_change(&self, tenant_id: &str, hash: &str) -> Result<Option<String>>;
    /// At most `limit` tickets the user reported in the tenant created at or after `since`, oldest
    /// first.
    fn reported_since(
        &self,
        tenant_id: &str,
        reporter_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<ReportedTicket>>;
    /// The times of the ticket's stored changes by people, in seq order.
    fn ticket_times(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ChangeTimes>>;
    /// The erasure log of one ticket of the tenant, oldest first.
    fn erasures(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ErasureRecord>>;
    fn ticket_head(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<TicketHead>>;
    /// At most `limit` ids of the tenant's tickets that are not closed or cancelled, most
    /// recently changed first: what the brain watches after a restart.
    fn live_tickets(&self, tenant_id: &str, limit: usize) -> Result<Vec<String>>;
    /// How many open tickets (not resolved, closed or cancelled) each assignee of the tenant
    /// holds, by user id: the load routing weighs.
    fn open_load(&self, tenant_id: &str) -> Result<Vec<(String, u32)>>;
    /// The id of the tenant's ticket numbered `number` (`FW-000123`).
    fn ticket_by_number(&self, tenant_id: &str, number: &str) -> Result<Option<String>>;
    /// The public document at [`TicketHead::last_seq`], as Automerge loads it: the compacted
    /// snapshot followed by the public changes stored after it ([`TicketWrite::snapshot`]).
    fn ticket_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>>;
    /// What a device lists the ticket by, read from the public document at
    /// [`TicketHead::last_seq`] ([`TicketWrite::summary`]); `None` for a document stored without
    /// one.
    fn ticket_summary(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<SnapshotSummary>>;
    /// The compacted staff document at [`TicketHead::last_seq`]; `None` for a ticket with no
    /// staff data (or none stored).
    fn ticket_staff_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>>;
    /// The next ticket number of a tenant ([`super::Missing::Tenant`] for an unknown one).
    fn next_number(&self, tenant_id: &str) -> Result<u64>;
    /// At most `limit` changes of a tenant with `seq > after`, in seq order; with a `scope`, only
    /// changes of tickets that scope might concern (a superset of what the user sees).
    fn changes_after(
        &self,
        tenant_id: &str,
        after: u64,
        limit: usize,
        scope: Option<&PullScope<'_>>,
    ) -> Result<Vec<StoredChange>>;
    fn holding(&self, device_id: &str, ticket_id: &str) -> Result<Option<Holding>>;
    /// The highest seq stored in the tenant (0 when it has no changes).
    fn max_seq(&self, tenant_id: &str) -> Result<u64>;
    /// The knowledge-base articles whose readers' view changed after the tenant's knowledge-base
    /// sequence `since`, in sequence order, at most `limit`: what devices are told (published or
    /// not, they decide). Read here, beside the tickets, so a sync answers both from one snapshot.
    fn articles_changed_since(
        &self,
        tenant_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<super::Article>>;
}

/// The ticket log of a backend. Every method is one transaction.
pub trait TicketLog {
    /// The Automerge actor of server-authored changes, made once when the store is created.
    fn server_actor(&self) -> &ActorId;

    /// Runs `work` against one consistent read snapshot.
    fn read(&self, work: &mut dyn FnMut(&dyn StoreRead) -> Result<()>) -> Result<()>;

    /// Stores one commit; returns the seq given to each of `commit.changes`, in order: the
    /// tenant's next seqs. Commits to one tenant are serialized by the backend itself (not only
    /// by the caller), so seq order is commit order within a tenant even with several server
    /// processes. Fails with [`super::Conflict::Moved`] if a ticket or the counter moved since
    /// it was read, with [`super::Missing::Tenant`] for an unknown tenant, and stores nothing
    /// then.
    fn commit(&self, commit: &TicketCommit) -> Result<Vec<u64>>;

    /// Stores several commits together — one transaction and one flush to disk where the
    /// backend can (group commit) — each as [`Self::commit`] would, in order: a later one sees
    /// the earlier ones. One commit's failure stores nothing of it and leaves the others
    /// untouched (its own `Err` in the answer, in its place). `Err` for the whole call means
    /// none of them is stored (the disk refused the transaction). Nothing may be acknowledged
    /// before this returns.
    fn commit_group(&self, commits: &[&TicketCommit]) -> Result<Vec<Result<Vec<u64>>>> {
        Ok(commits.iter().map(|commit| self.commit(commit)).collect())
    }

    /// Replaces a ticket's history with a rewrite ([`TicketRewrite`]) in one transaction;
    /// returns the ticket's new `last_seq`, which is also its `rewritten_seq`. Fails with
    /// [`super::Conflict::Moved`] if the ticket moved since it was read and with
    /// [`super::Missing::Ticket`] for a ticket the tenant does not have, storing nothing then.
    fn rewrite(&self, rewrite: &TicketRewrite) -> Result<u64>;

    /// The erasure log of a tenant, newest first, at most `limit` rows.
    fn erasure_log(&self, tenant_id: &str, limit: usize) -> Result<Vec<ErasureRecord>>;

    /// Removes what deleted rows left in the backend's files where the backend can (SQLite
    /// zeroes deleted content as it goes, and this empties its write-ahead log).
    fn scrub(&self) -> Result<()>;

    /// Records what a device was sent.
    fn record_holdings(&self, device_id: &str, updates: &[HoldingUpdate]) -> Result<()>;
    /// At most `limit` tickets (tenant, id, last_seq) whose document was stored without a
    /// summary ([`TicketWrite::summary`]).
    fn unsummarised_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>>;
    /// Writes the summaries of documents stored without one, in one transaction: each only if
    /// its ticket is still at the `last_seq` it was read at and has none (it moved, and its
    /// commit wrote one). Returns how many were written.
    fn fill_summaries(&self, fills: &[SummaryFill]) -> Result<usize>;
}

/// A summary to write for a document stored without one ([`TicketLog::fill_summaries`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryFill {
    pub tenant_id: String,
    pub ticket_id: String,
    pub last_seq: u64,
    pub summary: SnapshotSummary,
}

/// [`TicketLog::read`] for work that returns a value or fails with its own error (on any
/// backend, `dyn` or not). The work's error passes through the backend untouched.
pub trait ReadWith {
    fn read_with<T, E: From<StorageError>>(
        &self,
        work: impl FnOnce(&dyn StoreRead) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>;
}

impl<S: TicketLog + ?Sized> ReadWith for S {
    fn read_with<T, E: From<StorageError>>(
        &self,
        work: impl FnOnce(&dyn StoreRead) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut work = Some(work);
        let mut out = None;
        self.read(&mut |reader| {
            if let Some(work) = work.take() {
                out = Some(work(reader));
            }
            Ok(())
        })?;
        out.unwrap_or_else(|| {
            Err(StorageError::backend("a storage backend did not run the read it was given").into())
        })
    }
}

/// A ticket a commit writes, placed among the commit's numbered changes.
#[derive(Debug)]
pub(crate) struct Written<'a> {
    pub ticket: &'a TicketWrite,
    /// Its `last_seq` after the commit: its last change's seq, or, for a ticket the commit has
    /// no change of, the `last_seq` it was read at (0 for a new ticket).
    pub last_seq: i64,
    /// How many of the commit's changes are public changes of this ticket: with no snapshot
    /// written ([`TicketWrite::snapshot`]), they lengthen its tail by that many.
    pub appended: i64,
}

impl Written<'_> {
    /// A new ticket's [`TicketHead::tail`] (a stored one's moves the same way, in SQL).
    pub(crate) fn new_tail(&self) -> i64 {
        match self.ticket.snapshot {
            Some(_) => 0,
            None => self.appended,
        }
    }
}

/// Each ticket `commit` writes once the commit's changes are numbered after the tenant's
/// `last_seq`, in the order of `commit.tickets`.
pub(crate) fn written_last_seqs(commit: &TicketCommit, last_seq: i64) -> Vec<Written<'_>> {
    let mut after: HashMap<&str, (i64, i64)> = HashMap::new();
    for (n, change) in commit.changes.iter().enumerate() {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let entry = after.entry(change.ticket_id.as_str()).or_insert((0, 0));
        entry.0 = last_seq + 1 + n;
        entry.1 += i64::from(change.part == Part::Public);
    }
    commit
        .tickets
        .iter()
        .map(|ticket| {
            let (last_seq, appended) = after
                .get(ticket.id.as_str())
                .copied()
                .unwrap_or_else(|| (ticket.expected_last_seq.map_or(0, super::sql_seq), 0));
            Written {
                ticket,
                last_seq,
                appended,
            }
        })
        .collect()
}

/// The `last_seq` a rewrite was made from, checked before anything is read: a rewrite must name
/// it and bring changes.
pub(crate) fn rewrite_base(rewrite: &TicketRewrite) -> Result<u64> {
    let expected = rewrite.ticket.expected_last_seq.ok_or_else(|| {
        StorageError::backend("a rewrite must name the last_seq it was made from")
    })?;
    if rewrite.changes.is_empty() {
        return Err(StorageError::backend("a rewrite without changes"));
    }
    // The old snapshot holds what was erased: the rewritten document replaces it whole.
    if rewrite.ticket.snapshot.is_none() {
        return Err(StorageError::backend(
            "a rewrite without its compacted document",
        ));
    }
    Ok(expected)
}

/// Refuses a rewrite of a ticket the tenant does not have (`current`, its stored `last_seq`, is
/// `None`: [`Missing::Ticket`]) or that moved since the rewrite was made from `expected`
/// ([`Conflict::Moved`]).
pub(crate) fn check_rewrite_base(current: Option<i64>, expected: u64) -> Result<()> {
    match current {
        None => Err(Missing::Ticket.into()),
        Some(last) if last != super::sql_seq(expected) => Err(Conflict::Moved.into()),
        Some(_) => Ok(()),
    }
}

/// A ticket's people as stored (`tickets.people` and `tickets.staff_people`, JSON lists of user
/// ids): its `people`, and its `staff_people` when the write changes them.
pub(crate) fn people_text(t: &TicketWrite) -> Result<(String, Option<String>)> {
    let people = serde_json::to_string(&t.people)
        .map_err(|_| StorageError::backend("a ticket's people could not be written"))?;
    let staff_people = t
        .staff_people
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|_| StorageError::backend("a ticket's people could not be written"))?;
    Ok((people, staff_people))
}

/// Stored people ([`people_text`]); none when the column is empty (a ticket stored before the
/// store kept them).
pub(crate) fn people_of(json: Option<String>) -> Result<Vec<String>> {
    json.map_or(Ok(Vec::new()), |json| {
        serde_json::from_str(&json)
            .map_err(|_| StorageError::Corrupt("a ticket's people are not a list of ids".into()))
    })
}

/// The erasure a row of the erasure log names (its `kind` and `target`); a kind this version
/// does not know is corruption.
pub(crate) fn erasure_of(kind: &str, target: Option<&str>) -> Result<Erasure> {
    Erasure::from_parts(kind, target)
        .map_err(|_| StorageError::Corrupt("an erasure log row names an unknown kind".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TenantRecord;
    use crate::storage::conformance::{change, commit, ticket};

    #[test]
    fn a_written_ticket_ends_at_its_last_change_or_where_it_was() {
        let tenant = TenantRecord {
            id: "t".into(),
            name: "t".into(),
        };
        let tickets = vec![
            ticket("a", "r", Some(4)),
            ticket("b", "r", None),
            ticket("c", "r", Some(7)),
            ticket("d", "r", None),
        ];
        let mut staff = change("a", "h4");
        staff.part = Part::Staff;
        let changes = vec![
            change("a", "h1"),
            change("b", "h2"),
            change("a", "h3"),
            staff,
        ];
        let commit = commit(&tenant, tickets, changes);
        let seqs: Vec<(&str, i64, i64)> = written_last_seqs(&commit, 10)
            .into_iter()
            .map(|w| (w.ticket.id.as_str(), w.last_seq, w.appended))
            .collect();
        assert_eq!(
            seqs,
            [("a", 14, 2), ("b", 12, 1), ("c", 7, 0), ("d", 0, 0)],
            "a staff change moves the seq, not the public tail"
        );
    }

    #[test]
    fn a_rewrite_names_its_base_brings_changes_and_finds_its_ticket_unmoved() {
        let mut rewrite = TicketRewrite {
            tenant_id: "t".into(),
            at: 0,
            ticket: ticket("a", "r", None),
            changes: vec![change("a", "h1")],
            unnamed_blobs: Vec::new(),
            erased: Vec::new(),
            by: "admin".into(),
            reference: None,
        };
        assert!(matches!(
            rewrite_base(&rewrite),
            Err(StorageError::Backend(_))
        ));
        rewrite.ticket.expected_last_seq = Some(5);
        assert_eq!(rewrite_base(&rewrite).ok(), Some(5));
        rewrite.changes.clear();
        assert!(matches!(
            rewrite_base(&rewrite),
            Err(StorageError::Backend(_))
        ));
        assert!(check_rewrite_base(Some(5), 5).is_ok());
        assert!(matches!(
            check_rewrite_base(Some(6), 5),
            Err(StorageError::Conflict(Conflict::Moved))
        ));
        assert!(matches!(
            check_rewrite_base(None, 5),
            Err(StorageError::NotFound(Missing::Ticket))
        ));
    }

    #[test]
    fn people_read_back_as_written() {
        let mut t = ticket("a", "r", None);
        let (people, staff) = people_text(&t).expect("written");
        assert_eq!(people_of(Some(people)).ok(), Some(t.people.clone()));
        assert_eq!(staff, None);
        t.staff_people = Some(vec!["s".into()]);
        let (_, staff) = people_text(&t).expect("written");
        assert_eq!(people_of(staff).ok(), Some(vec!["s".to_owned()]));
        assert_eq!(people_of(None).ok(), Some(Vec::new()));
        assert!(matches!(
            people_of(Some("{".into())),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            erasure_of("no such kind", None),
            Err(StorageError::Corrupt(_))
        ));
    }
}
