//! What happened after each commit, for whoever listens: long-polls wait for their tenant's news,
//! the brain and webhooks read every [`Notice`] of every tenant.
//!
//! One publish, two ways to listen, because the listeners need different things. A long-poll
//! only needs "something newer than what I read was stored in my tenant": a `watch` per tenant
//! holds just the newest seq, never lags, and wakes only that tenant's waiters. The brain and
//! webhooks need each notice: a `broadcast` of all notices in commit order, where a listener that
//! falls more than [`NOTICE_BUFFER`] behind is told how many it missed (`Lagged`) and catches up
//! from the store (`TicketLog::read` from its last `max_seq`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

/// Notices kept for a slow listener before it starts missing them.
pub const NOTICE_BUFFER: usize = 1024;

/// Who wrote a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// A device pushing its user's changes.
    Device { user_id: String, device_id: String },
    /// A person through the back-office API.
    Person { user_id: String },
    /// An intake channel (a web form, a mail system, a call centre, a machine's alarms).
    Channel { channel_id: String },
    /// The server itself (the brain, erasure rewrites).
    Server,
}

/// One commit that stored changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub tenant: String,
    /// The tickets that have new changes (created ones included), each once, in commit order.
    pub tickets: Vec<String>,
    /// Of those, the tickets the commit created.
    pub created: Vec<String>,
    /// Of those, the tickets about an asset, with its serial.
    pub assets: Vec<(String, String)>,
    /// The tenant's highest seq after the commit.
    pub max_seq: u64,
    pub writer: Writer,
}

/// The publishing side, shared by every commit.
#[derive(Debug)]
pub(crate) struct Notices {
    all: broadcast::Sender<Arc<Notice>>,
    tenants: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Notices {
    pub fn new() -> Self {
        Notices {
            all: broadcast::channel(NOTICE_BUFFER).0,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn tenant(&self, tenant: &str) -> watch::Sender<u64> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
    }

    /// A receiver that wakes on the tenant's next notice. Subscribe before reading, so a commit
    /// in between still wakes the wait.
    pub fn tenant_news(&self, tenant: &str) -> watch::Receiver<u64> {
        self.tenant(tenant).subscribe()
    }

    /// Every notice of every tenant from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.all.subscribe()
    }

    /// Tells the tenant's long-polls and every listener.
    pub fn publish(&self, notice: Notice) {
        self.tenant(&notice.tenant).send_replace(notice.max_seq);
        // No listener is not an error: the brain may not run.
        let _ = self.all.send(Arc::new(notice));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(tenant: &str, max_seq: u64) -> Notice {
        Notice {
            created: Vec::new(),
            assets: Vec::new(),
            tenant: tenant.into(),
            tickets: vec!["t".into()],
            max_seq,
            writer: Writer::Server,
        }
    }

    #[test]
    fn a_tenants_waiters_hear_only_their_tenant_and_listeners_hear_all() {
        let notices = Notices::new();
        let mut acme = notices.tenant_news("acme");
        let mut all = notices.subscribe();
        notices.publish(notice("globex", 4));
        assert!(!acme.has_changed().unwrap_or(true));
        notices.publish(notice("acme", 7));
        assert!(acme.has_changed().unwrap_or(false));
        assert_eq!(*acme.borrow_and_update(), 7);
        assert_eq!(all.try_recv().map(|n| n.max_seq), Ok(4));
        assert_eq!(all.try_recv().map(|n| n.tenant.clone()), Ok("acme".into()));
    }

    #[test]
    fn a_listener_that_falls_behind_is_told_how_many_it_missed() {
        let notices = Notices::new();
        let mut slow = notices.subscribe();
        for seq in 0..(NOTICE_BUFFER as u64 + 3) {
            notices.publish(notice("acme", seq));
        }
        assert_eq!(
            slow.try_recv().map(|n| n.max_seq),
            Err(broadcast::error::TryRecvError::Lagged(3))
        );
        assert_eq!(slow.try_recv().map(|n| n.max_seq), Ok(3));
    }
}
