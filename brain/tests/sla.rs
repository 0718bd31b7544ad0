//! SLA clocks with exact timestamps: weekends, a holiday run, pauses, a priority change midway,
//! late offline changes, wrong device clocks, and time zones other than UTC across a DST change.

mod support;

use fieldwork_brain::sla::Target;
use fieldwork_brain::{Brain, EffectiveTimes, TenantConfig, TimedKind, effective_time};
use fieldwork_core::model::{Priority, Role, Status, TicketKind};
use support::{TicketBuilder, apply, iso, iso_opt, ms};

const CONFIG: &str = r#"
[[calendars]]
name = "office"
time_zone = "Asia/Shanghai"
hours = { mon = ["09:00-12:00", "13:00-18:00"], tue = ["09:00-12:00", "13:00-18:00"], wed = ["09:00-12:00", "13:00-18:00"], thu = ["09:00-12:00", "13:00-18:00"], fri = ["09:00-12:00", "13:00-18:00"] }
holidays = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"]

[[calendars]]
name = "berlin"
time_zone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }

[[teams]]
name = "pos-repair"
lead = "chen.jie"

[[sla_policies]]
name = "urgent"
match = { priority = ["urgent"] }
first_response_minutes = 30
resolution_minutes = 240

[[sla_policies]]
name = "berlin"
calendar = "berlin"
match = { category = ["berlin"] }
first_response_minutes = 60
resolution_minutes = 480

[[sla_policies]]
name = "standard"
calendar = "office"
first_response_minutes = 120
update_minutes = 240
resolution_minutes = 960
warn_before_minutes = 60

  [[sla_policies.escalate]]
  after_minutes = 60
  actions = { notify = ["team_lead"] }

  [[sla_policies.escalate]]
  after_minutes = 120
  targets = ["resolution"]
  actions = { raise_priority = true, notify = ["role:supervisor"] }
"#;

fn brain() -> Brain {
    Brain::new(TenantConfig::from_toml(CONFIG).expect("the test configuration is valid"))
}

const TECH: &str = "li.na";

#[test]
fn due_times_cross_the_weekend() {
    // Friday 2026-03-06 17:00 in Shanghai.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-06T09:00:00Z").build();
    let sla = brain()
        .sla(
            &ticket,
            &EffectiveTimes::device_clocks(),
            ms("2026-03-06T09:00:00Z"),
        )
        .expect("the standard policy matches");
    assert_eq!(sla.policy, "standard");
    // One hour on Friday, one on Monday: Monday 10:00 local.
    assert_eq!(
        iso_opt(sla.first_response.due).as_deref(),
        Some("2026-03-09T02:00:00Z")
    );
    // 16 business hours: Friday 1 h, Monday 8 h, Tuesday until 17:00 local.
    assert_eq!(
        iso_opt(sla.resolution.due).as_deref(),
        Some("2026-03-10T09:00:00Z")
    );
}

#[test]
fn a_holiday_run_is_skipped() {
    // Wednesday 2026-09-30 17:00 local, the eve of National Day week.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-09-30T09:00:00Z").build();
    let sla = brain()
        .sla(
            &ticket,
            &EffectiveTimes::device_clocks(),
            ms("2026-09-30T09:00:00Z"),
        )
        .expect("policy");
    // One hour on the 30th, then nothing until Thursday 10-08 10:00 local.
    assert_eq!(
        iso_opt(sla.first_response.due).as_deref(),
        Some("2026-10-08T02:00:00Z")
    );
    assert_eq!(
        iso_opt(sla.resolution.due).as_deref(),
        Some("2026-10-09T09:00:00Z")
    );
}

#[test]
fn time_awaiting_parts_is_deducted() {
    // Monday 2026-03-09 09:00 local; accepted 09:30; waiting for parts from 11:00 until
    // Wednesday 11:00.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .assign("disp", "2026-03-09T01:10:00Z", Some(TECH))
        .status(TECH, "2026-03-09T01:30:00Z", Status::Accepted)
        .status(TECH, "2026-03-09T02:00:00Z", Status::InProgress)
        .status(TECH, "2026-03-09T03:00:00Z", Status::AwaitingParts);
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    let during = ticket.ticket.clone();
    let sla = brain
        .sla(&during, &times, ms("2026-03-10T04:00:00Z"))
        .expect("policy");
    assert!(sla.paused);
    assert!(sla.fields().paused);
    // 120 business minutes ran before the pause; the other 840 start when it ends.
    let resumed = ticket
        .status(TECH, "2026-03-11T03:00:00Z", Status::InProgress)
        .build();
    let sla = brain
        .sla(&resumed, &times, ms("2026-03-11T03:00:00Z"))
        .expect("policy");
    assert!(!sla.paused);
    // Wednesday 11-12 and 13-18 (360), Thursday 09-12 and 13-18 (480): Thursday 18:00 local.
    assert_eq!(
        iso_opt(sla.resolution.due).as_deref(),
        Some("2026-03-12T10:00:00Z")
    );
    // The first response was the acceptance, 30 business minutes in.
    assert_eq!(sla.first_response.taken_min, Some(30));
    assert_eq!(sla.first_response.diff_min, Some(90));
}

#[test]
fn a_priority_change_recomputes_from_creation_and_keeps_the_paused_time() {
    // Monday 2026-03-09 09:00 local, normal; parts awaited 10:00-14:00 local; made urgent at
    // 15:00 local by a dispatcher.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .assign("disp", "2026-03-09T01:05:00Z", Some(TECH))
        .status(TECH, "2026-03-09T01:20:00Z", Status::Accepted)
        .status(TECH, "2026-03-09T01:40:00Z", Status::InProgress)
        .status(TECH, "2026-03-09T02:00:00Z", Status::AwaitingParts)
        .status(TECH, "2026-03-09T06:00:00Z", Status::InProgress);
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    let before = brain
        .sla(&ticket.ticket, &times, ms("2026-03-09T06:30:00Z"))
        .expect("policy");
    assert_eq!(before.policy, "standard");
    let urgent = ticket
        .priority("disp", "2026-03-09T07:00:00Z", Priority::Urgent)
        .build();
    let after = brain
        .sla(&urgent, &times, ms("2026-03-09T07:00:00Z"))
        .expect("policy");
    assert_eq!(after.policy, "urgent");
    // 24x7 from creation: 60 minutes, the 4-hour pause, then 180 more — not 05:00Z, which is
    // what forgetting the pause would give (glpi#15605).
    assert_eq!(
        iso_opt(after.resolution.due).as_deref(),
        Some("2026-03-09T09:00:00Z")
    );
    assert_eq!(
        iso_opt(after.first_response.due).as_deref(),
        Some("2026-03-09T01:30:00Z")
    );
    assert!(!after.first_response.breached, "accepted at 01:20Z");
}

/// An urgent ticket (24x7, 240 minutes to resolve: due 05:00Z) resolved offline at 04:30Z.
fn resolved_offline(resolved_device_ms: i64) -> fieldwork_core::ticket::Ticket {
    let mut builder = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .priority_at_creation(Priority::Urgent)
        .assign("disp", "2026-03-09T01:02:00Z", Some(TECH))
        .status(TECH, "2026-03-09T01:10:00Z", Status::Accepted)
        .status(TECH, "2026-03-09T02:00:00Z", Status::InProgress);
    builder.status_ms(TECH, resolved_device_ms, Status::Resolved);
    builder.build()
}

#[test]
fn a_late_offline_resolution_is_not_counted_late() {
    let brain = brain();
    // At 05:01Z the server has not heard of the resolution: the scheduler records a breach.
    let mut unsynced = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .priority_at_creation(Priority::Urgent)
        .assign("disp", "2026-03-09T01:02:00Z", Some(TECH))
        .status(TECH, "2026-03-09T01:10:00Z", Status::Accepted)
        .build();
    let times = EffectiveTimes::device_clocks();
    let due = brain.due_at(&unsynced, &times, ms("2026-03-09T05:01:00Z"));
    assert!(due.iter().any(|a| a.kind
        == TimedKind::SlaBreach {
            target: Target::Resolution,
            due: ms("2026-03-09T05:00:00Z")
        }));
    let decisions = brain.on_timer(&unsynced, &support_ctx(&times), ms("2026-03-09T05:01:00Z"));
    assert_eq!(
        decisions.sla.as_ref().map(|s| s.breaches.clone()),
        Some(vec!["resolution".to_owned()])
    );
    apply(&mut unsynced, &decisions, ms("2026-03-09T05:01:00Z"));

    // At 07:00Z the technician's phone syncs: resolved at 04:30Z on its clock (which the server
    // measured as right). The resolution is timed 04:30Z and the breach goes away.
    let device = ms("2026-03-09T04:30:00Z");
    let received = ms("2026-03-09T07:00:00Z");
    let ticket = resolved_offline(device);
    let mut times = EffectiveTimes::device_clocks();
    let previous = ms("2026-03-09T02:00:00Z");
    times.insert(
        TECH,
        device,
        effective_time(device, 0, Some(previous), received),
    );
    let sla = brain.sla(&ticket, &times, received).expect("policy");
    assert_eq!(
        iso_opt(sla.resolution.met_at).as_deref(),
        Some("2026-03-09T04:30:00Z")
    );
    assert!(!sla.resolution.breached);
    assert!(sla.fields().breaches.is_empty());
}

fn support_ctx(times: &EffectiveTimes) -> fieldwork_brain::Context<'_> {
    fieldwork_brain::Context {
        times,
        routing: ROUTING.get_or_init(Default::default),
        reporter_history: &[],
    }
}

static ROUTING: std::sync::OnceLock<fieldwork_brain::RoutingState> = std::sync::OnceLock::new();

#[test]
fn a_wrong_device_clock_is_corrected_or_clamped() {
    let brain = brain();
    let received = ms("2026-03-09T07:00:00Z");
    let previous = ms("2026-03-09T02:00:00Z");
    let year = 365 * 24 * 60 * 60_000_i64;
    let real = ms("2026-03-09T04:30:00Z");

    // A phone a year fast whose offset the server measured: corrected back to 04:30Z.
    let fast_device = real + year;
    let ticket = resolved_offline(fast_device);
    let mut times = EffectiveTimes::device_clocks();
    times.insert(
        TECH,
        fast_device,
        effective_time(fast_device, -year, Some(previous), received),
    );
    let sla = brain.sla(&ticket, &times, received).expect("policy");
    assert_eq!(
        iso_opt(sla.resolution.met_at).as_deref(),
        Some("2026-03-09T04:30:00Z")
    );
    assert!(!sla.resolution.breached);

    // The same phone before it ever measured an offset: the change cannot be dated after its
    // arrival, so it counts as resolved at 07:00Z — late.
    let mut times = EffectiveTimes::device_clocks();
    times.insert(
        TECH,
        fast_device,
        effective_time(fast_device, 0, Some(previous), received),
    );
    let sla = brain.sla(&ticket, &times, received).expect("policy");
    assert_eq!(
        iso_opt(sla.resolution.met_at).as_deref(),
        Some("2026-03-09T07:00:00Z")
    );
    assert!(sla.resolution.breached);

    // A phone stuck in 1970: never before the previous change (02:00Z).
    let slow_device = 0;
    let ticket = resolved_offline(slow_device);
    let mut times = EffectiveTimes::device_clocks();
    times.insert(
        TECH,
        slow_device,
        effective_time(slow_device, 0, Some(previous), received),
    );
    let sla = brain.sla(&ticket, &times, received).expect("policy");
    assert_eq!(
        iso_opt(sla.resolution.met_at).as_deref(),
        Some("2026-03-09T02:00:00Z")
    );

    // Without any server correction, device times are clamped to [creation, now].
    let sla = brain
        .sla(
            &resolved_offline(fast_device),
            &EffectiveTimes::device_clocks(),
            received,
        )
        .expect("policy");
    assert_eq!(
        iso_opt(sla.resolution.met_at).as_deref(),
        Some("2026-03-09T07:00:00Z")
    );
}

#[test]
fn berlin_hours_follow_daylight_saving_time() {
    // Friday 2026-03-27 16:00 CET; Berlin moves to CEST on Sunday the 29th.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-27T15:00:00Z")
        .category("berlin")
        .build();
    let sla = brain()
        .sla(
            &ticket,
            &EffectiveTimes::device_clocks(),
            ms("2026-03-27T15:00:00Z"),
        )
        .expect("policy");
    assert_eq!(sla.policy, "berlin");
    assert_eq!(
        iso_opt(sla.first_response.due).as_deref(),
        Some("2026-03-27T16:00:00Z")
    );
    // Friday 1 h, then Monday 09:00 CEST + 7 h = 16:00 CEST = 14:00Z (not 15:00Z).
    assert_eq!(
        iso_opt(sla.resolution.due).as_deref(),
        Some("2026-03-30T14:00:00Z")
    );
}

#[test]
fn what_counts_as_a_first_response() {
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    // Monday 09:00 local. An assignment, an internal note and the reporter's own note do not
    // count; the technician's public note at 10:30 local does.
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .assign("disp", "2026-03-09T01:05:00Z", Some(TECH))
        .note(TECH, Role::Technician, "2026-03-09T01:20:00Z", true)
        .note("rider.1", Role::Rider, "2026-03-09T01:40:00Z", false)
        .note(TECH, Role::Technician, "2026-03-09T02:30:00Z", false)
        .build();
    let sla = brain
        .sla(&ticket, &times, ms("2026-03-09T03:00:00Z"))
        .expect("policy");
    assert_eq!(
        iso_opt(sla.first_response.met_at).as_deref(),
        Some("2026-03-09T02:30:00Z")
    );
    assert_eq!(sla.first_response.taken_min, Some(90));
    assert_eq!(sla.first_response.diff_min, Some(30));

    // Acceptance after the target: late, by how much in business minutes (lunch excluded).
    let late = TicketBuilder::new("t2", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .assign("disp", "2026-03-09T01:05:00Z", Some(TECH))
        .status(TECH, "2026-03-09T05:30:00Z", Status::Accepted)
        .build();
    let sla = brain
        .sla(&late, &times, ms("2026-03-09T06:00:00Z"))
        .expect("policy");
    // 09:00-12:00 and 13:00-13:30 local: 210 minutes taken of 120.
    assert_eq!(sla.first_response.taken_min, Some(210));
    assert_eq!(sla.first_response.diff_min, Some(-90));
    assert!(sla.first_response.breached);
    assert_eq!(sla.fields().breaches, vec!["first_response".to_owned()]);
}

#[test]
fn warnings_breaches_and_escalation_levels_come_due_in_order_once() {
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    // Monday 2026-03-09 09:00 local, unanswered, in the pos-repair queue.
    let mut ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .team("pos-repair")
        .build();
    // First response due 11:00 local (03:00Z): warned at 10:00 local.
    assert_eq!(
        brain
            .next_check_at(&ticket, &times, ms("2026-03-09T01:00:00Z"))
            .map(iso)
            .as_deref(),
        Some("2026-03-09T02:00:00Z")
    );
    assert!(
        brain
            .due_at(&ticket, &times, ms("2026-03-09T01:59:00Z"))
            .is_empty()
    );

    // The scheduler was down until 14:30 local: the warning, the breach and level 1 (60
    // business minutes past due: 12:00 local, when the office breaks for lunch) are all due,
    // in that order.
    let now = ms("2026-03-09T06:30:00Z");
    let due = brain.due_at(&ticket, &times, now);
    let kinds: Vec<String> = due
        .iter()
        .map(|a| format!("{:?}@{}", a.kind, iso(a.at)))
        .collect();
    assert_eq!(
        kinds,
        vec![
            format!(
                "SlaWarning {{ target: FirstResponse, due: {} }}@2026-03-09T02:00:00Z",
                ms("2026-03-09T03:00:00Z")
            ),
            format!(
                "SlaBreach {{ target: FirstResponse, due: {} }}@2026-03-09T03:00:00Z",
                ms("2026-03-09T03:00:00Z")
            ),
            "SlaEscalation { target: FirstResponse, level: 1 }@2026-03-09T04:00:00Z".to_owned(),
        ]
    );
    let decisions = brain.on_timer(&ticket, &support_ctx(&times), now);
    let types = support::event_types(&decisions);
    // Then routing tries the queue again (the team has nobody in it yet).
    assert_eq!(
        types,
        vec!["sla_warning", "sla_breach", "sla_escalation", "queued"]
    );
    // Level 1 tells the team lead (so do the breach and, with nobody assigned, the warning).
    assert!(
        decisions
            .notifications
            .iter()
            .all(|n| n.recipient
                == fieldwork_brain::decisions::Recipient::User("chen.jie".to_owned()))
    );
    apply(&mut ticket, &decisions, now);
    // Recorded: nothing is due twice.
    assert!(brain.due_at(&ticket, &times, now).is_empty());
    let again = brain.on_timer(&ticket, &support_ctx(&times), now);
    assert!(again.events.is_empty(), "{again:?}");
}

#[test]
fn a_paused_ticket_schedules_nothing_in_the_future() {
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    let ticket = TicketBuilder::new("t1", TicketKind::Repair, "2026-03-09T01:00:00Z")
        .assign("disp", "2026-03-09T01:05:00Z", Some(TECH))
        .status(TECH, "2026-03-09T01:10:00Z", Status::Accepted)
        .status(TECH, "2026-03-09T01:20:00Z", Status::InProgress)
        .status(TECH, "2026-03-09T01:30:00Z", Status::AwaitingCustomer)
        .build();
    // Weeks later, still waiting on the customer: no breach, nothing scheduled.
    let now = ms("2026-04-01T00:00:00Z");
    assert!(brain.due_at(&ticket, &times, now).is_empty());
    assert_eq!(brain.next_check_at(&ticket, &times, now), None);
    let sla = brain.sla(&ticket, &times, now).expect("policy");
    assert!(sla.paused && !sla.resolution.breached);
}
