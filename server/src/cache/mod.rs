//! [`DocCache`]: ticket documents loaded on demand and kept in a bounded cache, so server memory
//! does not grow with the number of tickets stored. Each entry is tagged with the `last_seq` it
//! reflects and is only handed out for exactly that version, so a reader never judges with a
//! document newer or older than the snapshot it reads from. Entries are keyed by tenant and
//! ticket id: ticket ids are only unique within a tenant. The cache is bounded twice: by a
//! count of documents and by an estimate of their bytes in memory ([`estimated_bytes`]), since
//! one large ticket can cost as much as thousands of small ones.
//!
//! What leaves when it is full: the least recently used documents — but a document loaded on a
//! miss only takes their place if it was asked for more often than each of them lately
//! ([`frequency`], TinyLFU's admission). Devices sync on a timer, so the same tickets come back
//! in the same order, round after round; when they do not all fit, plain LRU pushes out exactly
//! the document asked for next and every request misses. With the admission a steady set stays
//! and the rest are loaded (`docs/benchmarks.md`, "The cache's admission").

mod frequency;
mod packed;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fieldwork_core::ticket::{Ticket, TicketDocument, Tip};

use frequency::Frequency;
pub use packed::PackedView;

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

/// Memory a kept view costs beyond its packed notes and its head's JSON length and a quarter (the
/// structs, the head's vectors' and maps' own allocations, and the ticket's [`Tip`] kept with
/// it). Measured against real memory in `server/tests/doc_memory.rs`.
pub const BYTES_PER_VIEW: usize = 2 * 1024;

/// What a kept view costs in memory: its packed notes as they are, and the rest of the ticket
/// estimated from the length of its JSON (counted, not written out).
pub fn estimated_view_bytes(view: &PackedView) -> usize {
    json_bytes(view.head())
        .saturating_add(view.packed_bytes())
        .saturating_add(BYTES_PER_VIEW)
}

/// The length of `value`'s JSON and a quarter.
fn json_bytes(value: &impl serde::Serialize) -> usize {
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
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0.saturating_add(count.0 / 4),
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

/// A view kept after its document left the cache (or without one: a note judged on the tip), at
/// one version, packed without its notes' texts, with the ticket's [`Tip`] when it has one.
#[derive(Debug)]
struct KeptView {
    seq: u64,
    /// Shared, so it is unpacked outside the lock.
    view: Arc<PackedView>,
    tip: Option<Arc<Tip>>,
}

/// A ticket kept without its document: its view at version `seq` and its [`Tip`] (a note can be
/// judged on it without loading the document).
#[derive(Debug, Clone)]
pub struct Kept {
    pub seq: u64,
    /// The view without its notes' texts ([`PackedView`]): a note is judged on it, nothing judged
    /// on the document is.
    pub view: Arc<Ticket>,
    pub tip: Option<Arc<Tip>>,
    /// The packed view `view` was read from: a writer packs the notes it appends after it
    /// ([`PackedView::appended`]).
    pub packed: Arc<PackedView>,
}

/// Documents, at most `capacity` of them and at most half of `budget` bytes by estimate, the
/// least recently used leaving first (see the module's note on what may push them out); and,
/// beside them, tickets kept without their documents ([`Kept`]: views of documents pushed out,
/// and tickets whose newest notes were judged on their tips), in the other half (a view above a
/// quarter of that is not kept). A view is far smaller than its document, and kept without its
/// notes' texts it grows little with the ticket: readers that only need the view (the report
/// facts, visibility checks) then do not load the ticket again, and a note pushed to it is judged
/// without its document (`ticket::tip`).
#[derive(Debug)]
pub struct DocCache {
    capacity: usize,
    budget: usize,
    inner: Mutex<Tiers>,
    /// How many changes writers judged on tips handed out by [`Self::kept`].
    judged_on_tips: AtomicU64,
}

#[derive(Debug)]
struct Tiers {
    docs: Lru<CachedDoc>,
    views: Lru<KeptView>,
    /// How often each ticket was asked for lately, cached or not.
    frequency: Frequency,
    /// Tickets asked for whose documents are not in the cache now, until they are put.
    asked: HashMap<String, Asked>,
}

/// Why a ticket whose document is not in the cache now was asked for last.
#[derive(Debug, Clone, Copy)]
enum Asked {
    /// A writer took its document out: it goes back in as a member, not a newcomer.
    Taken,
    /// It missed, having been asked for this often before. A newcomer is weighed by this, not by
    /// its count after the miss: in a loop the document it would push out is the one to be
    /// asked for next, not yet asked this time round, and this one's own request would tip
    /// every contest its way.
    Missed(u8),
}

/// A ticket's view as the cache holds it: a loaded document's, or kept packed (unpacked outside
/// the lock); and as a commit holds it while it waits for its turn.
#[derive(Debug)]
pub(crate) enum HeldView {
    Loaded(Arc<Ticket>),
    Packed(Arc<PackedView>),
}

impl HeldView {
    /// The ticket's fields other than its notes (a packed view's notes are in its buffer).
    pub(crate) fn head(&self) -> &Ticket {
        match self {
            HeldView::Loaded(view) => view,
            HeldView::Packed(packed) => packed.head(),
        }
    }
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

impl Tiers {
    /// Counts a request for `key`; a miss is remembered with the count from before it.
    fn count(&mut self, key: String, hit: bool) {
        if !hit {
            let before = self.frequency.estimate(&key);
            // Misses that no document follows (a reader that only needed the view) are let go
            // rather than kept without end; a newcomer whose miss was let go is weighed by its
            // count as it stands.
            if self.asked.len() >= MAX_ASKED {
                self.asked.clear();
            }
            let asked = self
                .asked
                .entry(key.clone())
                .or_insert(Asked::Missed(before));
            if let Asked::Missed(count) = asked {
                *count = before;
            }
        }
        self.frequency.record(&key);
    }
}

/// Most tickets remembered as asked for and not in the cache.
const MAX_ASKED: usize = 16 * 1024;

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
            inner: Mutex::new(Tiers {
                docs: Lru::default(),
                views: Lru::default(),
                frequency: Frequency::new(capacity),
                asked: HashMap::new(),
            }),
            judged_on_tips: AtomicU64::new(0),
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

    /// The bytes the tickets kept without their documents may take.
    fn view_budget(&self) -> usize {
        self.budget / 2
    }

    /// The bytes the documents may take.
    fn doc_budget(&self) -> usize {
        self.budget - self.view_budget()
    }

    /// The view of ticket `id` of `tenant` at version `seq`, if its document or its view is
    /// cached — for rules, reports and visibility, never to show: a view kept without its
    /// document has its notes' texts empty ([`PackedView`]).
    pub fn view(&self, tenant: &str, id: &str, seq: u64) -> Option<Arc<Ticket>> {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        let found = Self::view_in(&mut tiers, &key, seq);
        tiers.count(key, found.is_some());
        drop(tiers);
        match found? {
            HeldView::Loaded(view) => Some(view),
            HeldView::Packed(packed) => packed.unpack().map(Arc::new),
        }
    }

    /// Ticket `id` of `tenant` at version `seq` kept without its document, for a writer whose
    /// [`Self::take`] just missed (the request is counted once).
    pub fn kept(&self, tenant: &str, id: &str, seq: u64) -> Option<Kept> {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        let (packed, tip) = match tiers.views.entries.get(&key) {
            Some((kept, _, _)) if kept.seq == seq => (kept.view.clone(), kept.tip.clone()),
            _ => return None,
        };
        tiers.views.touch(&key);
        drop(tiers);
        Some(Kept {
            seq,
            view: Arc::new(packed.unpack()?),
            tip,
            packed,
        })
    }

    /// Keeps ticket `id` of `tenant` at version `seq` without its document, as its packed view
    /// and its tip, unless a newer version is cached: a writer judged a note on its tip and stored
    /// it. An older document of it leaves.
    pub fn put_kept(&self, tenant: &str, id: &str, seq: u64, view: Arc<PackedView>, tip: Arc<Tip>) {
        if self.capacity == 0 {
            return;
        }
        let key = Self::key(tenant, id);
        let bytes = estimated_view_bytes(&view);
        let mut tiers = self.lock();
        if Self::newest(&tiers, &key).is_some_and(|newest| newest > seq) {
            return;
        }
        tiers.docs.remove(&key);
        tiers.asked.remove(&key);
        let view = KeptView {
            seq,
            view,
            tip: Some(tip),
        };
        self.keep_views(&mut tiers, vec![(key, view, bytes)]);
    }

    /// The newest version of a ticket the cache holds, as a document or kept without one.
    fn newest(tiers: &Tiers, key: &str) -> Option<u64> {
        let doc_seq = tiers.docs.entries.get(key).map(|(d, _, _)| d.seq);
        let view_seq = tiers.views.entries.get(key).map(|(v, _, _)| v.seq);
        doc_seq.max(view_seq)
    }

    fn view_in(tiers: &mut Tiers, key: &str, seq: u64) -> Option<HeldView> {
        if let Some((cached, _, _)) = tiers.docs.entries.get(key) {
            if cached.seq != seq {
                return None;
            }
            let view = cached.view.clone();
            tiers.docs.touch(key);
            return Some(HeldView::Loaded(view));
        }
        let packed = match tiers.views.entries.get(key) {
            Some((kept, _, _)) if kept.seq == seq => kept.view.clone(),
            _ => return None,
        };
        tiers.views.touch(key);
        Some(HeldView::Packed(packed))
    }

    /// Takes the document of ticket `id` at version `seq` out of the cache, for a writer that
    /// will [`Self::put`] it back once its work is committed.
    pub fn take(&self, tenant: &str, id: &str, seq: u64) -> Option<CachedDoc> {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        let taken = match tiers.docs.entries.get(&key) {
            Some((cached, _, _)) if cached.seq == seq => tiers.docs.remove(&key),
            _ => None,
        };
        if taken.is_some() {
            tiers.asked.insert(key.clone(), Asked::Taken);
        }
        tiers.count(key, taken.is_some());
        taken
    }

    /// Drops ticket `id` of `tenant` from the cache, whatever its version (its history was
    /// rewritten: the old document holds what an erase removed).
    pub fn forget(&self, tenant: &str, id: &str) {
        let key = Self::key(tenant, id);
        let mut tiers = self.lock();
        tiers.docs.remove(&key);
        tiers.views.remove(&key);
        tiers.asked.remove(&key);
    }

    /// Keeps `doc` unless a newer version is already cached; drops the least recently used
    /// documents beyond the capacity or the byte budget, keeping their views while those fit. A
    /// document that was not in the cache (loaded on a miss) is kept only if [`Self::admits`] it;
    /// one a writer took out goes back in.
    pub fn put(&self, tenant: &str, id: &str, mut doc: CachedDoc) {
        if self.capacity == 0 {
            return;
        }
        let key = Self::key(tenant, id);
        // Estimated outside the lock: it walks the document's history.
        let bytes = estimated_bytes(&mut doc.doc)
            .saturating_add(doc.staff.as_mut().map_or(0, estimated_bytes));
        let mut tiers = self.lock();
        if Self::newest(&tiers, &key).is_some_and(|seq| seq > doc.seq) {
            return;
        }
        let asked = tiers.asked.remove(&key);
        let member = tiers.docs.remove(&key).is_some() || matches!(asked, Some(Asked::Taken));
        tiers.views.remove(&key);
        let claim = match asked {
            Some(Asked::Missed(before)) => before,
            _ => tiers.frequency.estimate(&key),
        };
        let pushed_out = if bytes > self.doc_budget() / 4 {
            vec![(key, doc)]
        } else if member || self.admits(&tiers, claim, bytes) {
            tiers.docs.insert(key, doc, bytes);
            tiers.docs.shrink_to(self.capacity, self.doc_budget())
        } else {
            vec![(key, doc)]
        };
        drop(tiers);
        if pushed_out.is_empty() {
            return;
        }
        // Views are packed and sized, and tips read, only when their documents leave, and outside
        // the lock.
        let views: Vec<_> = pushed_out
            .into_iter()
            .map(|(key, mut cached)| {
                let view = Arc::new(PackedView::pack(Arc::unwrap_or_clone(cached.view)));
                let bytes = estimated_view_bytes(&view);
                let view = KeptView {
                    seq: cached.seq,
                    tip: cached.doc.tip().map(Arc::new),
                    view,
                };
                (key, view, bytes)
            })
            .collect();
        self.keep_views(&mut self.lock(), views);
    }

    /// Whether a newcomer of `bytes`, asked for `wanted` times lately, may push out what it must
    /// to fit: the least recently used documents, each of which must have been asked for less
    /// often.
    fn admits(&self, tiers: &Tiers, wanted: u8, bytes: usize) -> bool {
        let mut count = tiers.docs.entries.len().saturating_add(1);
        let mut total = tiers.docs.bytes.saturating_add(bytes);
        for victim in tiers.docs.order.values() {
            if count <= self.capacity && total <= self.doc_budget() {
                return true;
            }
            if tiers.frequency.estimate(victim) >= wanted {
                return false;
            }
            count -= 1;
            total -= tiers.docs.entries.get(victim).map_or(0, |(_, _, b)| *b);
        }
        count <= self.capacity && total <= self.doc_budget()
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

    /// Counts a change a writer judged on a ticket's tip.
    pub fn judged_on_tip(&self) {
        self.judged_on_tips.fetch_add(1, Ordering::Relaxed);
    }

    /// How many changes writers judged on tickets' tips (a commit judged again in its turn
    /// counts again).
    pub fn judged_on_tips(&self) -> u64 {
        self.judged_on_tips.load(Ordering::Relaxed)
    }

    /// How many views of documents that left the cache are kept, and their estimated bytes.
    pub fn kept_views(&self) -> (usize, usize) {
        let tiers = self.lock();
        (tiers.views.entries.len(), tiers.views.bytes)
    }
}

#[cfg(test)]
mod tests;
