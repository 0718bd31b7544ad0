//! The service brain on a server with a clock the test moves: routing with capacity, a ticket
//! nobody can take waiting in its team's queue, an SLA warning then a breach with its escalation,
//! what the assigned technician's device then holds, and a dispatcher's decision the brain does
//! not undo. Driven through `brain::decide_now` and `brain::tick`, what the server's background
//! task calls on each notice and every 30 s.

mod support;

use std::sync::Arc;

use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::{Edit, Ticket};
use fieldwork_server::brain::{decide_now, tick};
use support::{Device, Harness, repair};

/// A little after the test devices' clocks start.
const T0: i64 = 1_795_400_060_000;
const MINUTE: i64 = 60_000;

const CONFIG: &str = r#"
[[teams]]
name = "repairs"
kinds = ["repair"]
chooser = "least_loaded"
lead = "lead"

[[technicians]]
user = "tech.a"
team = "repairs"
capacity = 1

[[technicians]]
user = "tech.b"
team = "repairs"
capacity = 1

[[sla_policies]]
name = "standard"
first_response_minutes = 30
resolution_minutes = 240
warn_before_minutes = 10

  [[sla_policies.escalate]]
  after_minutes = 0
  targets = ["first_response"]
  actions = { raise_priority = true, note = "first response missed: call the customer", notify = ["team_lead"] }
"#;

fn kinds(ticket: &Ticket) -> Vec<&str> {
    ticket
        .events
        .iter()
        .filter(|e| e.by == "fieldwork:brain")
        .map(|e| e.kind.as_str())
        .collect()
}

/// A repair ticket made on `desk`, pushed, and put before the brain.
async fn new_ticket(h: &Harness, desk: &mut Device, title: &str) -> String {
    let (id, created) = desk.create(repair(title));
    let pushed = desk.sync(h, &[(&id, &created)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    decide_now(&h.state, &desk.actor.tenant, &id).await;
    desk.sync(h, &[]).await;
    id
}

#[tokio::test]
async fn routing_queues_warnings_breaches_and_escalations_land_on_the_tickets() {
    let clock = Arc::new(ManualClock::at(T0));
    let h = Harness::with_clock(clock.clone());
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let tech_a = h.user("acme", "tech.a", Role::Technician, None);
    h.user("acme", "tech.b", Role::Technician, None);
    h.user("acme", "lead", Role::Dispatcher, None);
    let applied = h.admin.configure("acme", CONFIG, "ops").expect("applies");
    assert_eq!(applied.version, 1);
    let mut desk = h.login(&ops).await;

    let first = new_ticket(&h, &mut desk, "Freezer warm").await;
    let second = new_ticket(&h, &mut desk, "Oven door").await;
    let third = new_ticket(&h, &mut desk, "Till jammed").await;
    let assigned: Vec<Option<String>> = [&first, &second, &third]
        .iter()
        .map(|id| desk.view(id).assignee)
        .collect();
    assert_eq!(
        assigned,
        [Some(tech_a.id.clone()), Some(h_id(&h, "tech.b")), None],
        "one each, then nobody has room"
    );
    let waiting = desk.view(&third);
    assert_eq!(waiting.team.as_deref(), Some("repairs"));
    let queued = waiting
        .events
        .iter()
        .find(|e| e.kind == "queued")
        .expect("why it waits");
    assert!(
        queued.data["reason"].contains("capacity"),
        "{:?}",
        queued.data
    );
    let sla = desk.view(&first).sla.expect("an SLA");
    let created = desk.view(&first).created_at;
    assert_eq!(sla.first_response_due, Some(created + 30 * MINUTE));

    // 21 minutes on: the warning. 31 minutes on: the breach and its escalation.
    clock.advance(21 * MINUTE);
    tick(&h.state).await;
    desk.sync(&h, &[]).await;
    assert!(kinds(&desk.view(&first)).contains(&"sla_warning"));
    assert!(!kinds(&desk.view(&first)).contains(&"sla_breach"));
    clock.advance(10 * MINUTE);
    tick(&h.state).await;
    desk.sync(&h, &[]).await;
    let late = desk.view(&first);
    assert!(kinds(&late).contains(&"sla_breach"), "{:?}", kinds(&late));
    assert!(
        kinds(&late).contains(&"sla_escalation"),
        "{:?}",
        kinds(&late)
    );
    assert_eq!(late.sla.as_ref().expect("sla").breaches, ["first_response"]);
    assert_eq!(
        late.priority,
        fieldwork_core::Priority::High,
        "raised from normal"
    );
    assert!(
        late.notes
            .iter()
            .any(|n| n.internal && n.text == "first response missed: call the customer")
    );
    // Ticking again changes nothing: each action happens once.
    let before = desk.view(&first);
    tick(&h.state).await;
    desk.sync(&h, &[]).await;
    assert_eq!(desk.view(&first), before);

    // The assigned technician's device holds all of it after one sync.
    let mut phone = h.login(&tech_a).await;
    phone.sync(&h, &[]).await;
    let on_phone = phone.view(&first);
    assert_eq!(
        on_phone.sla.as_ref().expect("sla").breaches,
        ["first_response"]
    );
    assert!(kinds(&on_phone).contains(&"sla_escalation"));

    // The dispatcher gives the waiting ticket to tech.a by hand, over capacity: it stands.
    let assign = desk.edit(
        &third,
        Edit::Assign {
            assignee: Some(tech_a.id.clone()),
        },
    );
    assert!(
        desk.sync(&h, &[(&third, &assign)])
            .await
            .rejected
            .is_empty()
    );
    decide_now(&h.state, &desk.actor.tenant, &third).await;
    tick(&h.state).await;
    desk.sync(&h, &[]).await;
    assert_eq!(desk.view(&third).assignee, Some(tech_a.id.clone()));
}

/// A phone whose clock runs two hours behind: the offset it measured puts its new ticket at the
/// right time, so the ticket is not late the moment it arrives; a phone that sent no offset is
/// believed, and its ticket is.
#[tokio::test]
async fn a_phone_two_hours_behind_is_timed_by_the_offset_it_measured() {
    const TWO_HOURS: i64 = 2 * 60 * MINUTE;
    let clock = Arc::new(ManualClock::at(T0 + TWO_HOURS));
    let h = Harness::with_clock(clock.clone());
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    h.user("acme", "tech.a", Role::Technician, None);
    h.user("acme", "tech.b", Role::Technician, None);
    h.user("acme", "lead", Role::Dispatcher, None);
    h.admin.configure("acme", CONFIG, "ops").expect("applies");
    let mut measured = h.login(&ops).await;
    measured.clock_offset_ms = Some(TWO_HOURS);
    let mut unmeasured = h.login(&ops).await;

    let timed = new_ticket(&h, &mut measured, "Freezer warm").await;
    let untimed = new_ticket(&h, &mut unmeasured, "Oven door").await;
    let due = |device: &Device, id: &str| {
        device
            .view(id)
            .sla
            .and_then(|sla| sla.first_response_due)
            .expect("a due time")
    };
    let created_on_phone = measured.view(&timed).created_at;
    assert_eq!(
        due(&measured, &timed),
        created_on_phone + TWO_HOURS + 30 * MINUTE,
        "the phone's clock, corrected by what it measured"
    );
    assert!(
        due(&measured, &timed) > T0 + TWO_HOURS,
        "not late on arrival"
    );
    let untimed_created = unmeasured.view(&untimed).created_at;
    assert_eq!(due(&unmeasured, &untimed), untimed_created + 30 * MINUTE);
    tick(&h.state).await;
    measured.sync(&h, &[]).await;
    unmeasured.sync(&h, &[]).await;
    assert!(!kinds(&measured.view(&timed)).contains(&"sla_breach"));
    assert!(kinds(&unmeasured.view(&untimed)).contains(&"sla_breach"));
}

/// A rider's third help request within 24 hours is made urgent by the example rule of
/// `docs/brain.md`; the first two are not, and a fourth a day later is not either.
#[tokio::test]
async fn a_third_report_within_a_day_is_urgent() {
    const RULE: &str = r#"
[[rules]]
name = "third report"
on = "create"
all = [{ reporter_reports = 3, within_hours = 24 }]
actions = { priority = "urgent", note = "third report today: call the rider" }
"#;
    let clock = Arc::new(ManualClock::at(T0));
    let h = Harness::with_clock(clock.clone());
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let rider = h.user("acme", "rider7", Role::Rider, None);
    h.admin.configure("acme", RULE, "ops").expect("applies");
    let mut phone = h.login(&rider).await;
    // The test phone's clock does not move with the server's: an offset this large puts each of
    // its changes at its arrival (an effective time is never later than that).
    phone.clock_offset_ms = Some(365 * 24 * 60 * MINUTE);
    let mut desk = h.login(&ops).await;
    let mut priorities = Vec::new();
    for (n, wait) in [0, 2 * 60, 3 * 60, 30 * 60].into_iter().enumerate() {
        clock.advance(wait * MINUTE);
        let (id, created) = phone.create(fieldwork_core::ticket::NewTicket::help_request(
            None,
            None,
            Some(format!("help {n}")),
        ));
        let pushed = phone.sync(&h, &[(&id, &created)]).await;
        assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
        decide_now(&h.state, &phone.actor.tenant, &id).await;
        desk.sync(&h, &[]).await;
        priorities.push(desk.view(&id).priority);
    }
    use fieldwork_core::Priority::{High, Urgent};
    assert_eq!(
        priorities,
        [High, High, Urgent, High],
        "the third within a day only"
    );
}

/// The id of user `name` of tenant `acme`.
fn h_id(h: &Harness, name: &str) -> String {
    h.admin
        .list_users("acme")
        .expect("users")
        .into_iter()
        .find(|u| u.name == name)
        .expect("the user")
        .id
}
