//! The device's local store: one SQLite file in WAL mode with one writer connection and one
//! reader, `synchronous=FULL`, migrations by `user_version`.
//!
//! Every user-visible write (create, edit, import) is one transaction that saves the Automerge
//! document, queues the device's own changes in the outbox and rewrites the ticket's index row;
//! the call returns only after that transaction is on disk.

mod blobs;
mod checkpoint;
mod error;
mod evidence;
mod exchange;
mod files;
mod held_cache;
mod knowledge;
mod observe;
mod people;
mod persist;
mod query;
mod replay;
pub mod schema;
mod search_index;
mod sync_state;
mod unverified;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::location::LocationFix;
use crate::model::{Actor, Role};
use crate::rules;
use crate::ticket::{Edit, NewTicket, Part, Ticket, TicketDocument};

pub use blobs::{DownloadJob, PendingUpload, UploadJob, sha256_hex};
pub use error::StoreError;
pub use evidence::LocateReport;
pub use exchange::ImportReport;
pub use files::PartialDownload;
pub use knowledge::{KbHit, MAX_KB_HITS, MAX_KB_IMAGE_BYTES};
pub use observe::{ChangeOrigin, ObserverHandle, Observers, TicketsChanged};
pub use people::{Names, short_id};
pub use query::{ListQuery, MAX_PAGE, SortBy, TicketSummary};
pub use replay::{ImportLimit, MAX_CHANGES_PER_TICKET, MAX_JUDGING_WORK, MAX_VERSIONS_PER_TICKET};
pub use sync_state::{
    AppliedRound, CHECK_BATCH, CheckReport, QuarantinedChange, ServerLogin, SyncMeta,
};

type Result<T> = std::result::Result<T, StoreError>;

/// Who this device is: the user acting on it and the Automerge actor its changes carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub actor: Actor,
    /// Hex Automerge actor id; a device only ever authors changes with this actor.
    pub actor_id: String,
    pub device_id: String,
}

/// The tickets on this device.
#[derive(Debug)]
pub struct TicketStore {
    path: PathBuf,
    writer: writer::Writer,
    reader: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    identity: RwLock<Option<Identity>>,
    observers: observe::Observers<TicketsChanged>,
    checkpointer: checkpoint::Checkpointer,
    /// The tickets worked on last, loaded.
    held: held_cache::HeldCache,
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock dropped its transaction (rolled back), so the connection is
    // still in a clean state.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TicketStore {
    /// Opens the store at `path`, creating and migrating it as needed. Cheap: nothing is loaded.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Like [`Self::open`] with a chosen clock (tests, simulations).
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let writer = schema::open_writer(path)?;
        let reader = schema::open_reader(path)?;
        let identity = read_identity(&writer)?;
        Ok(TicketStore {
            path: path.to_owned(),
            writer: writer::Writer::new(writer),
            reader: Mutex::new(reader),
            clock,
            identity: RwLock::new(identity),
            observers: observe::Observers::default(),
            checkpointer: checkpoint::Checkpointer::start(path),
            held: held_cache::HeldCache::default(),
        })
    }

    /// Where the database file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Binds this store to a user. Repeating it for the same user is harmless; another user is
    /// refused, because the tickets here were written under the first one's rules.
    pub fn init(&self, actor: Actor) -> Result<Identity> {
        self.init_with_actor(actor, &ActorId::random())
    }

    /// Like [`Self::init`], with the Automerge actor already chosen (a login registers the actor
    /// with the server before the store learns who the user is). Ignored if already bound.
    pub fn init_with_actor(&self, actor: Actor, actor_id: &ActorId) -> Result<Identity> {
        if let Some(existing) = self
            .identity
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return if existing.actor.user_id == actor.user_id
                && existing.actor.tenant == actor.tenant
            {
                Ok(existing)
            } else {
                Err(StoreError::AlreadyInitialised)
            };
        }
        let identity = Identity {
            actor,
            actor_id: actor_id.to_hex_string(),
            device_id: uuid::Uuid::now_v7().to_string(),
        };
        self.write(|tx| {
            let json = serde_json::to_string(&identity)
                .map_err(|e| StoreError::Identity(e.to_string()))?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('identity', ?1)",
                [json],
            )?;
            Ok(())
        })?;
        *self.identity.write().unwrap_or_else(|p| p.into_inner()) = Some(identity.clone());
        Ok(identity)
    }

    /// The user this store belongs to.
    pub fn identity(&self) -> Result<Identity> {
        self.identity
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StoreError::NotInitialised)
    }

    fn actor_id(identity: &Identity) -> Result<ActorId> {
        ActorId::try_from(identity.actor_id.as_str())
            .map_err(|e| StoreError::Identity(e.to_string()))
    }

    /// Runs `f` in one immediate transaction on the writer and commits it durably: a person's
    /// write, which the sync's let go first ([`writer`]).
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let out = Self::commit(self.writer.first(), f)?;
        self.checkpointer.committed();
        Ok(out)
    }

    /// [`Self::write`] for the sync's work (applying an answer, checking listed tickets): it
    /// waits while a person's write waits, so a tap goes between two of its transactions.
    fn write_behind<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let out = Self::commit(self.writer.behind(), f)?;
        // Its commits are large: the log is copied back at once, off the writer.
        self.checkpointer.committed_many();
        Ok(out)
    }

    fn commit<T>(
        mut conn: MutexGuard<'_, Connection>,
        f: impl FnOnce(&Transaction) -> Result<T>,
    ) -> Result<T> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&lock(&self.reader))
    }

    /// Creates a ticket reported by this device's user, durably.
    pub fn create(&self, new: NewTicket) -> Result<Ticket> {
        let identity = self.identity()?;
        rules::check_create(&identity.actor, &new)?;
        let at = self.clock.now_ms();
        let id = uuid::Uuid::now_v7().to_string();
        let mut doc =
            TicketDocument::create(&id, &identity.actor, &new, Self::actor_id(&identity)?, at)?;
        let view = doc.view()?;
        // A new ticket is exactly one change: it is both the first snapshot and the outbox entry.
        let creation = doc.changes_since(&[]);
        let heads = doc.heads();
        self.write(|tx| {
            let bytes: Vec<u8> = creation
                .iter()
                .flat_map(|c| c.raw_bytes().iter().copied())
                .collect();
            persist::insert_doc_bytes(tx, &id, Part::Public, &bytes, &heads)?;
            for change in &creation {
                persist::push_outbox(tx, &id, Part::Public, change, at)?;
            }
            persist::upsert_index(tx, &view, at)?;
            Ok(())
        })?;
        self.notify(vec![id], ChangeOrigin::Local);
        Ok(view)
    }

    /// The one-button help request: a rider's order and position, if known, and what happened.
    pub fn help_request(
        &self,
        order_ref: Option<String>,
        fix: Option<LocationFix>,
        note: Option<String>,
    ) -> Result<Ticket> {
        if let Some(fix) = &fix {
            fix.validate(self.clock.now_ms())?;
        }
        self.create(NewTicket::help_request(order_ref, fix, note))
    }

    /// Applies `edits` in order to ticket `id` (full id), each checked against the ticket as it
    /// stands after the previous one; all or nothing.
    pub fn edit(&self, id: &str, edits: &[Edit]) -> Result<Ticket> {
        let identity = self.identity()?;
        let at = self.clock.now_ms();
        self.write(|tx| edit_in(tx, &self.held, &identity, id, edits, at))
            .inspect(|_| self.notify(vec![id.to_owned()], ChangeOrigin::Local))
    }

    /// The full view of ticket `id` (full id): with its staff data merged in on a device of a
    /// role that reads them (`Ticket::with_staff`).
    pub fn ticket(&self, id: &str) -> Result<Ticket> {
        self.read(|conn| self.held.view(conn, id)?.ok_or(StoreError::UnknownTicket))
    }

    /// Finds the one ticket whose id starts with `prefix` (or whose number equals it).
    pub fn resolve_id(&self, prefix: &str) -> Result<String> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(StoreError::UnknownTicket);
        }
        self.read(|conn| {
            let by_number: Option<String> = conn
                .prepare_cached("SELECT id FROM tickets WHERE lower(number) = ?1")?
                .query_row([&prefix], |r| r.get(0))
                .optional()?;
            if let Some(id) = by_number {
                return Ok(id);
            }
            // Ids are lowercase hex and dashes, so a range scan on the primary key finds prefixes.
            let upper = format!("{prefix}\u{7f}");
            let mut stmt =
                conn.prepare_cached("SELECT id FROM tickets WHERE id >= ?1 AND id < ?2 LIMIT 2")?;
            let ids: Vec<String> = stmt
                .query_map(params![prefix, upper], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            match ids.len() {
                0 => Err(StoreError::UnknownTicket),
                1 => Ok(ids.into_iter().next().unwrap_or_default()),
                _ => {
                    let count: i64 = conn.query_row(
                        "SELECT count(*) FROM tickets WHERE id >= ?1 AND id < ?2",
                        params![prefix, upper],
                        |r| r.get(0),
                    )?;
                    Err(StoreError::AmbiguousId(count as usize))
                }
            }
        })
    }

    /// One page of tickets from the index.
    pub fn list(&self, query: &ListQuery) -> Result<Vec<TicketSummary>> {
        if query.text.is_some() && self.read(search_index::behind)? {
            self.write(|tx| search_index::catch_up(tx, search_index::CATCH_UP_BATCH))?;
        }
        self.read(|conn| query::list(conn, query))
    }

    /// How many local changes wait for the server.
    pub fn outbox_len(&self) -> Result<usize> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as usize)
        })
    }

    /// How many tickets are stored.
    pub fn ticket_count(&self) -> Result<usize> {
        self.read(|conn| {
            Ok(
                conn.query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))?
                    as usize,
            )
        })
    }

    /// Rewrites every document that has incremental chunks as one compact snapshot, and brings
    /// the title search index up to date; returns how many documents were compacted. Writes also
    /// compact on their own every few changes.
    pub fn compact(&self) -> Result<usize> {
        while self.write(|tx| search_index::catch_up(tx, search_index::CATCH_UP_BATCH))? > 0 {}
        let docs: Vec<(String, String)> = self.read(|conn| {
            let mut stmt = conn.prepare("SELECT ticket_id, part FROM docs WHERE chunks > 0")?;
            let docs = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?;
            Ok(docs)
        })?;
        for (id, part) in &docs {
            let part: Part = part
                .parse()
                .map_err(|e: crate::model::UnknownValue| StoreError::Identity(e.to_string()))?;
            self.write(|tx| {
                if let Some(mut doc) = persist::load_doc(tx, id, part)? {
                    persist::rewrite_snapshot(tx, id, &mut doc)?;
                }
                Ok(())
            })?;
        }
        self.scrub()?;
        Ok(docs.len())
    }

    /// Leaves no bytes of deleted content in the store's files: the database overwrites deleted
    /// content itself (`secure_delete`), and this copies the WAL into it and truncates the WAL,
    /// which still held pages as they were before. Run after content leaves the device (an
    /// eviction, a compaction, a ticket replaced after an erase on the server).
    pub fn scrub(&self) -> Result<()> {
        let conn = self.writer.first();
        // A reader in the middle of a read keeps its frames; give it a few tries.
        for _ in 0..20 {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        tracing::warn!("the WAL could not be truncated: a reader held it; the next scrub will");
        Ok(())
    }

    /// Registers `callback` to hear which tickets changed after each committed write, local or
    /// remote. The subscription lasts as long as the returned handle.
    pub fn observe(
        &self,
        callback: impl Fn(&TicketsChanged) + Send + Sync + 'static,
    ) -> ObserverHandle {
        self.observers.add(Arc::new(callback))
    }

    fn notify(&self, ids: Vec<String>, origin: ChangeOrigin) {
        if !ids.is_empty() {
            self.observers.notify(&TicketsChanged { ids, origin });
        }
    }

    /// Role of the device's user, if bound.
    pub fn role(&self) -> Option<Role> {
        self.identity().ok().map(|i| i.actor.role)
    }
}

/// Applies `edits` to ticket `id` inside `tx`, each checked against the ticket as it stands after
/// the previous one, queueing the changes and rewriting the index row.
fn edit_in(
    tx: &Transaction,
    cache: &held_cache::HeldCache,
    identity: &Identity,
    id: &str,
    edits: &[Edit],
    at: i64,
) -> Result<Ticket> {
    let actor = &identity.actor;
    let actor_id = TicketStore::actor_id(identity)?;
    let (mut held, mut view) = cache.take(tx, id)?.ok_or(StoreError::UnknownTicket)?;
    held.public.set_actor(actor_id.clone());
    if let Some(staff) = &mut held.staff {
        staff.set_actor(actor_id.clone());
    }
    // What each document had when loaded (`None`: the staff document is new with these edits).
    let public_before = held.public.heads();
    let staff_before = held.staff.as_mut().map(|doc| doc.heads());
    for edit in edits {
        rules::check_edit(actor, &view, edit)?;
        let part = edit.part(&view);
        if let Some(change) = held
            .part_mut(part, &actor_id)
            .apply(&view, edit, actor, at)?
        {
            persist::push_outbox(tx, id, part, &change, at)?;
            view = held.view_after_own_change(&view, part, &change)?;
        }
    }
    persist::append_doc(tx, id, &mut held.public, &public_before)?;
    if let Some(staff) = &mut held.staff {
        persist::store_doc(tx, id, staff, staff_before.as_deref())?;
    }
    persist::upsert_index(tx, &view, at)?;
    // Kept as stored; should the transaction not commit, the store's heads are not these and
    // the entry is never handed out.
    cache.put(id, held, view.clone());
    Ok(view)
}

fn read_identity(conn: &Connection) -> Result<Option<Identity>> {
    let json: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'identity'", [], |r| {
            r.get(0)
        })
        .optional()?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Identity(e.to_string())))
        .transpose()
}

#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
