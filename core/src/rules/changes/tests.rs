//! `check_change` and `check_creation` against honest edits and forged ones.

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT, ReadDoc};

use super::*;
use crate::model::{Priority, Role, TicketKind};
use crate::ticket::TicketDocument;

fn actor(user: &str, role: Role) -> Actor {
    Actor {
        tenant: "acme".into(),
        user_id: user.into(),
        role,
        name: None,
        team: Some("north".into()),
    }
}

fn help_request(rider: &Actor) -> TicketDocument {
    let new = NewTicket::help_request(Some("ORD-1".into()), None, Some("fell".into()));
    TicketDocument::create("t1", rider, &new, ActorId::random(), 1).expect("creates")
}

/// Applies `edit` without the device's own checks, as a forged client would.
fn forged(doc: &mut TicketDocument, by: &Actor, edit: Edit) -> (Ticket, Ticket) {
    let before = doc.view().expect("view");
    doc.apply(&before, &edit, by, 2).expect("applies");
    (before, doc.view().expect("view"))
}

#[test]
fn a_riders_own_help_request_passes_and_one_in_someone_elses_name_does_not() {
    let rider = actor("r1", Role::Rider);
    let doc = help_request(&rider);
    assert_eq!(check_creation(&rider, &doc.view().expect("view")), Ok(()));
    let other = actor("r2", Role::Rider);
    assert!(check_creation(&other, &doc.view().expect("view")).is_err());
    let mut foreign = rider.clone();
    foreign.tenant = "globex".into();
    assert_eq!(
        check_creation(&foreign, &doc.view().expect("view")),
        Err(Refusal::OtherTenant)
    );
}

#[test]
fn a_rider_setting_assignee_or_resolving_is_refused() {
    let rider = actor("r1", Role::Rider);
    let mut doc = help_request(&rider);
    let (before, after) = forged(
        &mut doc,
        &rider,
        Edit::Assign {
            assignee: Some("r1".into()),
        },
    );
    assert!(matches!(
        check_change(&rider, Part::Public, &before, &after),
        Err(Refusal::Forbidden { .. })
    ));

    let mut doc = help_request(&rider);
    let raw = doc.raw_mut();
    raw.put(ROOT, "status", "resolved").expect("put");
    raw.commit();
    let before = help_request(&rider).view().expect("view");
    let after = doc.view().expect("view");
    assert!(check_change(&rider, Part::Public, &before, &after).is_err());
}

/// Like [`forged`], for an edit of the ticket's staff document: (before, after) as staff read
/// the ticket.
fn forged_staff(
    doc: &TicketDocument,
    staff: &mut TicketDocument,
    by: &Actor,
    edit: Edit,
) -> (Ticket, Ticket) {
    let public = doc.view().expect("view");
    let before = public.clone().with_staff(staff.staff_view().expect("view"));
    staff.apply(&before, &edit, by, 2).expect("applies");
    (before, public.with_staff(staff.staff_view().expect("view")))
}

#[test]
fn staff_data_is_written_by_staff_and_only_to_the_staff_document() {
    let rider = actor("r1", Role::Rider);
    let ops = actor("d1", Role::Dispatcher);
    let doc = help_request(&rider);
    let mut staff = TicketDocument::staff(ActorId::random());
    let note = Edit::AddNote {
        text: "prior fraud flags".into(),
        internal: true,
    };
    // A rider's change to the staff document is refused whatever it holds.
    let (before, after) = forged_staff(&doc, &mut staff, &rider, note.clone());
    assert!(matches!(
        check_change(&rider, Part::Staff, &before, &after),
        Err(Refusal::Forbidden { .. })
    ));
    // Staff data filed as the public document is refused for staff too.
    let mut staff = TicketDocument::staff(ActorId::random());
    let (before, after) = forged_staff(&doc, &mut staff, &ops, note);
    assert_eq!(check_change(&ops, Part::Staff, &before, &after), Ok(()));
    assert!(matches!(
        check_change(&ops, Part::Public, &before, &after),
        Err(Refusal::WrongPart {
            part: Part::Staff,
            ..
        })
    ));
    // And a public edit filed as the staff document.
    let mut public = help_request(&rider);
    let (before, after) = forged(
        &mut public,
        &ops,
        Edit::AddNote {
            text: "still waiting".into(),
            internal: false,
        },
    );
    assert!(matches!(
        check_change(&ops, Part::Staff, &before, &after),
        Err(Refusal::WrongPart {
            part: Part::Public,
            ..
        })
    ));
}

#[test]
fn honest_edits_pass_exactly_as_the_device_checked_them() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let mut doc = TicketDocument::create(
        "t2",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    let mut staff = TicketDocument::staff(ActorId::random());
    for edit in [
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
        Edit::AddNote {
            text: "call first".into(),
            internal: true,
        },
        Edit::TickChecklist {
            item: "brief".into(),
            done: true,
        },
        Edit::AddTag { tag: "vip".into() },
    ] {
        let part = edit.part(&doc.view().expect("view"));
        let (before, after) = match part {
            Part::Public => forged(&mut doc, &dispatcher, edit),
            Part::Staff => forged_staff(&doc, &mut staff, &dispatcher, edit),
        };
        assert_eq!(check_change(&dispatcher, part, &before, &after), Ok(()));
    }
    let tech = actor("tech1", Role::Technician);
    for edit in [
        Edit::SetStatus {
            status: Status::Accepted,
        },
        Edit::AddPart {
            sku: "P-1".into(),
            qty: 2,
        },
        Edit::AddNote {
            text: "on it".into(),
            internal: false,
        },
    ] {
        let (before, after) = forged(&mut doc, &tech, edit);
        assert_eq!(check_change(&tech, Part::Public, &before, &after), Ok(()));
    }
}

#[test]
fn a_note_is_judged_against_the_ticket_its_author_saw() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let tech = actor("tech1", Role::Technician);
    let mut doc = TicketDocument::create(
        "t3",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    forged(
        &mut doc,
        &dispatcher,
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
    );
    let seen_by_tech = doc.view().expect("view");
    let mut offline = TicketDocument::load(&doc.save()).expect("copy");
    let (_, with_note) = forged(
        &mut offline,
        &tech,
        Edit::AddNote {
            text: "done offline".into(),
            internal: false,
        },
    );
    assert_eq!(
        check_change(&tech, Part::Public, &seen_by_tech, &with_note),
        Ok(())
    );
    // Meanwhile the dispatcher reassigned: against *that* view the same note is refused.
    forged(
        &mut doc,
        &dispatcher,
        Edit::Assign {
            assignee: Some("tech2".into()),
        },
    );
    let reassigned = doc.view().expect("view");
    let mut late = TicketDocument::load(&doc.save()).expect("copy");
    let (_, late_note) = forged(
        &mut late,
        &tech,
        Edit::AddNote {
            text: "late".into(),
            internal: false,
        },
    );
    assert!(check_change(&tech, Part::Public, &reassigned, &late_note).is_err());
}

#[test]
fn forged_authors_history_rewrites_and_server_fields_are_refused() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let agent = actor("a1", Role::Agent);
    let mut doc = TicketDocument::create(
        "t4",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    // A note written "as" the dispatcher by the agent's device.
    let (before, after) = forged(
        &mut doc,
        &dispatcher,
        Edit::AddNote {
            text: "x".into(),
            internal: false,
        },
    );
    assert!(matches!(
        check_change(&agent, Part::Public, &before, &after),
        Err(Refusal::Forbidden { .. })
    ));

    let before = doc.view().expect("view");
    let raw = doc.raw_mut();
    raw.put(ROOT, "number", "FW-999999").expect("put");
    raw.commit();
    assert!(
        check_change(&agent, Part::Public, &before, &doc.view().expect("view")).is_err(),
        "numbers are the server's"
    );

    let before = doc.view().expect("view");
    let raw = doc.raw_mut();
    let events = raw.get(ROOT, "events").expect("get").expect("events").1;
    raw.delete(&events, 0_usize).expect("delete");
    raw.commit();
    assert!(
        check_change(&agent, Part::Public, &before, &doc.view().expect("view")).is_err(),
        "history only grows"
    );
}

fn photo(sha: char) -> NewAttachment {
    NewAttachment {
        sha256: sha.to_string().repeat(64),
        thumb: Some("f".repeat(64)),
        mime: "image/jpeg".into(),
        name: None,
        bytes: 120_000,
        width: 1920,
        height: 1080,
        captured_at: Some(1_700_000_000_000),
        location: Some(LocationFix {
            lat: 31.2,
            lon: 121.5,
            accuracy_m: Some(5.0),
            at: None,
        }),
    }
}

#[test]
fn reporters_and_the_assignee_attach_photos_and_nobody_rewrites_them() {
    let rider = actor("r1", Role::Rider);
    let mut doc = help_request(&rider);
    let (before, after) = forged(
        &mut doc,
        &rider,
        Edit::Attach {
            attachment: photo('a'),
        },
    );
    assert_eq!(check_change(&rider, Part::Public, &before, &after), Ok(()));
    assert_eq!(after.attachments.len(), 1);
    assert_eq!(after.attachments[0].lat, Some(31.2));

    // Another rider cannot see the ticket, so cannot attach to it.
    let other = actor("r2", Role::Rider);
    let (before, after) = forged(
        &mut doc,
        &other,
        Edit::Attach {
            attachment: photo('b'),
        },
    );
    assert!(check_change(&other, Part::Public, &before, &after).is_err());

    // A filed attachment is not rewritten, not even by the back office.
    let agent = actor("a1", Role::Agent);
    let before = doc.view().expect("view");
    let raw = doc.raw_mut();
    let map = raw.get(ROOT, "attachments").expect("get").expect("map").1;
    let filed = raw
        .get(&map, "a".repeat(64).as_str())
        .expect("get")
        .expect("filed")
        .1;
    raw.put(&filed, "width", 1_i64).expect("put");
    raw.commit();
    assert!(check_change(&agent, Part::Public, &before, &doc.view().expect("view")).is_err());

    // Nor attached in someone else's name.
    let mut doc = help_request(&rider);
    let (before, after) = forged(
        &mut doc,
        &rider,
        Edit::Attach {
            attachment: photo('c'),
        },
    );
    assert!(check_change(&agent, Part::Public, &before, &after).is_err());
}

#[test]
fn attachments_with_bad_names_or_sizes_are_refused() {
    let rider = actor("r1", Role::Rider);
    let ticket = help_request(&rider).view().expect("view");
    let bad = [
        NewAttachment {
            sha256: "../../etc/passwd".into(),
            ..photo('a')
        },
        NewAttachment {
            thumb: Some("XYZ".into()),
            ..photo('a')
        },
        NewAttachment {
            mime: "text/html".into(),
            ..photo('a')
        },
        // Named files are the server's to file (an email's PDF), never a device's.
        NewAttachment {
            name: Some("invoice.pdf".into()),
            ..photo('a')
        },
        NewAttachment {
            bytes: 0,
            ..photo('a')
        },
        NewAttachment {
            width: 0,
            ..photo('a')
        },
        NewAttachment {
            location: Some(LocationFix {
                lat: 95.0,
                lon: 0.0,
                accuracy_m: None,
                at: None,
            }),
            ..photo('a')
        },
    ];
    for attachment in bad {
        assert!(
            matches!(
                super::check_edit(&rider, &ticket, &Edit::Attach { attachment }),
                Err(Refusal::Invalid { .. } | Refusal::Location(_))
            ),
            "accepted a bad attachment"
        );
    }
}

#[test]
fn only_the_assigned_technician_records_an_arrival() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let tech = actor("tech1", Role::Technician);
    let rider = actor("r1", Role::Rider);
    let mut doc = help_request(&rider);
    forged(
        &mut doc,
        &dispatcher,
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
    );
    let (before, after) = forged(&mut doc, &tech, Edit::RecordArrival { distance_m: 12 });
    assert_eq!(check_change(&tech, Part::Public, &before, &after), Ok(()));
    assert!(
        after.events.iter().any(|e| e.kind == ARRIVED_ON_SITE
            && e.data.get("distance_m").map(String::as_str) == Some("12"))
    );
    let (before, after) = forged(&mut doc, &rider, Edit::RecordArrival { distance_m: 3 });
    assert!(check_change(&rider, Part::Public, &before, &after).is_err());
}

#[test]
fn a_creation_carrying_history_or_work_is_refused() {
    let rider = actor("r1", Role::Rider);
    let mut doc = help_request(&rider);
    {
        // A forged past: the ticket "was" resolved before it existed on the server.
        let raw = doc.raw_mut();
        let events = raw.get(ROOT, "events").expect("get").expect("events").1;
        let event = raw
            .insert_object(&events, 1, automerge::ObjType::Map)
            .expect("event");
        raw.put(&event, "type", "status_changed").expect("put");
        raw.put(&event, "by", "r1").expect("put");
        raw.commit();
    }
    assert!(matches!(
        check_creation(&rider, &doc.view().expect("view")),
        Err(Refusal::Forbidden { .. })
    ));
    let mut doc = help_request(&rider);
    {
        let raw = doc.raw_mut();
        let custom = raw.get(ROOT, "custom").expect("get").expect("custom").1;
        raw.put(&custom, "sap", "x").expect("put");
        raw.commit();
    }
    assert!(check_creation(&rider, &doc.view().expect("view")).is_err());
    let agent = actor("a1", Role::Agent);
    let mut doc = TicketDocument::create(
        "t9",
        &agent,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    {
        let raw = doc.raw_mut();
        let custom = raw.get(ROOT, "custom").expect("get").expect("custom").1;
        raw.put(&custom, "sap", "4711").expect("put");
        raw.commit();
    }
    assert_eq!(check_creation(&agent, &doc.view().expect("view")), Ok(()));
}

/// A release and a reassignment made at once leave the assignee in conflict, the reassignment's
/// person winning and the release's `new` status standing. Assigning the winner again settles
/// the conflict without changing who wins: it is still an assignment (the device allows it, and
/// the judge must see the status move that comes with it), while a bare move to `assigned` is not.
#[test]
fn assigning_the_person_who_wins_a_conflict_is_an_assignment() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let tech = actor("tech1", Role::Technician);
    let agent = actor("a1", Role::Agent);
    let mut doc = TicketDocument::create(
        "t4",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::from([5u8; 16]),
        1,
    )
    .expect("creates");
    let assign = |who: Option<&str>| Edit::Assign {
        assignee: who.map(Into::into),
    };
    forged(&mut doc, &dispatcher, assign(Some("tech1")));
    // The same operation counter on both sides: the larger actor's assignee wins.
    let mut released = doc.fork();
    released.set_actor(ActorId::from([1u8; 16]));
    forged(&mut released, &tech, assign(None));
    doc.set_actor(ActorId::from([9u8; 16]));
    forged(&mut doc, &dispatcher, assign(Some("tech2")));
    doc.merge(&mut released).expect("merges");
    let merged = doc.view().expect("view");
    assert_eq!(
        (merged.status, merged.assignee.as_deref()),
        (Status::New, Some("tech2"))
    );
    assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);

    doc.set_actor(ActorId::from([3u8; 16]));
    let mut bare = doc.fork();
    let (before, after) = forged(&mut doc, &agent, assign(Some("tech2")));
    assert_eq!((after.status, after.conflicts.len()), (Status::Assigned, 0));
    assert_eq!(check_change(&agent, Part::Public, &before, &after), Ok(()));
    assert_eq!(
        crate::rules::merged::check_merged(&agent, &before, &after),
        Ok(())
    );

    let to_assigned = Edit::SetStatus {
        status: Status::Assigned,
    };
    let (before, after) = forged(&mut bare, &agent, to_assigned);
    assert!(matches!(
        check_change(&agent, Part::Public, &before, &after),
        Err(Refusal::Transition { .. })
    ));
}

#[test]
fn a_copy_of_someones_note_under_its_id_is_refused() {
    let dispatcher = actor("d1", Role::Dispatcher);
    let agent = actor("a1", Role::Agent);
    let mut doc = TicketDocument::create(
        "t7",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    let (_, before) = forged(
        &mut doc,
        &dispatcher,
        Edit::AddNote {
            text: "call the customer first".into(),
            internal: false,
        },
    );
    // The dispatcher's note again, id and all, pushed by the agent: it would read as the
    // dispatcher's note, written twice, and pass every check a note already there passes.
    let mut after = before.clone();
    after.notes.push(before.notes[0].clone());
    assert_eq!(
        check_change(&agent, Part::Public, &before, &after),
        Err(forbidden(&agent, "add a note", "under another note's id"))
    );
    assert_eq!(check_note_appended(&agent, &before, &before.notes[0]), None);
}

/// The tickets a note is appended to: a rider's help request, and a repair assigned to
/// `tech1`, each with a few notes, in several statuses.
fn tickets_noted(notes: usize) -> Vec<Ticket> {
    let rider = actor("r1", Role::Rider);
    let dispatcher = actor("d1", Role::Dispatcher);
    let mut help = help_request(&rider);
    let mut repair = TicketDocument::create(
        "t8",
        &dispatcher,
        &NewTicket::titled(TicketKind::Repair, "Fix"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    let assign = Edit::Assign {
        assignee: Some("tech1".into()),
    };
    repair
        .apply(&repair.view().expect("view"), &assign, &dispatcher, 2)
        .expect("assigns");
    let mut tickets = Vec::new();
    for (doc, by) in [(&mut help, &rider), (&mut repair, &dispatcher)] {
        for i in 0..notes {
            let note = Edit::AddNote {
                text: format!("note {i}"),
                internal: false,
            };
            doc.apply(&doc.view().expect("view"), &note, by, 3)
                .expect("notes");
        }
        tickets.push(doc.view().expect("view"));
    }
    let resolve = [
        Status::Accepted,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];
    let tech = actor("tech1", Role::Technician);
    for status in resolve {
        let edit = Edit::SetStatus { status };
        repair
            .apply(&repair.view().expect("view"), &edit, &tech, 4)
            .expect("moves");
        tickets.push(repair.view().expect("view"));
    }
    tickets
}

proptest::proptest! {
    /// One public note appended to the ticket everyone sees: judged by the rules for a note
    /// appended exactly as by comparing the two tickets whole, whoever writes it, in whatever
    /// name, role, state or length — and left to the whole comparison when its id is taken.
    #[test]
    fn a_note_appended_is_judged_as_the_whole_comparison_judges_it(
        notes in 0usize..4,
        which in 0usize..6,
        who in 0usize..7,
        in_own_name in proptest::bool::ANY,
        role in 0usize..Role::ALL.len(),
        internal in proptest::bool::ANY,
        redacted in proptest::bool::ANY,
        length in proptest::sample::select(vec![0usize, 1, 40, values::MAX_NOTE_CHARS + 1]),
        id_taken in proptest::bool::ANY,
    ) {
        let tickets = tickets_noted(notes);
        let before = &tickets[which % tickets.len()];
        let mut writer = [
            actor("r1", Role::Rider),
            actor("r2", Role::Rider),
            actor("tech1", Role::Technician),
            actor("tech2", Role::Technician),
            actor("d1", Role::Dispatcher),
            actor("a1", Role::Agent),
            actor("r1", Role::Rider),
        ][who].clone();
        // The last one is the first rider in another tenant.
        if who == 6 {
            writer.tenant = "globex".into();
        }
        let note = crate::ticket::Note {
            id: match before.notes.first() {
                Some(taken) if id_taken => taken.id.clone(),
                _ => "n-new".into(),
            },
            author: if in_own_name { writer.user_id.clone() } else { "someone".into() },
            role: Role::ALL[role],
            text: "x".repeat(length),
            internal,
            at: 5,
            redacted,
            erased: false,
        };
        let mut after = before.clone();
        after.notes.push(note.clone());
        let whole = check_change(&writer, Part::Public, before, &after)
            .and_then(|()| crate::rules::merged::check_merged(&writer, before, &after));
        match check_note_appended(&writer, before, &note) {
            None => proptest::prop_assert!(id_taken && !before.notes.is_empty()),
            Some(appended) => proptest::prop_assert_eq!(appended, whole),
        }
    }
}
