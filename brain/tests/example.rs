//! The shipped example, docs/examples/tenant.toml, validates and does what its comments say.

mod support;

use fieldwork_brain::decisions::Recipient;
use fieldwork_brain::rules::PastTicket;
use fieldwork_brain::{Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
use fieldwork_core::model::{Priority, Role, Status, TicketKind};
use support::{HOUR, TicketBuilder, apply, ms};

const EXAMPLE: &str = include_str!("../../docs/examples/tenant.toml");

/// Tuesday 2026-03-10 10:00 in Shanghai.
const MORNING: &str = "2026-03-10T02:00:00Z";

fn brain() -> Brain {
    Brain::new(TenantConfig::from_toml(EXAMPLE).expect("the example is valid"))
}

fn ctx<'a>(
    times: &'a EffectiveTimes,
    routing: &'a RoutingState,
    history: &'a [PastTicket],
) -> Context<'a> {
    Context {
        times,
        routing,
        reporter_history: history,
    }
}

#[test]
fn a_riders_accident_in_pudong_goes_to_the_pudong_operators_urgently() {
    let brain = brain();
    let ticket = TicketBuilder::new("r1", TicketKind::HelpRequest, MORNING)
        .priority_at_creation(Priority::High)
        .category("rider_help")
        .title("Help needed with order 88123456")
        .description("电动车摔倒了，腿受伤")
        .site(31.2196, 121.5510)
        .build();
    let (times, routing) = (EffectiveTimes::device_clocks(), RoutingState::default());
    let decisions = brain.on_new_ticket(&ticket, &ctx(&times, &routing, &[]), ms(MORNING));
    assert_eq!(decisions.fields.priority, Some(Priority::Urgent));
    assert_eq!(
        decisions.fields.team,
        Some(Some("rider-ops-pudong".to_owned()))
    );
    assert_eq!(decisions.fields.assignee, Some(Some("zhou.min".to_owned())));
    for tag in ["accident", "has_order"] {
        assert!(decisions.fields.add_tags.contains(&tag.to_owned()), "{tag}");
    }
    let sla = decisions.sla.expect("a policy");
    assert_eq!(sla.policy, "rider-help");
    assert_eq!(sla.first_response_due, Some(ms(MORNING) + 5 * 60_000));
}

#[test]
fn a_jammed_printer_goes_to_the_nearest_technician_with_the_skill() {
    let brain = brain();
    let ticket = TicketBuilder::new("f1", TicketKind::FaultReport, MORNING)
        .reporter("shop.7", Role::Merchant)
        .title("收银台小票打印机卡纸")
        .site(31.2196, 121.4737)
        .build();
    let (times, routing) = (EffectiveTimes::device_clocks(), RoutingState::default());
    let decisions = brain.on_new_ticket(&ticket, &ctx(&times, &routing, &[]), ms(MORNING));
    assert_eq!(decisions.fields.category.as_deref(), Some("pos_printer"));
    assert_eq!(decisions.fields.assignee, Some(Some("li.na".to_owned())));
    let routing = decisions.routing.expect("routed");
    assert_eq!(
        routing.reason,
        "nearest 1.2 km from home, skills printer, load 0/3"
    );
    let sla = decisions.sla.expect("a policy");
    assert_eq!(sla.policy, "standard");
    // 120 business minutes from 10:00 local: noon, when the office breaks for lunch.
    assert_eq!(sla.first_response_due, Some(ms("2026-03-10T04:00:00Z")));
}

#[test]
fn a_fire_is_urgent_and_on_the_24x7_clock() {
    let brain = brain();
    let ticket = TicketBuilder::new("f2", TicketKind::FaultReport, MORNING)
        .reporter("shop.7", Role::Merchant)
        .title("POS机冒烟了")
        .site(31.2196, 121.4737)
        .build();
    let (times, routing) = (EffectiveTimes::device_clocks(), RoutingState::default());
    let decisions = brain.on_new_ticket(&ticket, &ctx(&times, &routing, &[]), ms(MORNING));
    assert_eq!(decisions.fields.priority, Some(Priority::Urgent));
    assert_eq!(decisions.sla.map(|s| s.policy).as_deref(), Some("urgent"));
}

#[test]
fn the_third_report_in_a_day_is_urgent() {
    let brain = brain();
    let now = ms(MORNING);
    let history = [
        PastTicket {
            id: "a".to_owned(),
            category: Some("pos_printer".to_owned()),
            created: now - 5 * HOUR,
        },
        PastTicket {
            id: "b".to_owned(),
            category: Some("pos_printer".to_owned()),
            created: now - 2 * HOUR,
        },
    ];
    let ticket = TicketBuilder::new("f3", TicketKind::FaultReport, MORNING)
        .reporter("shop.7", Role::Merchant)
        .title("printer jammed again")
        .site(31.2196, 121.4737)
        .build();
    let (times, routing) = (EffectiveTimes::device_clocks(), RoutingState::default());
    let decisions = brain.on_new_ticket(&ticket, &ctx(&times, &routing, &history), now);
    assert_eq!(decisions.fields.priority, Some(Priority::Urgent));
    assert!(
        decisions
            .fields
            .add_tags
            .contains(&"repeat_reporter".to_owned())
    );
    assert!(
        decisions
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::User("chen.jie".to_owned()))
    );
}

#[test]
fn a_complaint_stuck_in_the_queue_warns_then_escalates() {
    let brain = brain();
    let times = EffectiveTimes::device_clocks();
    let mut routing = RoutingState::default();
    routing.open_tickets.insert("lin.fang".to_owned(), 20);
    routing.open_tickets.insert("xu.ping".to_owned(), 20);
    let start = ms(MORNING);
    let mut ticket = TicketBuilder::new("c1", TicketKind::Complaint, MORNING)
        .reporter("shop.7", Role::Merchant)
        .title("Courier was rude")
        .build();
    let created = brain.on_new_ticket(&ticket, &ctx(&times, &routing, &[]), start);
    assert_eq!(created.fields.assignee, None);
    assert_eq!(created.fields.team, Some(Some("customer-care".to_owned())));
    apply(&mut ticket, &created, start);

    let day = brain.on_timer(&ticket, &ctx(&times, &routing, &[]), start + 24 * HOUR);
    assert_eq!(day.fields.priority, Some(Priority::High));
    assert!(
        day.notifications
            .iter()
            .any(|n| n.recipient == Recipient::User("lin.fang".to_owned()))
    );
    apply(&mut ticket, &day, start + 24 * HOUR);

    let two = brain.on_timer(&ticket, &ctx(&times, &routing, &[]), start + 48 * HOUR);
    assert!(
        two.notifications
            .iter()
            .any(|n| n.recipient == Recipient::Role(Role::Supervisor))
    );
    assert_eq!(two.webhooks.len(), 1);
}

#[test]
fn resolved_tickets_close_after_three_days_and_waiting_customers_are_chased() {
    let brain = brain();
    let (times, routing) = (EffectiveTimes::device_clocks(), RoutingState::default());
    let worked = TicketBuilder::new("f4", TicketKind::Repair, MORNING)
        .category("pos_printer")
        .assign("dispatcher.1", "2026-03-10T02:01:00Z", Some("li.na"))
        .status("li.na", "2026-03-10T02:10:00Z", Status::Accepted)
        .status("li.na", "2026-03-10T02:30:00Z", Status::InProgress);
    let resolved = TicketBuilder {
        ticket: worked.ticket.clone(),
    }
    .status("li.na", "2026-03-10T04:00:00Z", Status::Resolved)
    .build();
    let closed = brain.on_timer(
        &resolved,
        &ctx(&times, &routing, &[]),
        ms("2026-03-13T04:00:00Z"),
    );
    assert_eq!(closed.fields.status, Some(Status::Closed));

    // Waiting on the customer from Tuesday 11:00 local: eight office hours later (lunch
    // excluded), Wednesday 11:00 local, the assignee is reminded.
    let waiting = worked
        .status("li.na", "2026-03-10T03:00:00Z", Status::AwaitingCustomer)
        .build();
    let reminder = brain
        .due_at(&waiting, &times, ms("2026-03-12T00:00:00Z"))
        .into_iter()
        .find(|a| a.source == "awaiting-customer-reminder")
        .expect("due");
    assert_eq!(support::iso(reminder.at), "2026-03-11T03:00:00Z");
}
