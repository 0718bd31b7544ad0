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
/// document), with their views, took 46, 151 and 565 KB each at 5, 30 and 120 notes, estimated
/// 60, 187 and 643 KB (`server/tests/doc_memory.rs`, glibc's free memory handed back before
/// each reading).
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

/// Memory a kept view costs beyond twice its JSON length (the struct, its vectors' and maps'
/// own allocations). Views of tickets with 5, 30 and 120 notes took 2.8, 8.1 and 26 KB in
/// memory, estimated 5.1, 14.7 and 49 KB (`server/tests/doc_memory.rs`).
pub const BYTES_PER_VIEW: usize = 2 * 1024;

/// What a ticket's view costs in memory, estimated from the length of its JSON (counted, not
/// written out).
pub fn estimated_view_bytes(view: &Ticket) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing a view into a counter cannot fail; were it to, the view counts as large.
    match serde_json::to_writer(&mut count, view) {
        Ok(()) => count.0.saturating_mul(2).saturating_add(BYTES_PER_VIEW),
        Err(_) => usize::MAX,
    }
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

/// A view kept after its document left the cache, at one version.
#[derive(Debug)]
struct KeptView {
    seq: u64,
    view: Arc<Ticket>,
}

/// Least-recently-used documents, at most `capacity` of them and at most seven eighths of
/// `budget` bytes by estimate; and, beside them, the views of documents pushed out, in the last
/// eighth of `budget` (a view above a quarter of that is not kept). A view is far smaller than
/// its document, and readers that only need the view (the report facts, visibility checks) then
/// do not load the ticket again.
#[derive(Debug)]
pub struct DocCache {
    capacity: usize,
    budget: usize,
    inner: Mutex<Tiers>,
}

#[derive(Debug, Default)]
struct Tiers {
    docs: Lru<CachedDoc>,
    views: Lru<KeptView>,
}

/// Entries by key, each with its last use and its estimated bytes.
#[derive(Debug)]
struct Lru<T> {
    entries: HashMap<String, (T, u64, usize)>,
    /// Use tick → key, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
    /// Estimated bytes of every entry.
    bytes: usize,
}

impl<T> Default for Lru<T> {
    fn default() -> Self {
        Lru {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
        }
    }
}

impl<T> Lru<T> {
    fn touch(&mut self, key: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, used, _)) = self.entries.get_mut(key) {
            self.order.remove(used);
            *used = tick;
            self.order.insert(tick, key.to_owned());
        }
    }

    fn remove(&mut self, key: &str) -> Option<T> {
        let (value, used, bytes) = self.entries.remove(key)?;
        self.order.remove(&used);
        self.bytes -= bytes;
        Some(value)
    }

    fn insert(&mut self, key: String, value: T, bytes: usize) {
        self.remove(&key);
        self.tick += 1;
        let tick = self.tick;
        self.entries.insert(key.clone(), (value, tick, bytes));
        self.order.insert(tick, key);
        self.bytes += bytes;
    }

    /// Takes out the least recently used entries while there are more than `count` or their
    /// bytes are above `budget`.
    fn shrink_to(&mut self, count: usize, budget: usize) -> Vec<(String, T)> {
        let mut out = Vec::new();
        while self.entries.len() > count || self.bytes > budget {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((value, _, freed)) = self.entries.remove(&oldest) {
                self.bytes -= freed;
                out.push((oldest, value));
            }
        }
        out
    }
}

impl DocCache {
    /// A cache of at most `capacity` documents (0 turns caching off) and
    /// [`DEFAULT_DOC_CACHE_BYTES`].
    pub fn new(capacity: usize) -> Self {
        Self::with_budget(capacity, DEFAULT_DOC_CACHE_BYTES)
    }

    /// A cache of at most `capacity` documents and `budget` bytes by estimate, views of
    /// documents pushed out included. A document estimated above a quarter of the documents'
    /// share is not kept at all (it would push out everything else and be loaded again anyway),
    /// only its view.
    pub fn with_budget(capacity: usize, budget: usize) -> Self {
        DocCache {
            capacity,
            budget,
            inner: Mutex::new(Tiers::default()),
        }
    }

    /// One key for a ticket of a tenant (tenant ids never contain `/`).
    fn key(tenant: &str, id: &str) -> String {
        format!("{tenant}/{id}")
    }

    fn lock(&self) -> MutexGuard<'_, Tiers> {
        // Every mutation leaves the maps consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes the views of documents pushed out may take.
    fn view_budget(&self) -> usize {
        self.budget / 8
    }

    /// The bytes the documents may take.
    fn doc_budget(&self) -> usize {
        self.budget - self.view_budget()
    }

    /// The view of ticket `id` of `tenant` at version `seq`, if its document or its view is
    /// cached.
    pub fn view(&self, tenant: &str, id: &str, seq: u64) -> Option<Arc<Ticket>> {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        if let Some((cached, _, _)) = tiers.docs.entries.get(&key) {
            if cached.seq != seq {
                return None;
            }
            let view = cached.view.clone();
            tiers.docs.touch(&key);
            return Some(view);
        }
        let view = match tiers.views.entries.get(&key) {
            Some((kept, _, _)) if kept.seq == seq => kept.view.clone(),
            _ => return None,
        };
        tiers.views.touch(&key);
        Some(view)
    }

    /// Takes the document of ticket `id` at version `seq` out of the cache, for a writer that
    /// will [`Self::put`] it back once its work is committed.
    pub fn take(&self, tenant: &str, id: &str, seq: u64) -> Option<CachedDoc> {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        match tiers.docs.entries.get(&key) {
            Some((cached, _, _)) if cached.seq == seq => tiers.docs.remove(&key),
            _ => None,
        }
    }

    /// Drops ticket `id` of `tenant` from the cache, whatever its version (its history was
    /// rewritten: the old document holds what an erase removed).
    pub fn forget(&self, tenant: &str, id: &str) {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        tiers.docs.remove(&key);
        tiers.views.remove(&key);
    }

    /// Keeps `doc` unless a newer version is already cached; drops the least recently used
    /// documents beyond the capacity or the byte budget, keeping their views while those fit.
    pub fn put(&self, tenant: &str, id: &str, mut doc: CachedDoc) {
        if self.capacity == 0 {
            return;
        }
        let key = Self::key(tenant, id);
        // Estimated outside the lock: it walks the document's history.
        let bytes = estimated_bytes(&mut doc.doc)
            .saturating_add(doc.staff.as_mut().map_or(0, estimated_bytes));
        let mut tiers = self.lock();
        let newest = |tiers: &Tiers| {
            let doc_seq = tiers.docs.entries.get(&key).map(|(d, _, _)| d.seq);
            let view_seq = tiers.views.entries.get(&key).map(|(v, _, _)| v.seq);
            doc_seq.max(view_seq)
        };
        if newest(&tiers).is_some_and(|seq| seq > doc.seq) {
            return;
        }
        tiers.docs.remove(&key);
        tiers.views.remove(&key);
        let pushed_out = if bytes > self.doc_budget() / 4 {
            vec![(key, doc)]
        } else {
            tiers.docs.insert(key, doc, bytes);
            tiers.docs.shrink_to(self.capacity, self.doc_budget())
        };
        drop(tiers);
        if pushed_out.is_empty() {
            return;
        }
        // Views are sized only when their documents leave, and outside the lock.
        let views: Vec<_> = pushed_out
            .into_iter()
            .map(|(key, cached)| {
                let bytes = estimated_view_bytes(&cached.view);
                let view = KeptView {
                    seq: cached.seq,
                    view: cached.view,
                };
                (key, view, bytes)
            })
            .collect();
        self.keep_views(&mut self.lock(), views);
    }

    /// Keeps the views of documents that left the cache, as far as the views' budget goes,
    /// unless the ticket is back in the cache meanwhile or a newer view is kept.
    fn keep_views(&self, tiers: &mut Tiers, views: Vec<(String, KeptView, usize)>) {
        let budget = self.view_budget();
        for (key, view, bytes) in views {
            let superseded = tiers.docs.entries.contains_key(&key)
                || tiers
                    .views
                    .entries
                    .get(&key)
                    .is_some_and(|(kept, _, _)| kept.seq > view.seq);
            if !superseded && bytes <= budget / 4 {
                tiers.views.insert(key, view, bytes);
            }
        }
        // Bounded by bytes alone: each view's estimate counts its fixed cost.
        tiers.views.shrink_to(usize::MAX, budget);
    }

    /// How many documents are cached.
    pub fn len(&self) -> usize {
        self.lock().docs.entries.len()
    }

    /// The estimated bytes of every cached document.
    pub fn bytes(&self) -> usize {
        self.lock().docs.bytes
    }

    /// How many views of documents that left the cache are kept, and their estimated bytes.
    pub fn kept_views(&self) -> (usize, usize) {
        let tiers = self.lock();
        (tiers.views.entries.len(), tiers.views.bytes)
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
            cache.take("t", "b", 1).is_none(),
            "b was the least recently used"
        );
        assert!(cache.take("t", "a", 1).is_some() && cache.take("t", "c", 1).is_some());
    }

    #[test]
    fn the_byte_budget_bounds_the_cache_whatever_the_count() {
        let mut one = doc("a", 1);
        let each = estimated_bytes(&mut one.doc);
        assert!(each > 0);
        // Room for four documents by bytes (in the documents' seven eighths), thirty by count:
        // bytes decide.
        let budget = (4 * each + each / 2) * 8 / 7;
        let cache = DocCache::with_budget(30, budget);
        for (i, id) in ["a", "b", "c", "d", "e", "f"].into_iter().enumerate() {
            cache.put("t", id, doc(id, i as u64));
        }
        assert_eq!(cache.len(), 4);
        assert!(cache.bytes() <= budget * 7 / 8);
        assert!(cache.take("t", "a", 0).is_none() && cache.take("t", "f", 5).is_some());
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

    #[test]
    fn keeps_the_views_of_documents_pushed_out_within_their_share() {
        let mut one = doc("a", 1);
        let each = estimated_bytes(&mut one.doc);
        let view = estimated_view_bytes(&one.view);
        assert!(
            view < each / 4,
            "a view ({view}) is far smaller than its document ({each})"
        );
        // Two documents fit by count; the views' eighth (one document's worth) holds more than
        // three views.
        let budget = 8 * (each + 1);
        let cache = DocCache::with_budget(2, budget);
        for (i, id) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            cache.put("t", id, doc(id, i as u64));
        }
        assert_eq!(cache.len(), 2, "d and e");
        let (views, bytes) = cache.kept_views();
        assert_eq!(views, 3, "the views of a, b and c");
        assert!(bytes <= budget / 8);
        // A kept view is handed out at its version only, and its document is gone.
        assert!(cache.view("t", "a", 0).is_some());
        assert!(cache.view("t", "a", 1).is_none());
        assert!(cache.take("t", "a", 0).is_none());
        // A newer document replaces the kept view; an older one does not go back over it.
        cache.put("t", "b", doc("b", 1));
        assert!(cache.view("t", "b", 1).is_some());
        cache.put("t", "c", doc("c", 1));
        assert!(
            cache.view("t", "c", 2).is_some(),
            "c's view at 2 is newer than 1"
        );
        // Forgetting a ticket drops its view too.
        cache.forget("t", "c");
        assert!(cache.view("t", "c", 2).is_none());
        // With caching off nothing is kept, views neither.
        let off = DocCache::new(0);
        off.put("t", "a", doc("a", 1));
        assert_eq!(off.kept_views(), (0, 0));
    }
}
