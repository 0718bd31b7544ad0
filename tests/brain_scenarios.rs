//! The service brain through the binary and a real `fieldwork serve`: a tenant applies a
//! configuration, a rider's help request made offline syncs, is routed to an operator of the
//! team and gets its due times; the operator's device sees all of it after a sync; a
//! dispatcher's reassignment stands; an update rule reacts to what a person changed. A help
//! request that arrives late records its breach and escalation. A restart (SIGTERM, as an
//! operator stops it) keeps what the brain remembers: a round robin goes on where it was, and
//! the next change is compared with the ticket as the brain left it. Notifications reach the
//! tenant's push gateway, a receiver on loopback.

mod common;

use std::net::TcpListener;

use common::receiver::receive;
use common::{Org, eventually, id_of};
use serde_json::Value;

const CONFIG: &str = r#"
[[teams]]
name = "rider-ops"
kinds = ["help_request"]
chooser = "least_loaded"

[[technicians]]
user = "zhou.min"
team = "rider-ops"

[[technicians]]
user = "sun.li"
team = "rider-ops"

[[sla_policies]]
name = "riders"
match = { kind = ["help_request"] }
first_response_minutes = 10
resolution_minutes = 60

[[rules]]
name = "check the order"
on = "create"
all = [{ field = "kind", is = "help_request" }]
actions = { note = "check the rider's order before calling", add_tags = ["rider"] }

[[rules]]
name = "urgent by hand"
on = "update"
all = [{ changed = "priority", to = "urgent" }]
actions = { note = "a person made this urgent: call the rider now" }
"#;

#[test]
fn a_help_request_is_routed_and_timed_and_a_dispatchers_reassignment_stands() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, desk) = org.member("dispatcher", "ops", None);
    let (zhou, zhou_phone) = org.member("agent", "zhou.min", None);
    let (sun, _) = org.member("agent", "sun.li", None);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, CONFIG).expect("writes");
    let applied = org.server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        file.to_str().expect("path"),
    ]);
    assert_eq!(applied["version"], 1);

    // Offline on the street, then a sync.
    let id = id_of(&rider.json(&[
        "help",
        "--lat",
        "31.2196",
        "--lon",
        "121.4737",
        "--note",
        "chain snapped",
    ]));
    rider.sync();
    let mut ticket = serde_json::Value::Null;
    eventually("the brain routes the help request", || {
        desk.sync();
        ticket = desk.show(&id);
        ticket["assignee"].is_string()
    });
    assert_eq!(ticket["team"], "rider-ops");
    let assignee = ticket["assignee"].as_str().expect("assignee").to_owned();
    assert!(assignee == zhou || assignee == sun, "{assignee}");
    assert_eq!(ticket["status"], "assigned");
    let sla = &ticket["sla"];
    assert_eq!(sla["policy"], "riders");
    let created = ticket["created_at"].as_i64().expect("created_at");
    assert_eq!(sla["first_response_due"], created + 10 * 60_000);
    assert_eq!(sla["resolution_due"], created + 60 * 60_000);
    assert_eq!(ticket["tags"], serde_json::json!(["rider"]));
    let brain_note = ticket["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .find(|n| n["internal"] == true)
        .expect("the rule's internal note");
    assert_eq!(brain_note["author"], "fieldwork:brain");
    assert!(
        ticket["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["type"] == "routed" && e["by"] == "fieldwork:brain"),
        "the reason is on the record: {}",
        ticket["events"]
    );

    // The operator it went to sees it, offline after one sync.
    if assignee == zhou {
        zhou_phone.sync();
        let on_phone = zhou_phone.show(&id);
        assert_eq!(on_phone["assignee"], zhou.as_str());
        assert_eq!(on_phone["sla"]["policy"], "riders");
    }
    // The rider sees the due times, and none of the staff's words.
    rider.sync();
    let on_rider = rider.show(&id);
    assert_eq!(on_rider["sla"]["policy"], "riders");
    assert!(
        on_rider["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .all(|n| n["internal"] != true)
    );

    // A dispatcher gives it to the other operator; later changes do not make the brain undo it.
    let other = if assignee == zhou { &sun } else { &zhou };
    desk.json(&["update", &id, "--assignee", other]);
    desk.sync();
    rider.json(&["note", &id, "still waiting at the corner"]);
    rider.sync();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    desk.sync();
    assert_eq!(
        desk.show(&id)["assignee"],
        other.as_str(),
        "a person's decision stands"
    );

    // An update rule: the dispatcher makes it urgent, the brain adds its note.
    desk.json(&["update", &id, "--priority", "urgent"]);
    desk.sync();
    eventually("the update rule fires", || {
        desk.sync();
        desk.show(&id)["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n["text"] == "a person made this urgent: call the rider now")
    });
    let events = desk.show(&id)["events"].clone();
    let fired: Vec<_> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "rule_fired" && e["data"]["rule"] == "urgent by hand")
        .collect();
    assert_eq!(fired.len(), 1, "once: {events}");
}

/// The configuration of the restart test: three technicians in a round robin, an update rule
/// that notifies the team lead and the supervisors, and a push gateway at `push`.
fn round_robin_config(push: &str) -> String {
    format!(
        r#"
[notifications]
webhook = "{push}"

[[teams]]
name = "field"
kinds = ["repair"]
chooser = "round_robin"
lead = "lead"

[[technicians]]
user = "t.one"
team = "field"

[[technicians]]
user = "t.two"
team = "field"

[[technicians]]
user = "t.three"
team = "field"

[[rules]]
name = "urgent by hand"
on = "update"
all = [{{ changed = "priority", to = "urgent" }}]
actions = {{ note = "a person made this urgent", notify = ["team_lead", "role:supervisor"], message = "An urgent repair" }}
"#
    )
}

fn assignee_of(ticket: &Value) -> Option<String> {
    ticket["assignee"].as_str().map(str::to_owned)
}

#[test]
fn a_restart_keeps_the_round_robin_and_what_the_brain_saw_and_people_are_notified() {
    let mut org = Org::new();
    let (_, desk) = org.member("dispatcher", "ops", None);
    let techs: Vec<String> = ["t.one", "t.two", "t.three"]
        .iter()
        .map(|name| org.member("technician", name, None).0)
        .collect();
    let (lead, _) = org.member("dispatcher", "lead", None);
    let (boss, _) = org.member("supervisor", "boss", None);
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let push = format!("http://{}/push", listener.local_addr().expect("address"));
    let got = receive(listener);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, round_robin_config(&push)).expect("writes");
    org.server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        file.to_str().expect("path"),
    ]);

    let routed = |title: &str| -> (String, String) {
        let id = id_of(&desk.json(&["create", "--title", title, "--kind", "repair"]));
        desk.sync();
        let mut assignee = None;
        eventually("the brain routes the repair", || {
            desk.sync();
            assignee = assignee_of(&desk.show(&id));
            assignee.is_some()
        });
        (id, assignee.expect("assigned"))
    };
    let (first, to_first) = routed("Freezer warm");
    let (_, to_second) = routed("Oven door");
    assert_eq!([&to_first, &to_second], [&techs[0], &techs[1]], "in turn");

    // The operator restarts the server; the round robin goes on with the third technician.
    org.server.restart_gracefully();
    // The device keeps its server URL: the server comes back on the same port.
    let (_, to_third) = routed("Till jammed");
    assert_eq!(to_third, techs[2], "the turns survived the restart");

    // A change after the restart is compared with the ticket as the brain left it: the update
    // rule sees the priority change, and notifies the team lead and the supervisor.
    desk.json(&["update", &first, "--priority", "urgent"]);
    desk.sync();
    eventually("the update rule fires after the restart", || {
        desk.sync();
        common::note_texts(&desk.show(&first)).contains(&"a person made this urgent".to_owned())
    });
    eventually("the push gateway gets the notification", || {
        !got.lock().expect("lock").is_empty()
    });
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "one delivery for the rule: {received:?}");
    let body: Value = serde_json::from_str(&received[0].body).expect("JSON");
    assert_eq!(body["event"], "notification");
    assert_eq!(body["source"], "urgent by hand");
    assert_eq!(body["message"], "An urgent repair");
    assert_eq!(body["ticket"]["id"], first.as_str());
    let mut to: Vec<(String, String)> = body["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_owned(),
                r["user_id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    to.sort();
    assert_eq!(
        to,
        [("boss".to_owned(), boss), ("lead".to_owned(), lead)],
        "the team lead and every supervisor"
    );
    assert!(
        received[0].headers.contains_key("fieldwork-signature"),
        "signed like every delivery"
    );
    assert!(
        !received[0].body.contains("Freezer"),
        "no ticket text in a notification"
    );
}

/// A help request that waited offline past its first-response target: the brain records the
/// breach and runs the escalation on its first look, and a receiver on loopback gets the
/// escalation's webhook.
#[test]
fn a_late_help_request_records_its_breach_and_escalation() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, desk) = org.member("dispatcher", "ops", None);
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let hook = format!(
        "http://{}/escalations",
        listener.local_addr().expect("address")
    );
    let got = receive(listener);
    let config = format!(
        r#"
[[sla_policies]]
name = "riders"
match = {{ kind = ["help_request"] }}
first_response_minutes = 1
resolution_minutes = 60

  [[sla_policies.escalate]]
  after_minutes = 0
  targets = ["first_response"]
  actions = {{ raise_priority = true, note = "nobody answered the rider within a minute", webhook = "{hook}" }}
"#
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, config).expect("writes");
    org.server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        file.to_str().expect("path"),
    ]);

    // Made offline, synced a minute later: late the moment it arrives.
    let made = rider.json(&["help", "--lat", "31.2196", "--lon", "121.4737"]);
    let id = id_of(&made);
    let raised = match made["priority"].as_str() {
        Some("low") => "normal",
        Some("normal") => "high",
        _ => "urgent",
    };
    std::thread::sleep(std::time::Duration::from_secs(62));
    rider.sync();
    let mut ticket = Value::Null;
    eventually("the brain records the breach", || {
        desk.sync();
        ticket = desk.show(&id);
        ticket["sla"]["breaches"] == serde_json::json!(["first_response"])
    });
    assert_eq!(ticket["sla"]["policy"], "riders");
    let kinds: Vec<&str> = ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["by"] == "fieldwork:brain")
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(kinds.contains(&"sla_breach"), "{kinds:?}");
    assert!(kinds.contains(&"sla_escalation"), "{kinds:?}");
    assert_eq!(ticket["priority"], raised, "raised one step");
    assert!(
        common::note_texts(&ticket)
            .contains(&"nobody answered the rider within a minute".to_owned())
    );
    eventually("the escalation's webhook arrives", || {
        !got.lock().expect("lock").is_empty()
    });
    let body: Value = serde_json::from_str(&got.lock().expect("lock")[0].body).expect("JSON");
    assert_eq!(body["event"], "sla_escalation");
    assert_eq!(body["ticket"]["id"], id.as_str());
}
