//! End-to-end scenarios through the `fieldwork` binary itself: device homes on disk, bundles as
//! files, JSON as a script would read it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Home {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Home {
    fn new(user: &str, role: &str) -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device");
        let home = Home { _dir: dir, path };
        home.json(&[
            "init",
            "--tenant",
            "acme",
            "--user-id",
            user,
            "--role",
            role,
            "--team",
            "north",
        ]);
        home
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fieldwork"))
            .arg("device")
            .arg("--home")
            .arg(&self.path)
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("the fieldwork binary runs")
    }

    /// Runs with `--json`, expects success, returns the parsed output.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(
            out.status.success(),
            "fieldwork {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is JSON")
    }

    /// Expects failure with a non-zero exit; returns the error message.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "fieldwork {args:?} should have failed"
        );
        assert_ne!(out.status.code(), Some(101), "a panic is not a clear error");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.starts_with("error: "), "unclear error: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    /// Everything a user could observe about the store.
    fn snapshot(&self) -> Value {
        let list = self.json(&["list"]);
        let shown: Vec<Value> = list
            .as_array()
            .expect("list is an array")
            .iter()
            .map(|row| self.json(&["show", row["id"].as_str().expect("id")]))
            .collect();
        serde_json::json!({ "list": list, "tickets": shown, "whoami": self.json(&["whoami"]) })
    }

    fn bundle(&self, name: &str) -> PathBuf {
        self.path.parent().expect("home has a parent").join(name)
    }
}

fn id_of(ticket: &Value) -> String {
    ticket["id"].as_str().expect("ticket has an id").to_owned()
}

fn export_to(from: &Home, to: &Home, id: &str) {
    let file = from.bundle("out.fwb");
    from.json(&["export", id, "--out", path_str(&file)]);
    to.json(&["import", path_str(&file)]);
}

/// [`export_to`] with the ticket's staff data (internal notes, tags), between staff devices.
fn export_staff_to(from: &Home, to: &Home, id: &str) {
    let file = from.bundle("out.fwb");
    from.json(&["export", id, "--staff", "--out", path_str(&file)]);
    to.json(&["import", path_str(&file)]);
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

#[test]
fn two_devices_edit_offline_swap_bundles_and_see_the_same_ticket() {
    let dispatcher = Home::new("disp1", "dispatcher");
    let technician = Home::new("tech1", "technician");

    let ticket = dispatcher.json(&["create", "--title", "Fridge warm", "--priority", "normal"]);
    let id = id_of(&ticket);
    let assigned = dispatcher.json(&["update", &id[..8], "--assignee", "tech1"]);
    assert_eq!(assigned["status"], "assigned");
    export_to(&dispatcher, &technician, &id);

    // Offline on both sides. Different fields: priority (dispatcher), parts and checklist
    // (technician). The same field: status. Notes on both.
    technician.json(&["update", &id, "--status", "accepted"]);
    technician.json(&["note", &id, "compressor fan is dead", "--internal"]);
    technician.json(&["part", &id, "FAN-12", "1"]);
    technician.json(&["check", &id, "power isolated"]);
    dispatcher.json(&["update", &id, "--priority", "urgent"]);
    dispatcher.json(&["update", &id, "--status", "cancelled"]);
    dispatcher.json(&["note", &id, "customer called again"]);

    export_staff_to(&technician, &dispatcher, &id);
    export_staff_to(&dispatcher, &technician, &id);

    let mut on_tech = technician.json(&["show", &id]);
    let mut on_disp = dispatcher.json(&["show", &id]);
    // Each holds the other's changes unconfirmed (no server has seen them): the one difference.
    let unverified = |shown: &mut Value| {
        shown
            .as_object_mut()
            .and_then(|o| o.remove("unverified_changes"))
            .and_then(|n| n.as_u64())
            .expect("show says how many changes are unverified")
    };
    assert_eq!(unverified(&mut on_tech), 5, "the dispatcher's five changes");
    assert_eq!(unverified(&mut on_disp), 4, "the technician's four changes");
    assert_eq!(on_tech, on_disp, "both devices show the same ticket");

    let notes: Vec<&str> = on_tech["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n["text"].as_str().expect("text"))
        .collect();
    assert!(notes.contains(&"compressor fan is dead"), "{notes:?}");
    assert!(notes.contains(&"customer called again"), "{notes:?}");
    assert_eq!(on_tech["priority"], "urgent");
    assert_eq!(on_tech["parts_used"][0]["sku"], "FAN-12");
    assert_eq!(on_tech["checklist"]["power isolated"]["done"], true);

    let conflicts = on_tech["conflicts"].as_array().expect("conflicts");
    let status = conflicts
        .iter()
        .find(|c| c["field"] == "status")
        .expect("status conflict listed");
    let mut values: Vec<&str> = status["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["accepted", "cancelled"]);
    for key in [
        "id",
        "number",
        "kind",
        "status",
        "priority",
        "category",
        "title",
        "description",
        "assignee",
        "reporter",
        "site",
        "notes",
        "attachments",
        "events",
        "conflicts",
    ] {
        assert!(on_tech.get(key).is_some(), "JSON view lacks `{key}`");
    }
    // Both replicas list the conflict in their index too.
    assert_eq!(technician.json(&["list"])[0]["conflicts"], 1);
}

#[test]
fn the_help_button_works_offline_and_reads_back() {
    let rider = Home::new("rider7", "rider");
    let help = rider.json(&[
        "help",
        "--lat",
        "-33.86",
        "--lon",
        "151.2",
        "--accuracy",
        "12",
        "--order",
        "ORD-99",
        "--note",
        "scooter crash, food spilled",
    ]);
    assert_eq!(help["kind"], "help_request");
    assert_eq!(help["status"], "new");
    assert_eq!(help["order_ref"], "ORD-99");
    assert_eq!(help["site"]["lat"], -33.86);
    assert_eq!(help["site"]["accuracy_m"], 12.0);
    assert_eq!(help["reporter"]["user_id"], "rider7");
    assert_eq!(help["notes"][0]["text"], "scooter crash, food spilled");
    let id = id_of(&help);
    assert_eq!(rider.json(&["show", &id]), help);
    assert_eq!(rider.json(&["whoami"])["pending_changes"], 1);
    let readable = rider.run(&["show", &id]);
    assert!(String::from_utf8_lossy(&readable.stdout).contains("help_request"));
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_store_untouched() {
    let rider = Home::new("rider1", "rider");
    let id = id_of(&rider.json(&["help", "--order", "ORD-1"]));
    let other = Home::new("rider2", "rider");
    let good = other.bundle("good.fwb");
    other.json(&["help"]);
    other.json(&["export", "--out", path_str(&good)]);
    let bytes = std::fs::read(&good).expect("bundle written");

    let before = rider.snapshot();

    let truncated = rider.bundle("truncated.fwb");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).expect("write");
    assert!(
        rider
            .fails(&["import", path_str(&truncated)])
            .contains("corrupt or truncated")
    );

    let corrupt = rider.bundle("corrupt.fwb");
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    std::fs::write(&corrupt, &flipped).expect("write");
    assert!(
        rider
            .fails(&["import", path_str(&corrupt)])
            .contains("corrupt")
    );

    let not_bundle = rider.bundle("notes.txt");
    std::fs::write(&not_bundle, "just some text").expect("write");
    assert!(
        rider
            .fails(&["import", path_str(&not_bundle)])
            .contains("not a Fieldwork bundle")
    );
    assert!(
        rider
            .fails(&["import", "/no/such/file.fwb"])
            .contains("cannot read")
    );

    assert!(
        rider
            .fails(&["show", "ffffffff"])
            .contains("no ticket matches")
    );
    assert!(
        rider
            .fails(&["note", "ffffffff", "hello"])
            .contains("no ticket matches")
    );

    let refused = rider.fails(&["update", &id, "--status", "resolved"]);
    assert!(refused.contains("new to resolved"), "{refused}");
    let refused = rider.fails(&["update", &id, "--assignee", "rider1"]);
    assert!(refused.contains("rider may not assign"), "{refused}");
    assert!(
        rider
            .fails(&["note", &id, "secret", "--internal"])
            .contains("internal notes")
    );

    let bad_lat = rider.fails(&["help", "--lat", "91", "--lon", "0"]);
    assert!(bad_lat.contains("latitude must be"), "{bad_lat}");
    assert!(
        !bad_lat.contains("91"),
        "the error must not echo the position"
    );
    assert!(
        rider
            .fails(&["create", "--title", "A repair", "--kind", "repair"])
            .contains("may not create")
    );
    let missing_home = Home {
        _dir: tempfile::tempdir().expect("dir"),
        path: PathBuf::from("/nonexistent/home"),
    };
    assert!(missing_home.fails(&["list"]).contains("no device at"));

    assert_eq!(
        rider.snapshot(),
        before,
        "failed commands changed the store"
    );
}

#[test]
fn export_since_and_import_twice_are_safe_for_scripts() {
    let a = Home::new("agent1", "agent");
    let b = Home::new("agent2", "agent");
    a.json(&["create", "--title", "first"]);
    let file = a.bundle("all.fwb");
    let first = a.json(&["export", "--out", path_str(&file)]);
    assert_eq!(first["tickets"], 1);
    assert_eq!(b.json(&["import", path_str(&file)])["tickets_new"], 1);
    let again = b.json(&["import", path_str(&file)]);
    assert_eq!(
        (
            again["changes_applied"].as_u64(),
            again["changes_known"].as_u64()
        ),
        (Some(0), Some(1))
    );

    a.json(&["create", "--title", "second"]);
    let since = first["until_seq"].as_i64().expect("until_seq").to_string();
    let delta = a.json(&["export", "--out", path_str(&file), "--since", &since]);
    assert_eq!(delta["tickets"], 1);
    b.json(&["import", path_str(&file)]);
    let titles: Vec<String> = b
        .json(&["list", "--search", "sec"])
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(titles, ["second"]);
}

/// A bundle from `rider`'s own export with one more change appended, made by `forge` on the
/// ticket as exported, under an Automerge actor nobody registered.
fn forged_bundle(
    rider: &Home,
    id: &str,
    forge: impl FnOnce(&mut fieldwork_core::TicketDocument),
) -> PathBuf {
    use fieldwork_core::bundle::{Bundle, ByteBuf};
    use fieldwork_core::ticket::{ActorId, Change};

    let file = rider.bundle("forged.fwb");
    rider.json(&["export", id, "--out", path_str(&file)]);
    let mut bundle =
        Bundle::decode(&std::fs::read(&file).expect("bundle written")).expect("decodes");
    let mut doc = fieldwork_core::TicketDocument::empty(
        fieldwork_core::ticket::Part::Public,
        ActorId::random(),
    );
    let changes: Vec<Change> = bundle.tickets[0]
        .changes
        .iter()
        .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
        .collect();
    doc.apply_changes(changes).expect("applies");
    let had = doc.heads();
    forge(&mut doc);
    for change in doc.changes_since(&had) {
        bundle.tickets[0]
            .changes
            .push(ByteBuf::from(change.raw_bytes().to_vec()));
    }
    std::fs::write(&file, bundle.encode()).expect("write");
    file
}

#[test]
fn a_riders_device_refuses_a_bundle_with_a_forged_dispatcher_note_and_resolve() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};
    use fieldwork_core::ticket::ActorId;

    let rider = Home::new("rider7", "rider");
    let id = id_of(&rider.json(&["help", "--order", "ORD-1", "--note", "chain snapped"]));
    let before = rider.snapshot();

    // The finding, byte for byte: one change by an arbitrary actor that adds a note "by a
    // dispatcher" and resolves the ticket.
    let file = forged_bundle(&rider, &id, |doc| {
        doc.set_actor(ActorId::random());
        let raw = doc.raw_mut();
        let notes = raw.get(ROOT, "notes").expect("get").expect("notes").1;
        let at = raw.length(&notes);
        let note = raw.insert_object(&notes, at, ObjType::Map).expect("note");
        for (key, value) in [
            ("id", "n-forged"),
            ("author", "disp1"),
            ("role", "dispatcher"),
            ("text", "Refund approved by dispatch"),
        ] {
            raw.put(&note, key, value).expect("put");
        }
        raw.put(&note, "internal", false).expect("put");
        raw.put(&note, "at", 1_i64).expect("put");
        raw.put(&note, "redacted", false).expect("put");
        raw.put(ROOT, "status", "resolved").expect("put");
        raw.commit();
    });
    let out = rider.run(&["import", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1), "a refusal exits 1");
    let refused = String::from_utf8_lossy(&out.stderr);
    assert!(
        refused.starts_with("error: the bundle was refused"),
        "{refused}"
    );
    assert!(refused.contains("1 of its 1 new change(s)"), "{refused}");
    // A raw status write is refused before the workflow is asked: the move has no history entry.
    assert!(
        refused.contains("changed without its status_changed event"),
        "{refused}"
    );
    assert!(!refused.contains("Refund"), "no ticket contents: {refused}");

    // The same claims made the way the app writes them, as two changes (a dispatcher's note, then
    // the dispatcher's status move with its history entry): the move is still one no role may
    // make from `new`.
    let disp = fieldwork_core::Actor {
        tenant: "acme".into(),
        user_id: "disp1".into(),
        role: fieldwork_core::Role::Dispatcher,
        name: None,
        team: None,
    };
    let file = forged_bundle(&rider, &id, |doc| {
        doc.set_actor(ActorId::random());
        for edit in [
            fieldwork_core::Edit::AddNote {
                text: "Refund approved".into(),
                internal: false,
            },
            fieldwork_core::Edit::SetStatus {
                status: fieldwork_core::Status::Resolved,
            },
        ] {
            let view = doc.view().expect("view");
            doc.apply(&view, &edit, &disp, 1).expect("writes");
        }
    });
    let refused = rider.fails(&["import", path_str(&file)]);
    assert!(refused.contains("1 of its 2 new change(s)"), "{refused}");
    assert!(refused.contains("new to resolved"), "{refused}");

    // A note in the rider's own name, with the dispatcher's role.
    let file = forged_bundle(&rider, &id, |doc| {
        doc.set_actor(ActorId::random());
        let me_as_dispatcher = fieldwork_core::Actor {
            user_id: "rider7".into(),
            ..disp.clone()
        };
        let view = doc.view().expect("view");
        let note = fieldwork_core::Edit::AddNote {
            text: "approved".into(),
            internal: false,
        };
        doc.apply(&view, &note, &me_as_dispatcher, 1)
            .expect("writes");
    });
    let refused = rider.fails(&["import", path_str(&file)]);
    assert!(refused.contains("role they do not have"), "{refused}");

    assert_eq!(
        rider.snapshot(),
        before,
        "a refused bundle changed the store"
    );
}

#[test]
fn an_honest_bundle_shows_as_unverified_on_the_other_device() {
    let dispatcher = Home::new("disp1", "dispatcher");
    let technician = Home::new("tech1", "technician");
    let id = id_of(&dispatcher.json(&["create", "--title", "Fridge warm"]));
    dispatcher.json(&["update", &id, "--assignee", "tech1"]);
    let file = dispatcher.bundle("to-tech.fwb");
    dispatcher.json(&["export", &id, "--out", path_str(&file)]);

    let imported = technician.run(&["import", path_str(&file)]);
    assert!(imported.status.success());
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("unverified until the server"),
        "the import says what it means"
    );
    assert_eq!(technician.json(&["show", &id])["unverified_changes"], 2);
    assert_eq!(technician.json(&["list"])[0]["unverified_changes"], 2);
    let page = String::from_utf8_lossy(&technician.run(&["show", &id]).stdout).into_owned();
    assert!(
        page.contains("unverified: 2 changes from a bundle, not yet confirmed by the server"),
        "{page}"
    );
    let list = String::from_utf8_lossy(&technician.run(&["list"]).stdout).into_owned();
    assert!(list.contains("(unverified)"), "{list}");

    // The technician's own work on top is theirs: it does not raise the count.
    technician.json(&["update", &id, "--status", "accepted"]);
    assert_eq!(technician.json(&["show", &id])["unverified_changes"], 2);
    // On the dispatcher's own device nothing is unverified.
    assert_eq!(dispatcher.json(&["show", &id])["unverified_changes"], 0);
    assert_eq!(dispatcher.json(&["list"])[0]["unverified_changes"], 0);
}

#[test]
fn a_bundle_carries_no_names_so_its_people_show_as_short_ids() {
    let dispatcher_id = "01a22a74-7ffb-7000-8000-00000000d15b";
    let dispatcher = Home::new(dispatcher_id, "dispatcher");
    let technician = Home::new("01a22a75-0000-7000-8000-0000000007ec", "technician");
    let id = id_of(&dispatcher.json(&["create", "--title", "Fridge warm"]));
    let file = dispatcher.bundle("to-tech.fwb");
    dispatcher.json(&["export", &id, "--out", path_str(&file)]);
    technician.json(&["import", path_str(&file)]);
    let page = String::from_utf8_lossy(&technician.run(&["show", &id]).stdout).into_owned();
    // No server has named anyone yet: an id in short, never a made-up name.
    assert!(page.contains("reporter 01a22a74… (dispatcher)"), "{page}");
    assert!(page.contains("created by 01a22a74…"), "{page}");
    assert!(!page.contains(dispatcher_id), "{page}");
    assert_eq!(
        technician.json(&["show", &id])["reporter"]["user_id"],
        dispatcher_id
    );
}

#[test]
fn exit_codes_follow_the_readme_for_each_kind_of_failure() {
    let rider = Home::new("rider1", "rider");
    let id = id_of(&rider.json(&["help", "--order", "ORD-1"]));
    let code = |home: &Home, args: &[&str]| {
        let out = home.run(args);
        assert_ne!(out.status.code(), Some(101), "a panic: {out:?}");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // 1: refused, bad input, nothing there.
    assert_eq!(
        code(&rider, &["update", &id, "--status", "resolved"]).0,
        Some(1)
    );
    assert_eq!(code(&rider, &["show", "ffffffff"]).0, Some(1));
    assert_eq!(code(&rider, &["update", &id]).0, Some(1));

    // 3: a damaged document. The store opens; reading that ticket fails, and says so.
    let db = rider.path.join("fieldwork.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("open the store");
        conn.execute("UPDATE docs SET snapshot = x'00ff00ff'", [])
            .expect("damage the document");
        conn.execute("DELETE FROM doc_chunks", [])
            .expect("and its chunks");
    }
    let (exit, stderr) = code(&rider, &["note", &id, "still here"]);
    assert_eq!(exit, Some(3), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");

    // 3: a database written by a newer app.
    let other = Home::new("rider2", "rider");
    {
        let conn = rusqlite::Connection::open(other.path.join("fieldwork.db")).expect("open");
        conn.pragma_update(None, "user_version", 999)
            .expect("a newer schema");
    }
    let (exit, stderr) = code(&other, &["list"]);
    assert_eq!(exit, Some(3), "{stderr}");
    assert!(stderr.contains("newer app"), "{stderr}");

    // 3: the file system refuses (a bundle written into a directory that is a file).
    let third = Home::new("rider3", "rider");
    third.json(&["help"]);
    let blocker = third.bundle("not-a-dir");
    std::fs::write(&blocker, b"a file").expect("write");
    let inside = blocker.join("out.fwb");
    assert_eq!(
        code(&third, &["export", "--out", path_str(&inside)]).0,
        Some(3)
    );

    // 4 (the server cannot be reached) is shown with a real server in sync_scenarios.rs.
}
