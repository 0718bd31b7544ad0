//! [`TicketDocument`]: one of the two Automerge documents behind a ticket (its [`Part`]: the
//! public document, or the staff companion of `docs/staff-data.md`), and which keys each edit
//! writes (the key-by-key helpers are `write.rs`).

use std::collections::HashSet;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue};

use crate::model::{Actor, Part, Status};
use crate::rules::workflow;
use crate::ticket::edit::{ARRIVED_ON_SITE, Edit, NewTicket};
use crate::ticket::limits::{self, LimitError};
use crate::ticket::read::Conflicts;
use crate::ticket::view::{StaffView, Ticket};
use crate::ticket::write::{
    add_note, container, find_note, push_event, put_opt, set_status, write_attachment,
    write_customer, write_site,
};

/// The version written into `v`; readers ignore keys they do not know.
pub const SCHEMA_VERSION: i64 = 1;
/// The version of the staff document's schema, written into its `v`.
pub const STAFF_SCHEMA_VERSION: i64 = 1;

/// The author of every staff document's first change (its genesis, [`TicketDocument::staff`]).
/// The genesis is the same bytes on every replica, so staff documents started independently
/// (two technicians writing internal notes offline) are one document, not two that hide each
/// other's notes. Never the actor of a device or of the server.
pub const STAFF_GENESIS_ACTOR: [u8; 16] = *b"fieldwork:staff\0";

/// Something wrong with a stored or received document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("ticket document is damaged or not a ticket: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("ticket document lacks its `{0}` field (its creation change may be missing)")]
    Missing(&'static str),
    #[error("ticket document has an unreadable `{field}` field: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("no note with that id on this ticket")]
    UnknownNote,
    #[error("a {edit} is written to the {expected} document, not the {part} one")]
    WrongPart {
        edit: &'static str,
        expected: Part,
        part: Part,
    },
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// One of a ticket's two Automerge documents.
#[derive(Debug)]
pub struct TicketDocument {
    doc: AutoCommit,
    part: Part,
    /// For a staff document: the heads of the public document its next edits are made against
    /// ([`Self::seen_public`]), written into each staff change's message.
    public_seen: Vec<ChangeHash>,
}

/// Where a staff change's message names the public heads its author saw.
const SEEN_PUBLIC: &str = "; public ";
/// Most public heads a staff change's message is read for (a document has a handful of heads).
const MAX_SEEN_HEADS: usize = 16;

/// The heads of the public document the author of staff change `change` saw, as its message
/// names them (empty when it names none, or not readably): the server judges the change against
/// the ticket at those heads, so a technician's internal note written offline survives a
/// reassignment made meanwhile, as a public note does.
pub fn seen_public_heads(change: &Change) -> Vec<ChangeHash> {
    let Some(message) = change.message() else {
        return Vec::new();
    };
    let Some((_, heads)) = message.split_once(SEEN_PUBLIC) else {
        return Vec::new();
    };
    let parsed: Option<Vec<ChangeHash>> = heads
        .split(',')
        .take(MAX_SEEN_HEADS + 1)
        .map(|h| h.parse().ok())
        .collect();
    match parsed {
        Some(heads) if heads.len() <= MAX_SEEN_HEADS => heads,
        _ => Vec::new(),
    }
}

/// Container objects made once, when the ticket is created (the staff document's in its
/// genesis), so concurrent writers never race to create them (two replicas creating the same map
/// would hide one map's contents). The same key is the same kind of container in both parts.
pub(super) const LISTS: [&str; 3] = ["notes", "events", "parts_used"];
const MAPS: [&str; 3] = ["attachments", "checklist", "custom"];
const STAFF_LISTS: [&str; 2] = ["notes", "events"];
const STAFF_MAPS: [&str; 1] = ["tags"];

impl TicketDocument {
    /// Creates the document of a new ticket as one change by `actor_id`.
    pub fn create(
        id: &str,
        reporter: &Actor,
        new: &NewTicket,
        actor_id: ActorId,
        at: i64,
    ) -> Result<Self, DocumentError> {
        let mut doc = AutoCommit::new().with_actor(actor_id);
        doc.put(ROOT, "v", SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "tenant", reporter.tenant.as_str())?;
        doc.put(ROOT, "kind", new.kind.as_str())?;
        doc.put(ROOT, "channel", new.channel.as_str())?;
        doc.put(ROOT, "title", new.title.as_str())?;
        put_opt(&mut doc, &ROOT, "category", new.category.as_deref())?;
        doc.put(ROOT, "priority", new.priority.as_str())?;
        doc.put(ROOT, "status", Status::New.as_str())?;
        let description = doc.put_object(ROOT, "description", ObjType::Text)?;
        doc.splice_text(&description, 0, 0, &new.description)?;
        let who = doc.put_object(ROOT, "reporter", ObjType::Map)?;
        doc.put(&who, "user_id", reporter.user_id.as_str())?;
        doc.put(&who, "role", reporter.role.as_str())?;
        put_opt(&mut doc, &who, "name", reporter.name.as_deref())?;
        put_opt(&mut doc, &ROOT, "order_ref", new.order_ref.as_deref())?;
        if let Some(asset) = &new.asset {
            let obj = doc.put_object(ROOT, "asset", ObjType::Map)?;
            doc.put(&obj, "serial", asset.serial.as_str())?;
            put_opt(&mut doc, &obj, "model", asset.model.as_deref())?;
            put_opt(
                &mut doc,
                &obj,
                "warranty_until",
                asset.warranty_until.as_deref(),
            )?;
        }
        if let Some(customer) = &new.customer {
            write_customer(&mut doc, Some(customer))?;
        }
        if let Some(site) = &new.site {
            write_site(&mut doc, site)?;
        }
        doc.put(ROOT, "assignee", ScalarValue::Null)?;
        put_opt(&mut doc, &ROOT, "team", reporter.team.as_deref())?;
        doc.put(ROOT, "created_at", at)?;
        for key in LISTS {
            doc.put_object(ROOT, key, ObjType::List)?;
        }
        for key in MAPS {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        push_event(
            &mut doc,
            "created",
            &reporter.user_id,
            at,
            &[("kind", new.kind.as_str())],
        )?;
        if let Some(text) = &new.note {
            add_note(&mut doc, reporter, text, false, at)?;
        }
        doc.commit_with(
            CommitOptions::default()
                .with_message("create")
                .with_time(at),
        );
        let mut created = TicketDocument {
            doc,
            part: Part::Public,
            public_seen: Vec::new(),
        };
        created.check_local_write()?;
        Ok(created)
    }

    /// The staff document of a ticket with no staff data yet: its genesis, the same change on
    /// every replica (by [`STAFF_GENESIS_ACTOR`], at time 0), with later edits by `actor_id`.
    pub fn staff(actor_id: ActorId) -> Self {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(STAFF_GENESIS_ACTOR));
        let genesis = (|| {
            doc.put(ROOT, "v", STAFF_SCHEMA_VERSION)?;
            for key in STAFF_LISTS {
                doc.put_object(ROOT, key, ObjType::List)?;
            }
            for key in STAFF_MAPS {
                doc.put_object(ROOT, key, ObjType::Map)?;
            }
            Ok::<(), automerge::AutomergeError>(())
        })();
        // Writing a few keys into a new, empty document cannot fail.
        debug_assert!(genesis.is_ok(), "staff genesis: {genesis:?}");
        doc.commit_with(CommitOptions::default().with_time(0));
        TicketDocument {
            doc: doc.with_actor(actor_id),
            part: Part::Staff,
            public_seen: Vec::new(),
        }
    }

    /// For a staff document: its next edits are made against the public document at `heads`
    /// (named in each change's message, [`seen_public_heads`]).
    pub fn seen_public(&mut self, heads: Vec<ChangeHash>) {
        self.public_seen = heads;
    }

    /// The message of this document's next change named `name`: for a staff document, with the
    /// public heads it is made against ([`seen_public_heads`]).
    pub(super) fn commit_message(&self, name: &str) -> String {
        match (self.part, self.public_seen.is_empty()) {
            (Part::Staff, false) => {
                let heads: Vec<String> = self.public_seen.iter().map(|h| h.to_string()).collect();
                format!("{name}{SEEN_PUBLIC}{}", heads.join(","))
            }
            _ => name.to_owned(),
        }
    }

    /// Loads a public document saved by [`Self::save`] (plus optional incremental chunks). A
    /// document beyond the ticket's size limits (operations, changes, bytes) is refused, not
    /// kept; one nested too deep loads, and reading it ([`Self::view`]) is the error.
    pub fn load(snapshot: &[u8]) -> Result<Self, DocumentError> {
        Self::load_part(Part::Public, snapshot)
    }

    /// [`Self::load`] for either part.
    pub fn load_part(part: Part, snapshot: &[u8]) -> Result<Self, DocumentError> {
        let mut loaded = TicketDocument {
            doc: AutoCommit::load(snapshot)?,
            part,
            public_seen: Vec::new(),
        };
        loaded.check_size()?;
        Ok(loaded)
    }

    /// Which of the ticket's documents this is.
    pub fn part(&self) -> Part {
        self.part
    }

    pub(super) fn check_size(&mut self) -> Result<(), DocumentError> {
        let bytes = self.history_bytes();
        limits::check_ticket_size(self.ops(), bytes)?;
        limits::check_change_count(self.changes())?;
        Ok(())
    }

    /// Loads changes saved with [`Self::save_after`] on top of this document.
    pub fn load_incremental(&mut self, chunk: &[u8]) -> Result<(), DocumentError> {
        self.doc.load_incremental(chunk)?;
        Ok(())
    }

    /// Operations in the whole history.
    pub fn ops(&self) -> u64 {
        self.doc.stats().num_ops
    }

    /// Bytes of every change in the history, as encoded (uncompressed).
    pub fn history_bytes(&mut self) -> usize {
        self.doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().len())
            .sum()
    }

    /// The `startOp` the next change on top of this document must have: one past the highest
    /// operation counter in it (what Automerge gives a change made here).
    pub fn next_op(&mut self) -> u64 {
        let max = self
            .doc
            .get_changes(&[])
            .iter()
            .map(|c| c.max_op())
            .max()
            .unwrap_or(0);
        max + 1
    }

    /// How many changes `actor` has in this document; its next change has `seq` one more.
    pub fn changes_by(&mut self, actor: &ActorId) -> u64 {
        self.doc
            .get_changes(&[])
            .iter()
            .filter(|c| c.actor_id() == actor)
            .count() as u64
    }

    /// Checks the document against the ticket limits (`ticket::limits`): operations, bytes and
    /// nesting, and with `unknown_budget` the budget for content this version does not know (the
    /// server's judgement; a device reading what a newer server accepted does not apply it).
    pub fn check_limits(&mut self, unknown_budget: bool) -> Result<(), DocumentError> {
        self.check_size()?;
        limits::check_shape(&self.doc, self.part, unknown_budget)?;
        Ok(())
    }

    /// The device's own write: its last change and the ticket's totals within the limits, and
    /// nothing the change made nested too deep, so the server never has to refuse what an honest
    /// device makes. Only what the change made is walked, not the ticket (the whole walk was 11%
    /// of the devices' time in `bench load`): the rest was checked when it was written, here or
    /// by the server. The caller discards the document on error.
    pub(super) fn check_local_write(&mut self) -> Result<(), DocumentError> {
        if let Some(change) = self.doc.get_last_local_change().cloned() {
            limits::check_change_size(change.len(), change.raw_bytes().len())?;
            limits::check_depth_of(&self.doc, self.part, &[change])?;
        }
        self.check_size()
    }

    /// An empty document of `part` that changes can be applied to (a ticket first seen in a
    /// bundle): nothing for the public part, the genesis for the staff part.
    pub fn empty(part: Part, actor_id: ActorId) -> Self {
        match part {
            Part::Public => TicketDocument {
                doc: AutoCommit::new().with_actor(actor_id),
                part,
                public_seen: Vec::new(),
            },
            Part::Staff => Self::staff(actor_id),
        }
    }

    /// A copy of this document to try changes on, authored further by the same actor.
    pub fn fork(&mut self) -> TicketDocument {
        let actor = self.doc.get_actor().clone();
        TicketDocument {
            doc: self.doc.fork().with_actor(actor),
            part: self.part,
            public_seen: self.public_seen.clone(),
        }
    }

    /// The actor later local edits are made by.
    pub fn actor(&self) -> ActorId {
        self.doc.get_actor().clone()
    }

    /// Changes in the whole history.
    pub fn changes(&self) -> u64 {
        self.doc.stats().num_changes
    }

    /// Makes later local edits by this device's actor.
    pub fn set_actor(&mut self, actor_id: ActorId) {
        self.doc.set_actor(actor_id);
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Whether the server can store the document as it stands: a staff document is stored whole
    /// after every change, so it must save and load back ([`Self::save_proven`]); a public one is
    /// stored as its changes after a snapshot and compacted only when it proves so itself.
    pub fn storable(&mut self) -> bool {
        self.part == Part::Public || self.save_proven().is_some()
    }

    /// Only what was added after `heads`, for appending to a saved snapshot.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// The current heads of the change graph.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Every change not reachable from `have` (all of them for an empty slice).
    pub fn changes_since(&mut self, have: &[ChangeHash]) -> Vec<Change> {
        self.doc.get_changes(have).into_iter().cloned().collect()
    }

    /// Merges changes from elsewhere; applying a change twice is harmless. Each change must be
    /// within the change limits and the ticket within the ticket limits afterwards, and each
    /// author's changes must be numbered one after another (Automerge indexes by that number and
    /// panics on gaps); otherwise nothing of the batch is applied beyond the changes before the
    /// offending one, and the caller must discard the document.
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<(), DocumentError> {
        let mut pending: Vec<Change> = Vec::with_capacity(changes.len());
        let mut seen = HashSet::new();
        let (mut added_ops, mut added_bytes) = (0u64, 0usize);
        for change in changes {
            if self.has_change(&change.hash()) || !seen.insert(change.hash()) {
                continue;
            }
            limits::check_change_size(change.len(), change.raw_bytes().len())?;
            added_ops += change.len() as u64;
            added_bytes += change.raw_bytes().len();
            pending.push(change);
        }
        if pending.is_empty() {
            return Ok(());
        }
        let heads_before = self.doc.get_heads();
        let held_bytes = self.history_bytes();
        let changes_after = self.changes() + pending.len() as u64;
        limits::check_ticket_size(self.ops() + added_ops, held_bytes + added_bytes)?;
        limits::check_change_count(changes_after)?;
        let mut seqs = limits::changes_per_actor(self.doc.get_changes(&[]));
        let (ready, waiting) =
            limits::causal_order(pending, |hash| self.doc.get_change_by_hash(hash).is_some());
        // One change at a time, in causal order, so each meets the document it builds on.
        for change in ready {
            // A change may refer only to operations of authors the ticket already has (their
            // changes are its dependencies); Automerge does not check, and saving a document
            // that refers to an author with no change panics.
            let strangers = change
                .other_actor_ids()
                .iter()
                .any(|other| seqs.get(other).copied().unwrap_or(0) == 0);
            if strangers {
                return Err(DocumentError::Malformed {
                    field: "change",
                    reason: "it refers to operations of an author the ticket does not have".into(),
                });
            }
            let seq = seqs.entry(change.actor_id().clone()).or_insert(0);
            if change.seq() != *seq + 1 {
                return Err(LimitError::Sequence.into());
            }
            *seq += 1;
            // Decoding a hostile change's operations, and applying them, can trip Automerge
            // (an actor index beyond the change's actors panics while decoding): that is this
            // change's error, not the process's end. The caller then discards the document.
            let doc = &mut self.doc;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::encoded::check_targets(doc, &change)?;
                doc.apply_changes([change])?;
                Ok::<(), DocumentError>(())
            }))
            .map_err(|_| DocumentError::Malformed {
                field: "change",
                reason: "it cannot be applied to this ticket".into(),
            })??;
        }
        // Changes whose dependencies are missing wait in Automerge's queue, as they always did;
        // callers that need whole histories ask `missing_deps`.
        if !waiting.is_empty() {
            self.doc.apply_changes(waiting)?;
        }
        // What the document took now (changes that waited for these included): nothing of it
        // nested too deep.
        let taken: Vec<Change> = self
            .doc
            .get_changes(&heads_before)
            .into_iter()
            .cloned()
            .collect();
        limits::check_depth_of(&self.doc, self.part, &taken)?;
        Ok(())
    }

    /// Whether this document already holds the change with this hash.
    pub fn has_change(&mut self, hash: &ChangeHash) -> bool {
        self.doc.get_change_by_hash(hash).is_some()
    }

    /// Takes every change of `other` that this document lacks.
    pub fn merge(&mut self, other: &mut TicketDocument) -> Result<(), DocumentError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// Hashes of changes this document depends on but does not have yet.
    pub fn missing_deps(&mut self) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(&[])
    }

    /// The document as it was at `heads` (what the author of a change with these dependencies
    /// saw). Fails if a head is unknown.
    pub fn fork_at(&mut self, heads: &[ChangeHash]) -> Result<TicketDocument, DocumentError> {
        Ok(TicketDocument {
            doc: self.doc.fork_at(heads)?,
            part: self.part,
            public_seen: Vec::new(),
        })
    }

    /// Server-only: gives the ticket its human number (`FW-000123`) as a change by `actor_id`.
    pub fn set_number(
        &mut self,
        number: &str,
        actor_id: ActorId,
        at: i64,
    ) -> Result<Option<Change>, DocumentError> {
        self.server_edit(actor_id, at, "assign number", |doc| {
            doc.put(ROOT, "number", number)?;
            Ok(())
        })
    }

    /// Runs a server-authored edit as one change by `actor_id`, restoring the previous actor.
    fn server_edit(
        &mut self,
        actor_id: ActorId,
        at: i64,
        message: &str,
        edit: impl FnOnce(&mut AutoCommit) -> Result<(), DocumentError>,
    ) -> Result<Option<Change>, DocumentError> {
        let previous = self.doc.get_actor().clone();
        self.doc.set_actor(actor_id);
        let result = edit(&mut self.doc);
        let hash = match result {
            Ok(()) => self
                .doc
                .commit_with(CommitOptions::default().with_message(message).with_time(at)),
            Err(e) => {
                self.doc.rollback();
                self.doc.set_actor(previous);
                return Err(e);
            }
        };
        self.doc.set_actor(previous);
        Ok(match hash {
            Some(hash) => self.doc.get_change_by_hash(&hash).cloned(),
            None => None,
        })
    }

    /// The typed view of a public document: every field's winner, plus the list of conflicts.
    pub fn view(&self) -> Result<Ticket, DocumentError> {
        self.public_view(Conflicts::Find)
    }

    /// The view after this replica's own edits ([`Self::apply`]) to a document whose view before
    /// them showed conflicts or not (`conflicts_before`). An edit made here replaces every value
    /// it saw, so it never makes a conflict: without any before, none are looked for — the walk
    /// over the whole document for them is half the cost of reading it. With some, they are
    /// looked for again (an edit may have settled them). Changes from elsewhere
    /// ([`Self::apply_changes`], [`Self::merge`]) need [`Self::view`].
    pub fn view_after_own_edits(&self, conflicts_before: bool) -> Result<Ticket, DocumentError> {
        self.public_view(Conflicts::after_own_edits(conflicts_before))
    }

    fn public_view(&self, find: Conflicts) -> Result<Ticket, DocumentError> {
        match self.part {
            Part::Public => super::read::read_ticket(&self.doc, find),
            Part::Staff => Err(DocumentError::Missing("id")),
        }
    }

    /// The ticket as this document reads: a public document's own view, or a staff document
    /// merged into `public`, the ticket's public view (which a staff document cannot be read
    /// without).
    pub fn read_with(&self, public: Option<&Ticket>) -> Result<Ticket, DocumentError> {
        match (self.part, public) {
            (Part::Public, _) => self.view(),
            (Part::Staff, Some(public)) => Ok(public.clone().with_staff(self.staff_view()?)),
            (Part::Staff, None) => Err(DocumentError::Missing("id")),
        }
    }

    /// [`Self::read_with`] and [`Self::check_limits`] with the budget for unknown content (the
    /// server's judgement of a change), walking the document once for both its shape and its
    /// conflicts (`ticket::walk`).
    pub fn read_checked(&mut self, public: Option<&Ticket>) -> Result<Ticket, DocumentError> {
        self.check_size()?;
        let found = Conflicts::Found(super::walk::shape_and_conflicts(&self.doc, self.part)?);
        match (self.part, public) {
            (Part::Public, _) => self.public_view(found),
            (Part::Staff, Some(public)) => Ok(public.clone().with_staff(self.read_staff(found)?)),
            (Part::Staff, None) => Err(DocumentError::Missing("id")),
        }
    }

    /// The typed view of a staff document (an empty one for a public document, which holds no
    /// staff data).
    pub fn staff_view(&self) -> Result<StaffView, DocumentError> {
        self.read_staff(Conflicts::Find)
    }

    /// [`Self::staff_view`] after this replica's own edits, as [`Self::view_after_own_edits`].
    pub fn staff_view_after_own_edits(
        &self,
        conflicts_before: bool,
    ) -> Result<StaffView, DocumentError> {
        self.read_staff(Conflicts::after_own_edits(conflicts_before))
    }

    fn read_staff(&self, find: Conflicts) -> Result<StaffView, DocumentError> {
        match self.part {
            Part::Staff => super::read::read_staff(&self.doc, find),
            Part::Public => Ok(StaffView::default()),
        }
    }

    /// Direct read access for code that inspects the raw document (tests, diagnostics).
    pub fn raw(&self) -> &AutoCommit {
        &self.doc
    }

    /// The Automerge document itself, for this module's siblings that build documents whole
    /// (`rewrite`).
    pub(super) fn inner_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Direct write access, for tests that play the part of a newer app version.
    #[doc(hidden)]
    pub fn raw_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Writes `edit` by `author` as one change and returns it, or `None` when the edit changes
    /// nothing (a value set to what it already is). The caller has already checked the
    /// edit with [`crate::rules::check_edit`]; `current` is the view it was checked against.
    pub fn apply(
        &mut self,
        current: &Ticket,
        edit: &Edit,
        author: &Actor,
        at: i64,
    ) -> Result<Option<Change>, DocumentError> {
        let message = self.commit_message(edit.name());
        if !self.write_edit(current, edit, author, at)? {
            return Ok(None);
        }
        // Automerge skips puts of a value already there; then there is no change to report.
        let options = CommitOptions::default().with_message(message).with_time(at);
        let Some(hash) = self.doc.commit_with(options) else {
            return Ok(None);
        };
        let change = self
            .doc
            .get_change_by_hash(&hash)
            .ok_or(DocumentError::Missing("change"))?
            .clone();
        self.check_local_write()?;
        Ok(Some(change))
    }

    /// Writes `edit` by `author` into the open transaction, without committing; false when it
    /// changes nothing (a priority or an assignee set to what it is). [`Self::apply`] commits
    /// one edit; a server batch (`ticket::server_edit`) several as one change.
    pub(super) fn write_edit(
        &mut self,
        current: &Ticket,
        edit: &Edit,
        author: &Actor,
        at: i64,
    ) -> Result<bool, DocumentError> {
        // Re-setting a value it already has changes nothing: no event, no status move. Unless
        // the field is in conflict: then writing the value shown (the winner) is how a person
        // settles it, and must be written over every concurrent value.
        let settled = |field: &str| !current.conflicts.iter().any(|c| c.field == field);
        let unchanged = match edit {
            Edit::SetPriority { priority } => *priority == current.priority && settled("priority"),
            Edit::Assign { assignee } => *assignee == current.assignee && settled("assignee"),
            _ => false,
        };
        if unchanged {
            return Ok(false);
        }
        let expected = edit.part(current);
        if expected != self.part {
            return Err(DocumentError::WrongPart {
                edit: edit.name(),
                expected,
                part: self.part,
            });
        }
        let by = author.user_id.as_str();
        let doc = &mut self.doc;
        match edit {
            Edit::SetTitle { title } => doc.put(ROOT, "title", title.as_str())?,
            Edit::SetCategory { category } => put_opt(doc, &ROOT, "category", category.as_deref())?,
            Edit::SetOrderRef { order_ref } => {
                put_opt(doc, &ROOT, "order_ref", order_ref.as_deref())?
            }
            Edit::SetTeam { team } => put_opt(doc, &ROOT, "team", team.as_deref())?,
            Edit::SetCustomer { customer } => write_customer(doc, customer.as_ref())?,
            Edit::SetDescription { description } => {
                let text = match doc.get(ROOT, "description")? {
                    Some((automerge::Value::Object(ObjType::Text), id)) => id,
                    _ => doc.put_object(ROOT, "description", ObjType::Text)?,
                };
                doc.update_text(&text, description)?;
            }
            Edit::SetPriority { priority } => {
                doc.put(ROOT, "priority", priority.as_str())?;
                let from = current.priority.as_str();
                push_event(
                    doc,
                    "priority_changed",
                    by,
                    at,
                    &[("from", from), ("to", priority.as_str())],
                )?;
            }
            Edit::SetStatus { status } => {
                set_status(doc, current.status, *status, by, at)?;
            }
            Edit::Assign { assignee } => {
                put_opt(doc, &ROOT, "assignee", assignee.as_deref())?;
                let who = assignee.as_deref().unwrap_or("");
                push_event(doc, "assigned", by, at, &[("assignee", who)])?;
                let next = workflow::status_after_assignment(current.status, assignee.as_deref())
                    .map_err(|r| DocumentError::Malformed {
                    field: "status",
                    reason: r.to_string(),
                })?;
                if next != current.status {
                    set_status(doc, current.status, next, by, at)?;
                }
            }
            Edit::AddNote { text, internal } => {
                add_note(doc, author, text, *internal, at)?;
            }
            Edit::RedactNote { note_id } => {
                let note = find_note(doc, note_id)?;
                doc.put(&note, "redacted", true)?;
                push_event(
                    doc,
                    "note_redacted",
                    by,
                    at,
                    &[("note_id", note_id.as_str())],
                )?;
            }
            Edit::AddPart { sku, qty } => {
                let parts = container(doc, "parts_used")?;
                let index = doc.length(&parts);
                let part = doc.insert_object(&parts, index, ObjType::Map)?;
                doc.put(&part, "sku", sku.as_str())?;
                doc.put(&part, "qty", *qty)?;
                doc.put(&part, "by", by)?;
            }
            Edit::TickChecklist { item, done } => {
                let checklist = container(doc, "checklist")?;
                let entry = doc.put_object(&checklist, item.as_str(), ObjType::Map)?;
                doc.put(&entry, "done", *done)?;
                doc.put(&entry, "by", by)?;
                doc.put(&entry, "at", at)?;
            }
            Edit::SetSite { site } => write_site(doc, site)?,
            Edit::AddTag { tag } => {
                let tags = container(doc, "tags")?;
                doc.put(&tags, tag.as_str(), true)?;
            }
            Edit::RemoveTag { tag } => {
                let tags = container(doc, "tags")?;
                doc.delete(&tags, tag.as_str())?;
            }
            Edit::Attach { attachment } => {
                let attachments = container(doc, "attachments")?;
                // Filed once per hash: attaching the same photo again changes nothing.
                if doc.get(&attachments, attachment.sha256.as_str())?.is_none() {
                    write_attachment(doc, &attachments, attachment, by, at)?;
                }
            }
            Edit::RecordArrival { distance_m } => {
                push_event(
                    doc,
                    ARRIVED_ON_SITE,
                    by,
                    at,
                    &[("distance_m", &distance_m.to_string())],
                )?;
            }
            Edit::Rate { score, comment } => {
                let csat = doc.put_object(ROOT, "csat", ObjType::Map)?;
                doc.put(&csat, "score", *score)?;
                put_opt(doc, &csat, "comment", comment.as_deref())?;
                push_event(doc, "rated", by, at, &[("score", &score.to_string())])?;
            }
        }
        Ok(true)
    }
}
