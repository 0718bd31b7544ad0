//! Rating links (`docs/api.md`, "CSAT"): made by the back office for a resolved ticket, opened
//! by its reporter without signing in, good for one rating until they expire, superseded by a
//! newer link, given back when the ticket was reopened meanwhile; the rating is the reporter's
//! `rate` edit, and the audit log says it came through a link.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use serde_json::{Value, json};
use support::api::Browser;
use support::{Harness, Reply, User};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 60 * 60 * 1000;

struct Desk {
    h: Harness,
    clock: Arc<ManualClock>,
    dan: Browser,
    tom: Browser,
    mia: Browser,
    mia_user: User,
    tom_user: User,
}

fn desk() -> Desk {
    let clock = Arc::new(ManualClock::at(T0));
    let h = Harness::with_config(clock.clone(), |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    });
    h.tenant("acme");
    h.tenant("globex");
    let dan = h.user("acme", "dan", Role::Dispatcher, None);
    let tom_user = h.user("acme", "tom", Role::Technician, None);
    let mia_user = h.user("acme", "mia", Role::Merchant, None);
    Desk {
        dan: Browser::with_token(&dan.api_token),
        tom: Browser::with_token(&tom_user.api_token),
        mia: Browser::with_token(&mia_user.api_token),
        h,
        clock,
        mia_user,
        tom_user,
    }
}

impl Desk {
    async fn edit(&self, who: &Browser, id: &str, edits: Value) {
        let done = who
            .post(
                &self.h,
                &format!("/api/v1/tickets/{id}/edits"),
                json!({ "edits": edits }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    }

    /// A ticket the merchant reported and the technician resolved.
    async fn resolved_ticket(&self) -> String {
        let made = self
            .mia
            .post(
                &self.h,
                "/api/v1/tickets",
                json!({ "title": "Till jammed" }),
            )
            .await;
        let id = made.json["id"].as_str().expect("id").to_owned();
        self.edit(
            &self.dan,
            &id,
            json!([{ "type": "assign", "assignee": self.tom_user.id }]),
        )
        .await;
        self.edit(
            &self.tom,
            &id,
            json!([
                { "type": "set_status", "status": "accepted" },
                { "type": "set_status", "status": "in_progress" },
                { "type": "set_status", "status": "resolved" }
            ]),
        )
        .await;
        id
    }

    async fn link(&self, id: &str, query: &str) -> Value {
        let made = self
            .dan
            .post(
                &self.h,
                &format!("/api/v1/tickets/{id}/csat-link{query}"),
                json!({}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
        made.json
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let reply = self
            .h
            .request(Request::get(path).body(Body::empty()).expect("request"))
            .await;
        (reply.status, html(&reply))
    }

    async fn send(&self, path: &str, form: &str) -> (StatusCode, String) {
        let reply = self
            .h
            .request(
                Request::post(path)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(form.to_owned()))
                    .expect("request"),
            )
            .await;
        (reply.status, html(&reply))
    }

    async fn csat(&self, id: &str) -> Value {
        self.dan
            .get(&self.h, &format!("/api/v1/tickets/{id}"))
            .await
            .json["csat"]
            .clone()
    }
}

fn html(reply: &Reply) -> String {
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/html; charset=utf-8"[..])
    );
    String::from_utf8(reply.body.clone()).expect("utf-8")
}

#[tokio::test]
async fn a_reporter_rates_once_through_a_link_the_back_office_sent() {
    let d = desk();
    let made = d
        .mia
        .post(
            &d.h,
            "/api/v1/tickets",
            json!({ "title": "Printer offline" }),
        )
        .await;
    let open = made.json["id"].as_str().expect("id").to_owned();
    let early = d
        .dan
        .post(
            &d.h,
            &format!("/api/v1/tickets/{open}/csat-link"),
            json!({}),
        )
        .await;
    assert_eq!(early.error(StatusCode::UNPROCESSABLE_ENTITY), "refused");

    let id = d.resolved_ticket().await;
    // Only the back office sends links, and only for its own tenant's tickets.
    for who in [&d.mia, &d.tom] {
        let refused = who
            .post(&d.h, &format!("/api/v1/tickets/{id}/csat-link"), json!({}))
            .await;
        assert_eq!(refused.error(StatusCode::FORBIDDEN), "forbidden");
    }
    let stranger = d.h.user("globex", "gil", Role::Admin, None);
    let hidden = Browser::with_token(&stranger.api_token)
        .post(&d.h, &format!("/api/v1/tickets/{id}/csat-link"), json!({}))
        .await;
    assert_eq!(hidden.error(StatusCode::NOT_FOUND), "not_found");

    let link = d.link(&id, "").await;
    let token = link["token"].as_str().expect("token");
    assert!(token.starts_with("fwr_") && token.len() == 68, "{token}");
    assert_eq!(link["path"], format!("/csat/{token}"));
    assert_eq!(link["expires_at"], T0 + 7 * 24 * HOUR);
    let path = link["path"].as_str().expect("path").to_owned();

    // The page: the five scores, and nothing that would carry the token elsewhere.
    let reply =
        d.h.request(Request::get(&path).body(Body::empty()).expect("request"))
            .await;
    assert_eq!(reply.status, StatusCode::OK);
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(
            reply.headers.get(name).map(|v| v.as_bytes()),
            Some(value.as_bytes())
        );
    }
    let page = html(&reply);
    assert_eq!(page.matches("name=\"score\"").count(), 5, "{page}");
    assert!(!page.contains("Till jammed"), "no ticket text on the page");

    // A bad score is asked again; the link still works.
    let (status, page) = d.send(&path, "score=9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Choose a score from 1 to 5"), "{page}");
    let (status, page) = d.send(&path, "comment=no+score").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");

    let (status, page) = d
        .send(&path, "score=4&comment=Quick+fix%2C+thanks+%3Cb%3E")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Thank you"), "{page}");
    assert_eq!(
        d.csat(&id).await,
        json!({ "score": 4, "comment": "Quick fix, thanks <b>" })
    );

    // Once only.
    let (status, page) = d.send(&path, "score=1").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("Already rated"), "{page}");
    assert_eq!(d.page(&path).await.0, StatusCode::GONE);
    assert_eq!(d.csat(&id).await["score"], 4);

    // The audit log: the merchant's rating, through a link.
    let sup = d.h.user("acme", "sue", Role::Supervisor, None);
    let audit = Browser::with_token(&sup.api_token)
        .get(&d.h, &format!("/api/v1/audit/changes?ticket={id}"))
        .await;
    let newest = &audit.json["items"][0];
    assert_eq!(
        (&newest["author_id"], &newest["via"], &newest["what"]),
        (
            &json!(d.mia_user.id),
            &json!("link"),
            &json!("rate the service")
        ),
        "{}",
        audit.json
    );

    // Made-up and mangled links find nothing.
    for bad in [
        "/csat/fwr_00000000000000000000000000000000000000000000000000000000000000000000",
        "/csat/fwr_short",
        "/csat/fwu_notalink",
        &format!("{path}x"),
    ] {
        let (status, page) = d.page(bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(page.contains("not valid"), "{page}");
        assert_eq!(d.send(bad, "score=5").await.0, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn links_expire_are_superseded_and_wait_while_the_ticket_is_reopened() {
    let d = desk();
    let id = d.resolved_ticket().await;

    // Expiry.
    let short = d.link(&id, "?valid_hours=1").await;
    let short_path = short["path"].as_str().expect("path").to_owned();
    assert_eq!(short["expires_at"], T0 + HOUR);
    d.clock.advance(HOUR);
    let (status, page) = d.page(&short_path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(d.send(&short_path, "score=5").await.0, StatusCode::GONE);
    for bad in [
        "?valid_hours=0",
        "?valid_hours=721",
        "?valid_hours=x",
        "?other=1",
    ] {
        let refused = d
            .dan
            .post(
                &d.h,
                &format!("/api/v1/tickets/{id}/csat-link{bad}"),
                json!({}),
            )
            .await;
        assert_eq!(
            refused.error(StatusCode::BAD_REQUEST),
            "bad_request",
            "{bad}"
        );
    }

    // A newer link ends the older one.
    let first = d.link(&id, "").await;
    let second = d.link(&id, "").await;
    let first_path = first["path"].as_str().expect("path");
    let second_path = second["path"].as_str().expect("path").to_owned();
    assert_eq!(d.page(first_path).await.0, StatusCode::GONE);
    assert_eq!(d.page(&second_path).await.0, StatusCode::OK);

    // Reopened meanwhile: the rating waits, and the link is given back.
    d.edit(
        &d.mia,
        &id,
        json!([{ "type": "set_status", "status": "reopened" }]),
    )
    .await;
    let (status, page) = d.send(&second_path, "score=2").await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("open again"), "{page}");
    assert!(d.csat(&id).await.is_null());
    d.edit(
        &d.tom,
        &id,
        json!([
            { "type": "set_status", "status": "in_progress" },
            { "type": "set_status", "status": "resolved" }
        ]),
    )
    .await;

    // Two sends at once: one rating.
    let (a, b) = tokio::join!(
        d.send(&second_path, "score=5"),
        d.send(&second_path, "score=3")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::GONE],
        "{} / {}",
        a.1,
        b.1
    );
    let score = d.csat(&id).await["score"].as_i64().expect("rated");
    assert!(score == 5 || score == 3);
}

#[tokio::test]
async fn a_disabled_reporter_cannot_rate_through_a_link() {
    let d = desk();
    let id = d.resolved_ticket().await;
    let link = d.link(&id, "").await;
    let path = link["path"].as_str().expect("path");
    let root = d.h.user("acme", "root", Role::Admin, None);
    let disabled = Browser::with_token(&root.api_token)
        .post(
            &d.h,
            &format!("/api/v1/users/{}/disable", d.mia_user.id),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.json);
    let (status, _) = d.send(path, "score=5").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(d.csat(&id).await.is_null());
}
