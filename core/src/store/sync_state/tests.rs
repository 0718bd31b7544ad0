//! Applying server responses: acknowledgements, quarantine and resets, pulled changes and
//! snapshots (both documents of a ticket), evictions, confirmations of imported changes.

use std::sync::{Arc, Mutex};

use super::*;
use crate::model::{Actor, Role, TicketKind};
use crate::ticket::{ActorId, Edit, NewTicket};
use fieldwork_protocol::sync::{RejectCode, Rejection};

pub(super) fn store(user: &str, role: Role) -> (tempfile::TempDir, TicketStore) {
    let dir = tempfile::tempdir().expect("dir");
    let store = TicketStore::open(&dir.path().join("s.db")).expect("open");
    store
        .init(Actor {
            tenant: "acme".into(),
            user_id: user.into(),
            role,
            name: None,
            team: None,
        })
        .expect("init");
    (dir, store)
}

/// A snapshot of `doc` filed under `id`, as a server from before summaries sent one.
pub(super) fn bare_snapshot(id: &str, doc: &mut TicketDocument) -> PullItem {
    PullItem::Snapshot {
        ticket_id: id.into(),
        doc: ByteBuf::from(doc.save()),
        staff: None,
        erased: vec![],
        summary: None,
    }
}

fn hashes(store: &TicketStore) -> Vec<String> {
    store
        .outbox_batch(100)
        .expect("outbox")
        .iter()
        .map(|c| {
            Change::from_bytes(c.change.to_vec())
                .expect("change")
                .hash()
                .to_string()
        })
        .collect()
}

pub(super) fn response(
    accepted: Vec<String>,
    rejected: Vec<Rejection>,
    items: Vec<PullItem>,
    cursor: u64,
) -> SyncResponse {
    SyncResponse {
        server_time: 5_000,
        accepted,
        rejected,
        items,
        cursor,
        more: false,
        people: Vec::new(),
        kb: None,
    }
}

#[test]
fn acknowledged_changes_leave_the_outbox_and_the_cursor_and_clock_offset_are_kept() {
    let (_d, s) = store("r1", Role::Rider);
    s.help_request(None, None, None).expect("help");
    let sent = hashes(&s);
    let round = s
        .apply_sync_response(&response(sent, vec![], vec![], 42), 4_000)
        .expect("applies");
    assert_eq!(round.acknowledged, 1);
    assert_eq!(s.outbox_len().expect("outbox"), 0);
    let meta = s.sync_meta().expect("meta");
    assert_eq!((meta.cursor, meta.clock_offset_ms), (42, 1_000));
    assert!(meta.last_success.is_some());
}

#[test]
fn pulled_changes_beyond_the_limits_are_skipped_and_the_rest_is_applied() {
    let (_d, s) = store("r1", Role::Rider);
    let id = s.help_request(None, None, None).expect("help").id;
    let held = s.export(Some(&id), None).expect("export");
    let changes = decode_changes(&held.tickets[0].changes).expect("changes");
    let mut elsewhere = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    elsewhere.apply_changes(changes).expect("copy");
    let mut deep_doc = elsewhere.fork();
    let deep = crate::ticket::testing::deeply_nested_change(&mut deep_doc, 3_000);
    let note = {
        let view = elsewhere.view().expect("view");
        let by = s.identity().expect("identity").actor;
        let edit = Edit::AddNote {
            text: "fine".into(),
            internal: false,
        };
        elsewhere
            .apply(&view, &edit, &by, 7)
            .expect("applies")
            .expect("a change")
    };
    let bytes = |c: &Change| ByteBuf::from(c.raw_bytes().to_vec());
    let items = vec![
        PullItem::Changes {
            ticket_id: id.clone(),
            part: Part::Public,
            changes: vec![bytes(&deep)],
        },
        PullItem::Changes {
            ticket_id: id.clone(),
            part: Part::Public,
            changes: vec![bytes(&note)],
        },
    ];
    let round = s
        .apply_sync_response(&response(vec![], vec![], items, 9), 4_000)
        .expect("a hostile item does not fail the round");
    assert_eq!(round.tickets_changed, 1);
    let ticket = s.ticket(&id).expect("still readable");
    assert!(ticket.notes.iter().any(|n| n.text == "fine"));
    assert_eq!(s.sync_meta().expect("meta").cursor, 9);
}

#[test]
fn a_pulled_snapshot_adds_the_ticket_and_tells_observers() {
    let (_d, s) = store("a1", Role::Agent);
    let other = Actor {
        tenant: "acme".into(),
        user_id: "d1".into(),
        role: Role::Dispatcher,
        name: None,
        team: None,
    };
    let mut doc = TicketDocument::create(
        "t-remote",
        &other,
        &NewTicket::titled(TicketKind::Repair, "From afar"),
        ActorId::random(),
        1,
    )
    .expect("doc");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let handle = s.observe(move |e| sink.lock().expect("lock").push(e.clone()));
    let item = bare_snapshot("t-remote", &mut doc);
    s.apply_sync_response(&response(vec![], vec![], vec![item], 9), 5_000)
        .expect("applies");
    assert_eq!(s.ticket("t-remote").expect("stored").title, "From afar");
    assert_eq!(s.list(&Default::default()).expect("list").len(), 1);
    let events = heard.lock().expect("lock").clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].origin, crate::store::ChangeOrigin::Remote);
    drop(handle);
    let again = bare_snapshot("t-remote", &mut doc);
    s.apply_sync_response(&response(vec![], vec![], vec![again], 10), 5_000)
        .expect("applies");
    assert_eq!(
        heard.lock().expect("lock").len(),
        1,
        "a dropped handle hears nothing"
    );
}

#[test]
fn a_refused_first_staff_change_leaves_the_staff_document_it_began() {
    let (_d, s) = store("d1", Role::Dispatcher);
    let id = s
        .create(crate::ticket::NewTicket::titled(TicketKind::Repair, "x"))
        .expect("creates")
        .id;
    let server_copy = s.export(Some(&id), None).expect("export");
    let creation = hashes(&s);
    let internal = |text: &str| Edit::AddNote {
        text: text.into(),
        internal: true,
    };
    s.edit(&id, &[internal("refused")]).expect("note");
    s.edit(&id, &[internal("queued after it")]).expect("note");
    let all = hashes(&s);
    let mut server_doc = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    let changes = server_copy.tickets[0]
        .changes
        .iter()
        .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
        .collect();
    server_doc.apply_changes(changes).expect("server doc");
    // The server refuses the first internal note, and so the one built on it (its
    // dependency is missing), and has no staff data for the ticket.
    let refuse = |hash: &String, code| Rejection {
        hash: hash.clone(),
        ticket_id: id.clone(),
        code,
        message: "no".into(),
    };
    let snapshot = PullItem::Snapshot {
        ticket_id: id.clone(),
        doc: ByteBuf::from(server_doc.save()),
        staff: None,
        erased: vec![],
        summary: None,
    };
    let rejected = vec![
        refuse(&all[1], RejectCode::Forbidden),
        refuse(&all[2], RejectCode::MissingDependencies),
    ];
    s.apply_sync_response(&response(creation, rejected, vec![snapshot], 3), 5_000)
        .expect("applies");
    assert!(
        s.ticket(&id).expect("ticket").notes.is_empty(),
        "the refused notes are gone"
    );
    assert_eq!(s.outbox_len().expect("outbox"), 0);
    // The next internal note builds on the genesis, which the server has, not on the
    // refused change.
    s.edit(&id, &[internal("again")]).expect("note");
    let queued = s.outbox_batch(10).expect("outbox");
    assert_eq!(queued[0].part, Part::Staff);
    let change = Change::from_bytes(queued[0].change.to_vec()).expect("change");
    assert_eq!(
        change.deps(),
        TicketDocument::staff(ActorId::random()).heads().as_slice()
    );
}

#[test]
fn a_refused_change_is_quarantined_and_the_ticket_reset_to_the_servers_version() {
    let (_d, s) = store("r1", Role::Rider);
    let id = s.help_request(None, None, None).expect("help").id;
    let server_copy = s.export(Some(&id), None).expect("export");
    let creation = hashes(&s);
    s.edit(
        &id,
        &[Edit::AddNote {
            text: "refused later".into(),
            internal: false,
        }],
    )
    .expect("note");
    s.edit(
        &id,
        &[Edit::SetStatus {
            status: crate::model::Status::Cancelled,
        }],
    )
    .expect("cancel");
    let all = hashes(&s);
    let (note, cancel) = (all[1].clone(), all[2].clone());
    let mut server_doc = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    let changes = server_copy.tickets[0]
        .changes
        .iter()
        .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
        .collect();
    server_doc.apply_changes(changes).expect("server doc");
    let rejection = Rejection {
        hash: note.clone(),
        ticket_id: id.clone(),
        code: RejectCode::Forbidden,
        message: "no".into(),
    };
    let snapshot = PullItem::Snapshot {
        ticket_id: id.clone(),
        doc: ByteBuf::from(server_doc.save()),
        staff: None,
        erased: vec![],
        summary: None,
    };
    let mut accepted = creation;
    accepted.push(cancel);
    let round = s
        .apply_sync_response(
            &response(accepted, vec![rejection], vec![snapshot], 3),
            5_000,
        )
        .expect("applies");
    assert_eq!(round.quarantined, 1);
    let quarantined = s.quarantine().expect("list");
    assert_eq!(quarantined[0].hash, note);
    assert_eq!(quarantined[0].code, "forbidden");
    let t = s.ticket(&id).expect("ticket");
    assert!(
        t.notes.is_empty(),
        "the refused note is gone from the ticket"
    );
    assert_eq!(s.outbox_len().expect("outbox"), 0);
}

#[test]
fn an_eviction_waits_until_the_tickets_own_changes_are_sent() {
    let (_d, s) = store("t1", Role::Agent);
    let id = s
        .create(NewTicket::titled(TicketKind::Repair, "x"))
        .expect("create")
        .id;
    let evict = PullItem::Evict {
        ticket_id: id.clone(),
    };
    let round = s
        .apply_sync_response(&response(vec![], vec![], vec![evict], 4), 5_000)
        .expect("applies");
    assert_eq!(round.tickets_evicted, 0);
    assert!(s.ticket(&id).is_ok(), "kept while it has unsent changes");
    let round = s
        .apply_sync_response(&response(hashes(&s), vec![], vec![], 5), 5_000)
        .expect("applies");
    assert_eq!(round.tickets_evicted, 1);
    assert!(matches!(s.ticket(&id), Err(StoreError::UnknownTicket)));
    assert_eq!(s.ticket_count().expect("count"), 0);
}

fn internal(text: &str) -> Edit {
    Edit::AddNote {
        text: text.into(),
        internal: true,
    }
}

/// The documents a bundle's first ticket holds: public, and staff (the genesis plus its changes).
fn docs_of(bundle: &crate::bundle::Bundle) -> (TicketDocument, TicketDocument) {
    let decode = |changes: &[ByteBuf]| -> Vec<Change> {
        changes
            .iter()
            .map(|c| Change::from_bytes(c.to_vec()).expect("change"))
            .collect()
    };
    let mut public = TicketDocument::empty(Part::Public, ActorId::random());
    public
        .apply_changes(decode(&bundle.tickets[0].changes))
        .expect("public");
    let mut staff = TicketDocument::staff(ActorId::random());
    staff
        .apply_changes(decode(&bundle.tickets[0].staff))
        .expect("staff");
    (public, staff)
}

#[test]
fn a_rewrite_after_an_erase_replaces_the_ticket_and_carries_unsent_work_of_both_documents_over() {
    use crate::model::Erasure;
    use crate::ticket::rewrite::rewrite;
    const PHONE: &str = "13800138000";
    let (_d, s) = store("d1", Role::Dispatcher);
    let id = s
        .create(NewTicket::titled(TicketKind::Repair, "Fridge warm"))
        .expect("create")
        .id;
    s.edit(
        &id,
        &[
            Edit::AddNote {
                text: format!("call me on {PHONE}"),
                internal: false,
            },
            internal(&format!("his other phone is {PHONE}")),
        ],
    )
    .expect("notes");
    // The server took all of it.
    s.apply_sync_response(&response(hashes(&s), vec![], vec![], 5), 5_000)
        .expect("acknowledged");
    let (server_public, server_staff) =
        docs_of(&s.export_with_staff(Some(&id), None).expect("export"));
    // Offline, the dispatcher writes on; meanwhile the server erases both notes.
    s.edit(
        &id,
        &[
            Edit::AddNote {
                text: "on our way".into(),
                internal: false,
            },
            internal("gate code 4471"),
        ],
    )
    .expect("more notes");
    let unsent = hashes(&s);
    assert_eq!(unsent.len(), 2);
    let old_bundle = s
        .export(Some(&id), None)
        .expect("a bundle from before the erase");
    let view = s.ticket(&id).expect("ticket");
    let erased: Vec<Erasure> = view
        .notes
        .iter()
        .filter(|n| n.text.contains(PHONE))
        .map(|n| Erasure::Note {
            note_id: n.id.clone(),
        })
        .collect();
    let server_actor = ActorId::random();
    let (mut public, _) =
        rewrite(&server_public, &erased, server_actor.clone(), 6).expect("public");
    let (mut staff, _) = rewrite(&server_staff, &erased, server_actor, 6).expect("staff");
    // The device pushed its notes on the old history: `rewritten`, with the rewrite.
    let rewritten = |hash: &String| Rejection {
        hash: hash.clone(),
        ticket_id: id.clone(),
        code: RejectCode::Rewritten,
        message: "rewritten".into(),
    };
    let snapshot = PullItem::Snapshot {
        ticket_id: id.clone(),
        doc: ByteBuf::from(public.save()),
        staff: Some(ByteBuf::from(staff.save())),
        erased: erased.clone(),
        summary: None,
    };
    let round = s
        .apply_sync_response(
            &response(
                vec![],
                unsent.iter().map(rewritten).collect(),
                vec![snapshot],
                7,
            ),
            5_000,
        )
        .expect("applies");
    assert!(round.replaced);
    assert_eq!(round.quarantined, 0, "a rewritten change is not refused");
    assert!(s.quarantine().expect("quarantine").is_empty());
    let view = s.ticket(&id).expect("ticket");
    let texts: Vec<(&str, bool, bool)> = view
        .notes
        .iter()
        .map(|n| (n.text.as_str(), n.internal, n.erased))
        .collect();
    assert_eq!(
        texts,
        [
            ("", false, true),
            ("", true, true),
            ("on our way", false, false),
            ("gate code 4471", true, false)
        ]
    );
    // The outbox holds the carried changes, one per document, and each builds on the rewrite.
    let queued = s.outbox_batch(10).expect("outbox");
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|q| {
        !unsent.contains(
            &Change::from_bytes(q.change.to_vec())
                .expect("change")
                .hash()
                .to_string(),
        )
    }));
    for q in &queued {
        let change = Change::from_bytes(q.change.to_vec()).expect("change");
        let doc = match q.part {
            Part::Public => &mut public,
            Part::Staff => &mut staff,
        };
        doc.apply_changes(vec![change])
            .expect("applies on the server's rewrite");
        assert!(doc.missing_deps().is_empty(), "nothing it needs is missing");
    }
    // A second copy of the same answer changes nothing: the copy builds on the rewrite now.
    let again = PullItem::Snapshot {
        ticket_id: id.clone(),
        doc: ByteBuf::from(public.save()),
        staff: Some(ByteBuf::from(staff.save())),
        erased,
        summary: None,
    };
    let round = s
        .apply_sync_response(&response(vec![], vec![], vec![again], 8), 5_000)
        .expect("applies");
    assert!(!round.replaced);
    assert_eq!(s.outbox_len().expect("outbox"), 2);
    // A bundle made before the erase does not bring the erased text back.
    let imported = s.import(&old_bundle).expect("imports");
    assert_eq!(
        imported.changes_superseded,
        old_bundle.tickets[0].changes.len(),
        "the whole old history, and the notes built on it, are left out"
    );
    assert_eq!(imported.changes_applied, 0);
    assert!(
        s.ticket(&id)
            .expect("ticket")
            .notes
            .iter()
            .all(|n| !n.text.contains(PHONE))
    );
}
