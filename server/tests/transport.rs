//! The HTTP envelope: bad bodies, limits, gzip both ways, long-polls, a real listener and a
//! graceful stop.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use fieldwork_protocol::sync::{self as protocol, MAX_REQUEST_BYTES, SyncResponse};
use fieldwork_server::{Server, ServerConfig};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use support::{Harness, repair, snapshots};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A deadline far beyond any honest wait, so a hang fails the test instead of stalling it.
const DEADLINE: Duration = Duration::from_secs(20);

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A `POST /v1/sync` with a device token and the CBOR content type; the body comes next.
fn sync_request(token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method("POST")
        .uri("/v1/sync")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", protocol::CONTENT_TYPE)
}

#[tokio::test]
async fn a_malformed_body_gets_a_clear_400_and_the_server_keeps_serving() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let mut desk = h.login(&ops).await;
    let garbage = h
        .call(
            "POST",
            "/v1/sync",
            Some(&desk.token),
            Some(b"\xff\x00not cbor".to_vec()),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(garbage.code, "bad_request");
    assert!(garbage.message.contains("CBOR"), "{}", garbage.message);
    assert!(garbage.server_time > 0);

    let mut old = desk.request(&[], 0, 0);
    old.protocol = 0;
    let refused = h
        .call(
            "POST",
            "/v1/sync",
            Some(&desk.token),
            Some(protocol::encode(&old)),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(refused.code, "unsupported_protocol");

    let plain = h
        .request(
            Request::builder()
                .method("POST")
                .uri("/v1/sync")
                .header("authorization", format!("Bearer {}", desk.token))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert_eq!(
        plain.error(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
        "unsupported_media_type"
    );
    let unknown = h.call("GET", "/v1/nothing", None, None).await;
    assert_eq!(unknown.error(StatusCode::NOT_FOUND).code, "not_found");

    // Still serving, and still syncing.
    let (id, change) = desk.create(repair("after the garbage"));
    let answer = desk.sync(&h, &[(&id, &change)]).await;
    assert_eq!(answer.accepted.len(), 1);
    let health = h.call("GET", "/v1/health", None, None).await;
    assert_eq!(
        (health.status, health.body.as_slice()),
        (StatusCode::OK, &b"ok"[..])
    );
}

#[tokio::test]
async fn bodies_over_8_mib_are_refused_even_when_gzipped_small() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let desk = h.login(&ops).await;
    let huge = vec![0u8; MAX_REQUEST_BYTES + 1];
    let with_length = sync_request(&desk.token)
        .header("content-length", huge.len())
        .body(Body::from(huge.clone()))
        .expect("request");
    let refused = h
        .request(with_length)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.code, "body_too_large");

    let streamed = sync_request(&desk.token)
        .body(Body::from(huge.clone()))
        .expect("request");
    let refused = h
        .request(streamed)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.code, "body_too_large");

    let packed = gzip(&huge);
    assert!(packed.len() < 100_000);
    let bomb = sync_request(&desk.token)
        .header("content-encoding", "gzip")
        .body(Body::from(packed))
        .expect("request");
    let refused = h.request(bomb).await.error(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.code, "body_too_large");
}

#[tokio::test]
async fn gzip_works_both_ways() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let mut desk = h.login(&ops).await;
    let made: Vec<_> = (0..20)
        .map(|i| desk.create(repair(&format!("ticket number {i} with some words"))))
        .collect();
    let push: Vec<_> = made.iter().map(|(id, c)| (id.as_str(), c)).collect();
    let body = protocol::encode(&desk.request(&push, 0, 0));
    let request = sync_request(&desk.token)
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(&body)))
        .expect("request");
    let pushed: SyncResponse = h.request(request).await.ok();
    assert_eq!(pushed.accepted.len(), 20);

    let fresh = h.login(&ops).await;
    let request = sync_request(&fresh.token)
        .header("accept-encoding", "gzip")
        .body(Body::from(protocol::encode(&fresh.request(&[], 0, 0))))
        .expect("request");
    let reply = h.request(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let mut plain = Vec::new();
    GzDecoder::new(reply.body.as_slice())
        .read_to_end(&mut plain)
        .expect("gunzip");
    let pulled: SyncResponse = protocol::decode(&plain).expect("CBOR");
    assert_eq!(snapshots(&pulled).len(), 20);
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_another_device_pushes() {
    let h = std::sync::Arc::new(Harness::new());
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let waiting = h.login(&ops).await;
    let mut pushing = h.login(&ops).await;

    let listener = {
        let h = h.clone();
        tokio::spawn(async move { waiting.round(&h, &[], 30_000, 0).await })
    };
    let (id, change) = pushing.create(repair("news"));
    pushing.sync(&h, &[(&id, &change)]).await;
    let heard = tokio::time::timeout(DEADLINE, listener)
        .await
        .expect("the long-poll answers well before its 30 s")
        .expect("task");
    assert_eq!(snapshots(&heard), [id.as_str()]);
}

#[tokio::test]
async fn open_long_polls_answer_when_the_server_stops() {
    let h = std::sync::Arc::new(Harness::new());
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let waiting = h.login(&ops).await;
    let body = protocol::encode(&waiting.request(&[], 30_000, 0));
    let token = waiting.token.clone();
    let listener = {
        let h = h.clone();
        tokio::spawn(async move { h.call("POST", "/v1/sync", Some(&token), Some(body)).await })
    };
    tokio::task::yield_now().await;
    h.state.begin_shutdown();
    let reply = tokio::time::timeout(DEADLINE, listener)
        .await
        .expect("answers once stopping")
        .expect("task");
    // Either it was waiting (an empty answer) or it arrived after the stop (503).
    match reply.status {
        StatusCode::OK => assert!(reply.ok::<SyncResponse>().items.is_empty()),
        _ => assert_eq!(
            reply.error(StatusCode::SERVICE_UNAVAILABLE).code,
            "shutting_down"
        ),
    }
    let later = h.call("GET", "/v1/health", None, None).await;
    assert_eq!(
        later.error(StatusCode::SERVICE_UNAVAILABLE).code,
        "shutting_down"
    );
}

#[tokio::test]
async fn a_real_listener_serves_and_stops_gracefully() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..ServerConfig::new(dir.path().join("data"))
    };
    let server = Server::bind(&config).await.expect("binds");
    let addr = server.local_addr().expect("address");
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("writes");
    let mut answer = String::new();
    tokio::time::timeout(DEADLINE, stream.read_to_string(&mut answer))
        .await
        .expect("answers")
        .expect("reads");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    stop.send(()).expect("server still running");
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("stops")
        .expect("task")
        .expect("stops cleanly");
}
