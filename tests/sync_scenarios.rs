//! End-to-end sync scenarios: a real `fieldwork serve` on loopback and several device homes, all
//! through the `fieldwork` binary.

mod common;

use common::{Device, Org, eventually, id_of, note_texts};
use fieldwork_core::Role;
use fieldwork_core::store::TicketStore;
use fieldwork_core::ticket::NewTicket;

#[test]
fn a_help_request_made_offline_reaches_the_dispatcher_after_reconnecting() {
    let mut org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, dispatcher) = org.member("dispatcher", "ops", None);

    org.server.kill();
    let help = rider.json(&[
        "help",
        "--lat",
        "31.23",
        "--lon",
        "121.47",
        "--order",
        "ORD-7",
        "--note",
        "chain snapped",
    ]);
    let id = id_of(&help);
    let offline = rider.run(&["sync", "--attempts", "1"]);
    assert_eq!(
        offline.status.code(),
        Some(4),
        "offline is its own exit code"
    );
    assert!(String::from_utf8_lossy(&offline.stderr).contains("cannot be reached"));
    assert_eq!(rider.json(&["status"])["pending"], 1);

    org.server.restart();
    let pushed = rider.sync();
    assert_eq!(pushed["pending"], 0);
    assert!(pushed["pushed"].as_u64() >= Some(1));
    dispatcher.sync();
    let seen = dispatcher.show(&id);
    assert_eq!(seen["kind"], "help_request");
    assert_eq!(note_texts(&seen), ["chain snapped"]);
    let number = seen["number"]
        .as_str()
        .expect("the server numbered the ticket")
        .to_owned();
    assert!(number.starts_with("FW-"), "{number}");
    rider.sync();
    assert_eq!(
        rider.show(&id)["number"],
        number.as_str(),
        "the number reaches the reporter too"
    );
    assert_eq!(rider.json(&["status"])["state"], "idle");
}

#[test]
fn offline_technician_and_dispatcher_edits_merge_with_both_notes_and_the_conflict() {
    let org = Org::new();
    let (tech_id, tech) = org.member("technician", "tech.a", Some("north"));
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let (_, supervisor) = org.member("supervisor", "boss", None);

    let id = id_of(&dispatcher.json(&["create", "--title", "Fridge warm", "--priority", "normal"]));
    dispatcher.json(&["update", &id, "--assignee", &tech_id]);
    dispatcher.sync();
    tech.sync();
    assert_eq!(tech.show(&id)["status"], "assigned");

    // The technician works with no signal; the dispatcher edits meanwhile.
    tech.json(&["update", &id, "--status", "accepted"]);
    tech.json(&["note", &id, "compressor relay burnt", "--internal"]);
    tech.json(&["part", &id, "RELAY-24V", "1"]);
    dispatcher.json(&[
        "update",
        &id,
        "--priority",
        "urgent",
        "--status",
        "cancelled",
    ]);
    dispatcher.json(&["note", &id, "store manager called"]);
    dispatcher.sync();
    let tech_sync = tech.sync();
    assert_eq!(tech_sync["rejected"], 0, "honest offline work is accepted");
    dispatcher.sync();
    supervisor.sync();

    let on_tech = tech.show(&id);
    assert_eq!(
        on_tech,
        dispatcher.show(&id),
        "technician and dispatcher see the same ticket"
    );
    assert_eq!(on_tech, supervisor.show(&id), "and so does a third device");
    let notes = note_texts(&on_tech);
    assert!(
        notes.contains(&"compressor relay burnt".to_owned())
            && notes.contains(&"store manager called".to_owned())
    );
    assert_eq!(on_tech["priority"], "urgent");
    assert_eq!(on_tech["parts_used"][0]["sku"], "RELAY-24V");
    let conflict = on_tech["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .find(|c| c["field"] == "status")
        .expect("the status conflict is shown")
        .clone();
    let mut values: Vec<String> = conflict["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect();
    values.sort();
    assert_eq!(values, ["accepted", "cancelled"]);
}

#[test]
fn a_reassignment_while_the_technician_was_offline_keeps_the_technicians_note() {
    let org = Org::new();
    let (tech1_id, tech1) = org.member("technician", "tech.1", Some("north"));
    let (tech2_id, tech2) = org.member("technician", "tech.2", Some("north"));
    let (_, dispatcher) = org.member("dispatcher", "ops", None);

    let id = id_of(&dispatcher.json(&["create", "--title", "Door jammed"]));
    dispatcher.json(&["update", &id, "--assignee", &tech1_id]);
    dispatcher.sync();
    tech1.sync();

    tech1.json(&["note", &id, "hinge ordered, back tomorrow"]);
    dispatcher.json(&["update", &id, "--assignee", &tech2_id]);
    dispatcher.sync();

    let report = tech1.sync();
    assert_eq!(
        (report["rejected"].as_u64(), report["pending"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(
        tech1.ids().is_empty(),
        "the ticket left the first technician's phone once it was no longer theirs"
    );
    assert!(
        tech1
            .json(&["quarantine"])
            .as_array()
            .expect("list")
            .is_empty()
    );

    dispatcher.sync();
    tech2.sync();
    for device in [&dispatcher, &tech2] {
        let t = device.show(&id);
        assert_eq!(t["assignee"], tech2_id.as_str());
        assert_eq!(note_texts(&t), ["hinge ordered, back tomorrow"]);
    }
}

#[test]
fn a_new_device_bootstraps_a_thousand_tickets_through_snapshots() {
    let org = Org::new();
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    {
        // Make the tickets through the library (a thousand CLI processes would only test process
        // start-up); the store file is the same one the CLI uses.
        let store = TicketStore::open(&dispatcher.home.join("fieldwork.db")).expect("store opens");
        for i in 0..1000 {
            store
                .create(NewTicket::titled(
                    Role::Dispatcher.default_kind(),
                    format!("Ticket {i}"),
                ))
                .expect("create");
        }
    }
    let pushed = dispatcher.sync();
    assert_eq!(pushed["pushed"], 1000);

    let (_, fresh) = org.member("agent", "new.agent", None);
    let report = fresh.sync();
    assert_eq!(report["pulled"], 1000, "one snapshot per ticket: {report}");
    assert_eq!(fresh.json(&["whoami"])["tickets"], 1000);
    let numbered = fresh.json(&["list", "--limit", "500"]);
    assert!(
        numbered
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["number"].as_str().is_some_and(|n| n.starts_with("FW-")))
    );
}

#[test]
fn riders_see_only_their_own_tickets_and_tenants_nothing_of_each_other() {
    let org = Org::new();
    let (_, rider1) = org.member("rider", "r1", None);
    let (_, rider2) = org.member("rider", "r2", None);
    let other_tenant = org.server.tenant("globex");
    let (_, outsider_token) = org.server.user(&other_tenant, "admin", "root", None);
    let outsider = Device::login(&org.server.url, &outsider_token);

    let mine = id_of(&rider1.json(&["help", "--note", "private"]));
    rider1.sync();
    rider2.json(&["help"]);
    rider2.sync();
    outsider.sync();
    assert_eq!(rider2.ids().len(), 1, "rider 2 sees only their own ticket");
    assert!(!rider2.ids().contains(&mine));
    assert!(outsider.ids().is_empty(), "nothing crosses tenants");
}

#[test]
fn a_revoked_token_is_refused_and_logout_keeps_the_tickets() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "r1", None);
    let id = id_of(&rider.json(&["help"]));
    rider.sync();
    rider.json(&["logout"]);
    assert!(rider.fails(&["sync"]).contains("not logged in"));
    assert_eq!(rider.ids(), [id]);
}

#[test]
fn background_sync_pushes_local_edits_and_hears_news_through_the_long_poll() {
    use std::sync::{Arc, Mutex};

    use common::{Phone, eventually};
    use fieldwork_core::store::ChangeOrigin;
    use fieldwork_core::sync::background::BackgroundSync;
    use fieldwork_core::sync::{self, SyncEngine, SyncState};
    use fieldwork_core::ticket::Edit;

    let org = Org::new();
    let (_, rider_token) = org.server.user(&org.tenant, "rider", "r1", None);
    let (_, disp_token) = org.server.user(&org.tenant, "dispatcher", "ops", None);
    let rider = Phone::login(&org.server.url, &rider_token);
    let dispatcher = Phone::login(&org.server.url, &disp_token);

    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let _watch = rider.store.observe(move |e| {
        if e.origin == ChangeOrigin::Remote {
            sink.lock().expect("lock").extend(e.ids.clone());
        }
    });
    let engine = Arc::new(SyncEngine::new(rider.store.clone()).expect("engine"));
    let states = Arc::new(Mutex::new(Vec::new()));
    let state_sink = states.clone();
    let _status = engine.observe_status(move |s| state_sink.lock().expect("lock").push(s.state));
    let background = BackgroundSync::start(engine.clone()).expect("starts");

    // A local edit is pushed without anyone asking.
    let id = rider
        .store
        .help_request(None, None, Some("flat tyre".into()))
        .expect("help")
        .id;
    eventually("the help request reaches the server", || {
        dispatcher.sync(3).expect("dispatcher syncs");
        dispatcher.store.ticket(&id).is_ok()
    });
    // The dispatcher's answer arrives through the rider's open long-poll.
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::AddNote {
                text: "help is coming".into(),
                internal: false,
            }],
        )
        .expect("note");
    dispatcher.sync(3).expect("dispatcher pushes");
    eventually("the rider hears the answer", || {
        rider
            .store
            .ticket(&id)
            .map(|t| t.notes.len() == 2)
            .unwrap_or(false)
    });
    assert!(
        heard.lock().expect("lock").contains(&id),
        "the UI observer heard the remote change"
    );
    assert!(states.lock().expect("lock").contains(&SyncState::Syncing));

    // Network gone: the engine says so and does not try.
    background.set_network_available(false);
    eventually("offline state", || {
        engine
            .status()
            .map(|s| s.state == SyncState::Offline)
            .unwrap_or(false)
    });
    rider
        .store
        .edit(
            &id,
            &[Edit::AddNote {
                text: "still waiting".into(),
                internal: false,
            }],
        )
        .expect("note");
    assert_eq!(rider.store.outbox_len().expect("outbox"), 1);
    background.set_network_available(true);
    eventually("queued note sent once the network is back", || {
        rider.store.outbox_len().expect("outbox") == 0
    });

    // A sync asked for while the background long-polls: the long-poll gives way, and the two
    // take turns on the engine (never two exchanges at once), so both finish with everything.
    eventually("the background waits for news", || engine.is_busy());
    let cursor_before = rider.store.sync_meta().expect("meta").cursor;
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::AddNote {
                text: "on the way".into(),
                internal: false,
            }],
        )
        .expect("note");
    dispatcher.sync(3).expect("dispatcher pushes");
    background.sync_now();
    let asked = sync::block_on(engine.sync_tickets(fieldwork_core::sync::RetryPolicy::default()))
        .expect("runtime")
        .expect("a sync asked for during the background's run");
    assert_eq!(asked.pending, 0);
    eventually("the note arrives", || {
        rider
            .store
            .ticket(&id)
            .map(|t| t.notes.iter().any(|n| n.text == "on the way"))
            .unwrap_or(false)
    });
    assert!(rider.store.sync_meta().expect("meta").cursor > cursor_before);
    background.stop();
}

/// Exports `id` from `device`, appends the changes `forge` makes on it (under an Automerge actor
/// no server knows), and writes the bundle next to the device's home.
fn forged_bundle(
    device: &Device,
    id: &str,
    forge: impl FnOnce(&mut fieldwork_core::TicketDocument),
) -> std::path::PathBuf {
    use fieldwork_core::bundle::{Bundle, ByteBuf};
    use fieldwork_core::ticket::{ActorId, Change};

    let file = device.home.with_extension("forged.fwb");
    let path = file.to_str().expect("temp paths are UTF-8");
    device.json(&["export", id, "--out", path]);
    let mut bundle = Bundle::decode(&std::fs::read(&file).expect("written")).expect("decodes");
    let mut doc = fieldwork_core::TicketDocument::empty(
        fieldwork_core::ticket::Part::Public,
        ActorId::random(),
    );
    doc.apply_changes(
        bundle.tickets[0]
            .changes
            .iter()
            .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
            .collect(),
    )
    .expect("applies");
    let had = doc.heads();
    doc.set_actor(ActorId::random());
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
fn a_bundle_passed_offline_shows_as_unverified_until_the_server_has_its_changes() {
    let org = Org::new();
    let (tech_id, tech) = org.member("technician", "tech.a", Some("north"));
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    // Offline: the dispatcher opens and assigns a ticket, and hands it over as a file.
    let id = id_of(&dispatcher.json(&["create", "--title", "Fridge warm"]));
    dispatcher.json(&["update", &id, "--assignee", &tech_id]);
    let file = dispatcher.home.with_extension("to-tech.fwb");
    let path = file.to_str().expect("temp paths are UTF-8");
    dispatcher.json(&["export", &id, "--out", path]);
    tech.json(&["import", path]);
    assert_eq!(tech.show(&id)["unverified_changes"], 2);

    // The server has not seen them yet: syncing alone confirms nothing.
    tech.sync();
    assert_eq!(tech.show(&id)["unverified_changes"], 2);

    dispatcher.sync();
    tech.sync();
    let shown = tech.show(&id);
    assert_eq!(shown["unverified_changes"], 0, "the server sent them back");
    assert!(shown["number"].as_str().is_some(), "with its number");
    assert_eq!(tech.json(&["list"])[0]["unverified_changes"], 0);
    let page = String::from_utf8_lossy(&tech.run(&["show", &id]).stdout).into_owned();
    assert!(!page.contains("unverified"), "{page}");
}

#[test]
fn a_forged_change_the_device_cannot_tell_apart_vanishes_when_the_server_resets_the_ticket() {
    let org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let id = id_of(&rider.json(&["help", "--order", "ORD-7"]));
    rider.sync();

    // A consistent forgery: a "dispatcher" cancels the help request, written exactly as the app
    // would. Nothing on the rider's device can tell it from the real thing, so it is imported —
    // and shown as unverified.
    let file = forged_bundle(&rider, &id, |doc| {
        let dispatcher = fieldwork_core::Actor {
            tenant: "ignored".into(),
            user_id: "ops-impostor".into(),
            role: Role::Dispatcher,
            name: None,
            team: None,
        };
        let view = doc.view().expect("view");
        let cancel = fieldwork_core::Edit::SetStatus {
            status: fieldwork_core::Status::Cancelled,
        };
        doc.apply(&view, &cancel, &dispatcher, 1).expect("writes");
    });
    rider.json(&["import", file.to_str().expect("UTF-8")]);
    let shown = rider.show(&id);
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(shown["unverified_changes"], 1);

    // The server never gets it. The rider's next change builds on it, the server refuses that
    // one, and the ticket is reset to the server's version: the forgery is gone with its mark.
    rider.json(&["note", &id, "still waiting"]);
    let report = rider.sync();
    assert_eq!(report["rejected"], 1);
    let shown = rider.show(&id);
    assert_eq!(shown["status"], "new");
    assert_eq!(shown["unverified_changes"], 0);
    assert!(note_texts(&shown).is_empty());
    assert_eq!(
        rider.json(&["quarantine"]).as_array().map(Vec::len),
        Some(1),
        "the rider's own note waits in quarantine, visible"
    );
}

#[test]
fn wrong_passwords_lock_the_account_for_a_while_and_the_cli_says_how_long() {
    let org = Org::new();
    org.server.user(&org.tenant, "rider", "r1", None);
    let device = Device::new();
    let login = |password: &str| {
        device.run(&[
            "login",
            "--server",
            &org.server.url,
            "--tenant",
            "acme",
            "--user",
            "r1",
            "--password",
            password,
        ])
    };
    let mut told = None;
    for _ in 0..12 {
        let out = login("not-the-password");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("too_many_requests") {
            // The server asks to wait: exit 4, like a server that cannot be reached.
            assert_eq!(out.status.code(), Some(4), "{stderr}");
            told = Some(stderr);
            break;
        }
        assert_eq!(
            out.status.code(),
            Some(1),
            "a refusal, not a crash: {stderr}"
        );
        assert!(stderr.contains("credentials"), "{stderr}");
    }
    let told = told.expect("the account locks after a few wrong passwords");
    assert!(
        told.contains("the server asks to wait") && told.contains(" s before trying again"),
        "{told}"
    );
    eventually("the right password works once the wait is over", || {
        login("pw-123456").status.success()
    });
}

#[test]
fn show_and_list_name_the_people_on_a_ticket_and_json_keeps_their_ids() {
    let org = Org::new();
    let (rider_id, rider) = org.member("rider", "Li Wei", None);
    let (ops_id, dispatcher) = org.member("dispatcher", "Ana Ortiz", None);
    let (tech_id, tech) = org.member("technician", "Zhang San", Some("north"));

    let id = id_of(&rider.json(&["help", "--order", "ORD-8", "--note", "chain snapped"]));
    rider.sync();
    dispatcher.sync();
    dispatcher.json(&["update", &id, "--assignee", &tech_id]);
    dispatcher.sync();
    tech.sync();
    tech.json(&["note", &id, "on my way"]);
    tech.json(&["part", &id, "CHAIN-415", "1"]);
    tech.sync();
    rider.sync();
    dispatcher.sync();

    let text = |device: &Device, args: &[&str]| {
        let out = device.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    for (who, device) in [
        ("technician", &tech),
        ("rider", &rider),
        ("dispatcher", &dispatcher),
    ] {
        let page = text(device, &["show", &id]);
        assert!(
            page.contains("reporter Li Wei (rider)  assignee Zhang San"),
            "{who}:\n{page}"
        );
        assert!(
            page.contains("Li Wei (rider): chain snapped"),
            "{who}:\n{page}"
        );
        assert!(
            page.contains("Zhang San (technician): on my way"),
            "{who}:\n{page}"
        );
        assert!(page.contains("1 × CHAIN-415 (Zhang San)"), "{who}:\n{page}");
        assert!(
            page.contains("assigned by Ana Ortiz assignee=Zhang San"),
            "{who}:\n{page}"
        );
        for raw in [&rider_id, &ops_id, &tech_id] {
            assert!(
                !page.contains(raw.as_str()),
                "{who} sees a bare id:\n{page}"
            );
        }
    }
    let listed = text(&tech, &["list"]);
    assert!(listed.contains("Zhang San"), "{listed}");
    assert!(!listed.contains(&tech_id), "{listed}");

    // Scripts still get ids, exactly as stored.
    let json = tech.show(&id);
    assert_eq!(json["reporter"]["user_id"], rider_id.as_str());
    assert_eq!(json["assignee"], tech_id.as_str());
    assert_eq!(json["notes"][1]["author"], tech_id.as_str());
    assert_eq!(json["parts_used"][0]["by"], tech_id.as_str());
    let listed = tech.json(&["list"]);
    assert_eq!(listed[0]["assignee"], tech_id.as_str());
}

#[test]
fn an_edit_through_the_api_and_an_offline_phone_edit_merge_like_two_phones() {
    let org = Org::new();
    let (tech_id, tech) = org.member("technician", "tech.a", Some("north"));
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let id = id_of(&dispatcher.json(&["create", "--title", "Oven door"]));
    dispatcher.json(&["update", &id, "--assignee", &tech_id]);
    dispatcher.sync();
    tech.sync();

    // The technician works offline.
    tech.json(&["update", &id, "--status", "accepted"]);
    tech.json(&["note", &id, "hinge replaced"]);

    // Meanwhile the dispatcher, in a browser session over HTTP, cancels and writes a note.
    let api = format!("{}/api/v1", org.server.url);
    let (status, signed_in, cookies) = common::api_call(
        reqwest::Method::POST,
        &format!("{api}/session"),
        common::ApiAuth::None,
        Some(serde_json::json!({ "tenant": "acme", "name": "ops", "password": "pw-123456" })),
    );
    assert_eq!(status, 201, "{signed_in}");
    let session = cookies
        .iter()
        .find_map(|c| c.strip_prefix("fw_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let csrf = signed_in["csrf_token"].as_str().expect("csrf").to_owned();
    let (status, edited, _) = common::api_call(
        reqwest::Method::POST,
        &format!("{api}/tickets/{id}/edits"),
        common::ApiAuth::Session(&session, &csrf),
        Some(serde_json::json!({ "edits": [
            { "type": "add_note", "text": "customer rang to cancel" },
            { "type": "set_status", "status": "cancelled" }
        ] })),
    );
    assert_eq!(status, 200, "{edited}");

    // The phone comes back: accepted, like any two devices' edits.
    assert_eq!(tech.sync()["rejected"], 0);
    let (_, through_api, _) = common::api_call(
        reqwest::Method::GET,
        &format!("{api}/tickets/{id}"),
        common::ApiAuth::Session(&session, &csrf),
        None,
    );
    let on_phone = tech.show(&id);
    for ticket in [&through_api, &on_phone] {
        let notes = note_texts(ticket);
        assert!(
            notes.contains(&"hinge replaced".to_owned())
                && notes.contains(&"customer rang to cancel".to_owned()),
            "both notes kept: {notes:?}"
        );
        let conflict = ticket["conflicts"]
            .as_array()
            .expect("conflicts")
            .iter()
            .find(|c| c["field"] == "status")
            .unwrap_or_else(|| panic!("the status conflict is shown: {ticket}"));
        let mut values: Vec<&str> = conflict["values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        values.sort_unstable();
        assert_eq!(values, ["accepted", "cancelled"]);
    }
    assert_eq!(
        through_api["status"], on_phone["status"],
        "one winner everywhere"
    );
}
