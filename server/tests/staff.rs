//! The staff document on the wire (`docs/staff-data.md`): staff changes reach only roles that
//! read staff data, a reporter may not write them, a public change may not carry them, and staff
//! documents started offline on two devices are one document.

mod support;

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};
use fieldwork_core::Role;
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_protocol::sync::{self as protocol, PullItem, RejectCode, SyncResponse};
use support::{Device, Harness};

const SECRET: &str = "rider has 3 prior fraud flags";

fn internal(text: &str) -> Edit {
    Edit::AddNote {
        text: text.into(),
        internal: true,
    }
}

fn internal_notes(device: &Device, id: &str) -> Vec<String> {
    device
        .view(id)
        .notes
        .into_iter()
        .filter(|n| n.internal)
        .map(|n| n.text)
        .collect()
}

/// Whether a sync answer carries `text` anywhere in its bytes.
fn carries(response: &SyncResponse, text: &str) -> bool {
    protocol::encode(response)
        .windows(text.len())
        .any(|w| w == text.as_bytes())
}

/// A rider's help request, pushed; returns its id.
async fn help_request(h: &Harness, rider: &mut Device) -> String {
    let (id, change) = rider.create(NewTicket::help_request(None, None, Some("help".into())));
    let pushed = rider.sync(h, &[(&id, &change)]).await;
    assert!(pushed.rejected.is_empty());
    id
}

#[tokio::test]
async fn an_internal_note_reaches_staff_and_never_the_reporter() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let boss = h.user("acme", "boss", Role::Supervisor, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let id = help_request(&h, &mut phone).await;
    desk.sync(&h, &[]).await;

    let note = desk.edit(&id, internal(SECRET));
    let public = desk.edit(
        &id,
        Edit::AddNote {
            text: "on our way".into(),
            internal: false,
        },
    );
    let pushed = desk.sync(&h, &[(&id, &note), (&id, &public)]).await;
    assert_eq!(pushed.accepted.len(), 2, "{:?}", pushed.rejected);

    let pulled = phone.sync(&h, &[]).await;
    assert!(!carries(&pulled, SECRET), "no byte of it on the wire");
    assert!(pulled.items.iter().all(|item| !matches!(
        item,
        PullItem::Changes { part, .. } if !part.is_public()
    )));
    assert!(internal_notes(&phone, &id).is_empty());
    assert!(phone.staff.is_empty());
    assert_eq!(
        phone.view(&id).notes.len(),
        2,
        "the rider's note and the public one"
    );
    // A rider starting over gets the whole ticket, still without it.
    let mut fresh = h.login(&rider).await;
    let snapshot = fresh.sync(&h, &[]).await;
    assert!(!carries(&snapshot, SECRET));
    assert!(matches!(
        &snapshot.items[..],
        [PullItem::Snapshot { staff: None, .. }]
    ));

    // Staff get it: as changes, or with the snapshot.
    let mut tablet = h.login(&boss).await;
    let first = tablet.sync(&h, &[]).await;
    assert!(matches!(
        &first.items[..],
        [PullItem::Snapshot { staff: Some(_), .. }]
    ));
    assert_eq!(internal_notes(&tablet, &id), [SECRET]);
    let later = tablet.edit(&id, internal("called the rider"));
    tablet.sync(&h, &[(&id, &later)]).await;
    let news = desk.sync(&h, &[]).await;
    assert!(matches!(
        &news.items[..],
        [PullItem::Changes { part, .. }] if !part.is_public()
    ));
    assert_eq!(internal_notes(&desk, &id), [SECRET, "called the rider"]);
    let nothing = phone.sync(&h, &[]).await;
    assert!(nothing.items.is_empty() && !carries(&nothing, "called the rider"));
}

#[tokio::test]
async fn a_reporter_may_not_write_the_staff_document() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let mut phone = h.login(&rider).await;
    let id = help_request(&h, &mut phone).await;
    // A forged app: the rider's own "internal" note, filed under the staff document.
    let forged = phone.edit(&id, internal("let me in"));
    let answer = phone.sync(&h, &[(&id, &forged)]).await;
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::Forbidden);
    assert!(answer.rejected[0].message.contains("staff document"));
    assert!(matches!(
        &answer.items[..],
        [PullItem::Snapshot { staff: None, .. }]
    ));
}

#[tokio::test]
async fn an_internal_note_written_into_the_public_document_is_refused() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut desk = h.login(&ops).await;
    let (id, created) = desk.create(support::repair("door stuck"));
    desk.sync(&h, &[(&id, &created)]).await;
    // An app from before the split (or a forged one) puts the note in the public document.
    let doc = desk.docs.get_mut(&id).expect("held");
    let raw = doc.raw_mut();
    let notes = match raw.get(ROOT, "notes").expect("get") {
        Some((_, notes)) => notes,
        None => panic!("a ticket has notes"),
    };
    let note = raw
        .insert_object(&notes, raw.length(&notes), ObjType::Map)
        .expect("insert");
    for (key, value) in [
        ("id", "n-1"),
        ("author", ops.id.as_str()),
        ("role", "dispatcher"),
        ("text", SECRET),
    ] {
        raw.put(&note, key, value).expect("put");
    }
    raw.put(&note, "internal", true).expect("put");
    raw.put(&note, "at", 5_i64).expect("put");
    raw.put(&note, "redacted", false).expect("put");
    raw.commit();
    let change = raw.get_last_local_change().expect("a change").clone();
    let answer = desk.sync(&h, &[(&id, &change)]).await;
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::Forbidden);
    assert!(
        answer.rejected[0].message.contains("staff document"),
        "{}",
        answer.rejected[0].message
    );
}

#[tokio::test]
async fn staff_documents_started_offline_on_two_devices_are_one_document() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let boss = h.user("acme", "boss", Role::Supervisor, None);
    let mut desk = h.login(&ops).await;
    let mut tablet = h.login(&boss).await;
    let (id, created) = desk.create(support::repair("freezer warm"));
    desk.sync(&h, &[(&id, &created)]).await;
    tablet.sync(&h, &[]).await;

    // Both start the ticket's staff document offline, each with its own note.
    let a = desk.edit(&id, internal("from the desk"));
    let b = tablet.edit(&id, internal("from the tablet"));
    assert!(desk.sync(&h, &[(&id, &a)]).await.rejected.is_empty());
    assert!(tablet.sync(&h, &[(&id, &b)]).await.rejected.is_empty());
    desk.sync(&h, &[]).await;
    let mut both = internal_notes(&desk, &id);
    both.sort();
    assert_eq!(both, ["from the desk", "from the tablet"]);
    let mut on_tablet = internal_notes(&tablet, &id);
    on_tablet.sort();
    assert_eq!(on_tablet, both);
    let mut fresh = h.login(&boss).await;
    fresh.sync(&h, &[]).await;
    let mut on_fresh = internal_notes(&fresh, &id);
    on_fresh.sort();
    assert_eq!(on_fresh, both);
}

#[tokio::test]
async fn a_staff_change_to_a_ticket_the_server_lacks_waits_for_its_creation() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut desk = h.login(&ops).await;
    let (id, created) = desk.create(support::repair("door stuck"));
    let note = desk.edit(&id, internal("staff only"));
    // (Not applied: a real device keeps a ticket whose changes still wait to be sent.)
    let early = desk.round(&h, &[(&id, &note)], 0, 0).await;
    assert_eq!(early.rejected[0].code, RejectCode::MissingDependencies);
    let both = desk.sync(&h, &[(&id, &created), (&id, &note)]).await;
    assert!(both.rejected.is_empty(), "{:?}", both.rejected);
}
