//! `fieldwork-server`: the Fieldwork sync server (`docs/sync-protocol.md`).
//!
//! - [`app`]: the whole HTTP service as an axum `Router` over an [`AppState`].
//! - [`Server`] / [`serve`]: listening, and stopping gracefully on ctrl-c or SIGTERM.
//! - [`admin`]: provisioning (tenants, users, tokens) for `fieldwork admin`.
//! - [`storage`]: the [`storage::ServerStore`] trait and its SQLite backend.
//! - [`blobs`]: the blob lane (tus uploads, downloads) and the [`blobs::BlobStore`] trait with its
//!   filesystem backend.
//!
//! Inside: `auth` (tokens, passwords, extractors), `login` (sign-in rate limits and the password
//! hashing gate), `connections` (the listening loop: caps, timeouts, slow bodies), `sync` (push
//! judgement and pull walk),
//! `positions` (technicians' last known positions), `visibility` (who may see a stored ticket),
//! `cache` (the bounded document cache), `wire` (CBOR bodies), `error` (`Error` and `AppError`).

pub mod admin;
mod auth;
pub mod blobs;
mod cache;
pub mod config;
mod connections;
mod error;
mod login;
mod positions;
mod routes;
mod state;
pub mod storage;
mod sync;
mod visibility;
mod wire;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX};
pub use config::{Backoff, ConnectionLimits, LoginLimits, ServerConfig};
pub use error::{AppError, Error};
pub use state::AppState;

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

    /// Serves until `shutdown` completes, then stops accepting, answers open long-polls at once
    /// and finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, "serving");
        let state = self.state.clone();
        // Collects blobs no ticket names; ends when the server begins to stop.
        tokio::spawn(blobs::collect_in_background(state.clone()));
        let stopping = async move {
            shutdown.await;
            tracing::info!("stopping: finishing the requests in flight");
            state.begin_shutdown();
        };
        connections::serve(self.listener, app(self.state), &self.connections, stopping).await;
        tracing::info!("stopped");
        Ok(())
    }
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
