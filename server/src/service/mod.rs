//! The one write path for tickets: [`Tickets::commit`]. Whoever writes — a device pushing its
//! outbox, a person through the back-office API, the server itself (the brain, intake) — hands
//! over Automerge changes; they are judged in order (`judge`: by `core::rules` for people and
//! devices, by the store's limits alone for the server), stored with the server's follow-ups in
//! one transaction (`write`), and announced as a [`Notice`] (`notices`) that long-polls, and
//! later the brain and webhooks, listen to.
//!
//! A commit is judged against one read snapshot *before* it takes its tenant's turn — judging is
//! most of a commit's work, and while it ran inside the turn every other push of the tenant
//! waited behind it (docs/benchmarks.md, "Re-measured after #10"). The store then writes it only
//! if no ticket it touches and not the ticket counter moved since that read
//! ([`crate::storage::Conflict::Moved`]); if one did, the commit is judged again inside the turn,
//! where nothing moves. Commits to one tenant are stored in turns in this process — those waiting
//! for the turn together, in one transaction (`group`) — and the store additionally serializes
//! commits per tenant, which is what keeps seq order equal to commit order across processes
//! (docs/adr/0009).

mod compaction;
mod erase;
mod group;
mod judge;
pub(crate) mod listing;
mod notices;
pub(crate) mod peers;
pub(crate) mod search_index;
pub(crate) mod summaries;
mod trusted;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fieldwork_core::clock::Clock;
use fieldwork_core::ticket::{ActorId, Part};
use fieldwork_protocol::sync::Rejection;
use tokio::sync::{broadcast, watch};

pub(crate) use erase::erase;
pub use erase::{EraseRequest, Erased};
pub use notices::{NOTICE_BUFFER, Notice, Writer};

use crate::cache::DocCache;
use crate::error::Error;
use crate::state::blocking;
use crate::storage::{DeviceRecord, ReadWith, ServerStore, UserRecord};
use group::Lane;
use judge::{Judge, Judging};
use notices::Notices;

/// Who writes a commit.
#[derive(Debug, Clone)]
pub enum Author {
    /// A device pushing its outbox: every change must carry the device's registered actor, and
    /// is judged by its user's role as the user saw the ticket.
    Device {
        user: UserRecord,
        device: DeviceRecord,
        /// The clock offset the device last measured (server time minus device time), if it
        /// sent one: its changes are timed by it.
        clock_offset_ms: Option<i64>,
    },
    /// A person through the back-office API: the server made the changes for them with `actor`
    /// (one the API keeps for this person, never a device's or the server's); judged by the same
    /// rules as a device of that person.
    Person { user: UserRecord, actor: ActorId },
    /// An intake channel: the server wrote the changes from a delivery it parsed (a new ticket,
    /// a note, the alerts folded in), so no role rule applies, only what the store can keep (as
    /// for [`Author::Server`]); made with the channel's own actor, so the audit log names the
    /// channel, and the brain reacts to them as to a person's.
    Channel { channel_id: String, actor: ActorId },
    /// The server itself (the brain, intake; events by `fieldwork:brain`): changes by the store's
    /// server actor, bound by no role rule, only by what the store can keep.
    Server,
}

impl Author {
    fn user(&self) -> Option<&UserRecord> {
        match self {
            Author::Device { user, .. } | Author::Person { user, .. } => Some(user),
            Author::Channel { .. } | Author::Server => None,
        }
    }

    /// The pushing device, whose holdings a commit records.
    fn device_id(&self) -> Option<&str> {
        match self {
            Author::Device { device, .. } => Some(device.id.as_str()),
            _ => None,
        }
    }

    fn writer(&self) -> Writer {
        match self {
            Author::Device { user, device, .. } => Writer::Device {
                user_id: user.id.clone(),
                device_id: device.id.clone(),
            },
            Author::Person { user, .. } => Writer::Person {
                user_id: user.id.clone(),
            },
            Author::Channel { channel_id, .. } => Writer::Channel {
                channel_id: channel_id.clone(),
            },
            Author::Server => Writer::Server,
        }
    }

    fn judging(&self, server_actor: &ActorId) -> Judging {
        match self {
            Author::Device {
                user,
                device,
                clock_offset_ms,
            } => Judging {
                rules: Some(user.actor()),
                change_actor: device.actor_id.clone(),
                foreign: "the change was made by another device; a device sends only its own changes",
                person: Some(user.id.clone()),
                clock_offset_ms: clock_offset_ms.unwrap_or(0),
            },
            Author::Person { user, actor } => Judging {
                rules: Some(user.actor()),
                change_actor: actor.to_hex_string(),
                foreign: "the change was not made with this person's actor",
                person: Some(user.id.clone()),
                clock_offset_ms: 0,
            },
            Author::Channel { actor, .. } => Judging {
                rules: None,
                change_actor: actor.to_hex_string(),
                foreign: "an intake change must be made with its channel's actor",
                person: None,
                clock_offset_ms: 0,
            },
            Author::Server => Judging {
                rules: None,
                change_actor: server_actor.to_hex_string(),
                foreign: "a server change must be made with the server's actor",
                person: None,
                clock_offset_ms: 0,
            },
        }
    }
}

/// One proposed change: an encoded Automerge change filed under one document of a ticket of
/// the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedChange {
    pub ticket_id: String,
    pub part: Part,
    pub bytes: Vec<u8>,
}

impl ProposedChange {
    /// A change to the ticket's public document.
    pub fn public(ticket_id: impl Into<String>, bytes: Vec<u8>) -> Self {
        ProposedChange {
            ticket_id: ticket_id.into(),
            part: Part::Public,
            bytes,
        }
    }
}

/// What a commit did.
#[derive(Debug, Default, Clone)]
pub struct Committed {
    /// Hashes the server now holds, new or not.
    pub accepted: Vec<String>,
    pub rejected: Vec<Rejection>,
    /// Tickets of rejected changes, once each, to be sent back whole.
    pub refresh: Vec<String>,
    /// Tickets this commit created (a pushing device holds them).
    pub created: Vec<String>,
    /// Tickets with newly stored changes, once each, in commit order.
    pub changed: Vec<String>,
    /// The tenant's highest seq after the commit, if anything was stored.
    pub max_seq: Option<u64>,
    /// Of the changed tickets, those about an asset, with its serial (the asset histories of
    /// the machine's other tickets follow them: `crate::asset_history`).
    pub assets: Vec<(String, String)>,
}

/// The ticket write path, shared by every request and task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tickets {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ServerStore>,
    cache: Arc<DocCache>,
    clock: Arc<dyn Clock>,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    notices: Notices,
}

impl Inner {
    /// Judges `changes` by `author` against one read snapshot of the store and the cache.
    fn judge(
        &self,
        author: &Author,
        tenant: &str,
        changes: Vec<ProposedChange>,
    ) -> Result<(judge::Judged, i64), Error> {
        let now = self.clock.now_ms();
        let server_actor = self.store.server_actor().clone();
        let judging = author.judging(&server_actor);
        let judged = self.store.read_with(|reader| {
            Judge::new(&self.cache, reader, tenant, &judging, &server_actor, now).run(changes)
        })?;
        Ok((judged, now))
    }

    /// Tells listeners of a commit that stored something. Called in the tenant's turn, so a
    /// tenant's notices go out in seq order.
    fn announce(&self, tenant: &str, author: &Author, committed: &Committed) {
        if let Some(max_seq) = committed.max_seq {
            self.notices.publish(Notice {
                tenant: tenant.to_owned(),
                tickets: committed.changed.clone(),
                created: committed.created.clone(),
                assets: committed.assets.clone(),
                max_seq,
                writer: author.writer(),
            });
        }
    }
}

impl Tickets {
    pub(crate) fn new(
        store: Arc<dyn ServerStore>,
        cache: Arc<DocCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Tickets {
            inner: Arc::new(Inner {
                store,
                cache,
                clock,
                lanes: Mutex::new(HashMap::new()),
                notices: Notices::new(),
            }),
        }
    }

    fn lane(&self, tenant: &str) -> Arc<Lane> {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.entry(tenant.to_owned()).or_default().clone()
    }

    /// Judges `changes` in order as written by `author` in `tenant` and stores the accepted ones
    /// with the server's follow-ups in one transaction; then announces a [`Notice`] if anything
    /// was stored. A change is rejected (with the protocol's code and a message) rather than
    /// failing the commit; `Err` is a server fault. Changes past the per-commit work budget are
    /// neither accepted nor rejected: send them again. A person or device of another tenant is
    /// refused whole ([`Error::Invalid`]).
    pub async fn commit(
        &self,
        author: Author,
        tenant: &str,
        changes: Vec<ProposedChange>,
    ) -> Result<Committed, Error> {
        if author.user().is_some_and(|user| user.tenant_id != tenant) {
            return Err(Error::Invalid {
                field: "tenant",
                reason: "the author belongs to another tenant".into(),
            });
        }
        if changes.is_empty() {
            return Ok(Committed::default());
        }
        // Judged and prepared first, outside the turn (see the module's notes); the changes are
        // kept for a second judgement should the first one's tickets move before it is stored.
        let prepared = {
            let inner = self.inner.clone();
            let (author, tenant, changes) = (author.clone(), tenant.to_owned(), changes.clone());
            blocking(move || {
                let (judged, now) = inner.judge(&author, &tenant, changes)?;
                write::prepare(judged, &tenant, author.device_id(), now)
            })
            .await?
        };
        self.lane(tenant)
            .commit(
                self.inner.clone(),
                tenant.to_owned(),
                author,
                changes,
                prepared,
            )
            .await
    }

    /// Erases personal data from a ticket of `tenant` for good (`erase`; docs/staff-data.md,
    /// "Erase"): in the tenant's turn, so no commit of the tenant runs meanwhile, and announced
    /// like a commit, so waiting devices come for the rewrite at once. `files` holds the photos.
    pub async fn erase(
        &self,
        files: Arc<dyn crate::blobs::BlobStore>,
        tenant: &str,
        request: EraseRequest,
    ) -> Result<Erased, Error> {
        let turn = self.lane(tenant).turn().lock_owned().await;
        let inner = self.inner.clone();
        let tenant = tenant.to_owned();
        blocking(move || {
            let _turn = turn;
            let now = inner.clock.now_ms();
            let erased = erase::erase(
                inner.store.as_ref(),
                files.as_ref(),
                &inner.cache,
                &tenant,
                &request,
                now,
            )?;
            inner.notices.publish(Notice {
                tenant,
                tickets: vec![erased.ticket_id.clone()],
                created: Vec::new(),
                assets: Vec::new(),
                max_seq: erased.seq,
                writer: Writer::Server,
            });
            Ok(erased)
        })
        .await
    }

    /// Every [`Notice`] of every tenant from now on (the brain, webhooks). A listener more than
    /// [`NOTICE_BUFFER`] notices behind gets `Lagged` and catches up from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.inner.notices.subscribe()
    }

    /// Changes whenever notices from the other servers of the store may have been lost: the
    /// listeners that keep up with every commit catch up from the store then.
    pub fn missed_notices(&self) -> watch::Receiver<u64> {
        self.inner.notices.missed()
    }

    /// Wakes on the tenant's next notice, with its `max_seq` (long-polls). Subscribe before
    /// reading, so a commit in between still wakes the wait.
    pub fn tenant_news(&self, tenant: &str) -> watch::Receiver<u64> {
        self.inner.notices.tenant_news(tenant)
    }

    /// The document cache the commits judge with (visibility reads it too).
    pub(crate) fn cache(&self) -> &DocCache {
        &self.inner.cache
    }

    /// The same cache, shared, for blocking work that reads through it (report facts).
    pub fn docs(&self) -> Arc<DocCache> {
        self.inner.cache.clone()
    }
}
