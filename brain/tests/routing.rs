//! Routing through the pure functions: skills, territory, nearest by real coordinates in
//! Shanghai, capacity, shifts, round robin over 100 tickets, and a ticket nobody can take.

mod support;

use std::collections::BTreeMap;

use fieldwork_brain::routing::{Position, RouteRequest, Verdict, route};
use fieldwork_brain::{Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
use fieldwork_core::model::{Role, Status, TicketKind};
use support::{TicketBuilder, apply, event_types, ms};

const CONFIG: &str = r#"
[[calendars]]
name = "day-shift"
time_zone = "Asia/Shanghai"
hours = { mon = "08:00-20:00", tue = "08:00-20:00", wed = "08:00-20:00", thu = "08:00-20:00", fri = "08:00-20:00", sat = "08:00-20:00", sun = "08:00-20:00" }

[[calendars]]
name = "night-shift"
time_zone = "Asia/Shanghai"
hours = { mon = ["00:00-08:00", "20:00-24:00"], tue = ["00:00-08:00", "20:00-24:00"], wed = ["00:00-08:00", "20:00-24:00"], thu = ["00:00-08:00", "20:00-24:00"], fri = ["00:00-08:00", "20:00-24:00"], sat = ["00:00-08:00", "20:00-24:00"], sun = ["00:00-08:00", "20:00-24:00"] }

[[teams]]
name = "rider-ops-pudong"
kinds = ["help_request"]
territory = [[31.32, 121.50], [31.32, 121.72], [31.12, 121.72], [31.12, 121.50]]
chooser = "least_loaded"

[[teams]]
name = "rider-ops-puxi"
kinds = ["help_request"]
territory = [[31.34, 121.30], [31.34, 121.50], [31.10, 121.50], [31.10, 121.30]]
chooser = "round_robin"

[[teams]]
name = "pos-repair"
categories = ["pos_printer", "pos_terminal"]
chooser = "nearest"
lead = "chen.jie"

[[teams]]
name = "backup"
kinds = ["repair"]
chooser = "least_loaded"

[[technicians]]
user = "li.na"
team = "pos-repair"
skills = ["pos", "printer"]
capacity = 3
shift = "day-shift"
home = [31.2304, 121.4737]   # People's Square

[[technicians]]
user = "wang.qiang"
team = "pos-repair"
skills = ["pos", "network"]
capacity = 3
shift = "day-shift"
home = [31.1950, 121.4380]   # Xujiahui

[[technicians]]
user = "zhao.lei"
team = "pos-repair"
skills = ["pos", "printer"]
capacity = 2
shift = "night-shift"
home = [31.2397, 121.4998]   # Lujiazui

[[technicians]]
user = "sun.li"
team = "rider-ops-pudong"
[[technicians]]
user = "zhou.min"
team = "rider-ops-pudong"

[[technicians]]
user = "wu.lei"
team = "rider-ops-puxi"
capacity = 100
[[technicians]]
user = "he.jing"
team = "rider-ops-puxi"
capacity = 100
[[technicians]]
user = "ma.li"
team = "rider-ops-puxi"
capacity = 100
[[technicians]]
user = "gao.yu"
team = "rider-ops-puxi"
capacity = 100

[[technicians]]
user = "qian.bo"
team = "backup"
skills = ["pos", "printer"]

[[classify]]
name = "receipt printer"
any = ["打印机", "小票", "printer"]
set = { category = "pos_printer", kind = "repair", skills = ["printer"] }

[[sla_policies]]
name = "standard"
first_response_minutes = 30
resolution_minutes = 240

  [[sla_policies.escalate]]
  after_minutes = 0
  targets = ["first_response"]
  actions = { team = "backup", notify = ["role:dispatcher"] }
"#;

fn config() -> TenantConfig {
    TenantConfig::from_toml(CONFIG).expect("the test configuration is valid")
}

/// Xintiandi, a shop with a broken printer.
const SITE: (f64, f64) = (31.2196, 121.4737);
/// Tuesday 2026-03-10 10:00 in Shanghai: the day shift is on.
const MORNING: &str = "2026-03-10T02:00:00Z";
/// 22:00 the same day: the night shift is on.
const NIGHT: &str = "2026-03-10T14:00:00Z";

fn printer_request<'a>(skills: &[&str]) -> RouteRequest<'a> {
    RouteRequest {
        category: Some("pos_printer"),
        kind: Some(TicketKind::Repair),
        site: Some(fieldwork_brain::routing::GeoPoint {
            lat: SITE.0,
            lon: SITE.1,
        }),
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        ..RouteRequest::default()
    }
}

fn users(outcome: &fieldwork_brain::RoutingOutcome) -> Vec<&str> {
    outcome.candidates.iter().map(|c| c.user.as_str()).collect()
}

#[test]
fn the_nearest_eligible_technician_is_chosen_by_real_distance() {
    let config = config();
    let outcome = route(
        &config,
        &printer_request(&["pos"]),
        &RoutingState::default(),
        ms(MORNING),
    );
    assert_eq!(outcome.team.as_deref(), Some("pos-repair"));
    assert_eq!(outcome.chosen.as_deref(), Some("li.na"));
    // People's Square is 1.2 km from Xintiandi; Xujiahui 4.4 km; Lujiazui (night shift) last.
    let li = &outcome.candidates[0];
    let d = li.distance_m.expect("home is known");
    assert!((1_150.0..1_250.0).contains(&d), "{d}");
    assert_eq!(
        outcome.reason,
        "nearest 1.2 km from home, skills pos, load 0/3"
    );
    assert_eq!(users(&outcome), vec!["li.na", "wang.qiang", "zhao.lei"]);
    let wang = outcome.candidates[1].distance_m.expect("home");
    assert!((4_200.0..4_500.0).contains(&wang), "{wang}");
    assert_eq!(outcome.candidates[2].verdict, Verdict::OffShift);
    assert_eq!(outcome.candidates[2].reason(), "off shift");
}

#[test]
fn a_reported_position_beats_home_until_it_is_stale() {
    let config = config();
    let mut state = RoutingState::default();
    // Wang reports from 300 m away, ten minutes ago.
    state.positions.insert(
        "wang.qiang".to_owned(),
        Position {
            lat: 31.2220,
            lon: 121.4760,
            at: ms(MORNING) - 10 * 60_000,
        },
    );
    let outcome = route(&config, &printer_request(&[]), &state, ms(MORNING));
    assert_eq!(outcome.chosen.as_deref(), Some("wang.qiang"));
    assert!(
        outcome.reason.starts_with("nearest 3"),
        "{}",
        outcome.reason
    );
    // Reported nine hours ago: too old, his home counts again.
    state.positions.get_mut("wang.qiang").expect("inserted").at = ms(MORNING) - 9 * 3_600_000;
    let outcome = route(&config, &printer_request(&[]), &state, ms(MORNING));
    assert_eq!(outcome.chosen.as_deref(), Some("li.na"));
}

#[test]
fn required_skills_filter() {
    let config = config();
    let outcome = route(
        &config,
        &printer_request(&["printer"]),
        &RoutingState::default(),
        ms(MORNING),
    );
    assert_eq!(outcome.chosen.as_deref(), Some("li.na"));
    let wang = outcome
        .candidates
        .iter()
        .find(|c| c.user == "wang.qiang")
        .expect("listed");
    assert!(!wang.eligible);
    assert_eq!(wang.reason(), "missing skills printer");
    assert_eq!(
        outcome.reason,
        "nearest 1.2 km from home, skills printer, load 0/3"
    );
}

#[test]
fn capacity_is_respected() {
    let config = config();
    let state = RoutingState {
        open_tickets: BTreeMap::from([("li.na".to_owned(), 3)]),
        ..RoutingState::default()
    };
    let outcome = route(&config, &printer_request(&[]), &state, ms(MORNING));
    assert_eq!(outcome.chosen.as_deref(), Some("wang.qiang"));
    let li = outcome
        .candidates
        .iter()
        .find(|c| c.user == "li.na")
        .expect("listed");
    assert_eq!(li.reason(), "at capacity, load 3/3");
}

#[test]
fn off_shift_people_are_skipped() {
    let config = config();
    let outcome = route(
        &config,
        &printer_request(&["printer"]),
        &RoutingState::default(),
        ms(NIGHT),
    );
    assert_eq!(outcome.chosen.as_deref(), Some("zhao.lei"));
    assert!(outcome.candidates[1..].iter().all(|c| !c.eligible));
}

#[test]
fn nobody_eligible_leaves_the_ticket_in_the_team_queue_with_the_reason() {
    let config = config();
    let mut state = RoutingState::default();
    state.open_tickets.insert("zhao.lei".to_owned(), 2);
    let outcome = route(&config, &printer_request(&["printer"]), &state, ms(NIGHT));
    assert_eq!(outcome.chosen, None);
    assert_eq!(outcome.team.as_deref(), Some("pos-repair"));
    assert_eq!(
        outcome.reason,
        "waiting in pos-repair's queue: nobody eligible (1 off shift, 1 at capacity, 1 missing skills)"
    );
}

#[test]
fn help_requests_go_to_the_operators_of_the_district() {
    let config = config();
    let request = |lat: f64, lon: f64| RouteRequest {
        kind: Some(TicketKind::HelpRequest),
        site: Some(fieldwork_brain::routing::GeoPoint { lat, lon }),
        ..RouteRequest::default()
    };
    let state = RoutingState::default();
    // Century Park is in Pudong, Zhongshan Park in Puxi.
    let pudong = route(&config, &request(31.2196, 121.5510), &state, ms(MORNING));
    assert_eq!(pudong.team.as_deref(), Some("rider-ops-pudong"));
    assert_eq!(pudong.chosen.as_deref(), Some("sun.li"));
    let puxi = route(&config, &request(31.2235, 121.4170), &state, ms(MORNING));
    assert_eq!(puxi.team.as_deref(), Some("rider-ops-puxi"));
    // Suzhou is in neither district.
    let outside = route(&config, &request(31.2990, 120.5853), &state, ms(MORNING));
    assert_eq!(outside.team, None);
    assert_eq!(outside.chosen, None);
    assert_eq!(
        outside.reason,
        "no team takes kind help_request at this site"
    );
}

#[test]
fn round_robin_is_fair_over_100_tickets() {
    let config = config();
    let mut state = RoutingState::default();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let request = RouteRequest {
        kind: Some(TicketKind::HelpRequest),
        site: Some(fieldwork_brain::routing::GeoPoint {
            lat: 31.2235,
            lon: 121.4170,
        }),
        ..RouteRequest::default()
    };
    for i in 0..100 {
        // Somebody closes a ticket now and then: loads differ, the turns stay fair.
        let outcome = route(&config, &request, &state, ms(MORNING) + i * 60_000);
        let chosen = outcome.chosen.expect("four people with room");
        *counts.entry(chosen.clone()).or_default() += 1;
        *state.open_tickets.entry(chosen).or_default() += 1;
        state
            .round_robin
            .record(&outcome.turn.expect("a turn was taken"));
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|n| *n == 25), "{counts:?}");
}

#[test]
fn a_new_ticket_is_classified_routed_and_timed() {
    let brain = Brain::new(config());
    let ticket = TicketBuilder::new("t1", TicketKind::FaultReport, MORNING)
        .reporter("shop.7", Role::Merchant)
        .title("收银台打印机卡纸")
        .site(SITE.0, SITE.1)
        .build();
    let times = EffectiveTimes::device_clocks();
    let routing = RoutingState::default();
    let ctx = Context {
        times: &times,
        routing: &routing,
        reporter_history: &[],
    };
    let decisions = brain.on_new_ticket(&ticket, &ctx, ms(MORNING));
    assert_eq!(decisions.fields.category.as_deref(), Some("pos_printer"));
    assert_eq!(decisions.fields.kind, Some(TicketKind::Repair));
    assert_eq!(decisions.fields.assignee, Some(Some("li.na".to_owned())));
    assert_eq!(decisions.fields.team, Some(Some("pos-repair".to_owned())));
    assert!(
        decisions
            .fields
            .add_tags
            .contains(&"skill:printer".to_owned())
    );
    // The assignment implies `assigned`; the status is not set separately.
    assert_eq!(decisions.fields.status, None);
    let routed = decisions
        .events
        .iter()
        .find(|e| e.kind == "routed")
        .expect("routed event");
    assert_eq!(
        routed.data["reason"],
        "nearest 1.2 km from home, skills printer, load 0/3"
    );
    assert_eq!(event_types(&decisions), vec!["classified", "routed"]);
    let sla = decisions.sla.expect("the standard policy");
    assert_eq!(sla.first_response_due, Some(ms(MORNING) + 30 * 60_000));
    assert_eq!(decisions.turn.map(|t| t.user).as_deref(), Some("li.na"));
}

#[test]
fn a_queued_ticket_is_picked_up_by_an_escalation() {
    let brain = Brain::new(config());
    // At night with Zhao busy, nobody in pos-repair can take it.
    let mut ticket = TicketBuilder::new("t1", TicketKind::Repair, NIGHT)
        .title("printer dead")
        .site(SITE.0, SITE.1)
        .build();
    let times = EffectiveTimes::device_clocks();
    let mut routing = RoutingState::default();
    routing.open_tickets.insert("zhao.lei".to_owned(), 2);
    let ctx = Context {
        times: &times,
        routing: &routing,
        reporter_history: &[],
    };
    let created = brain.on_new_ticket(&ticket, &ctx, ms(NIGHT));
    assert_eq!(created.fields.assignee, None);
    assert_eq!(created.fields.team, Some(Some("pos-repair".to_owned())));
    let queued = created
        .events
        .iter()
        .find(|e| e.kind == "queued")
        .expect("queued event");
    assert!(
        queued.data["reason"].starts_with("waiting in pos-repair's queue"),
        "{queued:?}"
    );
    apply(&mut ticket, &created, ms(NIGHT));

    // 30 minutes later the first response is breached; level 1 moves it to the backup team,
    // whose member takes it.
    let later = ms(NIGHT) + 31 * 60_000;
    let decisions = brain.on_timer(&ticket, &ctx, later);
    let types = event_types(&decisions);
    assert_eq!(
        types,
        vec!["sla_breach", "sla_escalation", "routed"],
        "{decisions:?}"
    );
    assert_eq!(decisions.fields.team, Some(Some("backup".to_owned())));
    assert_eq!(decisions.fields.assignee, Some(Some("qian.bo".to_owned())));
    assert!(
        decisions
            .notifications
            .iter()
            .any(|n| n.recipient == fieldwork_brain::decisions::Recipient::Role(Role::Dispatcher))
    );
}

#[test]
fn a_dispatchers_assignment_stands() {
    let brain = Brain::new(config());
    let times = EffectiveTimes::device_clocks();
    let routing = RoutingState::default();
    let ctx = Context {
        times: &times,
        routing: &routing,
        reporter_history: &[],
    };
    // Routed to Li Na by the brain, then the dispatcher gives it to Wang.
    let mut ticket = TicketBuilder::new("t1", TicketKind::Repair, MORNING)
        .category("pos_printer")
        .site(SITE.0, SITE.1)
        .build();
    let created = brain.on_new_ticket(&ticket, &ctx, ms(MORNING));
    apply(&mut ticket, &created, ms(MORNING));
    let before = ticket.clone();
    let after = TicketBuilder { ticket }
        .assign("dispatcher.1", "2026-03-10T02:05:00Z", Some("wang.qiang"))
        .build();
    let decisions = brain.on_update(&before, &after, &ctx, ms("2026-03-10T02:05:00Z"));
    assert_eq!(
        decisions.fields.assignee, None,
        "the brain does not undo it"
    );
    // Even when the first response is breached, the escalation does not move it to backup.
    let late = ms(MORNING) + 45 * 60_000;
    let decisions = brain.on_timer(&after, &ctx, late);
    assert_eq!(decisions.fields.assignee, None);
    assert_eq!(decisions.fields.team, None);
    assert_eq!(decisions.skipped.len(), 1);
    assert_eq!(
        decisions.skipped[0].reason,
        "assignment kept: a person decided it"
    );
}

#[test]
fn a_released_ticket_goes_to_someone_else() {
    let brain = Brain::new(config());
    let times = EffectiveTimes::device_clocks();
    let routing = RoutingState::default();
    let ctx = Context {
        times: &times,
        routing: &routing,
        reporter_history: &[],
    };
    let mut ticket = TicketBuilder::new("t1", TicketKind::Repair, MORNING)
        .category("pos_printer")
        .site(SITE.0, SITE.1)
        .build();
    let created = brain.on_new_ticket(&ticket, &ctx, ms(MORNING));
    apply(&mut ticket, &created, ms(MORNING));
    assert_eq!(ticket.assignee.as_deref(), Some("li.na"));
    let before = ticket.clone();
    let after = TicketBuilder { ticket }
        .assign("li.na", "2026-03-10T02:10:00Z", None)
        .build();
    assert_eq!(after.status, Status::New);
    let decisions = brain.on_update(&before, &after, &ctx, ms("2026-03-10T02:10:00Z"));
    assert_eq!(
        decisions.fields.assignee,
        Some(Some("wang.qiang".to_owned()))
    );
}
