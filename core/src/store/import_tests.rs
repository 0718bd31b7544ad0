//! Importing bundles as untrusted input: every change judged, forged ones refused with the whole
//! bundle, honest ones shown as unverified until the server sends them back.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};

use super::testkit::device;
use super::*;
use crate::bundle::{Bundle, BundleTicket, ByteBuf};
use crate::model::{Status, TicketKind};
use crate::ticket::{ActorId, Change};
use fieldwork_protocol::sync::{PullItem, RejectCode, Rejection, SyncResponse};

fn response(rejected: Vec<Rejection>, items: Vec<PullItem>) -> SyncResponse {
    SyncResponse {
        server_time: 5_000,
        accepted: vec![],
        rejected,
        items,
        cursor: 1,
        more: false,
        people: Vec::new(),
        kb: None,
    }
}

fn changes_of(bundle: &Bundle) -> Vec<Change> {
    bundle.tickets[0]
        .changes
        .iter()
        .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
        .collect()
}

/// The document the bundle's changes make.
fn doc_of(bundle: &Bundle) -> TicketDocument {
    let mut doc = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    doc.apply_changes(changes_of(bundle)).expect("applies");
    doc
}

/// A dispatcher's repair ticket assigned to tech1, made offline; returns (dispatcher, id).
fn dispatched() -> (super::testkit::Device, String) {
    let dispatcher = device("disp1", Role::Dispatcher);
    let id = dispatcher
        .store
        .create(NewTicket::titled(TicketKind::Repair, "Fridge warm"))
        .expect("creates")
        .id;
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some("tech1".into()),
            }],
        )
        .expect("assigns");
    (dispatcher, id)
}

#[test]
fn an_honest_bundle_is_marked_unverified_until_the_server_sends_its_changes_back() {
    let (dispatcher, id) = dispatched();
    let bundle = dispatcher.store.export(Some(&id), None).expect("export");
    let tech = device("tech1", Role::Technician);
    let report = tech
        .store
        .import(&bundle)
        .expect("an honest bundle imports");
    assert_eq!((report.tickets_new, report.changes_applied), (1, 2));
    assert_eq!(
        tech.store.ticket(&id).expect("shown").assignee.as_deref(),
        Some("tech1")
    );
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 2);
    let rows = tech.store.list(&ListQuery::default()).expect("list");
    assert_eq!(rows[0].unverified_changes, 2, "lists show the mark too");
    assert_eq!(tech.store.outbox_len().expect("outbox"), 0);

    // Importing again changes nothing, the mark included.
    let again = tech.store.import(&bundle).expect("again");
    assert_eq!((again.changes_applied, again.changes_known), (0, 2));
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 2);

    // The server sends the same changes (by hash): they are confirmed.
    let pulled = PullItem::Changes {
        ticket_id: id.clone(),
        part: Default::default(),
        changes: bundle.tickets[0].changes.clone(),
    };
    tech.store
        .apply_sync_response(&response(vec![], vec![pulled]), 5_000)
        .expect("applies");
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 0);
    assert_eq!(
        tech.store.list(&ListQuery::default()).expect("list")[0].unverified_changes,
        0
    );
}

#[test]
fn a_snapshot_confirms_what_it_holds_and_a_reset_drops_what_the_server_never_took() {
    let (dispatcher, id) = dispatched();
    let bundle = dispatcher.store.export(Some(&id), None).expect("export");
    let tech = device("tech1", Role::Technician);
    tech.store.import(&bundle).expect("imports");

    // The server holds the creation only (say the assignment never reached it).
    let creation = changes_of(&bundle)
        .into_iter()
        .find(|c| c.deps().is_empty())
        .expect("creation");
    let mut server = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    server.apply_changes(vec![creation]).expect("applies");
    let saved = server.save();
    let snapshot = || PullItem::Snapshot {
        ticket_id: id.clone(),
        doc: ByteBuf::from(saved.clone()),
        staff: None,
        erased: vec![],
        summary: None,
    };
    tech.store
        .apply_sync_response(&response(vec![], vec![snapshot()]), 5_000)
        .expect("applies");
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 1);
    assert_eq!(
        tech.store.ticket(&id).expect("shown").assignee.as_deref(),
        Some("tech1"),
        "a merge keeps what the server does not have yet"
    );

    // The technician works on top; the server refuses that change and resets the ticket.
    tech.store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: Status::Accepted,
            }],
        )
        .expect("accepts");
    let own = tech.store.outbox_batch(10).expect("outbox");
    let hash = Change::from_bytes(own[0].change.to_vec())
        .expect("change")
        .hash()
        .to_string();
    let rejection = Rejection {
        hash,
        ticket_id: id.clone(),
        code: RejectCode::MissingDependencies,
        message: "the change builds on changes the server does not have".into(),
    };
    tech.store
        .apply_sync_response(&response(vec![rejection], vec![snapshot()]), 5_000)
        .expect("applies");
    let shown = tech.store.ticket(&id).expect("shown");
    assert_eq!(shown.assignee, None, "the unconfirmed assignment is gone");
    assert_eq!(shown.status, Status::New);
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 0);

    // An evicted ticket takes its marks with it; importing it again marks it again.
    tech.store.import(&bundle).expect("imports again");
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 1);
    let evict = PullItem::Evict {
        ticket_id: id.clone(),
    };
    tech.store
        .apply_sync_response(&response(vec![], vec![evict]), 5_000)
        .expect("applies");
    assert!(matches!(
        tech.store.ticket(&id),
        Err(StoreError::UnknownTicket)
    ));
    tech.store.import(&bundle).expect("imports once more");
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 2);
}

/// The rider's own help request plus a change by an arbitrary actor that adds a note "by a
/// dispatcher" and resolves the ticket.
fn forged_resolve(rider: &super::testkit::Device, id: &str) -> Bundle {
    let mut bundle = rider.store.export(Some(id), None).expect("export");
    let mut doc = doc_of(&bundle);
    doc.set_actor(ActorId::random());
    let raw = doc.raw_mut();
    let notes = raw.get(ROOT, "notes").expect("get").expect("notes").1;
    let at = raw.length(&notes);
    let note = raw.insert_object(&notes, at, ObjType::Map).expect("note");
    for (key, value) in [
        ("id", "n-forged"),
        ("author", "disp1"),
        ("role", "dispatcher"),
        ("text", "refund approved, call 555-0100"),
    ] {
        raw.put(&note, key, value).expect("put");
    }
    raw.put(&note, "internal", false).expect("put");
    raw.put(&note, "at", 1_i64).expect("put");
    raw.put(&note, "redacted", false).expect("put");
    raw.put(ROOT, "status", "resolved").expect("put");
    let hash = raw.commit().expect("a change");
    let forged = raw
        .get_change_by_hash(&hash)
        .expect("made")
        .raw_bytes()
        .to_vec();
    bundle.tickets[0].changes.push(ByteBuf::from(forged));
    bundle
}

#[test]
fn a_forged_change_refuses_the_whole_bundle_naming_how_many_and_why() {
    let rider = device("rider7", Role::Rider);
    let id = rider
        .store
        .help_request(Some("ORD-1".into()), None, Some("chain snapped".into()))
        .expect("help")
        .id;
    let mut bundle = forged_resolve(&rider, &id);
    // An honest ticket in the same file is refused with it.
    let (dispatcher, other) = dispatched();
    bundle.tickets.extend(
        dispatcher
            .store
            .export(Some(&other), None)
            .expect("export")
            .tickets,
    );
    let before = rider.store.ticket(&id).expect("view");

    let err = rider.store.import(&bundle).expect_err("refused");
    assert!(
        matches!(
            err,
            StoreError::ImportRefused {
                refused: 1,
                of: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_refusal());
    let message = err.to_string();
    assert!(message.contains("1 of its 3 new change(s)"), "{message}");
    // The forged change writes the status raw: refused for its missing history entry.
    assert!(
        message.contains("changed without its status_changed event"),
        "{message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");
    for content in ["refund", "555-0100", "disp1", &id] {
        assert!(!message.contains(content), "the message leaks `{content}`");
    }
    assert_eq!(rider.store.ticket(&id).expect("view"), before);
    assert_eq!(rider.store.ticket_count().expect("count"), 1);
    assert_eq!(rider.store.unverified_changes(&id).expect("mark"), 0);
}

#[test]
fn a_change_imported_twice_in_one_bundle_or_out_of_order_is_judged_once_in_causal_order() {
    let (dispatcher, id) = dispatched();
    let mut bundle = dispatcher.store.export(Some(&id), None).expect("export");
    bundle.tickets[0].changes.reverse();
    let again = bundle.tickets[0].changes[0].clone();
    bundle.tickets[0].changes.push(again);
    let tech = device("tech1", Role::Technician);
    let report = tech.store.import(&bundle).expect("imports");
    assert_eq!(report.changes_applied, 2);
    assert_eq!(tech.store.unverified_changes(&id).expect("mark"), 2);
}

/// A bundle of the changes of `doc`, filed under each of `ids`.
fn bundle_of(doc: &mut TicketDocument, ids: &[&str]) -> Bundle {
    let changes: Vec<ByteBuf> = doc
        .changes_since(&[])
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    Bundle {
        format: crate::bundle::FORMAT,
        tenant: "acme".into(),
        exported_at: 0,
        until_seq: 0,
        tickets: ids
            .iter()
            .map(|id| BundleTicket {
                id: (*id).into(),
                changes: changes.clone(),
                staff: Vec::new(),
            })
            .collect(),
    }
}

#[test]
fn a_bundle_too_costly_to_judge_is_refused_before_anything_is_applied() {
    let agent = device("agent1", Role::Agent);
    let who = agent.store.identity().expect("identity").actor;
    let mut doc = TicketDocument::create(
        "t-big",
        &who,
        &NewTicket::titled(TicketKind::Repair, "big"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    let created = doc.view().expect("view");
    for n in 0..MAX_CHANGES_PER_TICKET {
        doc.apply(
            &created,
            &Edit::SetTitle {
                title: format!("t{n}"),
            },
            &who,
            2,
        )
        .expect("tags");
    }
    let tech = device("tech1", Role::Technician);
    assert!(matches!(
        tech.store.import(&bundle_of(&mut doc, &["t-big"])),
        Err(StoreError::ImportTooLarge(ImportLimit::ChangesPerTicket))
    ));
    // Within the limit per ticket, but too much checking in all.
    let mut smaller = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    let within: Vec<Change> = doc
        .changes_since(&[])
        .into_iter()
        .take(MAX_CHANGES_PER_TICKET)
        .collect();
    smaller.apply_changes(within).expect("applies");
    let err = tech
        .store
        .import(&bundle_of(&mut smaller, &["a", "b", "c"]))
        .expect_err("refused");
    assert!(
        matches!(err, StoreError::ImportTooLarge(ImportLimit::JudgingWork)),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing was imported"), "{err}");

    // Hundreds of devices each branching off the creation: too many versions to rebuild.
    let mut doc = TicketDocument::create(
        "t-wide",
        &who,
        &NewTicket::titled(TicketKind::Repair, "wide"),
        ActorId::random(),
        1,
    )
    .expect("creates");
    let root = doc.heads();
    let created = doc.view().expect("view");
    let mut siblings = Vec::new();
    for n in 0..=MAX_VERSIONS_PER_TICKET + 1 {
        let mut branch = doc.fork_at(&root).expect("fork");
        branch.set_actor(ActorId::random());
        let change = branch
            .apply(
                &created,
                &Edit::SetTitle {
                    title: format!("b{n}"),
                },
                &who,
                2,
            )
            .expect("tags")
            .expect("a change");
        siblings.push(change);
    }
    doc.apply_changes(siblings).expect("merges");
    let err = tech
        .store
        .import(&bundle_of(&mut doc, &["t-wide"]))
        .expect_err("refused");
    assert!(
        matches!(err, StoreError::ImportTooLarge(ImportLimit::Branches)),
        "{err:?}"
    );
    assert_eq!(tech.store.ticket_count().expect("count"), 0);
}

#[test]
fn a_change_that_leaves_the_ticket_unreadable_is_refused_without_echoing_it() {
    let rider = device("rider7", Role::Rider);
    let id = rider.store.help_request(None, None, None).expect("help").id;
    let mut bundle = rider.store.export(Some(&id), None).expect("export");
    let mut doc = doc_of(&bundle);
    doc.set_actor(ActorId::random());
    let raw = doc.raw_mut();
    raw.put(ROOT, "status", "exploded-with-secret")
        .expect("put");
    let hash = raw.commit().expect("a change");
    let bytes = raw
        .get_change_by_hash(&hash)
        .expect("made")
        .raw_bytes()
        .to_vec();
    bundle.tickets[0].changes.push(ByteBuf::from(bytes));
    let err = rider.store.import(&bundle).expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("unreadable"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert_eq!(rider.store.ticket(&id).expect("view").status, Status::New);
}

#[test]
fn staff_data_travels_only_in_a_staff_export_and_is_judged_as_its_author_saw_the_ticket() {
    let (dispatcher, id) = dispatched();
    let tech = device("tech1", Role::Technician);
    tech.store
        .import(&dispatcher.store.export(Some(&id), None).expect("export"))
        .expect("imports");
    // Offline: the dispatcher releases the ticket; the technician, still assigned as far as it
    // knows, writes an internal note (what the convergence property found refused at first).
    dispatcher
        .store
        .edit(&id, &[Edit::Assign { assignee: None }])
        .expect("releases");
    let internal = Edit::AddNote {
        text: "gate code 4471".into(),
        internal: true,
    };
    tech.store.edit(&id, &[internal]).expect("writes");

    let plain = tech.store.export(Some(&id), None).expect("export");
    assert!(plain.tickets[0].staff.is_empty(), "a plain export has none");
    let with_staff = tech
        .store
        .export_with_staff(Some(&id), None)
        .expect("export");
    assert_eq!(
        with_staff.tickets[0].staff.len(),
        2,
        "the genesis and the note"
    );
    dispatcher.store.import(&with_staff).expect("imports");
    let on_desk = dispatcher.store.ticket(&id).expect("shown");
    assert!(
        on_desk
            .notes
            .iter()
            .any(|n| n.internal && n.text == "gate code 4471")
    );
    assert_eq!(on_desk.assignee, None, "the release stands");

    // A rider's device never keeps staff data, nor may a rider export any.
    let rider = device("rider1", Role::Rider);
    assert!(matches!(
        rider.store.export_with_staff(None, None),
        Err(StoreError::Refused(_))
    ));
    let mut foreign = with_staff.clone();
    foreign.tickets[0].changes.clear();
    let report = rider
        .store
        .import(&foreign)
        .expect("the public part imports");
    assert_eq!(report.staff_dropped, 2);
}
