//! Listing pulled tickets by the server's summaries and checking them against their documents
//! later (`check.rs`, ADR 0018): the lie corrected, the broken dropped, the paths that check
//! first, and an answer that fails after its tickets were listed.

use std::sync::{Arc, Mutex};

use super::tests::{bare_snapshot, response, store};
use super::*;
use crate::model::{Actor, Priority, Role, Status, TicketKind};
use crate::ticket::{ActorId, Edit, NewTicket};

/// A dispatcher of tenant `tenant` made ticket `id` titled `title`; its snapshot as the server
/// sends it, with the summary read from its document.
fn listed_snapshot(id: &str, tenant: &str, title: &str) -> (TicketDocument, PullItem) {
    let dispatcher = Actor {
        tenant: tenant.into(),
        user_id: "d1".into(),
        role: Role::Dispatcher,
        name: None,
        team: None,
    };
    let mut new = NewTicket::titled(TicketKind::Repair, title);
    new.category = Some("cooling".into());
    let mut doc = TicketDocument::create(id, &dispatcher, &new, ActorId::random(), 1).expect("doc");
    let summary = doc.view().expect("view").summary();
    let item = PullItem::Snapshot {
        ticket_id: id.into(),
        doc: ByteBuf::from(doc.save()),
        staff: None,
        erased: vec![],
        summary: Some(Box::new(summary)),
    };
    (doc, item)
}

/// `item`, a snapshot, with its id, document and staff document as `change` leaves them.
fn edited(
    mut item: PullItem,
    change: impl FnOnce(&mut String, &mut ByteBuf, &mut Option<ByteBuf>),
) -> PullItem {
    if let PullItem::Snapshot {
        ticket_id,
        doc,
        staff,
        ..
    } = &mut item
    {
        change(ticket_id, doc, staff);
    }
    item
}

/// `item`, a snapshot with a summary, with the summary as `change` leaves it.
fn with_summary(mut item: PullItem, change: impl FnOnce(&mut SnapshotSummary)) -> PullItem {
    if let PullItem::Snapshot {
        summary: Some(summary),
        ..
    } = &mut item
    {
        change(summary);
    }
    item
}

fn titles(s: &TicketStore, text: Option<&str>) -> Vec<String> {
    s.list(&crate::store::ListQuery {
        text: text.map(str::to_owned),
        ..Default::default()
    })
    .expect("list")
    .into_iter()
    .map(|row| row.title)
    .collect()
}

#[test]
fn a_new_ticket_is_listed_by_its_summary_and_checked_against_its_document_later() {
    let (_d, s) = store("a1", Role::Agent);
    let (_, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let round = s
        .apply_sync_response(&response(vec![], vec![], vec![item], 3), 5_000)
        .expect("applies");
    assert_eq!(round.tickets_changed, 1);
    assert_eq!(titles(&s, None), ["Freezer alarm"]);
    assert_eq!(
        titles(&s, Some("freez")),
        ["Freezer alarm"],
        "found by its title"
    );
    assert_eq!(s.unchecked_count().expect("count"), 1);
    // Opening it reads the document, checked or not.
    assert_eq!(
        s.ticket("t1").expect("opens").category.as_deref(),
        Some("cooling")
    );
    let report = s.check_listed().expect("checks");
    assert_eq!(
        report,
        CheckReport {
            checked: 1,
            corrected: 0,
            dropped: 0
        }
    );
    assert_eq!(s.unchecked_count().expect("count"), 0);
    assert_eq!(
        s.check_listed().expect("nothing left"),
        CheckReport::default()
    );
}

#[test]
fn a_summary_that_lies_is_listed_until_the_check_lists_the_ticket_from_its_document() {
    let (_d, s) = store("a1", Role::Agent);
    let (_, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let lie = with_summary(item, |summary| {
        summary.title = "Nothing to see".into();
        summary.status = Status::Closed;
        summary.priority = Priority::Low;
        summary.files = vec![fieldwork_protocol::sync::SummaryFile {
            sha256: "ab".repeat(32),
            kind: fieldwork_protocol::blobs::BlobKind::Thumb,
            mime: "image/jpeg".into(),
            bytes: 0,
        }];
    });
    s.apply_sync_response(&response(vec![], vec![], vec![lie], 3), 5_000)
        .expect("applies");
    assert_eq!(titles(&s, None), ["Nothing to see"]);
    assert_eq!(
        s.due_downloads(i64::MAX).expect("due").len(),
        1,
        "the summary's file"
    );
    let report = s.check_listed().expect("checks");
    assert_eq!((report.checked, report.corrected), (1, 1));
    let rows = s.list(&Default::default()).expect("list");
    assert_eq!(rows[0].title, "Freezer alarm");
    assert_eq!(rows[0].status, Status::New);
    assert_eq!(rows[0].priority, Priority::Normal);
    assert_eq!(titles(&s, Some("freez")), ["Freezer alarm"]);
    assert!(titles(&s, Some("nothing")).is_empty());
    assert!(
        s.due_downloads(i64::MAX).expect("due").is_empty(),
        "the document names no file, so none is fetched"
    );
}

#[test]
fn a_listed_ticket_whose_document_is_broken_or_someone_elses_is_removed_by_the_check() {
    let (_d, s) = store("a1", Role::Agent);
    let (_, good) = listed_snapshot("t-good", "acme", "Freezer alarm");
    let (_, broken) = listed_snapshot("t-broken", "acme", "Broken");
    let broken = edited(broken, |_, doc, _| {
        *doc = ByteBuf::from(b"not an automerge document".to_vec());
    });
    let (_, foreign) = listed_snapshot("t-foreign", "globex", "Another tenant's");
    let (_, misfiled) = listed_snapshot("t-elsewhere", "acme", "Filed wrong");
    let misfiled = edited(misfiled, |id, _, _| *id = "t-misfiled".into());
    s.apply_sync_response(
        &response(vec![], vec![], vec![good, broken, foreign, misfiled], 3),
        5_000,
    )
    .expect("applies: nothing is loaded yet");
    assert_eq!(s.ticket_count().expect("count"), 4);
    let report = s.check_listed().expect("checks");
    assert_eq!(
        report,
        CheckReport {
            checked: 1,
            corrected: 0,
            dropped: 3
        }
    );
    assert_eq!(titles(&s, None), ["Freezer alarm"]);
    assert!(matches!(
        s.ticket("t-broken"),
        Err(StoreError::UnknownTicket)
    ));
    assert_eq!(s.sync_meta().expect("meta").cursor, 3, "the cursor stays");
}

#[test]
fn changes_pulled_for_a_listed_ticket_check_it_first() {
    let (_d, s) = store("a1", Role::Agent);
    let (mut doc, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let lie = with_summary(item, |summary| summary.title = "Wrong".into());
    s.apply_sync_response(&response(vec![], vec![], vec![lie], 3), 5_000)
        .expect("applies");
    let before = doc.heads();
    let dispatcher = Actor {
        tenant: "acme".into(),
        user_id: "d1".into(),
        role: Role::Dispatcher,
        name: None,
        team: None,
    };
    let view = doc.view().expect("view");
    doc.apply(
        &view,
        &Edit::SetPriority {
            priority: Priority::Urgent,
        },
        &dispatcher,
        2,
    )
    .expect("edit");
    let changes = doc
        .changes_since(&before)
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    let pulled = PullItem::Changes {
        ticket_id: "t1".into(),
        part: Part::Public,
        changes,
    };
    s.apply_sync_response(&response(vec![], vec![], vec![pulled], 4), 5_000)
        .expect("applies");
    let rows = s.list(&Default::default()).expect("list");
    assert_eq!(
        (rows[0].title.as_str(), rows[0].priority),
        ("Freezer alarm", Priority::Urgent),
        "listed from the document once changed"
    );
    assert_eq!(s.unchecked_count().expect("count"), 0);
}

#[test]
fn an_edit_of_a_listed_ticket_lists_it_from_its_document() {
    let (_d, s) = store("a1", Role::Agent);
    let (_, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let lie = with_summary(item, |summary| summary.title = "Wrong".into());
    s.apply_sync_response(&response(vec![], vec![], vec![lie], 3), 5_000)
        .expect("applies");
    s.edit(
        "t1",
        &[Edit::SetPriority {
            priority: Priority::High,
        }],
    )
    .expect("edits");
    assert_eq!(titles(&s, None), ["Freezer alarm"]);
    assert_eq!(s.unchecked_count().expect("count"), 0);
}

#[test]
fn a_snapshot_without_a_summary_or_of_a_held_ticket_is_loaded_at_once() {
    let (_d, s) = store("a1", Role::Agent);
    let (mut doc, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let bare = bare_snapshot("t1", &mut doc);
    s.apply_sync_response(&response(vec![], vec![], vec![bare], 3), 5_000)
        .expect("applies");
    assert_eq!(s.unchecked_count().expect("count"), 0, "loaded, so checked");
    // The ticket is held now: a later snapshot with a (lying) summary is merged, not listed.
    let lie = with_summary(item, |summary| summary.title = "Wrong".into());
    s.apply_sync_response(&response(vec![], vec![], vec![lie], 4), 5_000)
        .expect("applies");
    assert_eq!(titles(&s, None), ["Freezer alarm"]);
    assert_eq!(s.unchecked_count().expect("count"), 0);
}

#[test]
fn a_rider_keeps_no_staff_document_sent_with_a_listed_ticket() {
    let (_d, s) = store("r1", Role::Rider);
    let (_, item) = listed_snapshot("t1", "acme", "Scooter down");
    let with_staff = edited(item, |_, _, staff| {
        *staff = Some(ByteBuf::from(
            TicketDocument::staff(ActorId::random()).save(),
        ));
    });
    s.apply_sync_response(&response(vec![], vec![], vec![with_staff], 3), 5_000)
        .expect("applies");
    let held = s
        .read(|conn| persist::holds(conn, "t1", Part::Staff))
        .expect("read");
    assert!(!held, "no staff document is kept on a rider's device");
    assert_eq!(s.check_listed().expect("checks").checked, 1);
}

#[test]
fn new_tickets_listed_ahead_of_an_answer_that_fails_are_merged_when_it_comes_again() {
    let (_d, s) = store("a1", Role::Agent);
    let (_, item) = listed_snapshot("t1", "acme", "Freezer alarm");
    let broken = PullItem::Changes {
        ticket_id: "t1".into(),
        part: Part::Public,
        changes: vec![ByteBuf::from(b"not a change".to_vec())],
    };
    let failing = response(vec![], vec![], vec![item.clone(), broken], 3);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let _handle = s.observe(move |e| sink.lock().expect("lock").extend(e.ids.clone()));
    assert!(s.apply_sync_response(&failing, 5_000).is_err());
    assert_eq!(*heard.lock().expect("lock"), ["t1"], "observers hear of it");
    assert_eq!(
        s.sync_meta().expect("meta").cursor,
        0,
        "the cursor did not move"
    );
    assert_eq!(
        titles(&s, None),
        ["Freezer alarm"],
        "listed ahead, and kept"
    );
    let synchronous: i64 = s
        .writer
        .first()
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .expect("pragma");
    assert_eq!(synchronous, 2, "every other commit is synced again");
    // The same answer, whole this time: the ticket is held now, so it is merged, not listed.
    s.apply_sync_response(&response(vec![], vec![], vec![item], 3), 5_000)
        .expect("applies");
    assert_eq!(s.sync_meta().expect("meta").cursor, 3);
    assert_eq!(titles(&s, None), ["Freezer alarm"]);
    assert_eq!(
        s.unchecked_count().expect("count"),
        0,
        "checked when merged"
    );
}
