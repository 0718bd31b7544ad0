//! [`DocCache`]: ticket documents loaded on demand and kept in a bounded LRU, so server memory does
//! not grow with the number of tickets stored. Each entry is tagged with the `last_seq` it
//! reflects and is only handed out for exactly that version, so a reader never judges with a
//! document newer or older than the snapshot it reads from. Entries are keyed by tenant and
//! ticket id: ticket ids are only unique within a tenant. The cache is bounded twice: by a
//! count of documents and by an estimate of their bytes in memory ([`estimated_bytes`]), since
//! one large ticket can cost as much as thousands of small ones.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use fieldwork_core::ticket::{Ticket, TicketDocument};

/// Bytes of memory the cache may hold by default (its estimate, [`estimated_bytes`]): the
/// default count of ordinary tickets fits (1,000 × ~105 KB estimated), a few large ones push the
/// rest out, and one at the ticket limits (~60 MB) is not kept at all.
pub const DEFAULT_DOC_CACHE_BYTES: usize = 128 * 1024 * 1024;

/// Memory one operation of a loaded document costs, measured on this machine kind by loading
/// documents and reading the process's RSS: 2,000 ordinary tickets (173 operations, 3 KB of
/// history each) took 75 KB each, 431 bytes per operation; one change of 10,000–100,000 list
/// items 550–1,020 bytes per item; text about 1,050 per character. 600 errs high for ordinary
/// tickets and near the middle for long lists (`docs/security.md`, "Documents and changes").
/// Tickets held the way the server holds them (each change applied to a fork that replaces the
/// document) took 117 KB each at 30 notes, estimated 187 KB (`server/tests/doc_memory.rs`).
pub const BYTES_PER_OP: usize = 600;

/// Memory a cached document costs whatever its size: Automerge's indexes and maps of an almost
/// empty document, and the ticket's view kept beside it. Held tickets of 5 notes took 46 KB
/// each where operations and history alone estimated 44 KB (`server/tests/doc_memory.rs`).
pub const BYTES_PER_DOCUMENT: usize = 16 * 1024;

/// What a loaded document costs in memory, estimated from its operations and the encoded bytes
/// of its history (which Automerge keeps alongside), plus [`BYTES_PER_DOCUMENT`].
pub fn estimated_bytes(doc: &mut TicketDocument) -> usize {
    let ops = usize::try_from(doc.ops()).unwrap_or(usize::MAX);
    ops.saturating_mul(BYTES_PER_OP)
        .saturating_add(doc.history_bytes())
        .saturating_add(BYTES_PER_DOCUMENT)
}

/// A loaded ticket with its (public) typed view, at one version.
#[derive(Debug)]
pub struct CachedDoc {
    /// The ticket's `last_seq` this document reflects.
    pub seq: u64,
    /// The public document.
    pub doc: TicketDocument,
    /// The staff document, if a commit loaded it.
    pub staff: Option<TicketDocument>,
    pub view: Arc<Ticket>,
}

/// Least-recently-used documents, at most `capacity` of them and at most `budget` bytes by
/// estimate.
#[derive(Debug)]
pub struct DocCache {
    capacity: usize,
    budget: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// Each document with its last use and its estimated bytes.
    entries: HashMap<String, (CachedDoc, u64, usize)>,
    /// Use tick → ticket id, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
    /// Estimated bytes of every entry.
    bytes: usize,
}

impl Lru {
    fn touch(&mut self, id: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, used, _)) = self.entries.get_mut(id) {
            self.order.remove(used);
            *used = tick;
            self.order.insert(tick, id.to_owned());
        }
    }

    fn remove(&mut self, id: &str) -> Option<CachedDoc> {
        let (doc, used, bytes) = self.entries.remove(id)?;
        self.order.remove(&used);
        self.bytes -= bytes;
        Some(doc)
    }
}

impl DocCache {
    /// A cache of at most `capacity` documents (0 turns caching off) and
    /// [`DEFAULT_DOC_CACHE_BYTES`].
    pub fn new(capacity: usize) -> Self {
        Self::with_budget(capacity, DEFAULT_DOC_CACHE_BYTES)
    }

    /// A cache of at most `capacity` documents and `budget` bytes by estimate. A document
    /// estimated above a quarter of the budget is not kept at all (it would push out everything
    /// else and be loaded again anyway).
    pub fn with_budget(capacity: usize, budget: usize) -> Self {
        DocCache {
            capacity,
            budget,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// One key for a ticket of a tenant (tenant ids never contain `/`).
    fn key(tenant: &str, id: &str) -> String {
        format!("{tenant}/{id}")
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        // Every mutation leaves the maps consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The view of ticket `id` of `tenant` at version `seq`, if cached.
    pub fn view(&self, tenant: &str, id: &str, seq: u64) -> Option<Arc<Ticket>> {
        let key = Self::key(tenant, id);
        let mut lru = self.lock();
        let view = match lru.entries.get(&key) {
            Some((cached, _, _)) if cached.seq == seq => cached.view.clone(),
            _ => return None,
        };
        lru.touch(&key);
        Some(view)
    }

    /// Takes the document of ticket `id` at version `seq` out of the cache, for a writer that
    /// will [`Self::put`] it back once its work is committed.
    pub fn take(&self, tenant: &str, id: &str, seq: u64) -> Option<CachedDoc> {
        let key = Self::key(tenant, id);
        let mut lru = self.lock();
        match lru.entries.get(&key) {
            Some((cached, _, _)) if cached.seq == seq => lru.remove(&key),
            _ => None,
        }
    }

    /// Drops ticket `id` of `tenant` from the cache, whatever its version (its history was
    /// rewritten: the old document holds what an erase removed).
    pub fn forget(&self, tenant: &str, id: &str) {
        self.lock().remove(&Self::key(tenant, id));
    }

    /// Keeps `doc` unless a newer version is already cached; drops the least recently used
    /// documents beyond the capacity or the byte budget.
    pub fn put(&self, tenant: &str, id: &str, mut doc: CachedDoc) {
        if self.capacity == 0 {
            return;
        }
        let key = Self::key(tenant, id);
        // Estimated outside the lock: it walks the document's history.
        let bytes = estimated_bytes(&mut doc.doc)
            .saturating_add(doc.staff.as_mut().map_or(0, estimated_bytes));
        let mut lru = self.lock();
        if let Some((cached, _, _)) = lru.entries.get(&key)
            && cached.seq > doc.seq
        {
            return;
        }
        lru.remove(&key);
        if bytes > self.budget / 4 {
            return;
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.entries.insert(key.clone(), (doc, tick, bytes));
        lru.order.insert(tick, key);
        lru.bytes += bytes;
        while lru.entries.len() > self.capacity || lru.bytes > self.budget {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            if let Some((_, _, freed)) = lru.entries.remove(&oldest) {
                lru.bytes -= freed;
            }
        }
    }

    /// How many documents are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The estimated bytes of every cached document.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldwork_core::ticket::{ActorId, NewTicket};
    use fieldwork_core::{Actor, Role, TicketKind};

    fn doc(id: &str, seq: u64) -> CachedDoc {
        let actor = Actor {
            tenant: "t".into(),
            user_id: "u".into(),
            role: Role::Agent,
            name: None,
            team: None,
        };
        let new = NewTicket::titled(TicketKind::Repair, "x");
        let doc = TicketDocument::create(id, &actor, &new, ActorId::random(), 1).expect("create");
        let view = Arc::new(doc.view().expect("view"));
        CachedDoc {
            seq,
            doc,
            staff: None,
            view,
        }
    }

    #[test]
    fn holds_at_most_capacity_and_drops_the_least_recently_used() {
        let cache = DocCache::new(2);
        cache.put("t", "a", doc("a", 1));
        cache.put("t", "b", doc("b", 1));
        assert!(
            cache.view("t", "a", 1).is_some(),
            "a is now the most recent"
        );
        cache.put("t", "c", doc("c", 1));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.view("t", "b", 1).is_none(),
            "b was the least recently used"
        );
        assert!(cache.view("t", "a", 1).is_some() && cache.view("t", "c", 1).is_some());
    }

    #[test]
    fn the_byte_budget_bounds_the_cache_whatever_the_count() {
        let mut one = doc("a", 1);
        let each = estimated_bytes(&mut one.doc);
        assert!(each > 0);
        // Room for four documents by bytes, thirty by count: bytes decide.
        let budget = 4 * each + each / 2;
        let cache = DocCache::with_budget(30, budget);
        for (i, id) in ["a", "b", "c", "d", "e", "f"].into_iter().enumerate() {
            cache.put("t", id, doc(id, i as u64));
        }
        assert_eq!(cache.len(), 4);
        assert!(cache.bytes() <= budget);
        assert!(cache.view("t", "a", 0).is_none() && cache.view("t", "f", 5).is_some());
        // A document bigger than a quarter of the budget is not kept at all.
        let small = DocCache::with_budget(30, 2 * each);
        small.put("t", "a", doc("a", 1));
        assert_eq!(small.len(), 0);
        assert_eq!(small.bytes(), 0);
    }

    #[test]
    fn hands_out_only_the_version_asked_for_and_never_goes_back() {
        let cache = DocCache::new(4);
        cache.put("t", "a", doc("a", 5));
        assert!(cache.view("t", "a", 4).is_none() && cache.take("t", "a", 6).is_none());
        cache.put("t", "a", doc("a", 3));
        let taken = cache.take("t", "a", 5).expect("version 5 is cached");
        assert_eq!(taken.seq, 5);
        assert_eq!(cache.len(), 0);
        assert!(DocCache::new(0).view("t", "a", 5).is_none());
    }
}
