//! Erase on the wire (`docs/staff-data.md`, "Erase"; ADR 0011): a device holding a ticket from
//! before its rewrite gets the rewrite in place of it; a change it sent before is taken already;
//! a change built on the old history is answered `rewritten` with the rewrite in the same answer;
//! an erased photo's files leave the server; and a long-polling device wakes for the rewrite.

mod support;

use std::sync::Arc;

use fieldwork_core::Role;
use fieldwork_core::model::Erasure;
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_protocol::sync::{self as protocol, PullItem, RejectCode, SyncResponse};
use fieldwork_server::blobs::FsBlobStore;
use fieldwork_server::config::BLOB_DIR;
use fieldwork_server::service::EraseRequest;
use support::tus::{attach, blob_rows, download, photo, sha256, upload};
use support::{Device, Harness};

const PHONE: &str = "13800138000";

fn note(text: &str) -> Edit {
    Edit::AddNote {
        text: text.into(),
        internal: false,
    }
}

/// Whether a sync answer carries `text`: in its bytes, or in a document or change it carries
/// once decoded (Automerge compresses larger columns, so the bytes alone can hide it).
fn carries(response: &SyncResponse, text: &str) -> bool {
    let holds = |bytes: &[u8]| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    holds(&protocol::encode(response))
        || response.items.iter().any(|item| match item {
            PullItem::Snapshot { doc, staff, .. } => std::iter::once(doc)
                .chain(staff)
                .any(|d| automerge::Automerge::load(d).is_ok_and(|d| holds(&d.save_nocompress()))),
            PullItem::Changes { changes, .. } => changes.iter().any(|c| {
                automerge::Change::from_bytes(c.to_vec()).is_ok_and(|c| holds(c.raw_bytes()))
            }),
            PullItem::Evict { .. } => false,
        })
}

/// The erasures of the snapshot of `id` in `response`, if it has one.
fn replacement<'a>(response: &'a SyncResponse, id: &str) -> Option<&'a [Erasure]> {
    response.items.iter().find_map(|item| match item {
        PullItem::Snapshot {
            ticket_id, erased, ..
        } if ticket_id == id => Some(erased.as_slice()),
        _ => None,
    })
}

fn erase(h: &Harness, id: &str, erasures: Vec<Erasure>) -> u64 {
    h.admin
        .erase(
            "acme",
            &EraseRequest {
                ticket_id: id.to_owned(),
                erasures,
                by: "privacy.officer".into(),
                reference: None,
            },
        )
        .expect("erases")
        .seq
}

/// A rider's ticket with a note giving a phone number, pushed and pulled by a dispatcher.
/// Returns the ticket id, the creation change and the note's id.
async fn ticket_with_phone(
    h: &Harness,
    rider: &mut Device,
    desk: &mut Device,
) -> (String, automerge::Change, String) {
    let (id, created) = rider.create(NewTicket::help_request(None, None, Some("help".into())));
    let noted = rider.edit(&id, note(&format!("call me on {PHONE}")));
    let pushed = rider.sync(h, &[(&id, &created), (&id, &noted)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    let pulled = desk.sync(h, &[]).await;
    assert!(carries(&pulled, PHONE), "the search finds it where it is");
    let view = rider.view(&id);
    let note_id = view
        .notes
        .iter()
        .find(|n| n.text.contains(PHONE))
        .expect("the note")
        .id
        .clone();
    (id, created, note_id)
}

#[tokio::test]
async fn a_device_from_before_the_rewrite_takes_it_and_its_old_changes_count_as_taken() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let (id, created, note_id) = ticket_with_phone(&h, &mut phone, &mut desk).await;
    erase(&h, &id, vec![Erasure::Note { note_id }]);

    // The dispatcher held the old history: the rewrite comes whole, naming what was erased.
    let pulled = desk.sync(&h, &[]).await;
    assert_eq!(
        replacement(&pulled, &id).map(<[Erasure]>::len),
        Some(1),
        "{pulled:?}"
    );
    assert!(!carries(&pulled, PHONE));
    assert!(desk.view(&id).notes[1].erased);
    // Nothing more comes for it.
    assert!(desk.sync(&h, &[]).await.items.is_empty());

    // The rider never heard its push was taken and sends it again: taken already, not a
    // second history; and a change built on the old history is answered `rewritten`, with the
    // rewrite in the same answer.
    let stale = phone.edit(&id, note("still waiting"));
    let answer = phone.sync(&h, &[(&id, &created), (&id, &stale)]).await;
    assert_eq!(answer.accepted, [created.hash().to_string()]);
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::Rewritten);
    assert!(replacement(&answer, &id).is_some());
    assert!(!carries(&answer, PHONE));
    // On the rewrite, the same note goes through.
    let again = phone.edit(&id, note("still waiting"));
    let answer = phone.sync(&h, &[(&id, &again)]).await;
    assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    desk.sync(&h, &[]).await;
    let texts: Vec<String> = desk.view(&id).notes.into_iter().map(|n| n.text).collect();
    assert_eq!(texts, ["help", "", "still waiting"]);

    // A device that never held the ticket gets it as any other snapshot.
    let mut fresh = h.login(&ops).await;
    let first = fresh.sync(&h, &[]).await;
    assert!(replacement(&first, &id).is_some());
    assert_eq!(fresh.view(&id).notes.len(), 3);
}

#[tokio::test]
async fn an_erased_photo_leaves_the_server_with_its_thumbnail() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let (id, _, _) = ticket_with_phone(&h, &mut phone, &mut desk).await;
    let (full, thumb) = (photo(40_000, 1), photo(4_000, 2));
    upload(&h, &phone.token, &full, &id).await;
    upload(&h, &phone.token, &thumb, &id).await;
    attach(&h, &mut phone, &id, &sha256(&full), Some(&sha256(&thumb))).await;
    // Another ticket with the same picture keeps it.
    let (other, created) = phone.create(NewTicket::help_request(None, None, None));
    phone.sync(&h, &[(&other, &created)]).await;
    attach(&h, &mut phone, &other, &sha256(&thumb), None).await;
    assert_eq!(
        download(&h, &desk.token, &sha256(&full), None).await.status,
        200
    );

    desk.sync(&h, &[]).await;
    // The dispatcher's device waits on a long-poll while the photo is erased, and wakes for it.
    let blobs = Arc::new(FsBlobStore::new(h.data_dir().join(BLOB_DIR)));
    let erasing = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        h.state
            .tickets()
            .erase(
                blobs,
                &phone.actor.tenant,
                EraseRequest {
                    ticket_id: id.clone(),
                    erasures: vec![Erasure::Photo {
                        sha256: sha256(&full),
                    }],
                    by: "privacy.officer".into(),
                    reference: Some("DSR-9".into()),
                },
            )
            .await
            .expect("erases")
    };
    let started = std::time::Instant::now();
    let (woken, erased) = tokio::join!(desk.round(&h, &[], 20_000, 0), erasing);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the long-poll woke for the rewrite"
    );
    assert!(replacement(&woken, &id).is_some());
    desk.apply(&woken);
    assert_eq!(
        erased.files_removed, 1,
        "the full image; the thumbnail is still named"
    );
    assert_eq!(blob_rows(&h, &sha256(&full)), 0);
    assert_eq!(blob_rows(&h, &sha256(&thumb)), 1);
    assert_eq!(
        download(&h, &desk.token, &sha256(&full), None).await.status,
        404
    );
    let blob_files = std::fs::read_dir(h.data_dir().join(BLOB_DIR))
        .expect("blob dir")
        .flatten()
        .flat_map(|tenant| {
            std::fs::read_dir(tenant.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .flat_map(|shard| {
            std::fs::read_dir(shard.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|f| f.file_name().to_string_lossy().contains(&sha256(&full)))
        .count();
    assert_eq!(blob_files, 0, "no file of it left");

    let view = desk.view(&id);
    assert_eq!(view.attachments.len(), 1, "the entry stays, marked");
    let entry = &view.attachments[0];
    assert!(entry.erased);
    assert_eq!(
        (entry.thumb.as_deref(), entry.lat, entry.by.as_str()),
        (None, None, "")
    );
    // Erasing it twice is refused, and names nothing personal.
    let twice = h.admin.erase(
        "acme",
        &EraseRequest {
            ticket_id: id.clone(),
            erasures: vec![Erasure::Photo {
                sha256: sha256(&full),
            }],
            by: "privacy.officer".into(),
            reference: None,
        },
    );
    assert!(twice.is_err_and(|e| e.to_string().contains("erased already")));
}

#[tokio::test]
async fn an_erased_contact_leaves_the_ticket_for_everyone_and_a_later_one_is_kept() {
    let h = Harness::new();
    h.tenant("acme");
    // An agent takes a shop's phone call and files the ticket with the caller's contact.
    let agent = h.user("acme", "call.centre", Role::Agent, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut calls = h.login(&agent).await;
    let mut desk = h.login(&ops).await;
    let mut new = NewTicket::titled(fieldwork_core::TicketKind::Repair, "Printer jammed");
    new.customer = Some(fieldwork_core::ticket::Customer {
        name: Some("Wang Fang".into()),
        phone: Some(PHONE.into()),
    });
    let (id, created) = calls.create(new);
    assert!(calls.sync(&h, &[(&id, &created)]).await.rejected.is_empty());
    assert!(carries(&desk.sync(&h, &[]).await, PHONE));
    erase(&h, &id, vec![Erasure::Contact]);
    for device in [&mut calls, &mut desk] {
        let pulled = device.sync(&h, &[]).await;
        assert_eq!(replacement(&pulled, &id), Some(&[Erasure::Contact][..]));
        assert!(!carries(&pulled, PHONE));
        assert_eq!(device.view(&id).customer, None);
        assert_eq!(device.view(&id).title, "Printer jammed", "the rest stays");
    }
    // Contact details given after the erase are new data, kept as any edit.
    let again = calls.edit(
        &id,
        Edit::SetCustomer {
            customer: Some(fieldwork_core::ticket::Customer {
                name: Some("Wang Fang".into()),
                phone: Some("13900000000".into()),
            }),
        },
    );
    assert!(calls.sync(&h, &[(&id, &again)]).await.rejected.is_empty());
    desk.sync(&h, &[]).await;
    assert_eq!(
        desk.view(&id).customer.and_then(|c| c.phone).as_deref(),
        Some("13900000000")
    );
}
