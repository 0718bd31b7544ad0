//! `GET /api/v1/events` (`docs/api.md`, "Live events"): the tenant's news as server-sent events,
//! read frame by frame from the router as a browser's `EventSource` would. A commit through the
//! API names its ticket (never its content), a client that comes back with `Last-Event-ID` gets
//! what it missed, the stream ends with `signed_out` once its user is disabled, and roles that
//! may not listen are refused.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::Harness;
use support::api::Browser;

/// One server-sent event.
#[derive(Debug)]
struct Event {
    name: String,
    id: Option<String>,
    data: Value,
}

/// Reads a stream's events as they come.
struct Stream {
    body: Body,
    buffer: String,
}

impl Stream {
    async fn open(
        h: &Harness,
        token: &str,
        query: &str,
        last_id: Option<&str>,
    ) -> (StatusCode, Stream) {
        let mut request = Request::builder()
            .uri(format!("/api/v1/events{query}"))
            .header("authorization", format!("Bearer {token}"));
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = tower::ServiceExt::oneshot(
            h.app.clone(),
            request.body(Body::empty()).expect("request"),
        )
        .await
        .expect("the router never fails");
        let status = response.status();
        if status == StatusCode::OK {
            assert_eq!(
                response.headers()["content-type"],
                "text/event-stream",
                "an event stream"
            );
        }
        (
            status,
            Stream {
                body: response.into_body(),
                buffer: String::new(),
            },
        )
    }

    /// The next event (keep-alive comments skipped), or `None` when the stream ended.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = (String::new(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                return Some(Event { name, id, data });
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .expect("an event within 10 s")?
                .expect("a frame");
            if let Ok(bytes) = frame.into_data() {
                self.buffer
                    .push_str(std::str::from_utf8(&bytes).expect("utf-8"));
            }
        }
    }
}

async fn create(h: &Harness, who: &Browser, title: &str) -> String {
    let made = who
        .post(h, "/api/v1/tickets", json!({ "title": title }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    made.json["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_commit_names_its_ticket_and_a_returning_client_misses_nothing() {
    let h = Harness::new();
    let acme = h.tenant("acme");
    let globex = h.tenant("globex");
    let desk = h.user(&acme, "desk", Role::Dispatcher, None);
    let other = h.user(&globex, "other", Role::Dispatcher, None);
    let rider = h.user(&acme, "rider", Role::Rider, None);
    let by_desk = Browser::with_token(&desk.api_token);
    create(&h, &by_desk, "before the stream").await;

    let (status, mut stream) = Stream::open(&h, &desk.api_token, "", None).await;
    assert_eq!(status, StatusCode::OK);
    let ready = stream.next().await.expect("ready");
    assert_eq!(ready.name, "ready");
    let start: u64 = ready.data["seq"].as_u64().expect("a seq");
    assert_eq!(ready.id.as_deref(), Some(start.to_string().as_str()));
    let (_, mut elsewhere) = Stream::open(&h, &other.api_token, "?seconds=2", None).await;
    assert_eq!(elsewhere.next().await.expect("ready").name, "ready");

    let id = create(&h, &by_desk, "冰柜压缩机 secret words").await;
    let news = stream.next().await.expect("news");
    assert_eq!(news.name, "tickets");
    assert_eq!(news.data["tickets"], json!([id]));
    assert_eq!(news.data["more"], json!(false));
    let seq = news.data["seq"].as_u64().expect("a seq");
    assert!(seq > start);
    assert_eq!(news.id.as_deref(), Some(seq.to_string().as_str()));
    // Ids only: nothing of the ticket's content travels.
    assert!(!news.data.to_string().contains("secret"));
    // The other tenant's stream hears nothing of it, and ends when its time is up.
    assert!(
        elsewhere.next().await.is_none(),
        "another tenant's stream stays quiet"
    );

    // A client that lost the stream after `ready` comes back with its last id.
    let (_, mut again) =
        Stream::open(&h, &desk.api_token, "?seconds=0", Some(&start.to_string())).await;
    let missed = again.next().await.expect("what it missed");
    assert_eq!(missed.name, "tickets");
    assert_eq!(missed.data["tickets"], json!([id]));
    assert!(again.next().await.is_none(), "seconds=0 ends the stream");
    // An id from the future is no trick: it is taken as "now".
    let (_, mut future) =
        Stream::open(&h, &desk.api_token, "?seconds=0&after=999999999", None).await;
    let now = future.next().await.expect("ready");
    assert_eq!(
        (now.name.as_str(), now.data["seq"].as_u64()),
        ("ready", Some(seq))
    );

    // Who may listen.
    let (status, _) = Stream::open(&h, &rider.api_token, "", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = Stream::open(&h, "fwu_not_a_token", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = Stream::open(&h, &desk.api_token, "?seconds=3601", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_disabled_users_stream_ends_with_signed_out() {
    let h = Harness::new();
    let acme = h.tenant("acme");
    let desk = h.user(&acme, "desk", Role::Dispatcher, None);
    let boss = h.user(&acme, "boss", Role::Admin, None);
    let (_, mut stream) = Stream::open(&h, &desk.api_token, "", None).await;
    assert_eq!(stream.next().await.expect("ready").name, "ready");

    let by_boss = Browser::with_token(&boss.api_token);
    let off = by_boss
        .post(&h, &format!("/api/v1/users/{}/disable", desk.id), json!({}))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.json);
    // The next news finds the caller gone: the stream says so and ends.
    create(&h, &by_boss, "after the disabling").await;
    let last = stream.next().await.expect("signed_out");
    assert_eq!(last.name, "signed_out");
    assert!(stream.next().await.is_none());
}
