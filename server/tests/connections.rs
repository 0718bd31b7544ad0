//! Connections through a real listener (issue 9, finding 7): partial request heads, idle
//! kept-alive connections and trickling bodies are closed; one address cannot open more than its
//! share; long-polls and graceful shutdown still work.

use std::net::SocketAddr;
use std::time::Duration;

use fieldwork_core::Role;
use fieldwork_core::sync::client::ServerClient;
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::sync::{DeviceRegistration, LoginRequest, PROTOCOL_VERSION, SyncRequest};
use fieldwork_server::admin::{Admin, NewUser};
use fieldwork_server::{ConnectionLimits, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A deadline far beyond any configured timeout, so a connection that is never closed fails the
/// test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(20);
/// The short timeouts these servers run with.
const SHORT: Duration = Duration::from_millis(300);

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), fieldwork_server::Error>>,
    dir: tempfile::TempDir,
}

async fn start(limits: ConnectionLimits) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        connections: limits,
        ..ServerConfig::new(dir.path().join("data"))
    };
    let server = Server::bind(&config).await.expect("binds");
    let addr = server.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop,
        task,
        dir,
    }
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).expect("server still running");
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("stops")
            .expect("task")
            .expect("stops cleanly");
    }
}

fn short_timeouts() -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: SHORT,
        body_grace: SHORT,
        min_body_rate: 1000,
        ..ConnectionLimits::default()
    }
}

/// Reads until the server closes the connection; what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buf))
            .await
            .expect("the server closes the connection")
        {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

const HEALTH: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends a health check on `stream` and reads its whole answer (kept alive).
async fn health(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTH).await.expect("writes");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"ok") {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
            .await
            .expect("answers")
            .expect("reads");
        assert!(n > 0, "closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed() {
    let server = start(short_timeouts()).await;
    // Slowloris: a head sent a line at a time, never finished.
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    stream
        .write_all(b"POST /v1/login HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    until_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = start(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    assert!(health(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Nothing more is sent: the connection does not stay open forever.
    until_closed(&mut stream).await;
    // An idle connection that never sent anything is closed the same way.
    let mut silent = TcpStream::connect(server.addr).await.expect("connects");
    until_closed(&mut silent).await;
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_is_cut_off_and_the_connection_closed() {
    let server = start(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    stream
        .write_all(
            b"POST /v1/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/cbor\r\ncontent-length: 100000\r\n\r\n0123456789",
        )
        .await
        .expect("writes");
    // Ten bytes of 100,000, then nothing: the request ends with an answer and a close.
    let answer = until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_refused_and_places_come_back() {
    let server = start(ConnectionLimits {
        max_per_address: 3,
        ..ConnectionLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connects");
        assert!(health(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut extra = TcpStream::connect(server.addr).await.expect("connects");
    let refused = until_closed(&mut extra).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after"), "{refused}");
    // The admitted connections still work.
    assert!(health(&mut held[0]).await.starts_with("HTTP/1.1 200"));
    // Closing one frees its place (once the server has seen the close).
    drop(held.pop());
    let started = tokio::time::Instant::now();
    loop {
        assert!(started.elapsed() < DEADLINE, "the place never came back");
        let mut again = TcpStream::connect(server.addr).await.expect("connects");
        again.write_all(HEALTH).await.expect("writes");
        let answer = until_closed_or_answered(&mut again).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::task::yield_now().await;
    }
    server.stop().await;
}

/// Reads the first answer on `stream` (or what came before the server closed it).
async fn until_closed_or_answered(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buf))
            .await
            .expect("answers or closes")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if seen.ends_with(b"ok") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn the_total_cap_holds_across_connections() {
    let server = start(ConnectionLimits {
        max_total: 2,
        ..ConnectionLimits::default()
    })
    .await;
    let mut first = TcpStream::connect(server.addr).await.expect("connects");
    let mut second = TcpStream::connect(server.addr).await.expect("connects");
    assert!(health(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(health(&mut second).await.starts_with("HTTP/1.1 200"));
    let mut third = TcpStream::connect(server.addr).await.expect("connects");
    assert!(until_closed(&mut third).await.starts_with("HTTP/1.1 503"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_outlives_the_header_timeout_and_the_server_still_stops_gracefully() {
    let server = start(short_timeouts()).await;
    let admin = Admin::open(&server.dir.path().join("data")).expect("admin");
    admin.create_tenant("acme").expect("tenant");
    admin
        .create_user(&NewUser {
            tenant: "acme".into(),
            name: "li.wei".into(),
            role: Role::Technician,
            team: None,
            skills: vec![],
            password: Some("correct horse battery".into()),
        })
        .expect("user");
    let client = ServerClient::new(&format!("http://{}", server.addr)).expect("client");
    let session = client
        .login(&LoginRequest {
            tenant: "acme".into(),
            user: "li.wei".into(),
            password: "correct horse battery".into(),
            device: DeviceRegistration {
                actor_id: ActorId::random().to_hex_string(),
                name: "phone".into(),
            },
        })
        .await
        .expect("signs in");
    // Catch up first, then wait with nothing to pull for several header timeouts.
    let mut request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor: 0,
        changes: vec![],
        wait_ms: 0,
        max_bytes: 0,
        clock_offset_ms: None,
        kb_cursor: None,
    };
    let (caught_up, _) = client.sync(&session.token, &request).await.expect("syncs");
    request.cursor = caught_up.cursor;
    request.wait_ms = 5 * SHORT.as_millis() as u32;
    let (waited, _) = client
        .sync(&session.token, &request)
        .await
        .expect("the long-poll is answered, not cut off");
    assert!(waited.items.is_empty());
    // An open kept-alive connection does not hold the stop back.
    let mut idle = TcpStream::connect(server.addr).await.expect("connects");
    assert!(health(&mut idle).await.starts_with("HTTP/1.1 200"));
    server.stop().await;
}
