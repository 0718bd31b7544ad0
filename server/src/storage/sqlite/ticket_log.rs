//! The ticket log in SQLite: `changes` numbered per tenant by `tenants.last_seq`, `tickets` and
//! `docs`, the ticket counter, `device_tickets`. A commit runs in one immediate transaction on the
//! one writer connection, so commits are serialized and seq order is commit order.

use std::collections::HashMap;

use fieldwork_core::ticket::{ActorId, Part};
use fieldwork_protocol::sync::SnapshotSummary;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, blobs, documents, is_constraint, lock, seq_of, sql_seq};
use crate::storage::ticket_log::Written;
use crate::storage::{
    ChangeTimes, Conflict, ErasureRecord, Holding, HoldingUpdate, Missing, NewChange, PullScope,
    ReportedTicket, Result, StorageError, StoreRead, StoredChange, SummaryFill, TicketCommit,
    TicketHead, TicketLog, TicketRewrite, ticket_log,
};

struct SqliteRead<'a> {
    tx: &'a Transaction<'a>,
}

/// The changes after `?2` (at most `?3`) of the tickets that may concern user `?4` of tenant
/// `?1` (team `?5`, device `?6`): the tickets they reported, are assigned, their team's queue,
/// and what the device holds. It starts from those tickets and reads each one's changes by the
/// `(tenant_id, ticket_id, seq)` index, so its cost follows the user's tickets, never the size
/// of the tenant or its traffic (`docs/benchmarks.md`, "Back-office API"). Three things hold the
/// plan there; the test below checks it with the SQLite this build links:
/// - `UNION ALL` then `DISTINCT`: with `UNION`, SQLite 3.54 merges sorted legs and read the
///   reporter's leg in id order through the primary key, i.e. every ticket of the tenant, on
///   every pull (50 ms a pull at 100,000 tickets);
/// - the team queue names its partial index (without statistics SQLite took the primary key);
/// - `CROSS JOIN` keeps `mine` the outer loop (else it walked every change after the cursor).
const SCOPED_CHANGES_AFTER: &str = "SELECT c.seq, c.ticket_id, c.actor_id, c.bytes, c.part
     FROM (SELECT DISTINCT id FROM (
               SELECT id FROM tickets WHERE tenant_id = ?1 AND reporter_id = ?4
               UNION ALL SELECT id FROM tickets WHERE tenant_id = ?1 AND assignee = ?4
               UNION ALL SELECT id FROM tickets INDEXED BY tickets_team_queue
                    WHERE tenant_id = ?1 AND assignee IS NULL AND team = ?5
               UNION ALL SELECT ticket_id FROM device_tickets WHERE device_id = ?6)) AS mine
     CROSS JOIN changes c ON c.tenant_id = ?1 AND c.ticket_id = mine.id AND c.seq > ?2
     ORDER BY c.seq LIMIT ?3";

impl StoreRead for SqliteRead<'_> {
    fn change_ticket(&self, tenant_id: &str, hash: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT ticket_id FROM changes WHERE tenant_id = ?1 AND hash = ?2")?
            .query_row([tenant_id, hash], |r| r.get(0))
            .optional()?)
    }

    fn forgotten_change(&self, tenant_id: &str, hash: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT ticket_id FROM forgotten_changes WHERE tenant_id = ?1 AND hash = ?2",
            )?
            .query_row([tenant_id, hash], |r| r.get(0))
            .optional()?)
    }

    fn reported_since(
        &self,
        tenant_id: &str,
        reporter_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<ReportedTicket>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .tx
            .prepare_cached(
                "SELECT id, category, created_at FROM tickets
                 WHERE tenant_id = ?1 AND reporter_id = ?2 AND created_at >= ?3
                 ORDER BY created_at, id LIMIT ?4",
            )?
            .query_map(params![tenant_id, reporter_id, since, limit], |r| {
                Ok(ReportedTicket {
                    id: r.get(0)?,
                    category: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn ticket_times(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ChangeTimes>> {
        let rows = self
            .tx
            .prepare_cached(TICKET_TIMES)?
            .query_map([tenant_id, ticket_id], |r| {
                Ok(ChangeTimes {
                    author_id: r.get(0)?,
                    device_time: r.get(1)?,
                    effective_at: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn erasures(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ErasureRecord>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {ERASURE_COLUMNS} FROM erasures WHERE tenant_id = ?1 AND ticket_id = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map([tenant_id, ticket_id], erasure_row)?;
        rows.map(|row| row?).collect()
    }

    fn ticket_head(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<TicketHead>> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT tenant_id, last_seq, reporter_id, assignee, team, people, people_seq,
                     rewritten_seq, last_effective_at, staff_people, tail
                 FROM tickets WHERE tenant_id = ?1 AND id = ?2",
            )?
            .query_row([tenant_id, ticket_id], |r| {
                let people: Option<String> = r.get(5)?;
                let staff_people: Option<String> = r.get(9)?;
                Ok((
                    TicketHead {
                        tenant_id: r.get(0)?,
                        last_seq: seq_of(r.get(1)?),
                        reporter_id: r.get(2)?,
                        assignee: r.get(3)?,
                        team: r.get(4)?,
                        people: Vec::new(),
                        people_seq: seq_of(r.get(6)?),
                        rewritten_seq: seq_of(r.get(7)?),
                        last_effective_at: r.get(8)?,
                        staff_people: Vec::new(),
                        tail: r.get(10)?,
                    },
                    people,
                    staff_people,
                ))
            })
            .optional()?;
        let Some((mut head, people, staff_people)) = row else {
            return Ok(None);
        };
        head.people = ticket_log::people_of(people)?;
        head.staff_people = ticket_log::people_of(staff_people)?;
        Ok(Some(head))
    }

    fn live_tickets(&self, tenant_id: &str, limit: usize) -> Result<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .tx
            .prepare_cached(
                "SELECT id FROM tickets
                 WHERE tenant_id = ?1 AND status NOT IN ('closed', 'cancelled')
                 ORDER BY last_seq DESC LIMIT ?2",
            )?
            .query_map(params![tenant_id, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn open_load(&self, tenant_id: &str) -> Result<Vec<(String, u32)>> {
        let rows = self
            .tx
            .prepare_cached(
                "SELECT assignee, COUNT(*) FROM tickets
                 WHERE tenant_id = ?1 AND assignee IS NOT NULL
                     AND status NOT IN ('resolved', 'closed', 'cancelled')
                 GROUP BY assignee ORDER BY assignee",
            )?
            .query_map([tenant_id], |r| {
                let count: i64 = r.get(1)?;
                Ok((r.get(0)?, u32::try_from(count).unwrap_or(u32::MAX)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn ticket_by_number(&self, tenant_id: &str, number: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM tickets WHERE tenant_id = ?1 AND number = ?2")?
            .query_row([tenant_id, number], |r| r.get(0))
            .optional()?)
    }

    fn ticket_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>> {
        documents::public_document(self.tx, tenant_id, ticket_id)
    }

    fn ticket_summary(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<SnapshotSummary>> {
        let bytes: Option<Vec<u8>> = self
            .tx
            .prepare_cached(
                "SELECT summary FROM ticket_summaries WHERE tenant_id = ?1 AND ticket_id = ?2",
            )?
            .query_row([tenant_id, ticket_id], |r| r.get::<_, Vec<u8>>(0))
            .optional()?;
        // One that does not decode (written by a newer version, say) is as good as none: the
        // device loads the document instead.
        Ok(bytes.and_then(|b| fieldwork_protocol::sync::decode(&b).ok()))
    }

    fn ticket_staff_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT staff_snapshot FROM docs WHERE tenant_id = ?1 AND ticket_id = ?2",
            )?
            .query_row([tenant_id, ticket_id], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()?
            .flatten())
    }

    fn next_number(&self, tenant_id: &str) -> Result<u64> {
        let next: Option<i64> = self
            .tx
            .prepare_cached("SELECT next_number FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))
            .optional()?;
        next.map(seq_of).ok_or(Missing::Tenant.into())
    }

    fn changes_after(
        &self,
        tenant_id: &str,
        after: u64,
        limit: usize,
        scope: Option<&PullScope<'_>>,
    ) -> Result<Vec<StoredChange>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let row = |r: &rusqlite::Row<'_>| {
            Ok(StoredChange {
                seq: seq_of(r.get(0)?),
                ticket_id: r.get(1)?,
                actor_id: r.get(2)?,
                bytes: r.get(3)?,
                part: part_of(&r.get::<_, String>(4)?)?,
            })
        };
        let rows = match scope {
            None => self
                .tx
                .prepare_cached(
                    "SELECT seq, ticket_id, actor_id, bytes, part FROM changes
                     WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )?
                .query_map(params![tenant_id, sql_seq(after), limit], row)?
                .collect::<rusqlite::Result<_>>()?,
            Some(scope) => self
                .tx
                .prepare_cached(SCOPED_CHANGES_AFTER)?
                .query_map(
                    params![
                        tenant_id,
                        sql_seq(after),
                        limit,
                        scope.user_id,
                        scope.team,
                        scope.device_id
                    ],
                    row,
                )?
                .collect::<rusqlite::Result<_>>()?,
        };
        Ok(rows)
    }

    fn holding(&self, device_id: &str, ticket_id: &str) -> Result<Option<Holding>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT covered_seq, evicted, since_cursor FROM device_tickets
                 WHERE device_id = ?1 AND ticket_id = ?2",
            )?
            .query_row([device_id, ticket_id], |r| {
                Ok(Holding {
                    covered_seq: seq_of(r.get(0)?),
                    evicted: r.get(1)?,
                    since_cursor: seq_of(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn max_seq(&self, tenant_id: &str) -> Result<u64> {
        let max: Option<i64> = self
            .tx
            .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))
            .optional()?;
        Ok(max.map_or(0, seq_of))
    }

    fn articles_changed_since(
        &self,
        tenant_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<crate::storage::Article>> {
        super::knowledge::changed_since(self.tx, tenant_id, since, limit)
    }
}

impl TicketLog for SqliteStore {
    fn server_actor(&self) -> &ActorId {
        &self.server_actor
    }

    fn read(&self, work: &mut dyn FnMut(&dyn StoreRead) -> Result<()>) -> Result<()> {
        self.with_reader(|conn| {
            // A deferred transaction: every read in `work` sees the same committed state.
            let tx = conn.transaction()?;
            work(&SqliteRead { tx: &tx })?;
            tx.commit()?;
            Ok(())
        })
    }

    fn commit(&self, commit: &TicketCommit) -> Result<Vec<u64>> {
        self.write(|tx| commit_in(tx, commit))
    }

    fn commit_group(&self, commits: &[&TicketCommit]) -> Result<Vec<Result<Vec<u64>>>> {
        self.write(|tx| {
            let mut stored = Vec::with_capacity(commits.len());
            for commit in commits {
                // Each commit in its own savepoint: a failing one is undone alone.
                tx.prepare_cached("SAVEPOINT one_commit")?.execute([])?;
                match commit_in(tx, commit) {
                    Ok(seqs) => {
                        tx.prepare_cached("RELEASE one_commit")?.execute([])?;
                        stored.push(Ok(seqs));
                    }
                    // An error SQLite answers by rolling back the whole transaction (a full
                    // disk, an I/O error) took the group's earlier commits with it.
                    Err(error) if tx.is_autocommit() => return Err(error),
                    Err(error) => {
                        tx.prepare_cached("ROLLBACK TO one_commit")?.execute([])?;
                        tx.prepare_cached("RELEASE one_commit")?.execute([])?;
                        stored.push(Err(error));
                    }
                }
            }
            Ok(stored)
        })
    }

    fn rewrite(&self, rewrite: &TicketRewrite) -> Result<u64> {
        let tenant = rewrite.tenant_id.as_str();
        let ticket = &rewrite.ticket;
        let expected = ticket_log::rewrite_base(rewrite)?;
        self.write(|tx| {
            let mut seq: i64 = tx
                .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")?
                .query_row([tenant], |r| r.get(0))
                .optional()?
                .ok_or(Missing::Tenant)?;
            let current: Option<i64> = tx
                .prepare_cached("SELECT last_seq FROM tickets WHERE tenant_id = ?1 AND id = ?2")?
                .query_row([tenant, &ticket.id], |r| r.get(0))
                .optional()?;
            ticket_log::check_rewrite_base(current, expected)?;
            // The old history goes; only its hashes stay (secure_delete zeroes the rows).
            tx.prepare_cached(
                "INSERT OR IGNORE INTO forgotten_changes (tenant_id, hash, ticket_id)
                 SELECT tenant_id, hash, ticket_id FROM changes
                 WHERE tenant_id = ?1 AND ticket_id = ?2",
            )?
            .execute([tenant, &ticket.id])?;
            tx.prepare_cached("DELETE FROM changes WHERE tenant_id = ?1 AND ticket_id = ?2")?
                .execute([tenant, &ticket.id])?;
            let written = Written {
                ticket,
                last_seq: seq + rewrite.changes.len() as i64,
                appended: 0,
            };
            write_ticket(tx, tenant, &written)?;
            super::ticket_list::write_listing(
                tx,
                tenant,
                &ticket.id,
                ticket.listing.as_ref(),
                ticket.staff_listing.as_ref(),
                Some(rewrite.at),
            )?;
            // The search index keeps the old words behind a delete marker until its segments
            // merge: index the ticket's new text and merge them all now, so the erased words
            // leave the file with this transaction (server migration 21).
            super::search_text::index_ticket(tx, tenant, &ticket.id)?;
            tx.prepare_cached("INSERT INTO ticket_text (ticket_text) VALUES ('optimize')")?
                .execute([])?;
            for change in &rewrite.changes {
                seq += 1;
                insert_change(tx, tenant, seq, change, rewrite.at)?;
            }
            tx.prepare_cached("UPDATE tenants SET last_seq = ?2 WHERE id = ?1")?
                .execute(params![tenant, seq])?;
            tx.prepare_cached(
                "UPDATE tickets SET last_seq = ?3, rewritten_seq = ?3 WHERE tenant_id = ?1 AND id = ?2",
            )?
            .execute(params![tenant, ticket.id, seq])?;
            blobs::remove_refs(tx, tenant, &ticket.id, &rewrite.unnamed_blobs)?;
            let mut log = tx.prepare_cached(
                "INSERT INTO erasures (tenant_id, ticket_id, seq, kind, target, erased_by, reference, erased_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for erasure in &rewrite.erased {
                log.execute(params![
                    tenant,
                    ticket.id,
                    seq,
                    erasure.kind(),
                    erasure.target(),
                    rewrite.by,
                    rewrite.reference,
                    rewrite.at
                ])?;
            }
            Ok(seq_of(seq))
        })
    }

    fn erasure_log(&self, tenant_id: &str, limit: usize) -> Result<Vec<ErasureRecord>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ERASURE_COLUMNS} FROM erasures WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![tenant_id, limit], erasure_row)?;
            rows.map(|row| row?).collect()
        })
    }

    fn scrub(&self) -> Result<()> {
        // Readers in the middle of a read keep the log from being emptied; they finish quickly.
        for attempt in 0..50 {
            let busy: i64 =
                lock(&self.writer)
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            if attempt < 49 {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        Err(StorageError::backend(
            "the write-ahead log could not be emptied: readers kept it busy for 5 s",
        ))
    }

    fn record_holdings(&self, device_id: &str, updates: &[HoldingUpdate]) -> Result<()> {
        self.write(|tx| {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted, since_cursor)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (device_id, ticket_id) DO UPDATE SET covered_seq = excluded.covered_seq,
                     evicted = excluded.evicted, since_cursor = excluded.since_cursor",
            )?;
            for update in updates {
                let h = update.holding;
                upsert.execute(params![
                    device_id,
                    update.ticket_id,
                    sql_seq(h.covered_seq),
                    h.evicted,
                    sql_seq(h.since_cursor)
                ])?;
            }
            Ok(())
        })
    }

    fn unsummarised_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>> {
        self.with_reader(|conn| {
            // Once at start: every document walked against its summary's key.
            let rows = conn
                .prepare_cached(
                    "SELECT d.tenant_id, d.ticket_id, t.last_seq FROM docs d
                     JOIN tickets t ON t.tenant_id = d.tenant_id AND t.id = d.ticket_id
                     WHERE NOT EXISTS (SELECT 1 FROM ticket_summaries s
                                       WHERE s.tenant_id = d.tenant_id AND s.ticket_id = d.ticket_id)
                     ORDER BY d.tenant_id, d.ticket_id LIMIT ?1",
                )?
                .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get(0)?, r.get(1)?, seq_of(r.get(2)?)))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn fill_summaries(&self, fills: &[SummaryFill]) -> Result<usize> {
        self.write(|tx| {
            let mut update = tx.prepare_cached(
                "INSERT INTO ticket_summaries (tenant_id, ticket_id, summary)
                 SELECT ?1, ?2, ?4 WHERE EXISTS (SELECT 1 FROM tickets
                                                 WHERE tenant_id = ?1 AND id = ?2 AND last_seq = ?3)
                 ON CONFLICT (tenant_id, ticket_id) DO NOTHING",
            )?;
            let mut written = 0;
            for fill in fills {
                written += update.execute(params![
                    fill.tenant_id,
                    fill.ticket_id,
                    sql_seq(fill.last_seq),
                    fieldwork_protocol::sync::encode(&fill.summary)
                ])?;
            }
            Ok(written)
        })
    }
}

/// Writes one commit in the writer's open transaction: the writer holds SQLite's one write lock
/// from its start to its end, so no other commit of any tenant takes a seq in between.
fn commit_in(tx: &Transaction, commit: &TicketCommit) -> Result<Vec<u64>> {
    let mut seq: i64 = tx
        .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")?
        .query_row([&commit.tenant_id], |r| r.get(0))
        .optional()?
        .ok_or(Missing::Tenant)?;
    if let Some((from, to)) = commit.numbers {
        let moved = tx
            .prepare_cached(
                "UPDATE tenants SET next_number = ?3 WHERE id = ?1 AND next_number = ?2",
            )?
            .execute(params![commit.tenant_id, sql_seq(from), sql_seq(to)])?;
        if moved != 1 {
            return Err(Conflict::Moved.into());
        }
    }
    // Each ticket's seq after this commit: its last change's, numbered in order below.
    for written in ticket_log::written_last_seqs(commit, seq) {
        write_ticket(tx, &commit.tenant_id, &written)?;
        let ticket = written.ticket;
        super::ticket_list::write_listing(
            tx,
            &commit.tenant_id,
            &ticket.id,
            ticket.listing.as_ref(),
            ticket.staff_listing.as_ref(),
            Some(commit.received_at),
        )?;
    }
    let mut seqs = Vec::with_capacity(commit.changes.len());
    let mut last: HashMap<&str, i64> = HashMap::new();
    for change in &commit.changes {
        seq += 1;
        insert_change(tx, &commit.tenant_id, seq, change, commit.received_at)?;
        last.insert(change.ticket_id.as_str(), seq);
        seqs.push(seq_of(seq));
    }
    tx.prepare_cached("UPDATE tenants SET last_seq = ?2 WHERE id = ?1")?
        .execute(params![commit.tenant_id, seq])?;
    let mut set_last =
        tx.prepare_cached("UPDATE tickets SET last_seq = ?3 WHERE tenant_id = ?1 AND id = ?2")?;
    for (ticket_id, seq) in last {
        set_last.execute(params![commit.tenant_id, ticket_id, seq])?;
    }
    let mut hold = tx.prepare_cached(
        "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted, since_cursor)
         VALUES (?1, ?2, 0, 0, 0) ON CONFLICT DO NOTHING",
    )?;
    if let Some(device_id) = &commit.device_id {
        for ticket_id in &commit.held_by_device {
            hold.execute([device_id, ticket_id])?;
        }
    }
    blobs::insert_refs(tx, &commit.tenant_id, &commit.blob_refs)?;
    Ok(seqs)
}

/// Stores one change under `seq`; a change stored already (same hash) is a ticket that moved.
fn insert_change(
    tx: &Transaction,
    tenant_id: &str,
    seq: i64,
    change: &NewChange,
    received_at: i64,
) -> Result<()> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO changes (tenant_id, seq, ticket_id, hash, actor_id, bytes, received_at, part,
                 author_id, device_time, effective_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            tenant_id,
            seq,
            change.ticket_id,
            change.hash,
            change.actor_id,
            change.bytes,
            received_at,
            change.part.as_str(),
            change.times.as_ref().map(|t| t.author_id.as_str()),
            change.times.as_ref().map(|t| t.device_time),
            change.times.as_ref().map(|t| t.effective_at)
        ]);
    match inserted {
        Err(e) if is_constraint(&e) => Err(Conflict::Moved.into()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

const ERASURE_COLUMNS: &str = "ticket_id, seq, kind, target, erased_by, reference, erased_at";

/// One row of `erasures` ([`ERASURE_COLUMNS`]); a kind this version does not know is corruption.
fn erasure_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ErasureRecord>> {
    let kind: String = r.get(2)?;
    let target: Option<String> = r.get(3)?;
    let erasure = match ticket_log::erasure_of(&kind, target.as_deref()) {
        Ok(erasure) => erasure,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(ErasureRecord {
        ticket_id: r.get(0)?,
        seq: seq_of(r.get(1)?),
        erasure,
        by: r.get(4)?,
        reference: r.get(5)?,
        at: r.get(6)?,
    }))
}

/// Writes a touched ticket's index row and document, checking it did not move since it was read.
fn write_ticket(tx: &Transaction, tenant_id: &str, written: &Written) -> Result<()> {
    let t = written.ticket;
    let new_last = written.last_seq;
    let (people, staff_people) = ticket_log::people_text(t)?;
    let summary = t.summary.as_ref().map(fieldwork_protocol::sync::encode);
    match t.expected_last_seq {
        None => {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO tickets (id, tenant_id, number, reporter_id, assignee, team, status,
                         last_seq, people, people_seq, last_effective_at, category, created_at,
                         staff_people, tail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?
                .execute(params![
                    t.id,
                    tenant_id,
                    t.number,
                    t.reporter_id,
                    t.assignee,
                    t.team,
                    t.status,
                    people,
                    new_last,
                    t.last_effective_at,
                    t.category,
                    t.created_at,
                    staff_people,
                    written.new_tail()
                ]);
            match inserted {
                Err(e) if is_constraint(&e) => return Err(Conflict::Moved.into()),
                other => other?,
            };
        }
        Some(expected) => {
            let updated = tx
                .prepare_cached(
                    // The right-hand `people` is the stored one (SQLite reads the old row).
                    "UPDATE tickets SET people = ?4,
                         people_seq = CASE WHEN people IS ?4
                             AND (?7 IS NULL OR staff_people IS ?7) THEN people_seq ELSE ?5 END,
                         last_effective_at = COALESCE(?6, last_effective_at),
                         staff_people = COALESCE(?7, staff_people),
                         tail = CASE WHEN ?8 THEN 0 ELSE tail + ?9 END
                     WHERE tenant_id = ?3 AND id = ?1 AND last_seq = ?2",
                )?
                .execute(params![
                    t.id,
                    sql_seq(expected),
                    tenant_id,
                    people,
                    new_last,
                    t.last_effective_at,
                    staff_people,
                    t.snapshot.is_some(),
                    written.appended
                ])?;
            if updated != 1 {
                return Err(Conflict::Moved.into());
            }
            // The indexed columns only when one of them moves: SQLite rewrites an index's entry
            // for every column an UPDATE names, changed or not (a note moves none of these, and
            // naming them cost ten index entries a commit).
            tx.prepare_cached(
                "UPDATE tickets SET number = ?3, reporter_id = ?4, assignee = ?5, team = ?6,
                     status = ?7, category = ?8, created_at = COALESCE(created_at, ?9)
                 WHERE tenant_id = ?1 AND id = ?2
                   AND (number IS NOT ?3 OR reporter_id IS NOT ?4 OR assignee IS NOT ?5
                        OR team IS NOT ?6 OR status IS NOT ?7 OR category IS NOT ?8
                        OR (created_at IS NULL AND ?9 IS NOT NULL))",
            )?
            .execute(params![
                tenant_id,
                t.id,
                t.number,
                t.reporter_id,
                t.assignee,
                t.team,
                t.status,
                t.category,
                t.created_at
            ])?;
        }
    }
    documents::write_documents(tx, tenant_id, t, new_last, summary)
}

/// A ticket's change times, read from the index alone (version 33).
const TICKET_TIMES: &str = "SELECT author_id, device_time, effective_at FROM changes
     WHERE tenant_id = ?1 AND ticket_id = ?2 AND effective_at IS NOT NULL
     ORDER BY seq";

/// The part a `changes` row names (the schema allows only the two).
fn part_of(text: &str) -> rusqlite::Result<Part> {
    text.parse()
        .map_err(|e: fieldwork_core::model::UnknownValue| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite picks for `sql` on a fresh schema (no statistics, as a new server has).
    fn plan(sql: &str) -> Vec<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = super::super::schema::open_writer(&dir.path().join("plan.db")).expect("db");
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("the query prepares");
        let values = params!["t", 0, 10, "u", "team", "d"];
        for (i, value) in values.iter().take(stmt.parameter_count()).enumerate() {
            stmt.raw_bind_parameter(i + 1, value).expect("binds");
        }
        let mut rows = stmt.raw_query();
        std::iter::from_fn(|| {
            rows.next()
                .expect("plan runs")
                .map(|r| r.get::<_, String>(3))
        })
        .collect::<rusqlite::Result<_>>()
        .expect("plan rows")
    }

    #[test]
    fn a_scoped_pull_reads_only_the_users_tickets_by_index() {
        let steps = plan(SCOPED_CHANGES_AFTER);
        let text = steps.join("\n");
        // No leg reads the tenant's tickets or changes in a range: every step is a keyed search.
        for step in &steps {
            assert!(!step.starts_with("SCAN tickets"), "{text}");
            assert!(!step.starts_with("SCAN c"), "{text}");
            assert!(!step.contains("PRIMARY KEY (tenant_id=?)"), "{text}");
            assert!(!step.contains("(tenant_id=? AND seq>?)"), "{text}");
        }
        assert!(text.contains("SCAN mine"), "{text}");
        assert!(
            text.contains(
                "SEARCH c USING INDEX changes_ticket_seq (tenant_id=? AND ticket_id=? AND seq>?)"
            ),
            "{text}"
        );
        for index in [
            "tickets_by_reporter",
            "tickets_assignee",
            "tickets_team_queue",
        ] {
            assert!(text.contains(index), "{index} unused:\n{text}");
        }
    }

    #[test]
    fn a_tickets_change_times_are_read_from_the_index_alone() {
        let steps = plan(TICKET_TIMES);
        assert_eq!(
            steps,
            [
                "SEARCH changes USING COVERING INDEX changes_ticket_seq (tenant_id=? AND ticket_id=?)"
            ],
        );
    }
}
