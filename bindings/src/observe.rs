//! Observers implemented by the app (Kotlin, Swift, Python) and the handle that keeps each one
//! subscribed.
//!
//! Callbacks run on the thread that made the change: the caller's for local edits, the sync
//! thread for pulled changes and status. They should hand the news to the UI thread and return.
//! A callback that throws becomes a Rust panic inside the core's observer registry, which catches
//! it; the app and every other observer carry on. The observer stays subscribed, unless it throws
//! three times in a row (then it is removed, and the log says so).

use std::sync::Mutex;

use fieldwork_core::store::{ObserverHandle, TicketsChanged};

use crate::model::ChangeOrigin;
use crate::sync::SyncStatus;

/// Tickets that changed in one committed write.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketChange {
    /// Full ids of the tickets that changed.
    pub ids: Vec<String>,
    pub origin: ChangeOrigin,
}

impl From<&TicketsChanged> for TicketChange {
    fn from(event: &TicketsChanged) -> Self {
        TicketChange {
            ids: event.ids.clone(),
            origin: event.origin.into(),
        }
    }
}

/// Hears which tickets changed after each durable write, local or pulled by sync.
#[uniffi::export(foreign)]
pub trait TicketObserver: Send + Sync {
    fn on_tickets_changed(&self, change: TicketChange);
}

/// Hears every change of sync status (syncing, idle, offline, error, logged in or out).
#[uniffi::export(foreign)]
pub trait SyncStatusObserver: Send + Sync {
    fn on_sync_status(&self, status: SyncStatus);
}

/// Keeps one observer subscribed. `cancel()` — or closing/dropping this object on the app side —
/// stops it; keep a reference for as long as the updates are wanted.
#[derive(Debug, uniffi::Object)]
pub struct Subscription {
    handle: Mutex<Option<ObserverHandle>>,
}

impl Subscription {
    pub(crate) fn new(handle: ObserverHandle) -> Self {
        Subscription {
            handle: Mutex::new(Some(handle)),
        }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the observer now. Calling it again does nothing.
    pub fn cancel(&self) {
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(handle);
    }

    /// Whether the observer is still subscribed (false after `cancel`).
    pub fn is_active(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }
}
