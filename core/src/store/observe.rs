//! Change notifications for UIs: observers registered on the store hear which tickets changed,
//! after the change is durable. Dropping the returned handle stops the subscription.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOrigin {
    /// An edit made on this device.
    Local,
    /// Pulled from the server or imported from a bundle.
    Remote,
}

/// Tickets that changed in one committed write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsChanged {
    pub ids: Vec<String>,
    pub origin: ChangeOrigin,
}

type Callback<E> = Arc<dyn Fn(&E) + Send + Sync>;
type Registry<E> = Mutex<BTreeMap<u64, Callback<E>>>;

/// A list of observers of events `E` (ticket changes, sync status).
pub struct Observers<E> {
    registry: Arc<Registry<E>>,
    next: AtomicU64,
}

impl<E> Default for Observers<E> {
    fn default() -> Self {
        Observers {
            registry: Arc::new(Mutex::new(BTreeMap::new())),
            next: AtomicU64::new(0),
        }
    }
}

/// Lets a handle unregister without knowing the event type.
trait Unregister: Send + Sync {
    fn unregister(&self, id: u64);
}

impl<E> Unregister for Registry<E> {
    fn unregister(&self, id: u64) {
        self.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

impl<E> std::fmt::Debug for Observers<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers").finish_non_exhaustive()
    }
}

/// Keeps an observer registered; dropping it unregisters.
#[derive(Debug)]
#[must_use = "the observer stops as soon as the handle is dropped"]
pub struct ObserverHandle {
    registry: Weak<dyn Unregister>,
    id: u64,
}

impl Drop for ObserverHandle {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.unregister(self.id);
        }
    }
}

impl<E: 'static> Observers<E> {
    /// Registers `callback` until the returned handle is dropped.
    pub fn add(&self, callback: Callback<E>) -> ObserverHandle {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, callback);
        let registry: Arc<dyn Unregister> = self.registry.clone();
        ObserverHandle {
            registry: Arc::downgrade(&registry),
            id,
        }
    }

    /// Calls every observer; one that panics is dropped and the rest still hear the news.
    pub fn notify(&self, event: &E) {
        let callbacks: Vec<(u64, Callback<E>)> = self
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, cb)| (*id, cb.clone()))
            .collect();
        for (id, callback) in callbacks {
            if catch_unwind(AssertUnwindSafe(|| callback(event))).is_err() {
                tracing::warn!(observer = id, "an observer panicked and was removed");
                self.registry
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
            }
        }
    }
}
