//! Reports (`docs/reports.md`) checked against numbers worked out by hand. The fixture: 24
//! tickets of a merchant with known timelines over the week of Monday 2026-11-02, made and
//! worked through the API at known server times — one reopened, one passed between two
//! technicians, one answered by a note, some answered late, some on the weekend, some just
//! before or after midnight — and the same week reported in Europe/Berlin (UTC+1) and in
//! America/New_York (UTC−5), where those tickets fall on other days.
//!
//! Business minutes are on the `office` calendar (Berlin, Monday to Friday 09:00–17:00 local,
//! 08:00–16:00 UTC); printers and freezers fall under its policy, scooters under none. Every
//! expected number below was computed by hand from the table in `fixture()`; the working is in
//! the comments.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::{Clock, ManualClock};
use fieldwork_server::storage::ReadWith;
use serde_json::{Value, json};
use support::api::Browser;
use support::{Harness, PASSWORD};

const CONFIG: &str = r#"
[[calendars]]
name = "office"
time_zone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }

[[sla_policies]]
name = "office"
calendar = "office"
match = { category = ["printer", "freezer"] }
first_response_minutes = 60
resolution_minutes = 480
"#;

/// Milliseconds of a UTC date and time (the civil-from-days algorithm, proleptic Gregorian).
fn utc(month: i64, day: i64, hour: i64, minute: i64) -> i64 {
    let (y, m): (i64, i64) = if month <= 2 {
        (2026 - 1, month + 9)
    } else {
        (2026, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + hour) * 60 + minute) * 60_000
}

/// What happens to a fixture ticket, and who does it.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The merchant reports it.
    Create(&'static str),
    /// The dispatcher assigns it.
    Assign(&'static str),
    /// The assignee accepts it (a first response).
    Accept(&'static str),
    /// The dispatcher writes a public note (a first response too).
    Note,
    /// The assignee works on it and resolves it.
    Resolve(&'static str),
    /// The merchant reopens it.
    Reopen,
    /// The merchant cancels it.
    Cancel,
    /// The merchant rates it.
    Rate(i64),
}

/// (ticket, UTC month, day, hour, minute, step). Nov 2 is a Monday; the 7th and 8th are the
/// weekend; the 9th is after the period.
fn fixture() -> Vec<(usize, i64, i64, i64, i64, Step)> {
    use Step::*;
    vec![
        // T1 printer: response 30 (30 business), resolved Mon 210 (210).
        (1, 11, 2, 8, 30, Create("printer")),
        (1, 11, 2, 8, 40, Assign("tom")),
        (1, 11, 2, 9, 0, Accept("tom")),
        (1, 11, 2, 12, 0, Resolve("tom")),
        (1, 11, 2, 12, 30, Rate(5)),
        // T2 printer before opening: response 90 wall, 30 business; resolved 480 (420).
        (2, 11, 2, 7, 0, Create("printer")),
        (2, 11, 2, 7, 10, Assign("tom")),
        (2, 11, 2, 8, 30, Accept("tom")),
        (2, 11, 2, 15, 0, Resolve("tom")),
        (2, 11, 2, 15, 30, Rate(4)),
        // T3 scooter: response 20, resolved 60.
        (3, 11, 2, 10, 0, Create("scooter")),
        (3, 11, 2, 10, 5, Assign("tess")),
        (3, 11, 2, 10, 20, Accept("tess")),
        (3, 11, 2, 11, 0, Resolve("tess")),
        // T4 freezer overnight: response 1005 (30 + 15), resolved 1110 (30 + 120).
        (4, 11, 2, 15, 30, Create("freezer")),
        (4, 11, 2, 15, 35, Assign("tess")),
        (4, 11, 3, 8, 15, Accept("tess")),
        (4, 11, 3, 10, 0, Resolve("tess")),
        (4, 11, 3, 10, 30, Rate(3)),
        // T5 scooter just before midnight UTC (Tuesday in Berlin, Monday in New York).
        (5, 11, 2, 23, 30, Create("scooter")),
        (5, 11, 3, 7, 0, Assign("tom")),
        (5, 11, 3, 7, 30, Accept("tom")),
        (5, 11, 3, 9, 0, Resolve("tom")),
        // T6 printer, reopened: response 40; resolved 13:00, reopened 14:00, resolved Wed
        // 09:00: 1440 wall, 420 business (Tue 09:00–16:00 less the hour resolved, + Wed 60).
        (6, 11, 3, 9, 0, Create("printer")),
        (6, 11, 3, 9, 10, Assign("tom")),
        (6, 11, 3, 9, 40, Accept("tom")),
        (6, 11, 3, 13, 0, Resolve("tom")),
        (6, 11, 3, 14, 0, Reopen),
        (6, 11, 4, 9, 0, Resolve("tom")),
        (6, 11, 4, 9, 30, Rate(2)),
        // T7 freezer passed from tom to tess: response 50, resolved 240 (240).
        (7, 11, 3, 10, 0, Create("freezer")),
        (7, 11, 3, 10, 5, Assign("tom")),
        (7, 11, 3, 10, 30, Assign("tess")),
        (7, 11, 3, 10, 50, Accept("tess")),
        (7, 11, 3, 14, 0, Resolve("tess")),
        (7, 11, 3, 14, 30, Rate(5)),
        // T8 scooter: response 30, still open.
        (8, 11, 3, 12, 0, Create("scooter")),
        (8, 11, 3, 12, 10, Assign("tess")),
        (8, 11, 3, 12, 30, Accept("tess")),
        // T9 printer after hours, never answered: breaches its first response.
        (9, 11, 3, 16, 30, Create("printer")),
        // T10 freezer: response 20, resolved 420.
        (10, 11, 4, 8, 0, Create("freezer")),
        (10, 11, 4, 8, 5, Assign("tom")),
        (10, 11, 4, 8, 20, Accept("tom")),
        (10, 11, 4, 15, 0, Resolve("tom")),
        (10, 11, 4, 15, 30, Rate(4)),
        // T11 printer answered late: response 120 (breached), resolved 180.
        (11, 11, 4, 10, 0, Create("printer")),
        (11, 11, 4, 10, 10, Assign("tom")),
        (11, 11, 4, 12, 0, Accept("tom")),
        (11, 11, 4, 13, 0, Resolve("tom")),
        (11, 11, 4, 13, 30, Rate(1)),
        // T12 scooter in the evening: response 60, resolved 120.
        (12, 11, 4, 20, 0, Create("scooter")),
        (12, 11, 4, 20, 30, Assign("tess")),
        (12, 11, 4, 21, 0, Accept("tess")),
        (12, 11, 4, 22, 0, Resolve("tess")),
        (12, 11, 4, 22, 30, Rate(5)),
        // T13 scooter cancelled after midnight.
        (13, 11, 4, 23, 30, Create("scooter")),
        (13, 11, 5, 0, 10, Cancel),
        // T14 printer answered by the dispatcher's note: response 15, resolved 120.
        (14, 11, 5, 9, 0, Create("printer")),
        (14, 11, 5, 9, 5, Assign("tom")),
        (14, 11, 5, 9, 15, Note),
        (14, 11, 5, 10, 0, Accept("tom")),
        (14, 11, 5, 11, 0, Resolve("tom")),
        // T15 freezer overnight: response 30, resolved 1140 (120 + 60).
        (15, 11, 5, 14, 0, Create("freezer")),
        (15, 11, 5, 14, 10, Assign("tess")),
        (15, 11, 5, 14, 30, Accept("tess")),
        (15, 11, 6, 9, 0, Resolve("tess")),
        (15, 11, 6, 9, 30, Rate(4)),
        // T16 scooter at 04:00 UTC (Wednesday 23:00 in New York): response 90, resolved 120.
        (16, 11, 5, 4, 0, Create("scooter")),
        (16, 11, 5, 4, 30, Assign("tom")),
        (16, 11, 5, 5, 30, Accept("tom")),
        (16, 11, 5, 6, 0, Resolve("tom")),
        (16, 11, 5, 6, 30, Rate(3)),
        // T17 printer on Friday afternoon, resolved the Monday after the period.
        (17, 11, 6, 15, 0, Create("printer")),
        (17, 11, 6, 15, 10, Assign("tom")),
        (17, 11, 6, 15, 30, Accept("tom")),
        (17, 11, 9, 9, 0, Resolve("tom")),
        // T18 freezer resolved on Saturday: response 45, resolved 1200 (120: the weekend is
        // closed).
        (18, 11, 6, 14, 0, Create("freezer")),
        (18, 11, 6, 14, 5, Assign("tess")),
        (18, 11, 6, 14, 45, Accept("tess")),
        (18, 11, 7, 10, 0, Resolve("tess")),
        (18, 11, 7, 10, 30, Rate(5)),
        // T19 printer on Saturday: response 60 (0 business), resolved after the period.
        (19, 11, 7, 10, 0, Create("printer")),
        (19, 11, 7, 10, 30, Assign("tom")),
        (19, 11, 7, 11, 0, Accept("tom")),
        (19, 11, 9, 8, 30, Resolve("tom")),
        // T20 freezer over the weekend: response 1260 (0), resolved 1320 (0).
        (20, 11, 7, 12, 0, Create("freezer")),
        (20, 11, 7, 12, 10, Assign("tess")),
        (20, 11, 8, 9, 0, Accept("tess")),
        (20, 11, 8, 10, 0, Resolve("tess")),
        (20, 11, 8, 10, 30, Rate(4)),
        // T21 scooter on Sunday night: in Berlin answered and resolved on Monday (after the
        // period); in New York all on Sunday: response 60, resolved 120.
        (21, 11, 8, 22, 30, Create("scooter")),
        (21, 11, 8, 22, 40, Assign("tom")),
        (21, 11, 8, 23, 30, Accept("tom")),
        (21, 11, 9, 0, 30, Resolve("tom")),
        (21, 11, 9, 1, 0, Rate(5)),
        // T22 printer of the week before, resolved in the period: 5760 wall, 960 business
        // (Fri 360 + Mon 480 + Tue 120).
        (22, 10, 30, 10, 0, Create("printer")),
        (22, 10, 30, 10, 10, Assign("tom")),
        (22, 10, 30, 10, 30, Accept("tom")),
        (22, 11, 3, 10, 0, Resolve("tom")),
        // T23 scooter of the week before, cancelled: only the volume trend counts it.
        (23, 11, 1, 12, 0, Create("scooter")),
        (23, 11, 1, 13, 0, Cancel),
        // T24 printer of October, never touched: in the backlog all week.
        (24, 10, 20, 10, 0, Create("printer")),
    ]
}

struct World {
    h: Harness,
    clock: Arc<ManualClock>,
    boss: Browser,
}

/// The fixture played through the API at its server times, in time order.
async fn world() -> World {
    let clock = Arc::new(ManualClock::at(utc(10, 1, 0, 0)));
    let h = Harness::with_config(clock.clone(), |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    });
    h.tenant("acme");
    h.tenant("globex");
    let admin = h.user("acme", "root", Role::Admin, None);
    let sup = h.user("acme", "sup", Role::Supervisor, None);
    let dan = h.user("acme", "dan", Role::Dispatcher, None);
    let mia = h.user("acme", "mia", Role::Merchant, None);
    let tom = h.user("acme", "tom", Role::Technician, None);
    let tess = h.user("acme", "tess", Role::Technician, None);
    let root = Browser::with_token(&admin.api_token);
    let applied = root
        .send(&h, "PUT", "/api/v1/config", Some(json!({ "toml": CONFIG })))
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.json);

    let desk = Browser::with_token(&dan.api_token);
    let merchant = Browser::with_token(&mia.api_token);
    let person = |name: &str| match name {
        "tom" => (tom.id.clone(), Browser::with_token(&tom.api_token)),
        "tess" => (tess.id.clone(), Browser::with_token(&tess.api_token)),
        other => panic!("nobody called {other}"),
    };

    let mut steps = fixture();
    steps.sort_by_key(|(_, m, d, hh, mm, _)| utc(*m, *d, *hh, *mm));
    let mut ids: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    for (ticket, month, day, hour, minute, step) in steps {
        let at = utc(month, day, hour, minute);
        assert!(at >= clock.now_ms(), "the fixture runs forwards");
        clock.advance(at - clock.now_ms());
        let edit = |who: &Browser, edits: Value| {
            let path = format!("/api/v1/tickets/{}/edits", ids[&ticket]);
            let who = who.clone();
            let h = &h;
            async move {
                let done = who.post(h, &path, json!({ "edits": edits })).await;
                assert_eq!(
                    done.status,
                    StatusCode::OK,
                    "T{ticket} {step:?}: {}",
                    done.json
                );
            }
        };
        match step {
            Step::Create(category) => {
                let made = merchant
                    .post(
                        &h,
                        "/api/v1/tickets",
                        json!({ "title": format!("T{ticket} {category}"), "category": category }),
                    )
                    .await;
                assert_eq!(made.status, StatusCode::CREATED, "T{ticket}: {}", made.json);
                ids.insert(ticket, made.json["id"].as_str().expect("id").to_owned());
            }
            Step::Assign(name) => {
                edit(
                    &desk,
                    json!([{ "type": "assign", "assignee": person(name).0 }]),
                )
                .await
            }
            Step::Accept(name) => {
                edit(
                    &person(name).1,
                    json!([{ "type": "set_status", "status": "accepted" }]),
                )
                .await
            }
            Step::Note => {
                edit(
                    &desk,
                    json!([{ "type": "add_note", "text": "we are on it" }]),
                )
                .await
            }
            Step::Resolve(name) => {
                edit(
                    &person(name).1,
                    json!([
                        { "type": "set_status", "status": "in_progress" },
                        { "type": "set_status", "status": "resolved" }
                    ]),
                )
                .await
            }
            Step::Reopen => {
                edit(
                    &merchant,
                    json!([{ "type": "set_status", "status": "reopened" }]),
                )
                .await
            }
            Step::Cancel => {
                edit(
                    &merchant,
                    json!([{ "type": "set_status", "status": "cancelled" }]),
                )
                .await
            }
            Step::Rate(score) => edit(&merchant, json!([{ "type": "rate", "score": score }])).await,
        }
    }
    // Reported the Tuesday after.
    clock.advance(utc(11, 10, 12, 0) - clock.now_ms());
    World {
        h,
        clock,
        boss: Browser::with_token(&sup.api_token),
    }
}

async fn report(w: &World, query: &str) -> Value {
    let answer = w.boss.get(&w.h, &format!("/api/v1/reports?{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.json);
    answer.json
}

fn column(rows: &Value, field: &str) -> Vec<u64> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| r[field].as_u64().expect(field))
        .collect()
}

fn stats(row: &Value, path: &str) -> Value {
    let (measure, clock) = path.split_once('.').expect("measure.clock");
    let s = &row[measure][clock];
    json!([s["count"], s["mean"], s["p50"], s["p90"]])
}

#[tokio::test]
async fn a_week_reported_in_two_time_zones_matches_the_numbers_worked_out_by_hand() {
    let w = world().await;
    let _ = &w.clock;

    // ---- Europe/Berlin, by day. Created: Mon T1–T4, Tue T5–T9, Wed T10–T12, Thu T13–T16,
    // Fri T17–T18, Sat T19–T20, Sun T21. Resolved (last resolution): Mon T1–T3; Tue T4, T5,
    // T7, T22; Wed T6, T10–T12; Thu T14, T16; Fri T15; Sat T18; Sun T20 (T21 resolves at
    // 01:30 Monday, after the period). Open at each day's end: Mon T4, T22, T24; Tue T6
    // (reopened), T8, T9, T24; Wed T8, T9, T24; Thu + T15; Fri T8, T9, T24, T17, T18; Sat T8,
    // T9, T24, T17, T19, T20; Sun T8, T9, T24, T17, T19, T21.
    let berlin = report(&w, "from=2026-11-02&to=2026-11-08&tz=Europe/Berlin&by=day").await;
    let days: Vec<&str> = berlin["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    assert_eq!(
        days,
        [
            "2026-11-02",
            "2026-11-03",
            "2026-11-04",
            "2026-11-05",
            "2026-11-06",
            "2026-11-07",
            "2026-11-08"
        ]
    );
    assert_eq!(column(&berlin["rows"], "created"), [4, 5, 3, 4, 2, 2, 1]);
    assert_eq!(column(&berlin["rows"], "resolved"), [3, 4, 4, 2, 1, 1, 1]);
    assert_eq!(column(&berlin["rows"], "backlog"), [3, 4, 3, 4, 5, 6, 6]);
    let total = &berlin["total"];
    assert_eq!(
        (total["created"].as_u64(), total["resolved"].as_u64()),
        (Some(21), Some(16))
    );
    assert_eq!(total["backlog"], 6);
    // First responses in the period (18, wall): 15 20 20 30 30 30 30 40 45 50 60 60 90 90 120
    // 480 1005 1260 — sum 3475, mean 193.06, 9th value 45, 17th 1005.
    assert_eq!(
        stats(total, "first_response.wall"),
        json!([18, 193.1, 45.0, 1005.0])
    );
    // Business (13 with a policy): 0 0 15 20 30 30 30 30 40 45 45 50 120 — sum 455.
    assert_eq!(
        stats(total, "first_response.business"),
        json!([13, 35.0, 30.0, 50.0])
    );
    // Resolutions (16, wall): 60 120 120 120 180 210 240 420 480 570 1110 1140 1200 1320 1440
    // 5760 — sum 14490, mean 905.6, 8th 420, 15th 1440.
    assert_eq!(
        stats(total, "resolution.wall"),
        json!([16, 905.6, 420.0, 1440.0])
    );
    // Business (12): 0 120 120 150 180 180 210 240 420 420 420 960 — sum 3420.
    assert_eq!(
        stats(total, "resolution.business"),
        json!([12, 285.0, 180.0, 420.0])
    );
    // 14 tickets under the policy created in the period; T9 and T11 missed their first
    // response.
    assert_eq!(
        (
            &total["sla_tickets"],
            &total["sla_breached"],
            &total["sla_breach_rate"]
        ),
        (&json!(14), &json!(2), &json!(0.1429))
    );
    // Of 16 resolved, T6 was reopened and T7 changed hands: 14 at first contact.
    assert_eq!(total["first_contact_resolved"], 14);
    assert_eq!(total["first_contact_resolution_rate"], 0.875);
    assert_eq!(
        (&total["reopened"], &total["reopen_rate"]),
        (&json!(1), &json!(0.0625))
    );
    // Rated: 5 4 3 5 2 4 1 5 3 4 5 4 — 12 of 16, sum 45.
    assert_eq!(
        (
            &total["csat_responses"],
            &total["csat_mean"],
            &total["csat_response_rate"]
        ),
        (&json!(12), &json!(3.75), &json!(0.75))
    );
    // The week before: T22 and T23.
    assert_eq!(berlin["previous_period_created"], 2);
    assert_eq!(
        berlin["top_categories"],
        json!([
            { "category": "printer", "created": 8, "share": 0.381 },
            { "category": "scooter", "created": 7, "share": 0.3333 },
            { "category": "freezer", "created": 6, "share": 0.2857 }
        ])
    );
    // Monday alone: responses T1 30, T2 90, T3 20 (wall); T1 and T2 30 each (business).
    let monday = &berlin["rows"][0];
    assert_eq!(
        stats(monday, "first_response.wall"),
        json!([3, 46.7, 30.0, 90.0])
    );
    assert_eq!(
        stats(monday, "first_response.business"),
        json!([2, 30.0, 30.0, 30.0])
    );

    // ---- America/New_York, by day. T5 (23:30 UTC) is Monday's, T16 (04:00 UTC) Wednesday's,
    // T21 is answered and resolved on Sunday. Created: Mon T1–T5, Tue T6–T9, Wed T10–T13,
    // T16, Thu T14–T15, Fri 2, Sat 2, Sun 1. Resolved: Mon T1–T3; Tue T4, T5, T7, T22; Wed
    // T6, T10–T12; Thu T14, T16; Fri T15; Sat T18; Sun T20, T21. Open at each day's end
    // (05:00 UTC the next day): Mon T4, T5, T22, T24; Tue T6, T8, T9, T24; Wed T8, T9, T24,
    // T16; Thu T8, T9, T24, T15; Fri + T17, T18 less T15; Sat T8, T9, T24, T17, T19, T20;
    // Sun T8, T9, T24, T17, T19.
    let new_york = report(&w, "from=2026-11-02&to=2026-11-08&tz=America/New_York").await;
    assert_eq!(new_york["group_by"], "day", "by day when not asked");
    assert_eq!(column(&new_york["rows"], "created"), [5, 4, 5, 2, 2, 2, 1]);
    assert_eq!(column(&new_york["rows"], "resolved"), [3, 4, 4, 2, 1, 1, 2]);
    assert_eq!(column(&new_york["rows"], "backlog"), [4, 4, 4, 4, 5, 6, 5]);
    let total = &new_york["total"];
    assert_eq!(
        (
            total["created"].as_u64(),
            total["resolved"].as_u64(),
            total["backlog"].as_u64()
        ),
        (Some(21), Some(17), Some(5))
    );
    // T21's 60 joins the responses: 19 values, sum 3535, 10th 50, 18th 1005.
    assert_eq!(
        stats(total, "first_response.wall"),
        json!([19, 186.1, 50.0, 1005.0])
    );
    assert_eq!(
        stats(total, "first_response.business"),
        json!([13, 35.0, 30.0, 50.0])
    );
    // T21's 120 joins the resolutions: 17 values, sum 14610, 9th 420, 16th 1440.
    assert_eq!(
        stats(total, "resolution.wall"),
        json!([17, 859.4, 420.0, 1440.0])
    );
    assert_eq!(
        (
            &total["first_contact_resolved"],
            &total["first_contact_resolution_rate"]
        ),
        (&json!(15), &json!(0.8824))
    );
    assert_eq!(total["reopen_rate"], 0.0588);
    assert_eq!(
        (
            &total["csat_responses"],
            &total["csat_mean"],
            &total["csat_response_rate"]
        ),
        (&json!(13), &json!(3.85), &json!(0.7647))
    );

    // ---- Berlin by category: printers T1 T2 T6 T9 T11 T14 T17 T19 (resolved T1 T2 T6 T11
    // T14 T22; open at the end T9 T17 T19 T24; T9 and T11 breached; rated 5 4 2 1).
    let by_category = report(
        &w,
        "from=2026-11-02&to=2026-11-08&tz=Europe/Berlin&by=category",
    )
    .await;
    let rows = &by_category["rows"];
    let keys: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["freezer", "printer", "scooter"]);
    assert_eq!(column(rows, "created"), [6, 8, 7]);
    assert_eq!(column(rows, "resolved"), [6, 6, 4]);
    assert_eq!(column(rows, "backlog"), [0, 4, 2]);
    assert_eq!(rows[1]["sla_breach_rate"], 0.25);
    assert_eq!(rows[0]["sla_breach_rate"], 0.0);
    assert!(
        rows[2]["sla_breach_rate"].is_null(),
        "no policy for scooters"
    );
    assert_eq!(
        (&rows[1]["csat_mean"], &rows[1]["csat_response_rate"]),
        (&json!(3.0), &json!(0.6667))
    );

    // ---- By assignee, by name: tom resolved T1 T2 T5 T6 T10 T11 T14 T16 T22, tess T3 T4 T7
    // T12 T15 T18 T20; T9 and T13 were never assigned.
    let by_assignee = report(
        &w,
        "from=2026-11-02&to=2026-11-08&tz=Europe/Berlin&by=assignee",
    )
    .await;
    let rows = &by_assignee["rows"];
    let keys: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["(none)", "tess", "tom"]);
    assert_eq!(column(rows, "resolved"), [0, 7, 9]);
    assert_eq!(column(rows, "created"), [2, 8, 11]);
}

#[tokio::test]
async fn reports_are_for_the_back_office_of_the_tenant_and_come_as_csv_too() {
    let w = world().await;
    // CSV: the header, a row per day, the total; numbers as in JSON.
    let csv = w
        .boss
        .get(
            &w.h,
            "/api/v1/reports?from=2026-11-02&to=2026-11-08&tz=Europe/Berlin&format=csv",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/csv; charset=utf-8"[..])
    );
    let text = String::from_utf8(csv.reply.body.to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 7 + 1, "{text}");
    assert!(
        lines[0].starts_with("key,created,resolved,backlog,"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("2026-11-02,4,3,3,"), "{}", lines[1]);
    assert!(lines[8].starts_with("total,21,16,6,"), "{}", lines[8]);

    // Another tenant's supervisor sees none of it.
    let other = w.h.user("globex", "gus", Role::Supervisor, None);
    let theirs = Browser::with_token(&other.api_token)
        .get(&w.h, "/api/v1/reports?from=2026-11-02&to=2026-11-08")
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.json["total"]["created"], 0);
    assert_eq!(theirs.json["total"]["backlog"], 0);
    assert_eq!(theirs.json["top_categories"], json!([]));

    // Reporters, technicians and agents do not read reports; strangers are not signed in.
    for (name, role) in [
        ("rae", Role::Rider),
        ("max", Role::Merchant),
        ("ted", Role::Technician),
        ("amy", Role::Agent),
    ] {
        let user = w.h.user("acme", name, role, None);
        let (browser, _) = Browser::sign_in(&w.h, "acme", name, PASSWORD).await;
        assert_eq!(user.tenant, "acme");
        let answer = browser
            .get(&w.h, "/api/v1/reports?from=2026-11-02&to=2026-11-08")
            .await;
        assert_eq!(answer.error(StatusCode::FORBIDDEN), "forbidden", "{role:?}");
    }
    let anonymous = Browser::default()
        .get(&w.h, "/api/v1/reports?from=2026-11-02&to=2026-11-08")
        .await;
    assert_eq!(anonymous.error(StatusCode::UNAUTHORIZED), "unauthorized");

    // Bad periods get a clear 400.
    for (query, says) in [
        ("from=2026-11-02&to=2026-11-01", "ends before it starts"),
        ("from=2025-01-01&to=2026-11-01", "at most 366 days"),
        (
            "from=2026-11-02&to=2026-11-08&tz=Mars/Base",
            "unknown time zone",
        ),
        ("from=2026-13-02&to=2026-11-08", "from is a date"),
        ("from=2026-11-02&to=2026-11-08&by=colour", "by is category"),
        ("from=2026-11-02&to=2026-11-08&format=xml", "json or csv"),
        ("to=2026-11-08", "from"),
    ] {
        let answer = w.boss.get(&w.h, &format!("/api/v1/reports?{query}")).await;
        assert_eq!(
            answer.error(StatusCode::BAD_REQUEST),
            "bad_request",
            "{query}"
        );
        let message = answer.json["error"]["message"].as_str().expect("message");
        assert!(message.contains(says), "{query}: {message}");
    }
}

/// The tickets of `tenant` whose facts are older than their newest change, by id.
fn stale_ids(h: &Harness, tenant: &str) -> Vec<String> {
    let mut ids: Vec<String> = h
        .state
        .store()
        .stale_facts(tenant, 0, u64::MAX, 100)
        .expect("reads")
        .into_iter()
        .map(|s| s.ticket_id)
        .collect();
    ids.sort();
    ids
}

/// One gathering of the background task (`reports::refresh`): everything stale above the
/// tenant's progress is read by the catch-up, and a touched ticket whose change is below it —
/// a store whose commits land out of order — by the touched tickets' pass after it.
#[tokio::test]
async fn a_gathering_refreshes_what_is_stale_and_each_touched_ticket_below_the_progress() {
    let h = Harness::new();
    let tenant = h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&ops).await;
    let mut ids = Vec::new();
    for title in ["fridge warm", "printer jam", "door stuck"] {
        let (id, created) = phone.create(support::repair(title));
        phone.sync(&h, &[(&id, &created)]).await;
        ids.push(id);
    }
    let (store, cache) = (h.state.store(), h.state.tickets().docs());
    let touched = |ids: &[&String]| -> std::collections::BTreeSet<(String, String)> {
        ids.iter()
            .map(|id| (tenant.clone(), (*id).clone()))
            .collect()
    };
    let now = h.state.now_ms();
    fieldwork_server::reports::refresh(store.as_ref(), &cache, touched(&[]), true, now)
        .expect("refreshes");
    assert!(stale_ids(&h, &tenant).is_empty());

    // Notes to the first two; the progress is then moved past them, as if their changes had
    // landed below it after a catch-up had passed.
    for id in &ids[..2] {
        let note = phone.edit(
            id,
            fieldwork_core::ticket::Edit::AddNote {
                text: "checked again".into(),
                internal: false,
            },
        );
        let answer = phone.sync(&h, &[(id, &note)]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    }
    let newest = store.read_with(|r| r.max_seq(&tenant)).expect("reads");
    store.put_facts(&tenant, &[], Some(newest)).expect("moves");
    let mut stale = ids[..2].to_vec();
    stale.sort();
    assert_eq!(stale_ids(&h, &tenant), stale);

    // Only the touched one below the progress is read: the catch-up starts above it.
    fieldwork_server::reports::refresh(store.as_ref(), &cache, touched(&[&ids[0]]), false, now)
        .expect("refreshes");
    assert_eq!(stale_ids(&h, &tenant), [ids[1].clone()]);

    // A note above the progress is read by the catch-up, which moves the progress on.
    let note = phone.edit(
        &ids[2],
        fieldwork_core::ticket::Edit::AddNote {
            text: "hinge loose".into(),
            internal: false,
        },
    );
    let answer = phone.sync(&h, &[(&ids[2], &note)]).await;
    assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    fieldwork_server::reports::refresh(store.as_ref(), &cache, touched(&[&ids[2]]), false, now)
        .expect("refreshes");
    assert_eq!(stale_ids(&h, &tenant), [ids[1].clone()]);
    let progress = store.facts_progress(&tenant).expect("reads");
    assert_eq!(
        progress,
        store.read_with(|r| r.max_seq(&tenant)).expect("reads")
    );
}
