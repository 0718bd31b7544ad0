//! What happened after each commit, for whoever listens: long-polls wait for their tenant's news,
//! the brain and webhooks read every [`Notice`] of every tenant.
//!
//! One publish, two ways to listen, because the listeners need different things. A long-poll
//! only needs "something newer than what I read was stored in my tenant": a `watch` per tenant
//! holds just the newest seq, never lags, and wakes only that tenant's waiters. The brain and
//! webhooks need each notice: a `broadcast` of all notices in commit order, where a listener that
//! falls more than [`NOTICE_BUFFER`] behind is told how many it missed (`Lagged`) and catches up
//! from the store (`TicketLog::read` from its last `max_seq`).
//!
//! Servers sharing one store (replicas on PostgreSQL) hear each other's notices too: each notice
//! published here also goes to an outbox that `service::peers` sends on to the other servers, and
//! what they send comes back in through [`Notices::publish_from_peer`]. When that way broke for a
//! while, [`Notices::resync`] wakes every long-poll and tells the listeners they missed notices.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, watch};

/// Notices kept for a slow listener before it starts missing them.
pub const NOTICE_BUFFER: usize = 1024;

/// Who wrote a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// How many times notices from the other servers may have been lost.
    missed: watch::Sender<u64>,
    /// Where this server's notices go to reach the other servers (once something sends them).
    outbox: Mutex<Option<mpsc::UnboundedSender<Arc<Notice>>>>,
}

impl Notices {
    pub fn new() -> Self {
        Notices {
            all: broadcast::channel(NOTICE_BUFFER).0,
            tenants: Mutex::new(HashMap::new()),
            missed: watch::Sender::new(0),
            outbox: Mutex::new(None),
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

    /// Tells the tenant's long-polls and every listener, here and (through the outbox) on the
    /// other servers of the store.
    pub fn publish(&self, notice: Notice) {
        let notice = Arc::new(notice);
        self.publish_here(notice.clone());
        let outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(outbox) = outbox.as_ref() {
            let _ = outbox.send(notice);
        }
    }

    /// A notice of a commit another server of the store made: told here only.
    pub fn publish_from_peer(&self, notice: Notice) {
        self.publish_here(Arc::new(notice));
    }

    fn publish_here(&self, notice: Arc<Notice>) {
        // Peers' notices of one tenant may arrive out of seq order: the newest seq stays.
        self.tenant(&notice.tenant).send_if_modified(|seen| {
            let newer = notice.max_seq > *seen;
            if newer {
                *seen = notice.max_seq;
            }
            newer
        });
        // No listener is not an error: the brain may not run.
        let _ = self.all.send(notice);
    }

    /// From now on, every notice published here also goes to the returned receiver (the one
    /// that sends notices on to the other servers); a second call replaces the first.
    pub fn outbox(&self) -> mpsc::UnboundedReceiver<Arc<Notice>> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.outbox.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
    }

    /// Notices from the other servers may have been lost: every long-poll looks again, and the
    /// listeners that keep up with every commit catch up from the store ([`Self::missed`]).
    pub fn resync(&self) {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        for news in tenants.values() {
            news.send_modify(|_| {});
        }
        drop(tenants);
        self.missed.send_modify(|n| *n += 1);
    }

    /// Changes whenever notices from the other servers may have been lost ([`Self::resync`]).
    pub fn missed(&self) -> watch::Receiver<u64> {
        self.missed.subscribe()
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
    fn peers_notices_reach_listeners_here_and_never_move_a_tenant_back() {
        let notices = Notices::new();
        let mut outbox = notices.outbox();
        let mut acme = notices.tenant_news("acme");
        let mut all = notices.subscribe();
        notices.publish_from_peer(notice("acme", 9));
        notices.publish(notice("acme", 8));
        assert_eq!(
            *acme.borrow_and_update(),
            9,
            "an older seq never replaces a newer one"
        );
        assert_eq!(all.try_recv().map(|n| n.max_seq), Ok(9));
        assert_eq!(all.try_recv().map(|n| n.max_seq), Ok(8));
        assert_eq!(
            outbox.try_recv().map(|n| n.max_seq),
            Ok(8),
            "only our own go out"
        );
        assert!(outbox.try_recv().is_err());

        let missed = notices.missed();
        notices.resync();
        assert!(
            acme.has_changed().unwrap_or(false),
            "every long-poll looks again"
        );
        assert!(missed.has_changed().unwrap_or(false));
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
