//! The device's sync engine: pushes the outbox and pulls until caught up, one round trip at a
//! time, keeping cursor, clock offset and status in the store, retrying with backoff and jitter.
//!
//! A round is safe to cut at any byte: the store applies a response in one transaction (outbox
//! acknowledgements, pulled items, new cursor), so a device killed mid-round resumes from the last
//! committed cursor and re-sends whatever the server had not acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SyncError;
use super::backoff::RetryPolicy;
use super::client::{ServerClient, Transfer};
use super::lane::{self, LaneReport};
use crate::clock::{Clock, SystemClock};
use crate::model::Actor;
use crate::store::{
    AppliedRound, CheckReport, ObserverHandle, Observers, PendingUpload, ServerLogin, TicketStore,
};
use crate::ticket::ActorId;
use fieldwork_protocol::sync::{
    DeviceRegistration, DeviceSession, LoginRequest, MAX_CHANGES_PER_REQUEST, PROTOCOL_VERSION,
    PersonName, SyncRequest, SyncResponse, UserInfo,
};

/// What the engine is doing, for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    Idle,
    Syncing,
    /// The server cannot be reached (or the network is known to be down); changes stay queued.
    Offline,
    /// The last attempt failed for another reason (see `last_error`).
    Error,
}

/// Sync status as a UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Local changes not yet acknowledged by the server.
    pub pending: usize,
    /// Changes the server refused (see the quarantine list).
    pub quarantined: usize,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub cursor: u64,
    pub clock_offset_ms: i64,
    pub server: Option<String>,
    /// Photo files waiting to go up, thumbnails first, with their progress.
    pub uploads: Vec<PendingUpload>,
}

impl SyncStatus {
    /// The status a store's sync state amounts to, with the engine's `state` (a store with no
    /// running engine — not logged in yet — is `Idle` with no server).
    pub fn of_store(
        store: &TicketStore,
        state: SyncState,
        server: Option<String>,
    ) -> Result<SyncStatus, SyncError> {
        let meta = store.sync_meta()?;
        Ok(SyncStatus {
            state,
            pending: store.outbox_len()?,
            quarantined: store.quarantine()?.len(),
            last_success: meta.last_success,
            last_error: meta.last_error,
            cursor: meta.cursor,
            clock_offset_ms: meta.clock_offset_ms,
            server,
            uploads: store.pending_uploads()?,
        })
    }
}

/// What one round trip did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundReport {
    pub pushed: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Changes built on a history an erase rewrote: not refused, carried over onto the rewrite
    /// and sent again.
    #[serde(default)]
    pub carried_over: usize,
    pub pulled: usize,
    /// Knowledge-base articles stored or replaced, and taken away.
    #[serde(default)]
    pub articles: usize,
    #[serde(default)]
    pub articles_removed: usize,
    pub more: bool,
    pub bytes_sent: usize,
    pub bytes_received: usize,
    /// Time waiting for the server's answer, and time applying it locally (milliseconds).
    pub wait_ms: u64,
    pub apply_ms: u64,
}

/// What a whole sync (rounds until caught up) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub rounds: usize,
    pub pushed: usize,
    pub pulled: usize,
    /// Knowledge-base articles stored or replaced, and taken away.
    #[serde(default)]
    pub articles: usize,
    #[serde(default)]
    pub articles_removed: usize,
    pub rejected: usize,
    /// Still waiting after the sync (0 when it succeeded).
    pub pending: usize,
    pub bytes_sent: usize,
    pub bytes_received: usize,
    /// Milliseconds spent waiting for the server, and applying its answers on the device.
    pub wait_ms: u64,
    pub apply_ms: u64,
    /// What the blob lane moved after the tickets were in sync.
    pub blobs: LaneReport,
    /// Pictures of knowledge-base articles fetched.
    #[serde(default)]
    pub kb_images: usize,
    /// This technician's position was reported.
    pub position_reported: bool,
    /// Tickets listed from the server's summaries, checked against their documents after the
    /// rest (`docs/adr/0018-list-first-check-later.md`).
    #[serde(default)]
    pub checked: CheckReport,
}

/// A request and the server's answer to it, not applied yet.
#[derive(Debug)]
struct Exchanged {
    request: SyncRequest,
    response: SyncResponse,
    transfer: Transfer,
    waited: Duration,
    /// Device time the answer arrived (for the clock offset).
    received_at: i64,
}

impl Exchanged {
    /// The request for the page after this answer, to send while it is applied: only when the
    /// server has more, this request pushed nothing and nothing waits to be pushed. Its cursor
    /// is this answer's before the store holds it, which the server takes as a device that
    /// lost an answer takes it: if this one is never applied, the device comes back with the
    /// stored cursor and gets it again (`docs/sync-protocol.md`, "Pull").
    fn follow_up(&self, store: &TicketStore) -> Result<Option<SyncRequest>, SyncError> {
        if !self.response.more || !self.request.changes.is_empty() || store.outbox_len()? > 0 {
            return Ok(None);
        }
        Ok(Some(SyncRequest {
            cursor: self.response.cursor,
            wait_ms: 0,
            kb_cursor: match (&self.response.kb, self.request.kb_cursor) {
                (Some(kb), Some(_)) => Some(kb.cursor),
                (_, asked) => asked,
            },
            ..self.request.clone()
        }))
    }

    /// What the round did, once `round` was applied in `applying`.
    fn report(&self, round: &AppliedRound, applying: Duration) -> RoundReport {
        let response = &self.response;
        let carried_over = response
            .rejected
            .iter()
            .filter(|r| r.code == fieldwork_protocol::sync::RejectCode::Rewritten)
            .count();
        RoundReport {
            pushed: self.request.changes.len(),
            accepted: response.accepted.len(),
            rejected: response.rejected.len() - carried_over,
            carried_over,
            pulled: response.items.len(),
            articles: round.articles_stored,
            articles_removed: round.articles_removed,
            more: response.more,
            bytes_sent: self.transfer.sent,
            bytes_received: self.transfer.received,
            wait_ms: self.waited.as_millis() as u64,
            apply_ms: applying.as_millis() as u64,
        }
    }
}

/// Syncs one store with its server.
#[derive(Debug)]
pub struct SyncEngine {
    store: Arc<TicketStore>,
    client: ServerClient,
    token: String,
    state: Mutex<SyncState>,
    observers: Observers<SyncStatus>,
    pull_bytes: u32,
    blob_retry: RetryPolicy,
    /// Held by a sync ([`Self::sync_tickets`]) and by a long-poll ([`Self::wait_for_news`]):
    /// one at a time, so a sync asked for while the background runs waits its turn instead of
    /// racing it (two answers applied out of order would move the cursor back).
    busy: tokio::sync::Mutex<()>,
    /// Held while an answer is applied ([`Self::apply`]).
    applying: Arc<tokio::sync::Mutex<()>>,
}

impl SyncEngine {
    /// An engine for a store that is logged in.
    pub fn new(store: Arc<TicketStore>) -> Result<Self, SyncError> {
        let session = store.session()?.ok_or(SyncError::NotLoggedIn)?;
        Ok(SyncEngine {
            client: ServerClient::new(&session.server)?,
            token: session.token,
            store,
            state: Mutex::new(SyncState::Idle),
            observers: Observers::default(),
            pull_bytes: 0,
            blob_retry: lane::BLOB_RETRY,
            busy: tokio::sync::Mutex::new(()),
            applying: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Sets the byte budget asked of the server per pull (0 = the server's default).
    pub fn with_pull_budget(mut self, bytes: u32) -> Self {
        self.pull_bytes = bytes;
        self
    }

    /// Sets how a failing photo file's attempts are spaced (default [`lane::BLOB_RETRY`]).
    pub fn with_blob_retry(mut self, policy: RetryPolicy) -> Self {
        self.blob_retry = policy;
        self
    }

    /// The store this engine syncs.
    pub fn store(&self) -> &Arc<TicketStore> {
        &self.store
    }

    /// Current status, from the store and the engine's state.
    pub fn status(&self) -> Result<SyncStatus, SyncError> {
        let state = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        SyncStatus::of_store(&self.store, state, Some(self.client.base().to_owned()))
    }

    /// Hears every status change until the handle is dropped.
    pub fn observe_status(
        &self,
        callback: impl Fn(&SyncStatus) + Send + Sync + 'static,
    ) -> ObserverHandle {
        self.observers.add(Arc::new(callback))
    }

    pub(crate) fn set_state(&self, state: SyncState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
        self.announce();
    }

    /// Tells status observers where things stand now (e.g. after files moved).
    fn announce(&self) {
        if let Ok(status) = self.status() {
            self.observers.notify(&status);
        }
    }

    /// One round trip: push up to 1,000 outbox changes, pull one page, apply it durably.
    /// `wait_ms > 0` long-polls when there is nothing to exchange.
    pub async fn round(&self, wait_ms: u32) -> Result<RoundReport, SyncError> {
        let request = self.next_request(wait_ms).await?;
        let exchanged = self.exchange(request).await?;
        self.apply(exchanged).await
    }

    /// The request of the next round, from the outbox and the stored cursor. It waits for an
    /// answer still being applied (one a cancelled sync left on its thread), so the cursor read
    /// is never one behind what the store is about to hold.
    async fn next_request(&self, wait_ms: u32) -> Result<SyncRequest, SyncError> {
        let _applied = self.applying.lock().await;
        let changes = self.store.outbox_batch(MAX_CHANGES_PER_REQUEST)?;
        let meta = self.store.sync_meta()?;
        Ok(SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: meta.cursor,
            wait_ms: if changes.is_empty() { wait_ms } else { 0 },
            max_bytes: self.pull_bytes,
            changes,
            // Measured only once an answer came back.
            clock_offset_ms: meta.last_success.map(|_| meta.clock_offset_ms),
            kb_cursor: Some(meta.kb_cursor),
        })
    }

    /// Sends `request` and reads the answer.
    async fn exchange(&self, request: SyncRequest) -> Result<Exchanged, SyncError> {
        let started = std::time::Instant::now();
        let (response, transfer) = self.client.sync(&self.token, &request).await?;
        Ok(Exchanged {
            request,
            response,
            transfer,
            waited: started.elapsed(),
            received_at: SystemClock.now_ms(),
        })
    }

    /// Applies an answer durably, on a thread that may block; the thread holds the applying turn
    /// until the answer is in the store, even if this future is dropped meanwhile.
    async fn apply(&self, exchanged: Exchanged) -> Result<RoundReport, SyncError> {
        let turn = self.applying.clone().lock_owned().await;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let started = std::time::Instant::now();
            let round = store.apply_sync_response(&exchanged.response, exchanged.received_at)?;
            Ok(exchanged.report(&round, started.elapsed()))
        })
        .await
        .map_err(|e| SyncError::Protocol(format!("applying an answer stopped: {e}")))?
    }

    /// One long-poll round (`wait_ms`), in turn with syncs ([`Self::sync_tickets`]): the
    /// background waits for news this way; cancelling the future ends the wait.
    pub async fn wait_for_news(&self, wait_ms: u32) -> Result<RoundReport, SyncError> {
        let _one_at_a_time = self.busy.lock().await;
        self.round(wait_ms).await
    }

    /// Whether a sync or a long-poll is running on this engine now.
    pub fn is_busy(&self) -> bool {
        self.busy.try_lock().is_err()
    }

    /// Brings tickets in sync ([`Self::sync_tickets`]), then moves due photo files and reports
    /// the position. File failures stay on the files and do not fail the sync.
    pub async fn sync(&self, policy: RetryPolicy) -> Result<SyncReport, SyncError> {
        let mut report = self.sync_tickets(policy).await?;
        report.blobs = self.move_blobs().await?;
        report.kb_images = self.fetch_kb_images().await?;
        report.position_reported = self.report_position().await?;
        report.checked = self.check_listed().await?;
        Ok(report)
    }

    /// Rounds until the outbox is empty and the server has nothing more, retrying failed rounds
    /// with backoff per `policy`. Fails only when the policy's attempts run out or the error
    /// cannot be fixed by retrying (refused credentials, a broken answer).
    pub async fn sync_tickets(&self, policy: RetryPolicy) -> Result<SyncReport, SyncError> {
        let _one_at_a_time = self.busy.lock().await;
        self.set_state(SyncState::Syncing);
        let mut report = SyncReport::default();
        let mut failures = 0;
        // The next page, asked for while the one before it was being applied.
        let mut ahead: Option<Exchanged> = None;
        loop {
            let round = async {
                let exchanged = match ahead.take() {
                    Some(exchanged) => exchanged,
                    None => self.exchange(self.next_request(0).await?).await?,
                };
                match exchanged.follow_up(&self.store)? {
                    // A pull of many pages with nothing to push (a bootstrap, a long catch-up):
                    // the next page is on its way while this one is applied. A failed ask is
                    // dropped; the next round asks again the usual way.
                    Some(next) => {
                        let (applied, fetched) =
                            tokio::join!(self.apply(exchanged), self.exchange(next));
                        // Built on this answer: used only if this answer is in the store.
                        if applied.is_ok() {
                            ahead = fetched.ok();
                        }
                        applied
                    }
                    None => self.apply(exchanged).await,
                }
            };
            match round.await {
                Ok(round) => {
                    failures = 0;
                    report.rounds += 1;
                    report.pushed += round.accepted;
                    report.pulled += round.pulled;
                    report.articles += round.articles;
                    report.articles_removed += round.articles_removed;
                    report.rejected += round.rejected;
                    report.bytes_sent += round.bytes_sent;
                    report.bytes_received += round.bytes_received;
                    report.wait_ms += round.wait_ms;
                    report.apply_ms += round.apply_ms;
                    let pending = self.store.outbox_len()?;
                    // Changes refused as missing dependencies come back only after their
                    // parents, which the same round quarantined; nothing pending means done.
                    let answered = round.accepted + round.rejected + round.carried_over;
                    if !round.more && (pending == 0 || answered == 0) {
                        report.pending = pending;
                        self.set_state(SyncState::Idle);
                        return Ok(report);
                    }
                }
                Err(error) => {
                    failures += 1;
                    let message = error.to_string();
                    self.store.record_sync_error(&message)?;
                    if !error.is_retryable() || failures >= policy.max_attempts {
                        self.set_state(if error.is_offline() {
                            SyncState::Offline
                        } else {
                            SyncState::Error
                        });
                        return Err(error);
                    }
                    // Never sooner than the server asked (`Retry-After`).
                    let delay = policy.delay(failures, rand::random::<f64>());
                    tokio::time::sleep(delay.max(error.retry_after().unwrap_or_default())).await;
                }
            }
        }
    }
}

impl SyncEngine {
    /// Checks the tickets listed from the server's summaries against their documents
    /// ([`TicketStore::check_listed`]), on a thread that may block: it loads documents.
    pub async fn check_listed(&self) -> Result<CheckReport, SyncError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.check_listed())
            .await
            .map_err(|e| SyncError::Protocol(format!("the check stopped: {e}")))?
            .map_err(SyncError::from)
    }

    /// One pass of the blob lane: due uploads (thumbnails first) and thumbnail downloads.
    pub async fn move_blobs(&self) -> Result<LaneReport, SyncError> {
        // Each chunk sent moves the status's upload progress: observers hear it as it goes.
        let report = lane::run(
            &self.store,
            &self.client,
            &self.token,
            &SystemClock,
            &self.blob_retry,
            &|| self.announce(),
        )
        .await?;
        if report.uploaded + report.downloaded + report.failed > 0 {
            // The status carries the upload queue: a UI showing progress hears it moved.
            self.announce();
        }
        Ok(report)
    }

    /// Fetches the pictures the device's knowledge-base articles show and it does not have yet
    /// (some each pass); answers how many it kept. An unreachable server ends the pass quietly:
    /// the next sync asks again.
    pub async fn fetch_kb_images(&self) -> Result<usize, SyncError> {
        match lane::fetch_kb_images(&self.store, &self.client, &self.token).await {
            Err(error) if error.is_offline() => Ok(0),
            other => other,
        }
    }

    /// The bytes of file `sha256`, fetched from the server if this device does not have them.
    pub async fn fetch_blob(&self, sha256: &str) -> Result<Vec<u8>, SyncError> {
        lane::fetch_blob(&self.store, &self.client, &self.token, sha256).await
    }

    /// Sends the technician's latest position if one waits and the throttle allows. A server
    /// that says "too soon" keeps it waiting; one that says this role does not report drops it.
    pub async fn report_position(&self) -> Result<bool, SyncError> {
        let now = SystemClock.now_ms();
        let Some(report) = self.store.due_position_report(now)? else {
            return Ok(false);
        };
        match self.client.report_position(&self.token, &report).await {
            Ok(()) => {
                self.store.record_position_sent(&report, now)?;
                Ok(true)
            }
            Err(SyncError::Server { status: 403, .. }) => {
                self.store.record_position_sent(&report, now)?;
                Ok(false)
            }
            Err(e @ SyncError::Unauthorized(_)) => Err(e),
            Err(_) => Ok(false),
        }
    }
}

/// Logs this device in with a password: registers the store's actor with the server, binds the
/// store to the user (on first login) and keeps the device token.
pub async fn login_with_password(
    store: &TicketStore,
    server: &str,
    tenant: &str,
    user: &str,
    password: &str,
    device_name: &str,
) -> Result<UserInfo, SyncError> {
    let client = ServerClient::new(server)?;
    let actor_id = device_actor(store)?;
    let request = LoginRequest {
        tenant: tenant.to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
        device: DeviceRegistration {
            actor_id: actor_id.to_hex_string(),
            name: device_name.to_owned(),
        },
    };
    let session = client.login(&request).await?;
    bind(store, &client, session, actor_id)
}

/// Logs this device in with a user API token (made by an admin).
pub async fn login_with_token(
    store: &TicketStore,
    server: &str,
    user_token: &str,
    device_name: &str,
) -> Result<UserInfo, SyncError> {
    let client = ServerClient::new(server)?;
    let actor_id = device_actor(store)?;
    let device = DeviceRegistration {
        actor_id: actor_id.to_hex_string(),
        name: device_name.to_owned(),
    };
    let session = client.register_device(user_token, &device).await?;
    bind(store, &client, session, actor_id)
}

/// Logs out: revokes the device token on the server (if reachable) and forgets it locally.
/// Tickets and unsent changes stay on the device.
pub async fn logout(store: &TicketStore) -> Result<(), SyncError> {
    if let Some(session) = store.session()? {
        let client = ServerClient::new(&session.server)?;
        match client.logout(&session.token).await {
            Ok(()) | Err(SyncError::Unauthorized(_)) | Err(SyncError::Offline(_)) => {}
            Err(other) => return Err(other),
        }
    }
    store.clear_session()?;
    Ok(())
}

/// The actor this device authors with: the store's own if it has one, else a new one.
fn device_actor(store: &TicketStore) -> Result<ActorId, SyncError> {
    match store.identity() {
        Ok(identity) => ActorId::try_from(identity.actor_id.as_str())
            .map_err(|e| SyncError::Protocol(format!("stored actor id is damaged: {e}"))),
        Err(_) => Ok(ActorId::random()),
    }
}

fn bind(
    store: &TicketStore,
    client: &ServerClient,
    session: DeviceSession,
    actor_id: ActorId,
) -> Result<UserInfo, SyncError> {
    let user = session.user.clone();
    let actor = Actor {
        tenant: user.tenant_id.clone(),
        user_id: user.user_id.clone(),
        role: user.role,
        name: Some(user.name.clone()),
        team: user.team.clone(),
    };
    store.init_with_actor(actor, &actor_id)?;
    // The server's name for this user, fresher than the one bound at the first login.
    store.remember_people(&[PersonName {
        user_id: user.user_id.clone(),
        name: user.name.clone(),
        role: user.role,
    }])?;
    store.set_session(&ServerLogin {
        server: client.base().to_owned(),
        device_id: session.device_id,
        token: session.token,
    })?;
    Ok(user)
}

/// Sleeps for the retry delay; public so background loops share one policy.
pub fn retry_delay(policy: &RetryPolicy, attempt: u32) -> Duration {
    policy.delay(attempt, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldwork_protocol::knowledge::KbDelta;
    use fieldwork_protocol::sync::PushChange;

    fn store() -> (tempfile::TempDir, TicketStore) {
        let dir = tempfile::tempdir().expect("dir");
        let store = TicketStore::open(&dir.path().join("s.db")).expect("open");
        store
            .init(Actor {
                tenant: "acme".into(),
                user_id: "a1".into(),
                role: crate::model::Role::Agent,
                name: None,
                team: None,
            })
            .expect("init");
        (dir, store)
    }

    fn exchanged(more: bool, pushed: usize, kb: Option<u64>) -> Exchanged {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: 10,
            changes: (0..pushed)
                .map(|_| PushChange {
                    ticket_id: "t".into(),
                    part: crate::ticket::Part::Public,
                    change: fieldwork_protocol::sync::ByteBuf::from(vec![1]),
                })
                .collect(),
            wait_ms: 0,
            max_bytes: 4096,
            clock_offset_ms: Some(-7),
            kb_cursor: Some(3),
        };
        let response = SyncResponse {
            server_time: 1,
            accepted: Vec::new(),
            rejected: Vec::new(),
            items: Vec::new(),
            cursor: 42,
            more,
            people: Vec::new(),
            kb: kb.map(|cursor| KbDelta {
                cursor,
                ..KbDelta::default()
            }),
        };
        Exchanged {
            request,
            response,
            transfer: Transfer::default(),
            waited: Duration::ZERO,
            received_at: 0,
        }
    }

    #[test]
    fn the_next_page_is_asked_for_ahead_only_in_a_pull_with_nothing_to_push() {
        let (_d, s) = store();
        let next = exchanged(true, 0, Some(9))
            .follow_up(&s)
            .expect("reads")
            .expect("asked ahead");
        assert_eq!(next.cursor, 42, "the answer's cursor, before it is stored");
        assert_eq!(next.kb_cursor, Some(9), "and its knowledge-base cursor");
        assert!(next.changes.is_empty());
        assert_eq!((next.max_bytes, next.clock_offset_ms), (4096, Some(-7)));
        let same_kb = exchanged(true, 0, None).follow_up(&s).expect("reads");
        assert_eq!(same_kb.expect("asked ahead").kb_cursor, Some(3));
        assert!(
            exchanged(false, 0, None)
                .follow_up(&s)
                .expect("reads")
                .is_none(),
            "nothing more to fetch"
        );
        assert!(
            exchanged(true, 1, None)
                .follow_up(&s)
                .expect("reads")
                .is_none(),
            "a push's answer is applied before anything else is asked"
        );
        s.create(crate::ticket::NewTicket::titled(
            crate::model::TicketKind::Repair,
            "Made meanwhile",
        ))
        .expect("create");
        assert!(
            exchanged(true, 0, None)
                .follow_up(&s)
                .expect("reads")
                .is_none(),
            "a change waiting to go up is pushed in the next round"
        );
    }
}
