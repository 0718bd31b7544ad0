//! Automation rules, each kind: create and update triggers on fields, changes and keywords,
//! time rules since creation, status entry and resolution, `once` rules, a rule set that would
//! loop forever and does not, and a person's decision that rules leave alone.

mod support;

use fieldwork_brain::decisions::Recipient;
use fieldwork_brain::rules::PastTicket;
use fieldwork_brain::{Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
use fieldwork_core::model::{Priority, Role, Status, TicketKind};
use support::{HOUR, MINUTE, TicketBuilder, apply, event_types, ms};

const CONFIG: &str = r#"
[[calendars]]
name = "office"
time_zone = "Asia/Shanghai"
hours = { mon = "09:00-18:00", tue = "09:00-18:00", wed = "09:00-18:00", thu = "09:00-18:00", fri = "09:00-18:00" }

[[teams]]
name = "care"
kinds = ["complaint", "inquiry"]
lead = "lin.fang"

[[technicians]]
user = "xu.ping"
team = "care"
capacity = 1

[[rules]]
name = "repeat-reporter"
on = "create"
all = [{ field = "category", present = true }, { reporter_reports = 3, within_hours = 24 }]
actions = { priority = "urgent", add_tags = ["repeat_reporter"], note = "Third report within 24 hours.", notify = ["team_lead"] }

[[rules]]
name = "complaint-words"
on = "create"
any = [{ keywords_any = ["投诉", "complaint", "refund"] }]
actions = { add_tags = ["unhappy"] }

[[rules]]
name = "resolved-tells-lead"
on = "update"
all = [{ changed = "status", to = "resolved" }]
actions = { notify = ["team_lead"], webhook = "https://hooks.example.com/resolved" }

[[rules]]
name = "urgent-complaint"
on = ["create", "update"]
once = true
all = [{ field = "kind", is = "complaint" }, { field = "priority", at_least = "urgent" }]
actions = { notify = ["role:supervisor"] }

[[rules]]
name = "queue-24h"
on = "time"
after = { since = "status_entered", hours = 24 }
all = [{ field = "status", is = "new" }, { field = "team", present = true }]
actions = { raise_priority = true, notify = ["team_lead"], note = "Waiting in the queue for 24 hours." }

[[rules]]
name = "queue-48h"
on = "time"
after = { since = "status_entered", hours = 48 }
all = [{ field = "status", is = "new" }, { field = "team", present = true }]
actions = { notify = ["role:supervisor"], webhook = "https://hooks.example.com/queue" }

[[rules]]
name = "auto-close"
on = "time"
after = { since = "resolved", days = 3 }
all = [{ field = "status", is = "resolved" }]
actions = { status = "closed", note = "Closed automatically." }

[[rules]]
name = "customer-reminder"
on = "time"
after = { since = "status_entered", minutes = 480, calendar = "office" }
all = [{ field = "status", is = "awaiting_customer" }]
actions = { notify = ["assignee"], message = "Call the customer." }

[[rules]]
name = "three-days-old"
on = "time"
after = { since = "created", days = 3 }
all = [{ field = "status", not_in = ["resolved", "closed", "cancelled"] }]
actions = { add_tags = ["old"] }
"#;

fn brain() -> Brain {
    Brain::new(TenantConfig::from_toml(CONFIG).expect("the test configuration is valid"))
}

/// Monday 2026-03-09 10:00 in Shanghai.
const T0: &str = "2026-03-09T02:00:00Z";

struct World {
    times: EffectiveTimes,
    routing: RoutingState,
    history: Vec<PastTicket>,
}

impl World {
    fn new() -> Self {
        let mut routing = RoutingState::default();
        // Xu Ping is busy: complaints wait in the queue.
        routing.open_tickets.insert("xu.ping".to_owned(), 1);
        World {
            times: EffectiveTimes::device_clocks(),
            routing,
            history: Vec::new(),
        }
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            times: &self.times,
            routing: &self.routing,
            reporter_history: &self.history,
        }
    }
}

fn complaint(id: &str, at: &str) -> TicketBuilder {
    TicketBuilder::new(id, TicketKind::Complaint, at)
        .reporter("shop.7", Role::Merchant)
        .category("late_delivery")
}

fn past(id: &str, category: &str, at: i64) -> PastTicket {
    PastTicket {
        id: id.to_owned(),
        category: Some(category.to_owned()),
        created: at,
    }
}

#[test]
fn the_third_report_of_a_category_within_a_day_is_urgent() {
    let brain = brain();
    let mut world = World::new();
    let now = ms(T0);
    world.history = vec![
        past("a", "late_delivery", now - 20 * HOUR),
        past("b", "late_delivery", now - HOUR),
    ];
    let ticket = complaint("c", T0).build();
    let decisions = brain.on_new_ticket(&ticket, &world.ctx(), now);
    assert_eq!(decisions.fields.priority, Some(Priority::Urgent));
    assert!(
        decisions
            .fields
            .add_tags
            .contains(&"repeat_reporter".to_owned())
    );
    assert_eq!(
        decisions.notes,
        vec!["Third report within 24 hours.".to_owned()]
    );
    let fired = decisions
        .events
        .iter()
        .find(|e| e.data.get("rule").map(String::as_str) == Some("repeat-reporter"));
    let reason = &fired.expect("the rule fired").data["reason"];
    assert_eq!(
        reason,
        "category set; 3 reports of late_delivery by the reporter within 24 h"
    );
    // The urgent complaint now copies the supervisors: a later rule reacting to an earlier one.
    assert!(
        decisions
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::Role(Role::Supervisor))
    );
    assert!(
        decisions
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::User("lin.fang".to_owned()))
    );

    // One report 25 hours ago does not count, nor one of another category.
    world.history = vec![
        past("a", "late_delivery", now - 25 * HOUR),
        past("b", "broken_item", now - HOUR),
    ];
    let decisions = brain.on_new_ticket(&ticket, &world.ctx(), now);
    assert_eq!(decisions.fields.priority, None);
}

#[test]
fn keywords_in_chinese_and_english_trigger() {
    let brain = brain();
    let world = World::new();
    for title in [
        "我要投诉配送员",
        "Complaint about my order",
        "I want a REFUND",
    ] {
        let ticket = complaint("c", T0).title(title).build();
        let decisions = brain.on_new_ticket(&ticket, &world.ctx(), ms(T0));
        assert_eq!(
            decisions.fields.add_tags,
            vec!["unhappy".to_owned()],
            "{title}"
        );
    }
    let calm = complaint("c", T0).title("Where is my order?").build();
    assert!(
        brain
            .on_new_ticket(&calm, &world.ctx(), ms(T0))
            .fields
            .add_tags
            .is_empty()
    );
}

#[test]
fn an_update_trigger_fires_on_the_change_only() {
    let brain = brain();
    let world = World::new();
    let ticket = complaint("c", T0)
        .team("care")
        .assign("disp", "2026-03-09T02:01:00Z", Some("xu.ping"))
        .status("xu.ping", "2026-03-09T02:02:00Z", Status::Accepted)
        .status("xu.ping", "2026-03-09T02:03:00Z", Status::InProgress);
    let before = ticket.ticket.clone();
    let resolved = ticket
        .status("xu.ping", "2026-03-09T03:00:00Z", Status::Resolved)
        .build();
    let decisions = brain.on_update(&before, &resolved, &world.ctx(), ms("2026-03-09T03:00:00Z"));
    assert_eq!(event_types(&decisions), vec!["rule_fired"]);
    assert_eq!(decisions.webhooks.len(), 1);
    let payload = &decisions.webhooks[0].payload;
    assert_eq!(payload["event"], "rule");
    assert_eq!(payload["source"], "resolved-tells-lead");
    assert_eq!(payload["ticket"]["id"], "c");
    assert_eq!(payload["ticket"]["status"], "resolved");
    // Nothing personal travels in a webhook.
    let text = payload.to_string();
    assert!(
        !text.contains("shop.7") && !text.contains("reporter"),
        "{text}"
    );

    // Another update of the resolved ticket (a note) does not fire it again.
    let noted = TicketBuilder {
        ticket: resolved.clone(),
    }
    .note("xu.ping", Role::Technician, "2026-03-09T03:05:00Z", true)
    .build();
    let decisions = brain.on_update(&resolved, &noted, &world.ctx(), ms("2026-03-09T03:05:00Z"));
    assert!(decisions.events.is_empty(), "{decisions:?}");
}

#[test]
fn a_once_rule_fires_once_per_ticket() {
    let brain = brain();
    let world = World::new();
    let mut ticket = complaint("c", T0)
        .priority_at_creation(Priority::Urgent)
        .build();
    let created = brain.on_new_ticket(&ticket, &world.ctx(), ms(T0));
    assert!(
        created
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::Role(Role::Supervisor))
    );
    apply(&mut ticket, &created, ms(T0));
    let before = ticket.clone();
    let after = TicketBuilder { ticket }
        .note("lin.fang", Role::Agent, "2026-03-09T02:10:00Z", false)
        .build();
    let decisions = brain.on_update(&before, &after, &world.ctx(), ms("2026-03-09T02:10:00Z"));
    assert!(
        !decisions
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::Role(Role::Supervisor))
    );
}

#[test]
fn a_ticket_waiting_in_a_queue_warns_the_lead_then_tells_the_supervisor() {
    let brain = brain();
    let world = World::new();
    let mut ticket = complaint("c", T0).build();
    let created = brain.on_new_ticket(&ticket, &world.ctx(), ms(T0));
    assert_eq!(
        created.fields.team,
        Some(Some("care".to_owned())),
        "queued in care"
    );
    apply(&mut ticket, &created, ms(T0));
    let start = ms(T0);
    assert_eq!(
        brain.next_check_at(&ticket, &world.times, start),
        Some(start + 24 * HOUR)
    );

    let day = brain.on_timer(&ticket, &world.ctx(), start + 24 * HOUR);
    assert_eq!(day.fields.priority, Some(Priority::High));
    assert_eq!(
        day.notes,
        vec!["Waiting in the queue for 24 hours.".to_owned()]
    );
    assert_eq!(
        day.notifications[0].recipient,
        Recipient::User("lin.fang".to_owned())
    );
    assert!(day.webhooks.is_empty());
    apply(&mut ticket, &day, start + 24 * HOUR);
    assert!(
        brain
            .on_timer(&ticket, &world.ctx(), start + 30 * HOUR)
            .events
            .is_empty()
    );

    let two_days = brain.on_timer(&ticket, &world.ctx(), start + 48 * HOUR);
    assert!(
        two_days
            .notifications
            .iter()
            .any(|n| n.recipient == Recipient::Role(Role::Supervisor))
    );
    assert_eq!(two_days.webhooks[0].url, "https://hooks.example.com/queue");
    assert_eq!(two_days.fields.priority, None, "raised once, at 24 hours");
}

#[test]
fn a_resolved_ticket_closes_after_three_days_unless_reopened() {
    let brain = brain();
    let world = World::new();
    let resolved_at = "2026-03-09T06:00:00Z";
    let ticket = complaint("c", T0)
        .team("care")
        .assign("disp", "2026-03-09T02:01:00Z", Some("xu.ping"))
        .status("xu.ping", "2026-03-09T02:02:00Z", Status::Accepted)
        .status("xu.ping", "2026-03-09T02:03:00Z", Status::InProgress)
        .status("xu.ping", resolved_at, Status::Resolved);
    let resolved = ticket.ticket.clone();
    let three_days = ms(resolved_at) + 72 * HOUR;
    assert!(
        brain
            .on_timer(&resolved, &world.ctx(), three_days - MINUTE)
            .fields
            .status
            .is_none()
    );
    let decisions = brain.on_timer(&resolved, &world.ctx(), three_days);
    assert_eq!(decisions.fields.status, Some(Status::Closed));
    assert_eq!(decisions.notes, vec!["Closed automatically.".to_owned()]);

    // Reopened by the merchant on day two: no automatic close on day three.
    let reopened = ticket
        .status("shop.7", "2026-03-11T06:00:00Z", Status::Reopened)
        .build();
    let decisions = brain.on_timer(&reopened, &world.ctx(), three_days);
    assert!(decisions.fields.status.is_none());
    // Resolved again: the three days count from the new resolution.
    let again = TicketBuilder { ticket: reopened }
        .status("xu.ping", "2026-03-11T07:00:00Z", Status::InProgress)
        .status("xu.ping", "2026-03-11T08:00:00Z", Status::Resolved)
        .build();
    assert!(
        brain
            .on_timer(&again, &world.ctx(), three_days)
            .fields
            .status
            .is_none()
    );
    let later = brain.on_timer(&again, &world.ctx(), ms("2026-03-14T08:00:00Z"));
    assert_eq!(later.fields.status, Some(Status::Closed));
}

#[test]
fn a_ticket_awaiting_the_customer_reminds_its_assignee_after_a_working_day() {
    let brain = brain();
    let world = World::new();
    // Waiting from Friday 2026-03-13 14:00 local: 4 hours Friday, 4 more on Monday → 13:00.
    let ticket = complaint("c", T0)
        .team("care")
        .assign("disp", "2026-03-09T02:01:00Z", Some("xu.ping"))
        .status("xu.ping", "2026-03-09T02:02:00Z", Status::Accepted)
        .status("xu.ping", "2026-03-09T02:03:00Z", Status::InProgress)
        .status("xu.ping", "2026-03-13T06:00:00Z", Status::AwaitingCustomer)
        .build();
    let due = brain
        .due_at(&ticket, &world.times, ms("2026-03-20T00:00:00Z"))
        .into_iter()
        .find(|a| a.source == "customer-reminder")
        .expect("the reminder is due by then");
    assert_eq!(support::iso(due.at), "2026-03-16T05:00:00Z");
    let decisions = brain.on_timer(&ticket, &world.ctx(), due.at);
    let reminder = decisions
        .notifications
        .iter()
        .find(|n| n.source == "customer-reminder")
        .expect("reminded");
    assert_eq!(reminder.recipient, Recipient::User("xu.ping".to_owned()));
    assert_eq!(reminder.message, "Call the customer.");
}

#[test]
fn a_time_rule_counts_from_creation() {
    let brain = brain();
    let world = World::new();
    let ticket = complaint("c", T0)
        .team("care")
        .assign("disp", T0, Some("xu.ping"))
        .build();
    let decisions = brain.on_timer(&ticket, &world.ctx(), ms(T0) + 72 * HOUR);
    assert_eq!(decisions.fields.add_tags, vec!["old".to_owned()]);
}

#[test]
fn a_rule_set_that_would_loop_stops() {
    // A undoes B and B undoes A: each fires once per change, then the chain ends.
    let config = r#"
[[rules]]
name = "a"
on = "update"
all = [{ changed = "category", to = "x" }]
actions = { category = "y" }

[[rules]]
name = "b"
on = "update"
all = [{ changed = "category", to = "y" }]
actions = { category = "x" }

[[rules]]
name = "c"
on = "update"
all = [{ field = "category", in = ["x", "y"] }]
actions = { raise_priority = true }
"#;
    let brain = Brain::new(TenantConfig::from_toml(config).expect("valid"));
    let world = World::new();
    let before = complaint("t", T0).build();
    let mut after = before.clone();
    after.category = Some("x".to_owned());
    let decisions = brain.on_update(&before, &after, &world.ctx(), ms(T0));
    let fired: Vec<&str> = decisions
        .events
        .iter()
        .filter(|e| e.kind == "rule_fired")
        .map(|e| e.data["rule"].as_str())
        .collect();
    assert_eq!(fired, vec!["a", "b", "c"]);
    assert_eq!(
        decisions.fields.category, None,
        "back to x: the person's value"
    );
    assert_eq!(
        decisions.fields.priority,
        Some(Priority::High),
        "raised once"
    );

    // 200 rules that each bump the priority when it changed: at most one firing each.
    let mut many = String::new();
    for i in 0..200 {
        many.push_str(&format!(
            "[[rules]]\nname = \"r{i}\"\non = \"update\"\nall = [{{ changed = \"tags\" }}]\nactions = {{ add_tags = [\"t{i}\"] }}\n"
        ));
    }
    let brain = Brain::new(TenantConfig::from_toml(&many).expect("valid"));
    let mut after = before.clone();
    after.tags.push("start".to_owned());
    let decisions = brain.on_update(&before, &after, &world.ctx(), ms(T0));
    assert_eq!(decisions.events.len(), 200);
    assert_eq!(decisions.fields.add_tags.len(), 200);
}

#[test]
fn rules_leave_a_priority_set_by_a_person_alone() {
    let config = r#"
[[rules]]
name = "refunds-are-high"
on = "update"
all = [{ field = "tags", has = "refund" }]
actions = { priority = "high" }
"#;
    let brain = Brain::new(TenantConfig::from_toml(config).expect("valid"));
    let world = World::new();
    let ticket = complaint("t", T0).priority("disp", "2026-03-09T02:01:00Z", Priority::Low);
    let before = ticket.ticket.clone();
    let mut after = ticket.build();
    after.tags.push("refund".to_owned());
    let decisions = brain.on_update(&before, &after, &world.ctx(), ms("2026-03-09T02:02:00Z"));
    assert_eq!(decisions.fields.priority, None);
    assert_eq!(
        decisions.skipped[0].reason,
        "priority kept: a person decided it"
    );
}
