//! The audit log through the API (`docs/api.md`, "Audit log"): every ticket change with who
//! made it and how it came in — a phone, a browser session, a script's token, the server — and
//! what it was (never its content); settings changes; paging; a CSV export that no spreadsheet
//! reads as a formula; for supervisors and admins of the tenant only.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::Edit;
use serde_json::json;
use support::api::Browser;
use support::{Harness, PASSWORD, repair};

#[tokio::test]
async fn every_change_is_logged_with_who_and_how_and_exported_as_csv() {
    let clock = Arc::new(ManualClock::at(1_795_400_060_000));
    let h = Harness::with_config(clock.clone(), |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    });
    h.tenant("acme");
    h.tenant("globex");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let sup = h.user("acme", "sup", Role::Supervisor, None);
    h.user("acme", "li", Role::Rider, None);
    let other = h.user("globex", "g", Role::Admin, None);
    h.admin.configure("acme", "", "ops-team").expect("applies");

    // A phone creates a ticket; a browser session and a script edit it.
    let mut phone = h.login(&ops).await;
    let (id, created) = phone.create(repair("=cmd|' /C calc'!A0"));
    phone.sync(&h, &[(&id, &created)]).await;
    let (browser, _) = Browser::sign_in(&h, "acme", "ops", PASSWORD).await;
    let edited = browser
        .post(
            &h,
            &format!("/api/v1/tickets/{id}/edits"),
            json!({"edits": [{"type": "add_note", "text": "secret words", "internal": true}]}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.json);
    let script = Browser::with_token(&ops.api_token);
    script
        .post(
            &h,
            &format!("/api/v1/tickets/{id}/edits"),
            json!({"edits": [{"type": "set_priority", "priority": "high"}]}),
        )
        .await;
    let change = phone.edit(
        &id,
        Edit::SetTitle {
            title: "Fridge".into(),
        },
    );
    phone.sync(&h, &[(&id, &change)]).await;

    let auditor = Browser::with_token(&sup.api_token);
    let log = auditor
        .get(&h, &format!("/api/v1/audit/changes?ticket={id}"))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.json);
    let items = log.json["items"].as_array().expect("items");
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["via"].as_str().expect("via"),
                e["what"].as_str().expect("what"),
            )
        })
        .collect();
    assert!(seen.contains(&("device", "set title")), "{seen:?}");
    assert!(seen.contains(&("token", "set priority")), "{seen:?}");
    assert!(seen.contains(&("session", "add internal note")), "{seen:?}");
    assert!(
        seen.iter().any(|(via, _)| *via == "server"),
        "the numbering: {seen:?}"
    );
    let by_phone = items
        .iter()
        .find(|e| e["via"] == "device")
        .expect("a phone's change");
    assert_eq!(
        (
            by_phone["author_name"].as_str(),
            by_phone["device_name"].as_str()
        ),
        (Some("ops"), Some("test phone"))
    );
    assert!(
        !log.reply.body.windows(6).any(|w| w == b"secret"),
        "never the content"
    );
    let seqs: Vec<u64> = items
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );

    // Pages of two, each older than the last.
    let first = auditor.get(&h, "/api/v1/audit/changes?limit=2").await;
    let cursor = first.json["next_cursor"].as_u64().expect("a cursor");
    let second = auditor
        .get(
            &h,
            &format!("/api/v1/audit/changes?limit=2&cursor={cursor}"),
        )
        .await;
    assert!(
        second.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["seq"].as_u64() < Some(cursor))
    );

    // The CSV export: a header, one row per change, no cell a spreadsheet would run.
    let csv = auditor
        .get(&h, &format!("/api/v1/audit/changes?ticket={id}&format=csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.reply.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let text = String::from_utf8(csv.reply.body.clone()).expect("UTF-8");
    assert!(
        text.starts_with("seq,at,effective_at,ticket_id,number,document,author_id,author_name,via")
    );
    assert_eq!(text.lines().count(), items.len() + 1);
    assert!(
        text.lines()
            .skip(1)
            .all(|line| !line.starts_with('=') && !line.contains(",="))
    );

    // Settings changes: the configuration applied, a password changed, a user disabled.
    let change =
        serde_json::json!({"current_password": PASSWORD, "new_password": "another long one"});
    clock.advance(1_000);
    let changed = browser
        .send(&h, "PUT", "/api/v1/session/password", Some(change))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.json);
    let admin = h.user("acme", "root", Role::Admin, None);
    let rider_id = h.user("acme", "wu", Role::Rider, None).id;
    clock.advance(1_000);
    let disabled = Browser::with_token(&admin.api_token)
        .post(&h, &format!("/api/v1/users/{rider_id}/disable"), json!({}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    let settings = auditor.get(&h, "/api/v1/audit/settings").await;
    let entries = settings.json["items"].as_array().expect("items");
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "config_applied" && e["by"] == "ops-team"),
        "{}",
        settings.json
    );
    let kinds: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind"),
                e["by"].as_str().expect("by"),
                e["detail"].as_str().expect("detail"),
            )
        })
        .collect();
    assert_eq!(
        kinds[0],
        ("user_disabled", admin.id.as_str(), "user wu"),
        "newest first: {kinds:?}"
    );
    assert_eq!(
        kinds[1],
        ("user_password_changed", ops.id.as_str(), "user ops")
    );
    assert!(
        !settings.reply.body.windows(7).any(|w| w == b"another"),
        "never a password"
    );

    // Only supervisors and admins of the tenant.
    assert_eq!(
        Browser::with_token(&ops.api_token)
            .get(&h, "/api/v1/audit/changes")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    let theirs = Browser::with_token(&other.api_token)
        .get(&h, "/api/v1/audit/changes")
        .await;
    assert_eq!(
        theirs.json["items"],
        json!([]),
        "another tenant sees none of it"
    );
    let (rider, _) = Browser::sign_in(&h, "acme", "li", PASSWORD).await;
    assert_eq!(
        rider
            .get(&h, "/api/v1/audit/settings")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    assert_eq!(
        auditor
            .get(&h, "/api/v1/audit/changes?format=xml")
            .await
            .error(StatusCode::BAD_REQUEST),
        "bad_request"
    );
}
