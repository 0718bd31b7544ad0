//! Saved views through the API (`docs/api.md`, "Saved views"): a person's own, by name, replaced
//! by name, capped, checked for shape, and neither seen nor deleted by anyone else.

mod support;

use axum::http::StatusCode;
use fieldwork_core::Role;
use serde_json::json;
use support::Harness;
use support::api::Browser;

#[tokio::test]
async fn a_persons_views_are_their_own_named_checked_and_capped() {
    let h = Harness::new();
    let acme = h.tenant("acme");
    let ann = Browser::with_token(&h.user(&acme, "ann", Role::Dispatcher, None).api_token);
    let bob = Browser::with_token(&h.user(&acme, "bob", Role::Supervisor, None).api_token);
    let rider = Browser::with_token(&h.user(&acme, "rider", Role::Rider, None).api_token);

    let made = ann
        .post(
            &h,
            "/api/v1/views",
            json!({ "name": " 紧急 urgent ", "query": "status=open&priority=urgent" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    assert_eq!(made.json["name"], "紧急 urgent", "the name is trimmed");
    let id = made.json["id"].as_str().expect("an id").to_owned();
    // The same name again takes the new query and keeps the id.
    let again = ann
        .post(
            &h,
            "/api/v1/views",
            json!({ "name": "紧急 urgent", "query": "priority=urgent&due=breached" }),
        )
        .await;
    assert_eq!(
        (again.json["id"].as_str(), again.json["query"].as_str()),
        (Some(id.as_str()), Some("priority=urgent&due=breached"))
    );
    let listed = ann.get(&h, "/api/v1/views").await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(1));

    // Someone else neither sees nor deletes it.
    assert_eq!(bob.get(&h, "/api/v1/views").await.json["items"], json!([]));
    let theirs = bob
        .send(&h, "DELETE", &format!("/api/v1/views/{id}"), None)
        .await;
    assert_eq!(theirs.error(StatusCode::NOT_FOUND), "not_found");
    assert_eq!(
        rider
            .get(&h, "/api/v1/views")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );

    // Bad names and queries are said plainly.
    for bad in [
        json!({ "name": "", "query": "" }),
        json!({ "name": "x".repeat(61), "query": "" }),
        json!({ "name": "ok", "query": "Status=open" }),
        json!({ "name": "ok", "query": "a=1&".repeat(21) }),
        json!({ "name": "ok", "query": "status=open", "extra": 1 }),
    ] {
        let answer = ann.post(&h, "/api/v1/views", bad.clone()).await;
        assert_eq!(
            answer.error(StatusCode::BAD_REQUEST),
            "bad_request",
            "{bad}"
        );
    }

    // At most 50 each.
    for n in 1..50 {
        let answer = ann
            .post(
                &h,
                "/api/v1/views",
                json!({ "name": format!("v{n}"), "query": "" }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = ann
        .post(
            &h,
            "/api/v1/views",
            json!({ "name": "one more", "query": "" }),
        )
        .await;
    assert_eq!(over.error(StatusCode::CONFLICT), "conflict");

    let gone = ann
        .send(&h, "DELETE", &format!("/api/v1/views/{id}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ann.get(&h, "/api/v1/views").await.json["items"]
            .as_array()
            .map(Vec::len),
        Some(49)
    );
}
