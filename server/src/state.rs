//! [`AppState`]: what every request shares, one component each — the store, the ticket write
//! path ([`Tickets`], with the document cache and the notices), the blob lane, the sign-in
//! limits, the clock, the quotas and the shutdown flag. Handlers hand each piece of domain code
//! only the components it needs.

use std::sync::Arc;

use fieldwork_core::clock::{Clock, SystemClock};
use tokio::sync::watch;

use crate::blobs::{BlobLane, BlobStore};
use crate::cache::DocCache;
use crate::config::{Quotas, ServerConfig, open_blobs, open_store};
use crate::console::TileSource;
use crate::error::Error;
use crate::intake::IntakeLimits;
use crate::login::{LoginGuard, LoginLimits};
use crate::service::Tickets;
use crate::storage::ServerStore;

/// Shared by all requests; cheap to clone (a handful of `Arc`s).
#[derive(Debug, Clone)]
pub struct AppState {
    store: Arc<dyn ServerStore>,
    tickets: Tickets,
    blobs: Arc<BlobLane>,
    logins: Arc<LoginGuard>,
    /// The service brain of each configured tenant (`crate::brain`).
    brain: Arc<crate::brain::BrainHost>,
    clock: Arc<dyn Clock>,
    /// Server-wide storage quotas and device cap (a tenant may have its own).
    quotas: Quotas,
    /// The first wait before a failed webhook delivery is tried again (ms).
    webhook_retry_ms: i64,
    /// Session cookies carry `Secure` (clients come over TLS).
    secure_cookies: bool,
    /// The console map's tile source, if one is set.
    map_tiles: Option<Arc<TileSource>>,
    /// The intake channels' rate limits and alert folds (`crate::intake`).
    intake: Arc<crate::intake::Intake>,
    stopping: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Opens (creating if needed) the data directory and database of `config`, and its blob
    /// store.
    pub fn open(config: &ServerConfig) -> Result<Self, Error> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`Self::open`] with another clock (tests move time on by hand).
    pub fn open_with_clock(config: &ServerConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let store = open_store(&config.data_dir, config.database.as_deref())?;
        let blobs = open_blobs(&config.data_dir, config.blobs.as_deref())?;
        Ok(Self::with_logins(
            store,
            blobs,
            DocCache::with_budget(config.doc_cache, config.doc_cache_bytes),
            clock,
            &config.logins,
        )
        .with_quotas(config.quotas)
        .with_webhook_retry_ms(config.webhook_retry_ms)
        .with_secure_cookies(config.secure_cookies)
        .with_map_tiles(config.map_tiles.clone())
        .with_intake_limits(config.intake))
    }

    /// State over any store, blob store and clock (tests, other backends).
    pub fn new(
        store: Arc<dyn ServerStore>,
        blobs: Arc<dyn BlobStore>,
        doc_cache: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let cache = DocCache::new(doc_cache);
        Self::with_logins(store, blobs, cache, clock, &LoginLimits::default())
    }

    fn with_logins(
        store: Arc<dyn ServerStore>,
        blobs: Arc<dyn BlobStore>,
        cache: DocCache,
        clock: Arc<dyn Clock>,
        logins: &LoginLimits,
    ) -> Self {
        let cache = Arc::new(cache);
        AppState {
            tickets: Tickets::new(store.clone(), cache.clone(), clock.clone()),
            blobs: Arc::new(BlobLane::new(store.clone(), blobs, cache)),
            store,
            logins: Arc::new(LoginGuard::new(logins)),
            brain: Arc::default(),
            clock,
            quotas: Quotas::default(),
            webhook_retry_ms: crate::webhooks::DEFAULT_RETRY_MS,
            secure_cookies: false,
            map_tiles: None,
            intake: Arc::new(crate::intake::Intake::new(IntakeLimits::default())),
            stopping: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The same state under other server-wide quotas.
    pub fn with_quotas(mut self, quotas: Quotas) -> Self {
        self.quotas = quotas;
        self
    }

    /// The same state with another first wait before a failed webhook is tried again.
    pub fn with_webhook_retry_ms(mut self, ms: i64) -> Self {
        self.webhook_retry_ms = ms.max(1);
        self
    }

    /// The same state with session cookies marked `Secure` (or not).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// The same state with the console map drawing `tiles` (or a plain background).
    pub fn with_map_tiles(mut self, tiles: Option<TileSource>) -> Self {
        self.map_tiles = tiles.map(Arc::new);
        self
    }

    /// The same state with other limits on how fast each intake channel may deliver.
    pub fn with_intake_limits(mut self, limits: IntakeLimits) -> Self {
        self.intake = Arc::new(crate::intake::Intake::new(limits));
        self
    }

    pub(crate) fn intake(&self) -> &crate::intake::Intake {
        &self.intake
    }

    /// The console map's tile source, if one is set.
    pub fn map_tiles(&self) -> Option<&TileSource> {
        self.map_tiles.as_deref()
    }

    /// Whether session cookies carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// The first wait before a failed webhook delivery is tried again (ms).
    pub fn webhook_retry_ms(&self) -> i64 {
        self.webhook_retry_ms
    }

    /// The server-wide quotas.
    pub fn quotas(&self) -> Quotas {
        self.quotas
    }

    /// The storage backend.
    pub fn store(&self) -> Arc<dyn ServerStore> {
        self.store.clone()
    }

    /// The service brain's state (`crate::brain`).
    pub(crate) fn brain(&self) -> &Arc<crate::brain::BrainHost> {
        &self.brain
    }

    /// The one write path for tickets (device pushes, the API, the brain) and its notices.
    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    pub(crate) fn blobs(&self) -> &Arc<BlobLane> {
        &self.blobs
    }

    /// How many ticket documents are in memory.
    pub fn cached_docs(&self) -> usize {
        self.tickets.cache().len()
    }

    /// The estimated bytes of the ticket documents held in memory (`cache::estimated_bytes`).
    pub fn cached_doc_bytes(&self) -> usize {
        self.tickets.cache().bytes()
    }

    /// How many changes were judged on their tickets' tips, without the documents
    /// (`core::ticket::tip`; a commit judged again in its turn counts again).
    pub fn changes_judged_on_tips(&self) -> u64 {
        self.tickets.cache().judged_on_tips()
    }

    /// The most password hashes that ever ran at once in this server (bounded by
    /// [`LoginLimits::hashing_slots`]).
    pub fn password_hashing_peak(&self) -> usize {
        self.logins.hashing_peak()
    }

    pub(crate) fn logins(&self) -> &LoginGuard {
        &self.logins
    }

    /// Server time, milliseconds since the Unix epoch.
    /// The clock (for an [`crate::admin::Admin`] over the same store).
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// From now on new requests get `503 shutting_down` and open long-polls answer at once.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}

/// Runs blocking work (SQLite, Automerge) off the async threads; password checks have their own
/// threads (`login`).
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || {
        crate::priority::request_priority();
        work()
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}
