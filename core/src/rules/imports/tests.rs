//! The import judge on hand-made changes: forgeries refused, honest work let through.

use automerge::transaction::Transactable;
use automerge::{ActorId, ObjType, ROOT, ReadDoc};

use super::*;
use crate::model::{Status, TicketKind};
use crate::ticket::{Edit, NewTicket, TicketDocument};

fn actor(user: &str, role: Role) -> Actor {
    Actor {
        tenant: "acme".into(),
        user_id: user.into(),
        role,
        name: None,
        team: Some("north".into()),
    }
}

/// One device's view of a shared ticket, making changes under its own Automerge actor.
struct Author {
    who: Actor,
    actor_id: ActorId,
}

impl Author {
    fn new(user: &str, role: Role) -> Self {
        Author {
            who: actor(user, role),
            actor_id: ActorId::random(),
        }
    }

    fn hex(&self) -> String {
        self.actor_id.to_hex_string()
    }

    /// Makes `edit` on `doc` without the device's own checks; returns (before, after).
    fn edits(&self, doc: &mut TicketDocument, edit: Edit) -> (Ticket, Ticket) {
        doc.set_actor(self.actor_id.clone());
        let before = doc.view().expect("view");
        doc.apply(&before, &edit, &self.who, 2).expect("applies");
        (before, doc.view().expect("view"))
    }

    /// Writes raw Automerge operations as one change, as a hand-made client would.
    fn forges(
        &self,
        doc: &mut TicketDocument,
        write: impl FnOnce(&mut automerge::AutoCommit),
    ) -> (Ticket, Ticket) {
        doc.set_actor(self.actor_id.clone());
        let before = doc.view().expect("view");
        write(doc.raw_mut());
        doc.raw_mut().commit();
        (before, doc.view().expect("view"))
    }
}

fn put_note(raw: &mut automerge::AutoCommit, author: &str, role: &str, text: &str) {
    let notes = raw.get(ROOT, "notes").expect("get").expect("notes").1;
    let at = raw.length(&notes);
    let note = raw.insert_object(&notes, at, ObjType::Map).expect("note");
    for (key, value) in [
        ("id", text),
        ("author", author),
        ("role", role),
        ("text", text),
    ] {
        raw.put(&note, key, value).expect("put");
    }
    raw.put(&note, "internal", false).expect("put");
    raw.put(&note, "at", 2_i64).expect("put");
    raw.put(&note, "redacted", false).expect("put");
}

fn put_event(raw: &mut automerge::AutoCommit, kind: &str, by: &str, data: &[(&str, &str)]) {
    let events = raw.get(ROOT, "events").expect("get").expect("events").1;
    let at = raw.length(&events);
    let event = raw.insert_object(&events, at, ObjType::Map).expect("event");
    raw.put(&event, "type", kind).expect("put");
    raw.put(&event, "by", by).expect("put");
    raw.put(&event, "at_device", 2_i64).expect("put");
    let map = raw.put_object(&event, "data", ObjType::Map).expect("data");
    for (key, value) in data {
        raw.put(&map, *key, *value).expect("put");
    }
}

/// A rider's help request, as the rider's device created it.
fn help_request(rider: &Author) -> TicketDocument {
    let new = NewTicket::help_request(Some("ORD-1".into()), None, Some("fell".into()));
    TicketDocument::create("t1", &rider.who, &new, rider.actor_id.clone(), 1).expect("creates")
}

#[test]
fn the_forged_dispatcher_note_and_resolve_is_refused_on_the_riders_device() {
    let rider = Author::new("rider7", Role::Rider);
    let mut doc = help_request(&rider);
    let mut judge = ImportJudge::new(&rider.who, &rider.hex());
    let forger = Author::new("whoever", Role::Rider);
    // The finding: an arbitrary actor adds a note "by a dispatcher" and resolves.
    let (before, after) = forger.forges(&mut doc, |raw| {
        put_note(raw, "disp1", "dispatcher", "all sorted, closing");
        raw.put(ROOT, "status", "resolved").expect("put");
    });
    assert_eq!(after.status, Status::Resolved);
    // A raw status write is refused for its missing history entry, before the workflow is asked.
    assert!(matches!(
        judge.judge(&forger.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::Rules(Refusal::Invalid {
            field: "status",
            ..
        }))
    ));

    // The same with the history entry written in the dispatcher's name: still a move no role
    // may make from `new`.
    let mut doc = help_request(&rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        put_note(raw, "disp1", "dispatcher", "all sorted");
        raw.put(ROOT, "status", "resolved").expect("put");
        put_event(
            raw,
            "status_changed",
            "disp1",
            &[("from", "new"), ("to", "resolved")],
        );
    });
    assert!(
        judge
            .judge(&forger.hex(), Part::Public, Some(&before), &after)
            .is_err()
    );

    // A note in the rider's own name but with the dispatcher's role.
    let mut doc = help_request(&rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        put_note(raw, "rider7", "dispatcher", "approved");
    });
    assert_eq!(
        judge.judge(&forger.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::NotMyRole)
    );

    // The note says dispatcher, the history entry someone else.
    let mut doc = help_request(&rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        put_note(raw, "disp1", "dispatcher", "cancelling");
        raw.put(ROOT, "status", "cancelled").expect("put");
        put_event(
            raw,
            "status_changed",
            "disp2",
            &[("from", "new"), ("to", "cancelled")],
        );
    });
    assert_eq!(
        judge.judge(&forger.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::InconsistentAuthors)
    );

    // A history entry naming nobody.
    let mut doc = help_request(&rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        raw.put(ROOT, "status", "cancelled").expect("put");
        put_event(
            raw,
            "status_changed",
            "",
            &[("from", "new"), ("to", "cancelled")],
        );
    });
    assert_eq!(
        judge.judge(&forger.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::Anonymous)
    );

    // A legal move for a dispatcher, but made silently (no history entry).
    let mut doc = help_request(&rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        put_note(raw, "disp1", "dispatcher", "cancelling");
        raw.put(ROOT, "status", "cancelled").expect("put");
    });
    // The server's own rule (`check_change`) refuses it first, for the same reason.
    assert!(matches!(
        judge.judge(&forger.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::Rules(Refusal::Invalid {
            field: "status",
            ..
        }))
    ));
}

#[test]
fn honest_work_of_a_dispatcher_and_a_technician_passes_on_another_device() {
    let dispatcher = Author::new("disp1", Role::Dispatcher);
    let tech = Author::new("tech1", Role::Technician);
    let agent = Author::new("agent1", Role::Agent);
    let mut doc = TicketDocument::create(
        "t2",
        &dispatcher.who,
        &NewTicket::titled(TicketKind::Repair, "Fridge warm"),
        dispatcher.actor_id.clone(),
        1,
    )
    .expect("creates");
    // The agent's device judges everything, in order, as an import would.
    let mut judge = ImportJudge::new(&agent.who, &agent.hex());
    let created = doc.view().expect("view");
    assert!(
        judge
            .judge(&dispatcher.hex(), Part::Public, None, &created)
            .is_ok()
    );
    let steps: Vec<(&Author, Edit)> = vec![
        (
            &dispatcher,
            Edit::Assign {
                assignee: Some("tech1".into()),
            },
        ),
        (
            &dispatcher,
            Edit::SetTitle {
                title: "Fridge warm, shop 12".into(),
            },
        ),
        (
            &tech,
            Edit::SetStatus {
                status: Status::Accepted,
            },
        ),
        (
            &tech,
            Edit::AddNote {
                text: "relay burnt".into(),
                internal: false,
            },
        ),
        (
            &tech,
            Edit::AddPart {
                sku: "RELAY-24V".into(),
                qty: 1,
            },
        ),
        (
            &tech,
            Edit::TickChecklist {
                item: "power isolated".into(),
                done: true,
            },
        ),
        (
            &dispatcher,
            Edit::SetStatus {
                status: Status::Cancelled,
            },
        ),
    ];
    for (who, edit) in steps {
        let (before, after) = who.edits(&mut doc, edit);
        assert!(
            judge
                .judge(&who.hex(), Part::Public, Some(&before), &after)
                .is_ok(),
            "{} refused",
            who.who.user_id
        );
    }
}

#[test]
fn one_device_writes_for_one_user_and_one_user_keeps_one_role() {
    let rider = Author::new("rider7", Role::Rider);
    let mut judge = ImportJudge::new(&rider.who, &rider.hex());
    let device = Author::new("disp1", Role::Dispatcher);
    let mut doc = help_request(&rider);
    let (before, after) = device.edits(
        &mut doc,
        Edit::AddNote {
            text: "on it".into(),
            internal: false,
        },
    );
    assert!(
        judge
            .judge(&device.hex(), Part::Public, Some(&before), &after)
            .is_ok()
    );
    // The same device now writes as someone else.
    let other = Author {
        who: actor("disp2", Role::Dispatcher),
        actor_id: device.actor_id.clone(),
    };
    let (before, after) = other.edits(
        &mut doc,
        Edit::AddNote {
            text: "me too".into(),
            internal: false,
        },
    );
    assert_eq!(
        judge.judge(&other.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::OneDeviceManyUsers)
    );
    // Another device gives disp1 another role.
    let promoted = Author::new("disp1", Role::Admin);
    let (before, after) = promoted.edits(
        &mut doc,
        Edit::AddNote {
            text: "x".into(),
            internal: false,
        },
    );
    assert_eq!(
        judge.judge(&promoted.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::InconsistentRole)
    );
    // A change by this device's own actor in someone else's name.
    let (before, after) = Author {
        who: actor("disp1", Role::Dispatcher),
        actor_id: rider.actor_id.clone(),
    }
    .edits(
        &mut doc,
        Edit::AddNote {
            text: "y".into(),
            internal: false,
        },
    );
    assert_eq!(
        judge.judge(&rider.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::OneDeviceManyUsers)
    );
}

#[test]
fn a_change_naming_nobody_is_judged_as_its_devices_user_if_the_bundle_says_who() {
    let dispatcher = Author::new("disp1", Role::Dispatcher);
    let tech = Author::new("tech1", Role::Technician);
    let mut doc = TicketDocument::create(
        "t3",
        &dispatcher.who,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        dispatcher.actor_id.clone(),
        1,
    )
    .expect("creates");
    dispatcher.edits(
        &mut doc,
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
    );
    let mut judge = ImportJudge::new(&actor("agent1", Role::Agent), "aa");
    let (before, after) = tech.edits(
        &mut doc,
        Edit::AddNote {
            text: "here".into(),
            internal: false,
        },
    );
    assert!(
        judge
            .judge(&tech.hex(), Part::Public, Some(&before), &after)
            .is_ok()
    );
    // A title change names nobody; its device wrote for a technician, who may not retitle.
    let (before, after) = tech.edits(
        &mut doc,
        Edit::SetTitle {
            title: "renamed".into(),
        },
    );
    assert!(matches!(
        judge.judge(&tech.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::Rules(Refusal::Forbidden { .. }))
    ));
    // From a device the bundle says nothing about, it is what the back office could do.
    let unknown = Author::new("someone", Role::Agent);
    let (before, after) = unknown.edits(
        &mut doc,
        Edit::SetTitle {
            title: "renamed again".into(),
        },
    );
    assert!(
        judge
            .judge(&unknown.hex(), Part::Public, Some(&before), &after)
            .is_ok()
    );
}

#[test]
fn only_the_server_numbers_a_ticket_and_only_once() {
    let rider = Author::new("rider7", Role::Rider);
    let server = ActorId::random();
    let mut doc = help_request(&rider);
    let mut judge = ImportJudge::new(&rider.who, &rider.hex());
    let before = doc.view().expect("view");
    doc.set_number("FW-000042", server.clone(), 3)
        .expect("numbers");
    let after = doc.view().expect("view");
    assert!(
        judge
            .judge(&server.to_hex_string(), Part::Public, Some(&before), &after)
            .is_ok()
    );

    // A second number, or a number beside other edits, is nobody's.
    let again = doc.view().expect("view");
    doc.set_number("FW-000001", server.clone(), 4)
        .expect("numbers");
    assert_eq!(
        judge.judge(
            &server.to_hex_string(),
            Part::Public,
            Some(&again),
            &doc.view().expect("view")
        ),
        Err(ImportRefusal::ServerField)
    );
    let mut doc = help_request(&rider);
    let forger = Author::new("x", Role::Rider);
    let (before, after) = forger.forges(&mut doc, |raw| {
        raw.put(ROOT, "number", "FW-000007").expect("put");
        raw.put(ROOT, "title", "Urgent refund").expect("put");
    });
    assert!(
        judge
            .judge(&forger.hex(), Part::Public, Some(&before), &after)
            .is_err()
    );
    // Nor does the rider's own device number anything.
    let mut doc = help_request(&rider);
    let (before, after) = rider.forges(&mut doc, |raw| {
        raw.put(ROOT, "number", "FW-000008").expect("put");
    });
    assert_eq!(
        judge.judge(&rider.hex(), Part::Public, Some(&before), &after),
        Err(ImportRefusal::ServerField)
    );
}

#[test]
fn a_creation_names_its_reporter_and_nobody_else() {
    let rider = Author::new("rider7", Role::Rider);
    let mut judge = ImportJudge::new(&actor("agent1", Role::Agent), "aa");
    let doc = help_request(&rider);
    assert!(
        judge
            .judge(&rider.hex(), Part::Public, None, &doc.view().expect("view"))
            .is_ok()
    );

    // A help request "by a dispatcher": reporter and created event disagree.
    let forger = Author::new("disp1", Role::Dispatcher);
    let mut doc = help_request(&Author {
        who: actor("rider8", Role::Rider),
        actor_id: forger.actor_id.clone(),
    });
    let (_, _) = forger.forges(&mut doc, |_| {});
    let mut forged = doc.view().expect("view");
    forged.events[0].by = "disp1".into();
    assert_eq!(
        judge.judge(&forger.hex(), Part::Public, None, &forged),
        Err(ImportRefusal::InconsistentAuthors)
    );
    // A kind the reporter's role may not create.
    forged.events[0].by = "rider8".into();
    forged.kind = TicketKind::Repair;
    assert!(matches!(
        judge.judge(&forger.hex(), Part::Public, None, &forged),
        Err(ImportRefusal::Rules(Refusal::CreateForbidden { .. }))
    ));
}
