//! The brain's decisions written into real ticket documents (`fieldwork_brain::write`): the
//! routing, the SLA and the classification land in the public document, the brain's reasons and
//! internal notes in the staff document, all in the name of `fieldwork:brain`; and the brain,
//! reading the ticket back, does not decide the same things again.

use fieldwork_brain::write::{brain_author, write};
use fieldwork_brain::{BRAIN_ACTOR, Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
use fieldwork_core::location::LocationFix;
use fieldwork_core::model::{Actor, Part, Role, Status};
use fieldwork_core::ticket::{ActorId, NewTicket, TicketDocument};

const CONFIG: &str = r#"
[[teams]]
name = "rider-ops"
kinds = ["help_request"]
chooser = "least_loaded"

[[technicians]]
user = "zhou.min"
team = "rider-ops"

[[sla_policies]]
name = "riders"
match = { kind = ["help_request"] }
first_response_minutes = 10
resolution_minutes = 60
warn_before_minutes = 5

[[rules]]
name = "flag help"
on = "create"
all = [{ field = "kind", is = "help_request" }]
actions = { note = "check the rider's order first", add_tags = ["rider"] }
"#;

/// 2026-03-10 10:00 in Shanghai.
const T0: i64 = 1_773_108_000_000;

fn rider() -> Actor {
    Actor {
        tenant: "acme".into(),
        user_id: "rider-7".into(),
        role: Role::Rider,
        name: None,
        team: None,
    }
}

#[test]
fn decisions_land_in_the_two_documents_and_are_not_made_twice() {
    let brain = Brain::new(TenantConfig::from_toml(CONFIG).expect("valid"));
    let fix = LocationFix {
        lat: 31.2196,
        lon: 121.4737,
        accuracy_m: Some(10.0),
        at: None,
    };
    let mut public = TicketDocument::create(
        "t1",
        &rider(),
        &NewTicket::help_request(None, Some(fix), Some("chain snapped".into())),
        ActorId::random(),
        T0,
    )
    .expect("creates");
    let server = ActorId::random();
    let mut staff = TicketDocument::staff(server.clone());
    let times = EffectiveTimes::device_clocks();
    let routing = RoutingState::default();
    let ctx = Context {
        times: &times,
        routing: &routing,
        reporter_history: &[],
    };
    let now = T0 + 1_000;
    let ticket = public.view().expect("view");
    let decisions = brain.on_new_ticket(&ticket, &ctx, now);
    let written = write(
        &decisions,
        &ticket,
        &mut public,
        &mut staff,
        &server,
        "acme",
        now,
    )
    .expect("writes");
    let (public_change, staff_change) = (
        written.public.expect("a public change"),
        written.staff.expect("a staff change"),
    );
    assert_eq!(public_change.actor_id(), &server);
    assert_eq!(staff_change.actor_id(), &server);

    let view = public
        .view()
        .expect("view")
        .with_staff(staff.staff_view().expect("staff view"));
    assert_eq!(view.team.as_deref(), Some("rider-ops"));
    assert_eq!(view.assignee.as_deref(), Some("zhou.min"));
    assert_eq!(view.status, Status::Assigned);
    let sla = view.sla.as_ref().expect("an SLA");
    assert_eq!(sla.policy.as_deref(), Some("riders"));
    assert_eq!(sla.first_response_due, Some(T0 + 10 * 60_000));
    assert_eq!(sla.resolution_due, Some(T0 + 60 * 60_000));
    assert_eq!(view.tags, ["rider"]);
    let note = view
        .notes
        .iter()
        .find(|n| n.internal)
        .expect("the rule's note");
    assert_eq!(
        (note.text.as_str(), note.author.as_str()),
        ("check the rider's order first", BRAIN_ACTOR)
    );
    // The brain's reasons are staff data, by the brain; the assignment is on the public record.
    let staff_events = staff.staff_view().expect("staff view").events;
    assert!(
        staff_events.iter().any(|e| e.kind == "routed"),
        "{staff_events:?}"
    );
    assert!(staff_events.iter().all(|e| e.by == BRAIN_ACTOR));
    let public_events = public.view().expect("view").events;
    assert!(
        public_events
            .iter()
            .any(|e| e.kind == "assigned" && e.by == BRAIN_ACTOR)
    );
    assert!(public_events.iter().all(|e| e.kind != "routed"));

    // Read back, nothing is decided again: not the routing, not the rule, not the SLA.
    let again = brain.on_timer(&view, &ctx, now + 1_000);
    assert!(!again.changes_ticket(), "{again:?}");
    let rewritten = write(
        &again,
        &view,
        &mut public,
        &mut staff,
        &server,
        "acme",
        now + 1_000,
    )
    .expect("writes");
    assert!(rewritten.public.is_none() && rewritten.staff.is_none());
    assert_eq!(brain_author("acme").user_id, BRAIN_ACTOR);
    assert_eq!(staff.part(), Part::Staff);
}
