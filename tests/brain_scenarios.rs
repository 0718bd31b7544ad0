//! The service brain through the binary and a real `fieldwork serve`: a tenant applies a
//! configuration, a rider's help request made offline syncs, is routed to an operator of the
//! team and gets its due times; the operator's device sees all of it after a sync; a
//! dispatcher's reassignment stands; an update rule reacts to what a person changed.

mod common;

use common::{Org, eventually, id_of};

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
