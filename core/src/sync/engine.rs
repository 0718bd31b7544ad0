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
use crate::store::{ObserverHandle, Observers, PendingUpload, ServerLogin, TicketStore};
use crate::ticket::ActorId;
use fieldwork_protocol::sync::{
    DeviceRegistration, DeviceSession, LoginRequest, MAX_CHANGES_PER_REQUEST, PROTOCOL_VERSION,
    PersonName, SyncRequest, UserInfo,
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
        let changes = self.store.outbox_batch(MAX_CHANGES_PER_REQUEST)?;
        let meta = self.store.sync_meta()?;
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: meta.cursor,
            wait_ms: if changes.is_empty() { wait_ms } else { 0 },
            max_bytes: self.pull_bytes,
            changes,
            // Measured only once an answer came back.
            clock_offset_ms: meta.last_success.map(|_| meta.clock_offset_ms),
            kb_cursor: Some(meta.kb_cursor),
        };
        let started = std::time::Instant::now();
        let (response, Transfer { sent, received }) =
            self.client.sync(&self.token, &request).await?;
        let waited = started.elapsed();
        let received_at = SystemClock.now_ms();
        let round = self.store.apply_sync_response(&response, received_at)?;
        let applied = started.elapsed().saturating_sub(waited);
        let carried_over = response
            .rejected
            .iter()
            .filter(|r| r.code == fieldwork_protocol::sync::RejectCode::Rewritten)
            .count();
        Ok(RoundReport {
            pushed: request.changes.len(),
            accepted: response.accepted.len(),
            rejected: response.rejected.len() - carried_over,
            carried_over,
            pulled: response.items.len(),
            articles: round.articles_stored,
            articles_removed: round.articles_removed,
            more: response.more,
            bytes_sent: sent,
            bytes_received: received,
            wait_ms: waited.as_millis() as u64,
            apply_ms: applied.as_millis() as u64,
        })
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
        loop {
            match self.round(0).await {
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
