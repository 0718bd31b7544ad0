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
/// Each observer with how many times in a row it failed.
type Registry<E> = Mutex<BTreeMap<u64, (Callback<E>, u32)>>;

/// Failures in a row after which an observer is dropped: one that throws once (a passing bug in
/// a UI) keeps hearing the news; one that fails every time stops costing every write.
pub const MAX_OBSERVER_FAILURES: u32 = 3;

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
            .insert(id, (callback, 0));
        let registry: Arc<dyn Unregister> = self.registry.clone();
        ObserverHandle {
            registry: Arc::downgrade(&registry),
            id,
        }
    }

    /// Calls every observer; the rest still hear the news when one panics. One that panics
    /// [`MAX_OBSERVER_FAILURES`] times in a row is dropped (and said so in the log).
    pub fn notify(&self, event: &E) {
        let callbacks: Vec<(u64, Callback<E>)> = self
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, (cb, _))| (*id, cb.clone()))
            .collect();
        for (id, callback) in callbacks {
            let failed = catch_unwind(AssertUnwindSafe(|| callback(event))).is_err();
            let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
            let Some((_, failures)) = registry.get_mut(&id) else {
                continue;
            };
            if !failed {
                *failures = 0;
                continue;
            }
            *failures += 1;
            if *failures >= MAX_OBSERVER_FAILURES {
                registry.remove(&id);
                tracing::warn!(
                    observer = id,
                    failures = MAX_OBSERVER_FAILURES,
                    "an observer failed every time and was removed"
                );
            } else {
                tracing::warn!(observer = id, "an observer panicked; it stays registered");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[test]
    fn an_observer_that_fails_once_keeps_hearing_and_one_that_always_fails_is_dropped() {
        let observers: Observers<u32> = Observers::default();
        let (flaky_calls, broken_calls, good_calls) = (
            Arc::new(AtomicU32::new(0)),
            Arc::new(AtomicU32::new(0)),
            Arc::new(AtomicU32::new(0)),
        );
        let calls = flaky_calls.clone();
        let _flaky = observers.add(Arc::new(move |_: &u32| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a passing bug in a UI");
            }
        }));
        let calls = broken_calls.clone();
        let _broken = observers.add(Arc::new(move |_: &u32| {
            calls.fetch_add(1, Ordering::SeqCst);
            panic!("broken for good");
        }));
        let calls = good_calls.clone();
        let _good = observers.add(Arc::new(move |_: &u32| {
            calls.fetch_add(1, Ordering::SeqCst);
        }));
        for event in 0..6 {
            observers.notify(&event);
        }
        assert_eq!(
            flaky_calls.load(Ordering::SeqCst),
            6,
            "kept after one failure"
        );
        assert_eq!(
            broken_calls.load(Ordering::SeqCst),
            MAX_OBSERVER_FAILURES,
            "dropped after failing every time"
        );
        assert_eq!(good_calls.load(Ordering::SeqCst), 6, "never held up");
    }
}
