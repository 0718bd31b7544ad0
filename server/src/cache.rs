//! [`DocCache`]: ticket documents loaded on demand and kept in a bounded LRU, so server memory does
//! not grow with the number of tickets stored. Each entry is tagged with the `last_seq` it
//! reflects and is only handed out for exactly that version, so a reader never judges with a
//! document newer or older than the snapshot it reads from. Entries are keyed by tenant and
//! ticket id: ticket ids are only unique within a tenant.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use fieldwork_core::ticket::{Ticket, TicketDocument};

/// A loaded document with its typed view, at one version.
#[derive(Debug)]
pub struct CachedDoc {
    /// The ticket's `last_seq` this document reflects.
    pub seq: u64,
    pub doc: TicketDocument,
    pub view: Arc<Ticket>,
}

/// Least-recently-used documents, at most `capacity` of them.
#[derive(Debug)]
pub struct DocCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    entries: HashMap<String, (CachedDoc, u64)>,
    /// Use tick → ticket id, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
}

impl Lru {
    fn touch(&mut self, id: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, used)) = self.entries.get_mut(id) {
            self.order.remove(used);
            *used = tick;
            self.order.insert(tick, id.to_owned());
        }
    }

    fn remove(&mut self, id: &str) -> Option<CachedDoc> {
        let (doc, used) = self.entries.remove(id)?;
        self.order.remove(&used);
        Some(doc)
    }
}

impl DocCache {
    /// A cache of at most `capacity` documents (0 turns caching off).
    pub fn new(capacity: usize) -> Self {
        DocCache {
            capacity,
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
            Some((cached, _)) if cached.seq == seq => cached.view.clone(),
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
            Some((cached, _)) if cached.seq == seq => lru.remove(&key),
            _ => None,
        }
    }

    /// Keeps `doc` unless a newer version is already cached; drops the least recently used
    /// documents beyond the capacity.
    pub fn put(&self, tenant: &str, id: &str, doc: CachedDoc) {
        if self.capacity == 0 {
            return;
        }
        let key = Self::key(tenant, id);
        let mut lru = self.lock();
        if let Some((cached, _)) = lru.entries.get(&key)
            && cached.seq > doc.seq
        {
            return;
        }
        lru.remove(&key);
        lru.tick += 1;
        let tick = lru.tick;
        lru.entries.insert(key.clone(), (doc, tick));
        lru.order.insert(tick, key);
        while lru.entries.len() > self.capacity {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            lru.entries.remove(&oldest);
        }
    }

    /// How many documents are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
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
        CachedDoc { seq, doc, view }
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
