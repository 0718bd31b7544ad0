//! The dispatcher's side of the API (`docs/api.md`, "Dispatch", "Settings"): the tenant file
//! checked and applied through the API (a bad one changes nothing), the brain's ranked
//! suggestions for a ticket with real distances, the people who take tickets with position, load
//! and shift, the SLA board as clocks run out, and the delivery log — each for the roles that
//! may, and nothing of another tenant.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_protocol::sync::{self as protocol, PositionReport};
use fieldwork_server::brain::{decide_now, tick};
use serde_json::{Value, json};
use support::api::Browser;
use support::{Harness, PASSWORD};

const T0: i64 = 1_795_400_060_000;
const MINUTE: i64 = 60_000;

const CONFIG: &str = r#"
[[teams]]
name = "north"
kinds = ["repair"]
chooser = "nearest"

[[technicians]]
user = "near"
team = "north"
home = [31.2304, 121.4737]

[[technicians]]
user = "far"
team = "north"
home = [31.30, 121.60]

[[sla_policies]]
name = "standard"
first_response_minutes = 30
resolution_minutes = 240
"#;

#[tokio::test]
async fn a_dispatcher_configures_sees_suggestions_people_and_the_sla_board() {
    let clock = Arc::new(ManualClock::at(T0));
    let h = Harness::with_config(clock.clone(), |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    });
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let sup = h.user("acme", "sup", Role::Supervisor, None);
    let near = h.user("acme", "near", Role::Technician, None);
    h.user("acme", "far", Role::Technician, None);
    let other = h.user("globex", "other", Role::Admin, None);
    let (admin, _) = Browser::sign_in(&h, "acme", "root", PASSWORD).await;
    let desk = Browser::with_token(&ops.api_token);
    let boss = Browser::with_token(&sup.api_token);
    let tech = Browser::with_token(&near.api_token);
    let stranger = Browser::with_token(&other.api_token);

    // A bad file is refused with its line and key, and nothing is applied.
    let bad =
        "[[teams]]\nname = \"north\"\n\n[[technicians]]\nuser = \"ghost\"\nteam = \"north\"\n";
    let checked = boss
        .post(&h, "/api/v1/config/check", json!({ "toml": bad }))
        .await;
    assert_eq!(checked.json["valid"], false, "{}", checked.json);
    let problem = checked.json["problems"][0].as_str().expect("problem");
    assert!(
        problem.contains("line 5") && problem.contains("ghost"),
        "{problem}"
    );
    let refused = admin
        .send(&h, "PUT", "/api/v1/config", Some(json!({ "toml": bad })))
        .await;
    assert_eq!(refused.error(StatusCode::BAD_REQUEST), "bad_request");
    assert_eq!(
        admin
            .get(&h, "/api/v1/config")
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    assert_eq!(
        boss.send(&h, "PUT", "/api/v1/config", Some(json!({ "toml": CONFIG })))
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    let good = boss
        .post(&h, "/api/v1/config/check", json!({ "toml": CONFIG }))
        .await;
    assert_eq!(good.json["valid"], true, "{}", good.json);
    let applied = admin
        .send(&h, "PUT", "/api/v1/config", Some(json!({ "toml": CONFIG })))
        .await;
    assert_eq!(
        (applied.status, applied.json["version"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{}",
        applied.json
    );
    let current = boss.get(&h, "/api/v1/config").await;
    assert_eq!(current.json["toml"], CONFIG);
    assert_eq!(current.json["applied_by"], root.id.as_str());
    assert_eq!(
        boss.get(&h, "/api/v1/config/history").await.json["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        stranger
            .get(&h, "/api/v1/config")
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found",
        "another tenant's is nobody's"
    );
    assert_eq!(
        desk.get(&h, "/api/v1/config")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );

    // A repair at People's Square: the brain suggests the technician 0 km away first.
    let made = desk
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "Till jammed", "site": {"lat": 31.2304, "lon": 121.4737}}),
        )
        .await;
    let id = made.json["id"].as_str().expect("id").to_owned();
    let suggested = desk
        .get(&h, &format!("/api/v1/tickets/{id}/suggestions"))
        .await;
    assert_eq!(suggested.status, StatusCode::OK, "{}", suggested.json);
    assert_eq!(suggested.json["configured"], true);
    assert_eq!(suggested.json["chosen"], near.id.as_str());
    let candidates = suggested.json["candidates"].as_array().expect("candidates");
    assert_eq!(candidates[0]["name"], "near");
    let far_m = candidates[1]["distance_m"].as_f64().expect("distance");
    assert!(
        (14_000.0..14_600.0).contains(&far_m),
        "great-circle metres: {far_m}"
    );
    assert!(
        candidates[1]["reason"]
            .as_str()
            .expect("reason")
            .contains("km")
    );
    assert_eq!(
        tech.get(&h, &format!("/api/v1/tickets/{id}/suggestions"))
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    assert_eq!(
        stranger
            .get(&h, &format!("/api/v1/tickets/{id}/suggestions"))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );

    // The brain routes it; the people list shows the load and the reported position.
    let mut van = h.login(&near).await;
    decide_now(&h.state, &van.actor.tenant, &id).await;
    let report = protocol::encode(&PositionReport {
        lat: 31.2305,
        lon: 121.4738,
        accuracy_m: Some(8.0),
        at: T0,
    });
    let reported = h
        .call("POST", "/v1/positions", Some(&van.token), Some(report))
        .await;
    assert!(reported.status.is_success(), "{:?}", reported.status);
    van.pull_all(&h).await;
    let people = desk.get(&h, "/api/v1/technicians").await;
    let listed = people.json["items"].as_array().expect("items");
    let me = listed
        .iter()
        .find(|p| p["name"] == "near")
        .expect("near is listed");
    assert_eq!(
        (
            me["open_tickets"].as_u64(),
            me["capacity"].as_u64(),
            me["on_shift"].as_bool()
        ),
        (Some(1), Some(5), Some(true)),
        "{me}"
    );
    assert_eq!(me["team"], "north");
    assert!((me["position"]["lat"].as_f64().expect("lat") - 31.2305).abs() < 1e-9);
    assert!(listed.iter().all(|p| p["name"] != "other"));

    // 21 minutes on, nothing breached; 31 minutes on, the first response is late.
    clock.advance(21 * MINUTE);
    let board = desk.get(&h, "/api/v1/sla/board?within=15").await;
    let column = &board.json["columns"][0];
    assert_eq!(column["team"], "north", "{}", board.json);
    assert_eq!(ids(&column["due_soon"]), std::slice::from_ref(&id));
    assert!(ids(&column["breached"]).is_empty());
    clock.advance(10 * MINUTE);
    tick(&h.state).await;
    let board = desk.get(&h, "/api/v1/sla/board").await;
    assert_eq!(
        ids(&board.json["columns"][0]["breached"]),
        std::slice::from_ref(&id),
        "{}",
        board.json
    );
    assert!(
        stranger.get(&h, "/api/v1/sla/board").await.json["columns"]
            .as_array()
            .expect("columns")
            .is_empty()
    );
    assert_eq!(
        tech.get(&h, "/api/v1/sla/board")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );

    let log = admin.get(&h, "/api/v1/webhooks/deliveries").await;
    assert_eq!(log.status, StatusCode::OK);
    assert_eq!(
        desk.get(&h, "/api/v1/webhooks/deliveries")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Monday 2026-11-23 16:30 UTC: half an hour before the office closes.
const MONDAY_1630: i64 = 1_795_451_400_000;
const HOUR: i64 = 60 * MINUTE;

const OFFICE_CONFIG: &str = r#"
[[calendars]]
name = "office"
time_zone = "UTC"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }

[[sla_policies]]
name = "office hours"
calendar = "office"
first_response_minutes = 60
resolution_minutes = 480
"#;

#[tokio::test]
async fn a_tickets_sla_timeline_shows_why_it_is_due_when_it_is() {
    let clock = Arc::new(ManualClock::at(MONDAY_1630));
    let h = Harness::with_config(clock.clone(), |_| {});
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let near = h.user("acme", "near", Role::Technician, None);
    let other = h.user("globex", "other", Role::Admin, None);
    let boss = Browser::with_token(&root.api_token);
    let desk = Browser::with_token(&ops.api_token);
    let made = desk
        .post(&h, "/api/v1/tickets", json!({"title": "Printer offline"}))
        .await;
    let id = made.json["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tickets/{id}/sla");

    // No configuration yet: no policy, no clocks.
    let none = desk.get(&h, &path).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.json);
    assert_eq!(none.json["policy"], Value::Null);
    assert!(none.json["clocks"].as_array().expect("clocks").is_empty());

    let applied = boss
        .send(
            &h,
            "PUT",
            "/api/v1/config",
            Some(json!({ "toml": OFFICE_CONFIG })),
        )
        .await;
    assert!(applied.status.is_success(), "{}", applied.json);
    clock.advance(10 * MINUTE);
    let timeline = desk.get(&h, &path).await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.json);
    assert_eq!(timeline.json["policy"], "office hours");
    assert_eq!(timeline.json["calendar"], "office");
    assert_eq!(timeline.json["time_zone"], "UTC");
    assert_eq!(timeline.json["now"], MONDAY_1630 + 10 * MINUTE);
    // An hour for the first response: half of it on Monday, the rest when the office opens.
    let first = &timeline.json["clocks"][0];
    assert_eq!(first["target"], "first_response");
    assert_eq!(first["running"], true);
    assert_eq!(first["due"], MONDAY_1630 + 17 * HOUR);
    let stretches: Vec<(i64, i64, String)> = first["stretches"]
        .as_array()
        .expect("stretches")
        .iter()
        .map(|s| {
            (
                s["from"].as_i64().expect("from"),
                s["until"].as_i64().expect("until"),
                s["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    let t = MONDAY_1630;
    assert_eq!(
        stretches,
        [
            (t, t + 30 * MINUTE, "running".to_owned()),
            (
                t + 30 * MINUTE,
                t + 16 * HOUR + 30 * MINUTE,
                "closed".to_owned()
            ),
            (
                t + 16 * HOUR + 30 * MINUTE,
                t + 17 * HOUR,
                "running".to_owned()
            ),
        ]
    );
    let resolution = &timeline.json["clocks"][1];
    assert_eq!(resolution["target"], "resolution");
    assert_eq!(
        resolution["due"],
        MONDAY_1630 + 24 * HOUR,
        "eight office hours"
    );

    // Back office only, and only for a ticket the caller sees.
    assert_eq!(
        Browser::with_token(&near.api_token)
            .get(&h, &path)
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    assert_eq!(
        Browser::with_token(&other.api_token)
            .get(&h, &path)
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    assert_eq!(
        desk.get(&h, "/api/v1/tickets/nope/sla")
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
}
