//! `fieldwork-server`: the Fieldwork sync server (`docs/sync-protocol.md`).
//!
//! - [`app`]: the whole HTTP service as an axum `Router` over an [`AppState`].
//! - [`Server`] / [`serve`]: listening, the background tasks ([`tasks`]), and stopping
//!   gracefully on ctrl-c or SIGTERM.
//! - [`service`]: the one write path for tickets ([`service::Tickets::commit`]) that device
//!   pushes, the back-office API and the brain use, and the [`service::Notice`]s it announces.
//! - [`admin`]: provisioning (tenants, users, tokens, devices, quotas) for `fieldwork admin`.
//! - [`storage`]: the storage traits (ticket log, accounts, blob records, quotas, positions),
//!   their sum [`storage::ServerStore`], [`StorageError`], the migration contract and the SQLite
//!   backend; the conformance suite behind the `conformance` feature.
//! - [`blobs`]: the blob lane (tus uploads, downloads) and the [`blobs::BlobStore`] trait with its
//!   filesystem backend.
//! - [`config`]: where the data lives, limits and quotas.
//!
//! Inside: `state` (`AppState`, the one shared state), `routes` (the HTTP surface), `auth`
//! (tokens, passwords, extractors), `login` (sign-in rate limits and the password hashing gate),
//! `connections` (the listening loop: caps, timeouts, slow bodies), `sync` (the sync round: push
//! through the service, pull walk, long-poll), `positions` (technicians' last known positions),
//! `visibility` (who may see a stored ticket), `cache` (the bounded document cache), `wire` (CBOR
//! bodies), `error` (`Error` and `AppError`).

pub mod admin;
pub mod api;
pub mod asset_history;
pub mod asset_register;
mod auth;
pub mod blobs;
pub mod brain;
mod cache;
pub mod config;
mod connections;
pub mod console;
pub mod duties;
mod error;
pub mod intake;
mod login;
mod plain_page;
mod positions;
pub mod priority;
pub mod reports;
mod routes;
pub mod service;
mod state;
pub mod storage;
mod sync;
pub mod tasks;
mod visibility;
pub mod webhooks;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX};
/// For measuring the document cache's estimate against real memory (`tests/doc_memory.rs`).
pub use cache::{CachedDoc, PackedView, estimated_bytes, estimated_view_bytes};
pub use config::{Backoff, ConnectionLimits, LoginLimits, ServerConfig};
pub use error::{AppError, Error};
pub use state::AppState;
pub use storage::StorageError;

/// How long a stopping server waits for its background tasks before it aborts them.
const TASKS_GRACE: Duration = Duration::from_secs(30);

/// The whole service, ready for [`Server`] or `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// A server bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    connections: ConnectionLimits,
}

impl Server {
    /// Opens the data directory and binds the listening socket.
    pub async fn bind(config: &ServerConfig) -> Result<Server, Error> {
        let state = AppState::open(config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Io {
                action: "listen on",
                path: config.listen.to_string(),
                source,
            })?;
        Ok(Server {
            listener,
            state,
            connections: config.connections.clone(),
        })
    }

    /// The address actually bound (the chosen port when asked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(|source| Error::Io {
            action: "read the address of",
            path: "the listening socket".into(),
            source,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the background tasks and serves until `shutdown` completes; then stops accepting,
    /// answers open long-polls at once, tells the background tasks to stop, finishes the requests
    /// in flight and waits for the tasks.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, "serving");
        let state = self.state.clone();
        let tasks = background_tasks(&state);
        let stop_tasks = tasks.stop_handle();
        let stopping = async move {
            shutdown.await;
            tracing::info!("stopping: finishing the requests in flight");
            state.begin_shutdown();
            stop_tasks.stop();
        };
        connections::serve(self.listener, app(self.state), &self.connections, stopping).await;
        tasks.stop(TASKS_GRACE).await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The work a server does on its own schedule while it serves: every such task starts here.
/// What must run on one server of a store at a time runs under its lease (`duties`).
fn background_tasks(state: &AppState) -> tasks::BackgroundTasks {
    let mut tasks = tasks::BackgroundTasks::new();
    // The brain, reports, webhooks and the collector, on whichever server leads them.
    let duties = state.clone();
    tasks.spawn("duties lease", move |stop| duties::run(duties, stop));
    // Notices of commits to and from the other servers of the store (none with SQLite).
    let (relayed, store) = (state.tickets().clone(), state.store());
    tasks.spawn("notices between servers", move |stop| {
        service::peers::relay(relayed, store, stop)
    });
    // Search text the commits left for later, indexed every few seconds (ADR 0022: SQLite
    // leaves it; on PostgreSQL, where every server runs this, nothing is ever left).
    let search = state.clone();
    tasks.spawn("search index", move |stop| {
        service::search_index::run(search, stop)
    });
    // Listings of tickets stored before the back-office API listed them, and summaries of
    // documents stored before devices listed tickets by them (ADR 0018), filled in once.
    fill_once(
        &mut tasks,
        "ticket listings",
        state,
        service::listing::fill_missing,
    );
    fill_once(
        &mut tasks,
        "ticket summaries",
        state,
        service::summaries::fill_missing,
    );
    tasks
}

/// Starts task `name`, which fills in once what older versions did not keep, and logs how many
/// it filled.
fn fill_once(
    tasks: &mut tasks::BackgroundTasks,
    name: &'static str,
    state: &AppState,
    fill: fn(&dyn storage::ServerStore) -> Result<usize, Error>,
) {
    let store = state.store();
    tasks.spawn(name, move |_stop| async move {
        match state::blocking(move || fill(store.as_ref())).await {
            Ok(0) => {}
            Ok(filled) => tracing::info!(task = name, filled, "filled in what an older version did not keep"),
            Err(error) => {
                tracing::warn!(task = name, %error, "could not fill in all an older version did not keep")
            }
        }
    });
}

/// Binds and serves until ctrl-c or SIGTERM.
pub async fn serve(config: ServerConfig) -> Result<(), Error> {
    let server = Server::bind(&config).await?;
    server.run(shutdown_signal()).await
}

/// Completes on ctrl-c, or on SIGTERM where there are signals.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
