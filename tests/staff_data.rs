//! Staff-only data never reaches a reporter's device (`docs/staff-data.md`), end to end through a
//! real server and the binary: every file of a device home — the SQLite database, its WAL, photo
//! files — is searched for the staff's words, before and after `compact`.

mod common;

use std::path::PathBuf;

use common::search::files_containing;
use common::{Device, Org, id_of, note_texts};

const SECRET: &str = "rider has 3 prior fraud flags";
const TAG: &str = "fraud-watch";

/// The internal notes a `show --json` lists.
fn internal_notes(ticket: &serde_json::Value) -> Vec<String> {
    ticket["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|n| n["internal"] == true)
        .map(|n| n["text"].as_str().expect("text").to_owned())
        .collect()
}

/// A rider's help request, assigned to `tech_id` by the dispatcher, who adds an internal note and
/// a tag; everyone synced. Returns the ticket id.
fn flagged_help_request(rider: &Device, dispatcher: &Device, tech_id: &str) -> String {
    let id = id_of(&rider.json(&["help", "--note", "I was charged twice for order 88"]));
    rider.sync();
    dispatcher.sync();
    dispatcher.json(&["update", &id, "--assignee", tech_id]);
    dispatcher.json(&["note", &id, SECRET, "--internal"]);
    dispatcher.json(&["tag", &id, TAG]);
    dispatcher.json(&["note", &id, "A technician is on the way"]);
    dispatcher.sync();
    id
}

#[test]
fn a_dispatchers_internal_note_never_reaches_the_riders_files() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let (tech_id, tech) = org.member("technician", "tech.a", Some("north"));
    let id = flagged_help_request(&rider, &dispatcher, &tech_id);

    rider.sync();
    let on_rider = rider.show(&id);
    assert_eq!(
        note_texts(&on_rider),
        [
            "I was charged twice for order 88",
            "A technician is on the way"
        ],
        "the rider gets the public conversation"
    );
    assert!(internal_notes(&on_rider).is_empty());
    assert_eq!(on_rider["tags"], serde_json::json!([]));
    let shown = rider.run(&["show", &id]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("internal"));
    for word in [SECRET, TAG] {
        assert_eq!(
            files_containing(&rider.home, word),
            Vec::<PathBuf>::new(),
            "no byte of staff data in the rider's files"
        );
    }
    rider.json(&["compact"]);
    for word in [SECRET, TAG] {
        assert_eq!(files_containing(&rider.home, word), Vec::<PathBuf>::new());
    }

    // Staff who see the ticket read it, merged into the one ticket.
    tech.sync();
    let on_tech = tech.show(&id);
    assert_eq!(internal_notes(&on_tech), [SECRET]);
    assert_eq!(on_tech["tags"], serde_json::json!([TAG]));
    assert_eq!(note_texts(&on_tech).len(), 3);
    assert_eq!(internal_notes(&dispatcher.show(&id)), [SECRET]);
    assert!(
        !files_containing(&tech.home, SECRET).is_empty(),
        "the search finds the words where they are"
    );
}

#[test]
fn a_technician_who_loses_a_ticket_keeps_none_of_its_staff_data() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let (tech_id, tech) = org.member("technician", "tech.a", Some("north"));
    let (other_id, other) = org.member("technician", "tech.b", Some("south"));
    let id = flagged_help_request(&rider, &dispatcher, &tech_id);
    tech.sync();
    tech.json(&["note", &id, "gate code 4471", "--internal"]);
    tech.sync();
    assert_eq!(internal_notes(&tech.show(&id)), [SECRET, "gate code 4471"]);
    assert!(!files_containing(&tech.home, SECRET).is_empty());

    dispatcher.sync();
    dispatcher.json(&["update", &id, "--assignee", &other_id]);
    dispatcher.sync();
    tech.sync();
    assert!(
        tech.ids().is_empty(),
        "the ticket left the technician's device"
    );
    for word in [SECRET, TAG, "gate code 4471"] {
        assert_eq!(
            files_containing(&tech.home, word),
            Vec::<PathBuf>::new(),
            "an evicted ticket leaves no staff data in the database or its WAL"
        );
    }
    other.sync();
    assert_eq!(internal_notes(&other.show(&id)), [SECRET, "gate code 4471"]);
}

#[test]
fn a_bundle_from_a_staff_device_carries_no_staff_data_to_the_reporter() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let (tech_id, _tech) = org.member("technician", "tech.a", Some("north"));
    let id = flagged_help_request(&rider, &dispatcher, &tech_id);

    let bundle = dispatcher.home.with_extension("fwb");
    let bundle_arg = bundle.to_str().expect("a UTF-8 path");
    dispatcher.json(&["export", &id, "--out", bundle_arg]);
    let bytes = std::fs::read(&bundle).expect("the bundle");
    for word in [SECRET, TAG] {
        assert!(
            !bytes.windows(word.len()).any(|w| w == word.as_bytes()),
            "the bundle carries no staff data"
        );
    }
    let imported = rider.json(&["import", bundle_arg]);
    assert_eq!(
        imported["changes_applied"].as_u64().map(|n| n > 0),
        Some(true)
    );
    let on_rider = rider.show(&id);
    assert!(note_texts(&on_rider).contains(&"A technician is on the way".to_owned()));
    assert!(internal_notes(&on_rider).is_empty());
    for word in [SECRET, TAG] {
        assert_eq!(files_containing(&rider.home, word), Vec::<PathBuf>::new());
    }
}
