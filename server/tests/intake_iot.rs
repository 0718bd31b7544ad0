//! Machine alerts through an IoT channel (`docs/channels.md`, "IoT alerts"): a storm of alerts
//! from concurrent clients folds into one ticket per asset with the right counts while a device
//! keeps syncing; retries make nothing twice; a clear adds a note and a later alert opens a new
//! ticket; signed deliveries; and every refusal (credential, kind, size, shape, rate, tenant)
//! answers clearly and stores nothing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use fieldwork_core::clock::SystemClock;
use fieldwork_server::intake::{IntakeLimits, sign};
use fieldwork_server::storage::ChannelKind;
use serde_json::{Value, json};
use support::api::Browser;
use support::{Harness, repair};

/// One delivery's answer: status and JSON body.
struct Delivery {
    status: StatusCode,
    json: Value,
    retry_after: Option<String>,
}

async fn send(h: &Harness, request: Request<Body>) -> Delivery {
    let reply = h.request(request).await;
    Delivery {
        status: reply.status,
        json: serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
        retry_after: reply
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

fn alert_request(token: &str, body: impl Into<Body>, key: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/intake/iot")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    builder.body(body.into()).expect("present")
}

fn alert(asset: &str, value: f64, severity: &str, minute: u32, second: u32) -> String {
    json!({
        "asset": asset,
        "metric": "temperature_c",
        "value": value,
        "threshold": -12.0,
        "severity": severity,
        "at": format!("2026-12-01T08:{minute:02}:{second:02}Z"),
    })
    .to_string()
}

async fn deliver(h: &Harness, token: &str, body: String) -> Delivery {
    send(h, alert_request(token, body, None)).await
}

fn channel(h: &Harness, tenant: &str, kind: ChannelKind) -> (String, String, String) {
    let made = h
        .admin
        .create_channel(tenant, kind, Some("Freezer alarms"))
        .expect("channel");
    (made.channel_id, made.token, made.signing_secret)
}

/// The tenant's tickets from the channel `iot`, as its admin lists them.
async fn iot_tickets(h: &Harness, admin: &Browser) -> Vec<Value> {
    let list = admin.get(h, "/api/v1/tickets?channel=iot&limit=200").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    list.json["items"].as_array().cloned().unwrap_or_default()
}

/// The ticket's `alert` once its count reaches `count` (folds are written within a second or
/// two of the last alert).
async fn alert_with_count(h: &Harness, admin: &Browser, id: &str, count: i64) -> Value {
    for _ in 0..100 {
        let t = admin.get(h, &format!("/api/v1/tickets/{id}")).await;
        if t.json["alert"]["count"] == json!(count) {
            return t.json["alert"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = admin.get(h, &format!("/api/v1/tickets/{id}")).await;
    panic!(
        "the ticket's alert never reached {count}: {}",
        t.json["alert"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_alerts_makes_one_ticket_per_asset_with_the_right_counts() {
    let h = Arc::new(Harness::with_config(Arc::new(SystemClock), |_| {}));
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let admin = Browser::with_token(&root.api_token);
    let (_, token, _) = channel(&h, "acme", ChannelKind::Iot);

    // 500 alerts, 100 for each of 5 assets, from 25 concurrent clients; each asset's values
    // climb 0.1 a second from -5.0, so the last and the worst are known.
    let mut clients = Vec::new();
    for client in 0..25u32 {
        let (h, token) = (h.clone(), token.clone());
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..20u32 {
                let n = client * 20 + i;
                let (asset, step) = (n % 5, n / 5);
                let body = alert(
                    &format!("FR-{asset}"),
                    -5.0 + f64::from(step) * 0.1,
                    "critical",
                    step / 60,
                    step % 60,
                );
                let d = deliver(&h, &token, body).await;
                assert!(d.status.is_success(), "{} {}", d.status, d.json);
                outcomes.push(d.json["outcome"].as_str().expect("present").to_owned());
            }
            outcomes
        }));
    }
    // Meanwhile a technician's device pushes a ticket of its own, and it is taken.
    let mut device = h.login(&tech).await;
    let (own, change) = device.create(repair("Door seal torn"));
    let pushed = device.sync(&h, &[(&own, &change)]).await;
    assert_eq!(
        pushed.accepted.len(),
        1,
        "the device's push is taken during the storm"
    );

    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("present"));
    }
    assert_eq!(outcomes.len(), 500);
    assert_eq!(outcomes.iter().filter(|o| *o == "created").count(), 5);
    assert_eq!(outcomes.iter().filter(|o| *o == "folded").count(), 495);

    let tickets = iot_tickets(&h, &admin).await;
    assert_eq!(tickets.len(), 5, "one ticket per asset");
    for t in &tickets {
        assert_eq!(t["kind"], "alert");
        assert_eq!(t["priority"], "urgent");
        let id = t["id"].as_str().expect("present");
        let folded = alert_with_count(&h, &admin, id, 100).await;
        let last = -5.0 + 99.0 * 0.1;
        assert!((folded["last_value"].as_f64().expect("present") - last).abs() < 1e-9);
        assert!((folded["worst_value"].as_f64().expect("present") - last).abs() < 1e-9);
        assert_eq!(folded["metric"], "temperature_c");
        let full = admin.get(&h, &format!("/api/v1/tickets/{id}")).await;
        let serial = full.json["asset"]["serial"].as_str().expect("present");
        assert!(serial.starts_with("FR-"));
        let reporter = full.json["reporter"]["user_id"].as_str().expect("present");
        assert_eq!(full.json["people"][reporter]["name"], "Freezer alarms");
        assert_eq!(full.json["people"][reporter]["role"], "channel:iot");
    }
}

#[tokio::test]
async fn a_retried_alert_does_nothing_twice_and_a_clear_adds_a_note() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let (channel_id, token, _) = channel(&h, "acme", ChannelKind::Iot);

    let first = deliver(&h, &token, alert("FR-1", -3.0, "major", 0, 0)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    assert_eq!(first.json["outcome"], "created");
    assert_eq!(first.json["repeated"], false);
    let id = first.json["ticket_id"]
        .as_str()
        .expect("present")
        .to_owned();
    assert!(
        first.json["number"]
            .as_str()
            .expect("present")
            .starts_with("FW-")
    );

    // The same alert again (a retry without a key): the first answer, nothing new.
    let again = deliver(&h, &token, alert("FR-1", -3.0, "major", 0, 0)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["repeated"], true);
    assert_eq!(again.json["outcome"], "created");
    assert_eq!(again.json["ticket_id"], json!(id));
    // With a key: the key decides, whatever the body.
    let keyed = send(
        &h,
        alert_request(&token, alert("FR-1", -2.0, "major", 1, 0), Some("k-1")),
    )
    .await;
    assert_eq!(keyed.json["outcome"], "folded");
    let rekeyed = send(
        &h,
        alert_request(&token, alert("FR-1", 9.0, "major", 2, 0), Some("k-1")),
    )
    .await;
    assert_eq!(rekeyed.json["repeated"], true);
    assert_eq!(rekeyed.json["outcome"], "folded");
    let folded = alert_with_count(&h, &admin, &id, 2).await;
    assert_eq!(folded["worst_value"], json!(-2.0));

    // The machine says it cleared: a note on the ticket, in the channel's name.
    let clear = deliver(&h, &token, alert("FR-1", -14.0, "resolved", 3, 0)).await;
    assert_eq!(clear.json["outcome"], "noted");
    assert_eq!(clear.json["ticket_id"], json!(id));
    let mut noted = Value::Null;
    for _ in 0..100 {
        noted = admin.get(&h, &format!("/api/v1/tickets/{id}")).await.json;
        if noted["notes"].as_array().is_some_and(|n| !n.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let note = &noted["notes"][0];
    assert!(
        note["text"].as_str().expect("present").contains("cleared"),
        "{note}"
    );
    assert_eq!(note["internal"], false);
    assert!(noted["alert"]["resolved_at"].is_i64());

    // Cancelled by a person: the next alert opens a new ticket; a clear with none open is ignored.
    let done = admin
        .post(
            &h,
            &format!("/api/v1/tickets/{id}/edits"),
            json!({"edits": [{"type": "set_status", "status": "cancelled"}]}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    let ignored = deliver(&h, &token, alert("FR-1", -14.0, "resolved", 4, 0)).await;
    assert_eq!(ignored.json["outcome"], "ignored");
    assert_eq!(ignored.json["ticket_id"], Value::Null);
    let next = deliver(&h, &token, alert("FR-1", -1.0, "warning", 5, 0)).await;
    assert_eq!(next.json["outcome"], "created");
    assert_ne!(next.json["ticket_id"], json!(id));

    // The audit log names the channel as the way the changes came in.
    let audit = admin
        .get(&h, &format!("/api/v1/audit/changes?ticket={id}&limit=50"))
        .await;
    let items = audit.json["items"].as_array().expect("present");
    assert!(
        items
            .iter()
            .any(|c| c["via"] == "channel" && c["channel_id"] == json!(channel_id)),
        "{}",
        audit.json
    );
}

#[tokio::test]
async fn a_person_made_ticket_about_the_asset_takes_its_first_alert() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let (_, token, _) = channel(&h, "acme", ChannelKind::Iot);
    let made = admin
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "Freezer loud", "description": "", "asset": {"serial": "FR-9"}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let d = deliver(&h, &token, alert("FR-9", -4.0, "warning", 0, 0)).await;
    assert_eq!(d.json["outcome"], "folded");
    assert_eq!(d.json["ticket_id"], made.json["id"]);
    alert_with_count(&h, &admin, made.json["id"].as_str().expect("present"), 1).await;
}

#[tokio::test]
async fn a_signed_delivery_is_taken_and_a_bad_signature_is_not() {
    let h = Harness::new();
    h.tenant("acme");
    let (channel_id, _, secret) = channel(&h, "acme", ChannelKind::Iot);
    let now_s = (h.state.now_ms() / 1000).to_string();
    let body = alert("FR-2", -1.0, "critical", 0, 0);
    let signed = |signature: String, ts: &str| {
        Request::post("/intake/iot")
            .header("x-fieldwork-channel", &channel_id)
            .header("x-fieldwork-timestamp", ts)
            .header("x-fieldwork-signature", signature)
            .body(Body::from(body.clone()))
            .expect("present")
    };
    let good = send(&h, signed(sign(&secret, &now_s, body.as_bytes()), &now_s)).await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.json);
    let tampered = send(&h, signed(sign(&secret, &now_s, b"{}"), &now_s)).await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);
    let old = (h.state.now_ms() / 1000 - 3600).to_string();
    let stale = send(&h, signed(sign(&secret, &old, body.as_bytes()), &old)).await;
    assert_eq!(
        stale.status,
        StatusCode::UNAUTHORIZED,
        "an hour-old signature"
    );
}

#[tokio::test]
async fn every_refusal_is_clear_and_stores_nothing() {
    let h = Harness::with_config(Arc::new(SystemClock), |config| {
        config.intake = IntakeLimits {
            per_second: 0.01,
            burst: 3.0,
        };
    });
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let other = h.user("globex", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let (channel_id, token, _) = channel(&h, "acme", ChannelKind::Iot);
    let (_, web_token, _) = channel(&h, "acme", ChannelKind::Web);
    let (_, globex_token, _) = channel(&h, "globex", ChannelKind::Iot);
    let body = || alert("FR-3", -1.0, "critical", 0, 0);

    let code = |d: &Delivery| d.json["error"]["code"].as_str().unwrap_or("").to_owned();
    let wrong = deliver(&h, "fwc_0000", body()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong), "unauthorized");
    let none = send(
        &h,
        Request::post("/intake/iot")
            .body(Body::from(body()))
            .expect("present"),
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let user_token = deliver(&h, &root.api_token, body()).await;
    assert_eq!(
        user_token.status,
        StatusCode::UNAUTHORIZED,
        "a user's token is no channel's"
    );
    let web = deliver(&h, &web_token, body()).await;
    assert_eq!(web.status, StatusCode::FORBIDDEN, "{}", web.json);
    assert!(
        web.json["error"]["message"]
            .as_str()
            .expect("present")
            .contains("web")
    );
    let huge = deliver(&h, &token, "x".repeat(64 * 1024)).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.json);
    assert_eq!(code(&huge), "body_too_large");
    let malformed = deliver(&h, &token, "{\"asset\": \"FR-3\"".to_owned()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&malformed), "bad_request");
    assert!(iot_tickets(&h, &admin).await.is_empty(), "nothing stored");

    // The same serial in another tenant is another asset: its alert opens globex's ticket,
    // and acme's admin never sees it.
    let theirs = deliver(&h, &globex_token, body()).await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    let ours = deliver(&h, &token, body()).await;
    assert_eq!(ours.status, StatusCode::CREATED);
    assert_ne!(ours.json["ticket_id"], theirs.json["ticket_id"]);
    let theirs_id = theirs.json["ticket_id"].as_str().expect("present");
    let peek = admin.get(&h, &format!("/api/v1/tickets/{theirs_id}")).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    let globex_admin = Browser::with_token(&other.api_token);
    assert_eq!(iot_tickets(&h, &globex_admin).await.len(), 1);

    // Past its rate the channel is told to wait; a revoked channel is refused.
    let mut limited = None;
    for second in 1..10 {
        let d = deliver(&h, &token, alert("FR-3", -1.0, "critical", 0, second)).await;
        if d.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(d);
            break;
        }
    }
    let limited = limited.expect("the channel reaches its rate");
    assert_eq!(code(&limited), "too_many_requests");
    assert!(limited.retry_after.is_some());
    h.admin
        .revoke_channel("acme", &channel_id)
        .expect("present");
    let revoked = deliver(&h, &token, alert("FR-4", -1.0, "critical", 0, 0)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(iot_tickets(&h, &admin).await.len(), 1);
}

#[tokio::test]
async fn an_alert_about_a_registered_machine_opens_its_ticket_with_what_the_register_knows() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let (_, token, _) = channel(&h, "acme", ChannelKind::Iot);

    // A bad register file: every problem by line, nothing stored.
    let bad = admin
        .post(
            &h,
            "/api/v1/assets/import",
            json!({"csv": "serial,lat,lon\nFR-1,95,0\nFR-2,31.2,\n"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.json);
    assert_eq!(bad.json["imported"], 0);
    assert_eq!(bad.json["problems"].as_array().map(Vec::len), Some(2));
    let none = admin.get(&h, "/api/v1/assets").await;
    assert_eq!(none.json["items"], json!([]));

    let register = "serial,model,site_address,lat,lon,warranty_until,owner_name,owner_phone\n\
                    FR-7,Frigo 300,\"Shop 12, Nanjing Rd\",31.2304,121.4737,2027-06-30,Wang Fang,+86 138 0013 8000\n";
    let imported = admin
        .post(&h, "/api/v1/assets/import", json!({ "csv": register }))
        .await;
    assert_eq!(imported.json["imported"], 1, "{}", imported.json);
    let found = admin.get(&h, "/api/v1/assets?q=nanjing").await;
    assert_eq!(found.json["items"][0]["serial"], "FR-7");

    let d = deliver(&h, &token, alert("FR-7", -2.0, "critical", 0, 0)).await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.json);
    let id = d.json["ticket_id"].as_str().expect("id");
    let t = admin.get(&h, &format!("/api/v1/tickets/{id}")).await.json;
    assert_eq!(t["asset"]["model"], "Frigo 300");
    assert_eq!(t["asset"]["warranty_until"], "2027-06-30");
    assert_eq!(t["site"]["lat"], 31.2304);
    assert_eq!(t["site"]["address"], "Shop 12, Nanjing Rd");
    assert_eq!(t["customer"]["name"], "Wang Fang");
    assert_eq!(t["customer"]["phone"], "+86 138 0013 8000");
}

#[tokio::test]
async fn a_new_tickets_machine_history_reaches_the_technician_and_never_the_reporter() {
    let h = Harness::new();
    let tenant_id = h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let merchant = h.user("acme", "shop", Role::Merchant, None);
    let admin = Browser::with_token(&root.api_token);
    let (_, token, _) = channel(&h, "acme", ChannelKind::Iot);

    // An earlier job on the freezer: a fan replaced, then done.
    let earlier = admin
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "Freezer FR-9 noisy", "description": "", "asset": {"serial": "FR-9"}}),
        )
        .await;
    let earlier_id = earlier.json["id"].as_str().expect("id").to_owned();
    let worked = admin
        .post(
            &h,
            &format!("/api/v1/tickets/{earlier_id}/edits"),
            json!({"edits": [
                {"type": "add_part", "sku": "FAN-12", "qty": 2},
                {"type": "set_status", "status": "cancelled"}
            ]}),
        )
        .await;
    assert_eq!(worked.status, StatusCode::OK, "{}", worked.json);

    // The merchant reports the same freezer from the app: the new ticket gets the machine's
    // history in its staff data.
    let mut shop = h.login(&merchant).await;
    let mut report = support::repair("Freezer FR-9 warm");
    report.kind = fieldwork_core::TicketKind::FaultReport;
    report.asset = Some(fieldwork_core::ticket::Asset {
        serial: "FR-9".into(),
        model: None,
        warranty_until: None,
    });
    let (reported, change) = shop.create(report);
    assert_eq!(
        shop.sync(&h, &[(&reported, &change)]).await.accepted.len(),
        1
    );
    fieldwork_server::asset_history::write_now(&h.state, &tenant_id, &reported)
        .await
        .expect("history written");
    // An alarm from the freezer folds into the merchant's open ticket about it.
    let d = deliver(&h, &token, alert("FR-9", -2.0, "critical", 0, 0)).await;
    assert_eq!(d.json["outcome"], "folded");
    let alarm = d.json["ticket_id"].as_str().expect("id").to_owned();
    assert_eq!(alarm, reported);
    // Written once: asking again changes nothing.
    fieldwork_server::asset_history::write_now(&h.state, &tenant_id, &alarm)
        .await
        .expect("nothing to write");

    // Through the API (staff): the history, with the parts.
    let t = admin
        .get(&h, &format!("/api/v1/tickets/{alarm}"))
        .await
        .json;
    let history = t["asset_history"].as_array().expect("a history");
    assert_eq!(history.len(), 1, "{t}");
    assert_eq!(history[0]["ticket_id"], json!(earlier_id));
    assert_eq!(history[0]["number"], "FW-000001");
    assert_eq!(history[0]["parts"], "2 × FAN-12");
    assert_eq!(history[0]["status"], "cancelled");

    // The technician's phone holds it after a sync, and reads it with no network.
    let assign = admin
        .post(
            &h,
            &format!("/api/v1/tickets/{alarm}/edits"),
            json!({"edits": [{"type": "assign", "assignee": tech.id}]}),
        )
        .await;
    assert_eq!(assign.status, StatusCode::OK, "{}", assign.json);
    let mut van = h.login(&tech).await;
    van.pull_all(&h).await;
    let offline = van.view(&alarm);
    assert_eq!(offline.asset_history.len(), 1);
    assert_eq!(offline.asset_history[0].parts, "2 × FAN-12");

    // The merchant who reported never receives it, not even as bytes.
    let mut fresh = h.login(&merchant).await;
    let pulls = fresh.pull_all(&h).await;
    assert!(fresh.view(&reported).asset_history.is_empty());
    let held = |responses: &[fieldwork_protocol::sync::SyncResponse]| {
        responses
            .iter()
            .map(fieldwork_protocol::sync::encode)
            .any(|bytes| bytes.windows(6).any(|w| w == b"FAN-12"))
    };
    assert!(
        !held(&pulls),
        "the history never reaches a reporter, not even as bytes"
    );
    let mut again = h.login(&tech).await;
    assert!(
        held(&again.pull_all(&h).await),
        "the scan finds it where it is"
    );
}

#[tokio::test]
async fn an_entry_of_a_machines_history_follows_the_earlier_ticket_while_the_new_one_is_open() {
    let h = Harness::new();
    let tenant_id = h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let admin = Browser::with_token(&root.api_token);
    let make =
        |title: &str| json!({"title": title, "description": "", "asset": {"serial": "FR-9"}});
    let earlier = admin.post(&h, "/api/v1/tickets", make("FR-9 noisy")).await;
    let earlier_id = earlier.json["id"].as_str().expect("id").to_owned();
    // A second ticket while the first is still open: its history shows the first as new.
    let later = admin.post(&h, "/api/v1/tickets", make("FR-9 warm")).await;
    let later_id = later.json["id"].as_str().expect("id").to_owned();
    fieldwork_server::asset_history::write_now(&h.state, &tenant_id, &later_id)
        .await
        .expect("history written");
    let history = |t: serde_json::Value| t["asset_history"][0].clone();
    let path = format!("/api/v1/tickets/{later_id}");
    assert_eq!(history(admin.get(&h, &path).await.json)["status"], "new");
    let assign = admin
        .post(
            &h,
            &format!("{path}/edits"),
            json!({"edits": [{"type": "assign", "assignee": tech.id}]}),
        )
        .await;
    assert_eq!(assign.status, StatusCode::OK, "{}", assign.json);
    let mut van = h.login(&tech).await;
    van.pull_all(&h).await;

    // The first job goes on: a part, then resolved. The second ticket's entry follows it.
    let worked = admin
        .post(
            &h,
            &format!("/api/v1/tickets/{earlier_id}/edits"),
            json!({"edits": [
                {"type": "add_part", "sku": "FAN-12", "qty": 1},
                {"type": "set_status", "status": "cancelled"}
            ]}),
        )
        .await;
    assert_eq!(worked.status, StatusCode::OK, "{}", worked.json);
    fieldwork_server::asset_history::follow(&h.state, &tenant_id, &earlier_id, "FR-9")
        .await
        .expect("followed");
    let entry = history(admin.get(&h, &path).await.json);
    assert_eq!(
        (&entry["status"], &entry["parts"]),
        (&json!("cancelled"), &json!("1 × FAN-12"))
    );
    van.pull_all(&h).await;
    let offline = van.view(&later_id);
    assert_eq!(
        offline.asset_history[0].status, "cancelled",
        "on the technician's phone too"
    );

    // Nothing changed since: following again writes nothing, and the phone has nothing to pull.
    fieldwork_server::asset_history::follow(&h.state, &tenant_id, &earlier_id, "FR-9")
        .await
        .expect("followed");
    assert!(van.sync(&h, &[]).await.items.is_empty());
    // The first ticket is closed; its own history (none) is not touched by the second's changes.
    fieldwork_server::asset_history::follow(&h.state, &tenant_id, &later_id, "FR-9")
        .await
        .expect("followed");
    assert!(
        admin
            .get(&h, &format!("/api/v1/tickets/{earlier_id}"))
            .await
            .json["asset_history"]
            .as_array()
            .is_none_or(|h| h.is_empty())
    );
}
