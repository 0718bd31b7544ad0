//! The listening loop: accepts TCP connections under a cap per client address and a cap in
//! total, serves each with hyper's HTTP/1.1 under a header-read timeout (which also closes idle
//! kept-alive connections) and a minimum body rate, and stops gracefully.
//!
//! Long-polls are unaffected: hyper reads no new request head while a response is pending, so
//! the header clock does not run during a `POST /v1/sync` that waits; the wait has its own bound.

mod caps;
mod slow_body;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use fieldwork_core::clock::{Clock, SystemClock};
use fieldwork_protocol::sync::{self as protocol, ErrorBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use caps::ConnectionCaps;
use slow_body::MinRateBody;

/// How long a stopping server waits for open connections to finish before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Pause after a failed accept that is not the client's doing (e.g. out of file descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(200);
/// File descriptors kept free for the database, blobs and logs when the total cap is derived
/// from the process's open-file limit.
const RESERVED_FILES: usize = 128;
/// Seconds a refused connection is told to wait.
const REFUSED_RETRY_AFTER_S: u64 = 5;

/// Limits on connections and on how slowly a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request head must arrive whole within this time from when the connection starts
    /// waiting for it; so a kept-alive connection with no new request closes after it too.
    pub header_timeout: Duration,
    /// Request bodies must average at least this many bytes per second (0: no minimum)...
    pub min_body_rate: u64,
    /// ...after this much time, counted from when the handler starts reading the body.
    pub body_grace: Duration,
    /// Most connections open at once from one address (an IPv4 address or an IPv6 /64).
    pub max_per_address: usize,
    /// Most connections open at once in total (lowered to the open-file limit if that is less).
    pub max_total: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(20),
            min_body_rate: 1024,
            body_grace: Duration::from_secs(10),
            max_per_address: 128,
            max_total: 4096,
        }
    }
}

/// Where connections from one party are counted together: an IPv4 address (also when it comes
/// IPv4-mapped), or the /64 network of an IPv6 address, since one subscriber holds a whole /64.
pub(crate) fn address_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    }
}

/// The client's address as the listening loop saw it (`None` when the request did not come
/// through it, as in tests that call the router directly).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, asks every
/// connection to finish its request in flight and close, and waits for them (at most
/// [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let max_total = match open_file_limit() {
        Some(files) if files.saturating_sub(RESERVED_FILES) < limits.max_total => {
            let lowered = files.saturating_sub(RESERVED_FILES).max(1);
            tracing::info!(
                files,
                lowered,
                "the open-file limit is low: connections capped below the configured total"
            );
            lowered
        }
        _ => limits.max_total,
    };
    let caps = Arc::new(ConnectionCaps::new(limits.max_per_address, max_total));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let (stop, stopping) = watch::channel(false);
    // Every connection task holds a receiver; `closed()` completes when the last one ends.
    let (open, open_tasks) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let Some(permit) = caps.admit(address_group(peer.ip())) else {
            tracing::debug!("connection refused: too many open");
            refuse(&stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (rate, grace) = (limits.min_body_rate, limits.body_grace);
        let service = router
            .clone()
            .map_request(move |request: axum::http::Request<Incoming>| {
                let mut request = request.map(|body| MinRateBody::new(body, rate, grace));
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let (mut stopping, open_tasks) = (stopping.clone(), open_tasks.clone());
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut asked_to_stop = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stopping.wait_for(|stop| *stop), if !asked_to_stop => {
                        asked_to_stop = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop((permit, open_tasks));
        });
    }
    drop(listener);
    stop.send_replace(true);
    drop(open_tasks);
    if tokio::time::timeout(SHUTDOWN_GRACE, open.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace; dropping them");
    }
}

/// Tells a connection over the caps why it is closed (one try, never waiting), then drops it.
fn refuse(stream: &TcpStream) {
    let body = protocol::encode(&ErrorBody {
        code: "too_many_connections".into(),
        message: "too many connections are open from this address or in total; retry later".into(),
        server_time: SystemClock.now_ms(),
    });
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\ncontent-length: {}\r\nretry-after: {REFUSED_RETRY_AFTER_S}\r\nconnection: close\r\n\r\n",
        protocol::CONTENT_TYPE,
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    let _ = stream.try_write(&answer);
}

/// The soft limit on open files of this process (Linux), if it can be read.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_is_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_group(a), address_group(b));
        assert_ne!(address_group(a), address_group(other));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(
            address_group(mapped),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
        );
        assert_eq!(
            address_group(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
    }

    #[test]
    fn the_open_file_limit_is_read_where_there_is_one() {
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }
}
