//! [`AppState`]: what every request shares — the store, the blob store, the document cache, the
//! clock, one [`TenantHub`] per tenant (push turn and news for long-polls), the sign-in limits,
//! and the shutdown flag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fieldwork_core::clock::{Clock, SystemClock};
use tokio::sync::watch;

use crate::blobs::{BlobLane, BlobStore, FsBlobStore};
use crate::cache::DocCache;
use crate::config::{Quotas, ServerConfig, open_data_dir};
use crate::error::Error;
use crate::login::{LoginGuard, LoginLimits};
use crate::storage::ServerStore;

/// Shared by all requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    /// Server-wide storage quotas and device cap (a tenant may have its own).
    quotas: Quotas,
}

/// The parts the sync logic works with, off the async threads.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Arc<dyn ServerStore>,
    pub blobs: BlobLane,
    pub cache: DocCache,
    pub clock: Arc<dyn Clock>,
    logins: LoginGuard,
    hubs: Mutex<HashMap<String, Arc<TenantHub>>>,
    stopping: watch::Sender<bool>,
}

/// Per tenant: pushes take turns (ticket numbers and documents are read, judged and written as
/// one unit), and long-polls hear when something was stored.
#[derive(Debug)]
pub(crate) struct TenantHub {
    pub push_turn: tokio::sync::Mutex<()>,
    news: watch::Sender<u64>,
}

impl TenantHub {
    /// A receiver that wakes on the next [`Self::announce`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.news.subscribe()
    }

    /// Tells long-polls that changes up to `seq` are stored.
    pub fn announce(&self, seq: u64) {
        self.news.send_replace(seq);
    }
}

impl AppState {
    /// Opens (creating if needed) the data directory of `config`.
    pub fn open(config: &ServerConfig) -> Result<Self, Error> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`Self::open`] with another clock (tests move time on by hand).
    pub fn open_with_clock(config: &ServerConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let store = open_data_dir(&config.data_dir)?;
        let blobs = FsBlobStore::new(config.blob_root());
        Ok(Self::with_logins(
            Arc::new(store),
            Arc::new(blobs),
            config.doc_cache,
            clock,
            &config.logins,
        )
        .with_quotas(config.quotas))
    }

    /// State over any store, blob store and clock (tests, other backends).
    pub fn new(
        store: Arc<dyn ServerStore>,
        blobs: Arc<dyn BlobStore>,
        doc_cache: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_logins(store, blobs, doc_cache, clock, &LoginLimits::default())
    }

    fn with_logins(
        store: Arc<dyn ServerStore>,
        blobs: Arc<dyn BlobStore>,
        doc_cache: usize,
        clock: Arc<dyn Clock>,
        logins: &LoginLimits,
    ) -> Self {
        AppState {
            shared: Arc::new(Shared {
                store,
                blobs: BlobLane::new(blobs),
                cache: DocCache::new(doc_cache),
                clock,
                logins: LoginGuard::new(logins),
                hubs: Mutex::new(HashMap::new()),
                stopping: watch::Sender::new(false),
            }),
            quotas: Quotas::default(),
        }
    }

    /// The same state under other server-wide quotas.
    pub fn with_quotas(mut self, quotas: Quotas) -> Self {
        self.quotas = quotas;
        self
    }

    /// The server-wide quotas.
    pub fn quotas(&self) -> Quotas {
        self.quotas
    }

    /// The storage backend.
    pub fn store(&self) -> Arc<dyn ServerStore> {
        self.shared.store.clone()
    }

    /// How many ticket documents are in memory.
    pub fn cached_docs(&self) -> usize {
        self.shared.cache.len()
    }

    /// The most password hashes that ever ran at once in this server (bounded by
    /// [`LoginLimits::hashing_slots`]).
    pub fn password_hashing_peak(&self) -> usize {
        self.shared.logins.hashing_peak()
    }

    pub(crate) fn logins(&self) -> &LoginGuard {
        &self.shared.logins
    }

    /// The estimated bytes of the ticket documents held in memory (`cache::estimated_bytes`).
    pub fn cached_doc_bytes(&self) -> usize {
        self.shared.cache.bytes()
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Server time, milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    pub(crate) fn hub(&self, tenant_id: &str) -> Arc<TenantHub> {
        let mut hubs = self.shared.hubs.lock().unwrap_or_else(|p| p.into_inner());
        hubs.entry(tenant_id.to_owned())
            .or_insert_with(|| {
                Arc::new(TenantHub {
                    push_turn: tokio::sync::Mutex::new(()),
                    news: watch::Sender::new(0),
                })
            })
            .clone()
    }

    /// From now on new requests get `503 shutting_down` and open long-polls answer at once.
    pub fn begin_shutdown(&self) {
        self.shared.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.shared.stopping.borrow()
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.shared.stopping.subscribe()
    }

    /// Runs blocking work (SQLite, Automerge) off the async threads; password checks have their
    /// own threads (`login`).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }
}
