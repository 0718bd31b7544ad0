//! Pushes an attacker's own client can make, through the real server (`app()` over a real SQLite
//! file): documents nested thousands of levels deep, changes claiming a million operations, and
//! changes built on an old version of a ticket to slip past the workflow. Each is refused with a
//! clear code, stores nothing, and the server goes on serving everyone else; honest concurrent
//! edits still go through. Issue 9, findings 1, 3 and 4; `docs/security.md`.

mod support;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use fieldwork_core::ticket::limits::{MAX_CHANGE_OPS, MAX_DEPTH};
use fieldwork_core::ticket::{Change, Edit, NewTicket, TicketDocument};
use fieldwork_core::{Priority, Role, Status};
use fieldwork_protocol::sync::{RejectCode, SyncResponse};
use support::{Device, Harness, User, repair, snapshots};

/// Makes a change on the device's copy of `id` directly in Automerge, as a hostile client would,
/// and returns it.
fn forge(device: &mut Device, id: &str, write: impl FnOnce(&mut AutoCommit)) -> Change {
    let doc = device
        .docs
        .get_mut(id)
        .expect("the device holds the ticket")
        .raw_mut();
    write(doc);
    doc.commit();
    doc.get_last_local_change()
        .expect("the forged change")
        .clone()
}

/// Nests a map (or a list) `depth` levels deep under the unknown root key `x_future`.
fn nest(doc: &mut AutoCommit, depth: usize, kind: ObjType) {
    let mut obj = doc.put_object(ROOT, "x_future", kind).expect("put");
    for _ in 1..depth {
        obj = match kind {
            ObjType::List => doc.insert_object(&obj, 0, ObjType::List),
            _ => doc.put_object(&obj, "k", ObjType::Map),
        }
        .expect("nest");
    }
}

fn refused_as(answer: &SyncResponse, code: RejectCode) -> &str {
    assert!(
        answer.accepted.is_empty(),
        "accepted: {:?}",
        answer.accepted
    );
    assert_eq!(answer.rejected.len(), 1, "{:?}", answer.rejected);
    assert_eq!(answer.rejected[0].code, code, "{:?}", answer.rejected[0]);
    &answer.rejected[0].message
}

/// A rider with one synced help request, and a dispatcher device that holds it.
async fn rider_with_ticket(h: &Harness) -> (Device, Device, String, User) {
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let (id, change) = phone.create(NewTicket::help_request(None, None, Some("help".into())));
    phone.sync(h, &[(&id, &change)]).await;
    desk.sync(h, &[]).await;
    (phone, desk, id, ops)
}

/// Another device of the tenant creates a ticket and it reaches the back office: the server is up
/// and judging as before.
async fn others_still_served(h: &Harness, desk: &mut Device) {
    let (id, change) = desk.create(repair("still served"));
    let answer = desk.sync(h, &[(&id, &change)]).await;
    assert_eq!(answer.accepted, [change.hash().to_string()]);
    assert!(desk.view(&id).number.is_some());
}

#[tokio::test]
async fn deep_nesting_is_refused_as_too_large_and_the_server_goes_on() {
    let h = Harness::new();
    let (mut phone, mut desk, id, _) = rider_with_ticket(&h).await;
    let cursor = desk.sync(&h, &[]).await.cursor;
    // 3,000 levels crashed the server; 2,000 were stored. Both are far beyond the limit now, as
    // is one level more than it; 100,000 levels are refused for their size alone.
    for (depth, kind) in [
        (3_000, ObjType::Map),
        (3_000, ObjType::List),
        (2_000, ObjType::Map),
        (MAX_DEPTH + 1, ObjType::Map),
        (100_000, ObjType::Map),
    ] {
        let before = phone.docs.get_mut(&id).expect("held").fork();
        let deep = forge(&mut phone, &id, |doc| nest(doc, depth, kind));
        let answer = phone.round(&h, &[(&id, &deep)], 0, 0).await;
        let message = refused_as(&answer, RejectCode::TooLarge);
        assert!(
            ["levels deep", "operations", "bytes"]
                .iter()
                .any(|limit| message.contains(limit)),
            "{depth}: {message}"
        );
        assert_eq!(snapshots(&answer), [id.as_str()], "the ticket comes back");
        phone.docs.insert(id.clone(), before);
    }
    // Nothing was stored: the back office hears nothing new.
    let news = desk.sync(&h, &[]).await;
    assert!(news.items.is_empty() && news.cursor == cursor);
    others_still_served(&h, &mut desk).await;
    // Nesting within the limit, under a key this version does not know, is kept (a newer app).
    let fine = forge(&mut phone, &id, |doc| nest(doc, MAX_DEPTH, ObjType::Map));
    let answer = phone.sync(&h, &[(&id, &fine)]).await;
    assert_eq!(
        answer.accepted,
        [fine.hash().to_string()],
        "{:?}",
        answer.rejected
    );
}

#[tokio::test]
async fn a_deep_value_hidden_in_a_conflict_or_a_custom_field_is_refused() {
    let h = Harness::new();
    let (_, mut desk, id, _) = rider_with_ticket(&h).await;
    // The back office may write custom fields, but plain values only, never a deep object.
    let custom = forge(&mut desk, &id, |doc| {
        let custom = doc.get(ROOT, "custom").expect("get").expect("custom").1;
        let mut obj = doc.put_object(&custom, "sap", ObjType::Map).expect("put");
        for _ in 0..3_000 {
            obj = doc.put_object(&obj, "k", ObjType::Map).expect("nest");
        }
    });
    let answer = desk.round(&h, &[(&id, &custom)], 0, 0).await;
    refused_as(&answer, RejectCode::TooLarge);
    desk.apply(&answer);
    let shallow = forge(&mut desk, &id, |doc| {
        let custom = doc.get(ROOT, "custom").expect("get").expect("custom").1;
        let obj = doc.put_object(&custom, "sap", ObjType::Map).expect("put");
        doc.put(&obj, "k", 1_i64).expect("put");
    });
    let answer = desk.round(&h, &[(&id, &shallow)], 0, 0).await;
    assert!(refused_as(&answer, RejectCode::Malformed).contains("another kind of value"));
}

/// A change that makes a list of `items` values under an unknown key: `Null`s run-length encode
/// to about a hundred bytes whatever their number; integers take a byte each (the finding's 1 MB
/// change). Built from a two-operation change by repeating its insert, so even a million items
/// cost the test little.
fn list_change(device: &mut Device, id: &str, items: usize, value: ScalarValue) -> Change {
    let two = forge(device, id, |doc| {
        let list = doc.put_object(ROOT, "x_junk", ObjType::List).expect("list");
        doc.insert(&list, 0, value).expect("insert");
    });
    let mut expanded = two.decode();
    let insert = expanded.operations[1].clone();
    expanded.operations.truncate(1);
    expanded
        .operations
        .extend((0..items).map(|_| insert.clone()));
    Change::from(expanded)
}

#[tokio::test]
async fn a_million_item_change_is_refused_before_it_is_applied() {
    let h = Harness::new();
    let (mut phone, mut desk, id, _) = rider_with_ticket(&h).await;
    let cursor = desk.sync(&h, &[]).await.cursor;
    let tiny = list_change(&mut phone, &id, 1_000_000, ScalarValue::Null);
    assert!(tiny.raw_bytes().len() < 200, "{}", tiny.raw_bytes().len());
    let big = list_change(&mut phone, &id, 1_000_000, ScalarValue::Int(1));
    assert!(big.raw_bytes().len() > 1_000_000);
    let just_over = list_change(&mut phone, &id, MAX_CHANGE_OPS, ScalarValue::Int(1));
    for change in [&tiny, &big, &just_over] {
        let answer = phone.round(&h, &[(&id, change)], 0, 0).await;
        let message = refused_as(&answer, RejectCode::TooLarge);
        assert!(
            message.contains("operations") || message.contains("bytes"),
            "{message}"
        );
    }
    let news = desk.sync(&h, &[]).await;
    assert!(
        news.items.is_empty() && news.cursor == cursor,
        "nothing stored"
    );
    others_still_served(&h, &mut desk).await;
    assert!(h.state.cached_docs() <= fieldwork_server::config::DEFAULT_DOC_CACHE);
}

#[tokio::test]
async fn unknown_fields_get_a_small_budget_not_a_free_ride() {
    let h = Harness::new();
    let (mut phone, _, id, _) = rider_with_ticket(&h).await;
    // A newer app's new field: a few values, kept.
    let newer = forge(&mut phone, &id, |doc| {
        doc.put(ROOT, "drone_dispatch", "requested").expect("put")
    });
    let answer = phone.sync(&h, &[(&id, &newer)]).await;
    assert_eq!(answer.accepted, [newer.hash().to_string()]);
    // Thousands of values under a new key, or on a known object where the typed view never
    // looks: beyond the budget.
    for at_note in [false, true] {
        let before = phone.docs.get_mut(&id).expect("held").fork();
        let hidden = forge(&mut phone, &id, |doc| {
            let obj = if at_note {
                let notes = doc.get(ROOT, "notes").expect("get").expect("notes").1;
                doc.get(&notes, 0).expect("get").expect("a note").1
            } else {
                doc.put_object(ROOT, "x_bulk", ObjType::Map).expect("put")
            };
            for i in 0..2_000 {
                doc.put(&obj, format!("k{i}"), i as i64).expect("put");
            }
        });
        let answer = phone.round(&h, &[(&id, &hidden)], 0, 0).await;
        assert!(refused_as(&answer, RejectCode::TooLarge).contains("does not know"));
        phone.docs.insert(id.clone(), before);
    }
    // Plain values slipped into a known list would break later edits: not a ticket's shape.
    let junk = forge(&mut phone, &id, |doc| {
        let events = doc.get(ROOT, "events").expect("get").expect("events").1;
        let len = doc.length(&events);
        doc.insert(&events, len, 1_i64).expect("insert");
    });
    let answer = phone.round(&h, &[(&id, &junk)], 0, 0).await;
    assert!(refused_as(&answer, RejectCode::Malformed).contains("another kind of value"));
}

#[tokio::test]
async fn a_cancel_built_on_an_old_version_cannot_reopen_a_closed_ticket() {
    let h = Harness::new();
    let (mut phone, mut desk, id, _) = rider_with_ticket(&h).await;
    // The rider keeps the ticket as it was when new; the back office works it to closed.
    let stale = phone.docs.get_mut(&id).expect("held").save();
    for edit in [
        Edit::Assign {
            assignee: Some("tech9".into()),
        },
        Edit::SetStatus {
            status: Status::Accepted,
        },
        Edit::SetStatus {
            status: Status::InProgress,
        },
        Edit::SetStatus {
            status: Status::Resolved,
        },
        Edit::SetStatus {
            status: Status::Closed,
        },
    ] {
        let change = desk.edit(&id, edit);
        let answer = desk.sync(&h, &[(&id, &change)]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    }
    phone.sync(&h, &[]).await;
    let closed = phone.view(&id);
    assert_eq!(closed.status, Status::Closed);
    // A normal cancel is refused by the device itself.
    assert!(
        fieldwork_core::rules::check_edit(
            &phone.actor,
            &closed,
            &Edit::SetStatus {
                status: Status::Cancelled
            }
        )
        .is_err()
    );

    let restore = |phone: &mut Device| {
        let mut doc = TicketDocument::load(&stale).expect("stale copy");
        doc.set_actor(phone.actor_id.clone());
        phone.docs.insert(id.clone(), doc);
    };
    // The cancel built on the version from when the ticket was new, with startOp 10,000,000, or
    // one past the ticket's current last operation: both numbered beyond what its dependencies
    // allow, refused as malformed.
    restore(&mut phone);
    let cancel = phone.edit(
        &id,
        Edit::SetStatus {
            status: Status::Cancelled,
        },
    );
    let server_next_op = desk.docs.get_mut(&id).expect("held").next_op();
    for start_op in [10_000_000, server_next_op] {
        let mut expanded = cancel.decode();
        expanded.start_op = std::num::NonZeroU64::new(start_op).expect("non-zero");
        let forged = Change::from(expanded);
        let answer = phone.round(&h, &[(&id, &forged)], 0, 0).await;
        assert!(refused_as(&answer, RejectCode::Malformed).contains("startOp"));
    }
    // A status written without the event the workflow writes is refused as the rider saw it.
    restore(&mut phone);
    let silent = forge(&mut phone, &id, |doc| {
        doc.put(ROOT, "status", "cancelled").expect("put")
    });
    let answer = phone.round(&h, &[(&id, &silent)], 0, 0).await;
    assert!(refused_as(&answer, RejectCode::Forbidden).contains("status_changed"));
    // Honestly numbered, it loses the conflict to `closed`; a long branch of the rider's own
    // notes first gives it the higher counter so it would win. Judged as the rider saw the ticket
    // it is a legal cancel; judged on the ticket everyone reads, it is not.
    restore(&mut phone);
    let mut notes = Vec::new();
    for i in 0..30 {
        notes.push(phone.edit(
            &id,
            Edit::AddNote {
                text: format!("note {i} {}", "x".repeat(50)),
                internal: false,
            },
        ));
    }
    let cancel = phone.edit(
        &id,
        Edit::SetStatus {
            status: Status::Cancelled,
        },
    );
    let mut push: Vec<(&str, &Change)> = notes.iter().map(|c| (id.as_str(), c)).collect();
    push.push((&id, &cancel));
    let answer = phone.round(&h, &push, 0, 0).await;
    assert_eq!(
        answer.accepted.len(),
        notes.len(),
        "the notes are the rider's"
    );
    assert_eq!(answer.rejected.len(), 1, "{:?}", answer.rejected);
    assert_eq!(answer.rejected[0].code, RejectCode::Forbidden);
    assert!(
        answer.rejected[0].message.contains("closed"),
        "{}",
        answer.rejected[0].message
    );
    desk.sync(&h, &[]).await;
    let seen = desk.view(&id);
    assert_eq!(seen.status, Status::Closed, "the ticket stays closed");
    assert!(
        !seen.conflicts.iter().any(|c| c.field == "status"),
        "{:?}",
        seen.conflicts
    );
    assert!(
        seen.events
            .iter()
            .all(|e| e.data.get("to").map(String::as_str) != Some("cancelled"))
    );
    assert_eq!(seen.notes.len(), 31, "the rider's notes went through");
}

#[tokio::test]
async fn honest_concurrent_edits_of_one_field_or_two_still_go_through() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let agent = h.user("acme", "agent", Role::Agent, None);
    let tech = h.user("acme", "tech", Role::Technician, Some("north"));
    let mut desk = h.login(&ops).await;
    let mut counter = h.login(&agent).await;
    let mut van = h.login(&tech).await;
    let (id, change) = desk.create(repair("boiler"));
    let assign = desk.edit(
        &id,
        Edit::Assign {
            assignee: Some(tech.id.clone()),
        },
    );
    let accept_prep = desk.edit(
        &id,
        Edit::SetStatus {
            status: Status::Accepted,
        },
    );
    desk.sync(&h, &[(&id, &change), (&id, &assign), (&id, &accept_prep)])
        .await;
    counter.sync(&h, &[]).await;
    van.sync(&h, &[]).await;
    // All offline: two priorities, a title, and two status moves along the open workflow.
    let p1 = desk.edit(
        &id,
        Edit::SetPriority {
            priority: Priority::High,
        },
    );
    let s1 = desk.edit(
        &id,
        Edit::SetStatus {
            status: Status::OnSite,
        },
    );
    let p2 = counter.edit(
        &id,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    let t2 = counter.edit(
        &id,
        Edit::SetTitle {
            title: "boiler, no hot water".into(),
        },
    );
    let s3 = van.edit(
        &id,
        Edit::SetStatus {
            status: Status::EnRoute,
        },
    );
    let n3 = van.edit(
        &id,
        Edit::AddNote {
            text: "on my way".into(),
            internal: false,
        },
    );
    for (device, changes) in [
        (&mut desk, vec![&p1, &s1]),
        (&mut counter, vec![&p2, &t2]),
        (&mut van, vec![&s3, &n3]),
    ] {
        let push: Vec<(&str, &Change)> = changes.iter().map(|c| (id.as_str(), *c)).collect();
        let answer = device.sync(&h, &push).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    }
    for device in [&mut desk, &mut counter, &mut van] {
        device.sync(&h, &[]).await;
    }
    let seen = desk.view(&id);
    assert_eq!(seen, counter.view(&id));
    assert_eq!(seen, van.view(&id));
    assert!(seen.conflicts.iter().any(|c| c.field == "priority"));
    assert_eq!(seen.title, "boiler, no hot water");
    assert_eq!(seen.notes.len(), 1);
}

/// A change the judge refuses after trying it on the ticket (here a custom value nested too
/// deep, found in the document it leaves) does not take the push's other changes with it: an
/// alternative to it, the same author's next change too, is accepted after it, whether the ticket
/// was as stored (the server tries a change on its document and reads the ticket again after a
/// refusal) or already changed by the same push (tried on a copy). What the back office reads
/// afterwards holds exactly the accepted changes, and the ticket takes further changes.
#[tokio::test]
async fn a_refused_change_in_a_push_leaves_the_ticket_with_the_pushs_other_changes() {
    let h = Harness::new();
    let (mut phone, mut desk, id, ops) = rider_with_ticket(&h).await;
    let deep = |doc: &mut AutoCommit| {
        let custom = doc.get(ROOT, "custom").expect("get").expect("custom").1;
        let mut obj = doc.put_object(&custom, "deep", ObjType::Map).expect("put");
        for _ in 0..MAX_DEPTH + 2 {
            obj = doc.put_object(&obj, "k", ObjType::Map).expect("nest");
        }
    };
    let plain = |key: &'static str, value: i64| {
        move |doc: &mut AutoCommit| {
            let custom = doc.get(ROOT, "custom").expect("get").expect("custom").1;
            doc.put(&custom, key, value).expect("put");
        }
    };
    // `alternative` makes another change on the same version as the forged one before it.
    let alternative = |desk: &mut Device, write: &dyn Fn(&mut AutoCommit)| {
        let doc = desk.docs.get_mut(&id).expect("held").raw_mut();
        let mut other = doc.clone();
        write(&mut other);
        other.commit();
        other.get_last_local_change().expect("a change").clone()
    };

    // As stored: the refused change first, its alternative after it.
    let honest = alternative(&mut desk, &plain("first", 1));
    let hostile = forge(&mut desk, &id, deep);
    let answer = desk
        .round(&h, &[(&id, &hostile), (&id, &honest)], 0, 0)
        .await;
    assert_eq!(answer.accepted, [honest.hash().to_string()]);
    assert_eq!(answer.rejected.len(), 1, "{:?}", answer.rejected);
    assert_eq!(answer.rejected[0].hash, hostile.hash().to_string());
    assert_eq!(answer.rejected[0].code, RejectCode::TooLarge);

    // Changed by the same push: an accepted change, then the refused one and its alternative.
    let mut desk = h.login(&ops).await;
    desk.sync(&h, &[]).await;
    let second = forge(&mut desk, &id, plain("second", 2));
    let third = alternative(&mut desk, &plain("third", 3));
    let hostile = forge(&mut desk, &id, deep);
    let answer = desk
        .round(&h, &[(&id, &second), (&id, &hostile), (&id, &third)], 0, 0)
        .await;
    assert_eq!(
        answer.accepted,
        [second.hash().to_string(), third.hash().to_string()]
    );
    assert_eq!(answer.rejected.len(), 1, "{:?}", answer.rejected);
    assert_eq!(answer.rejected[0].code, RejectCode::TooLarge);

    // A device that knows nothing reads the three accepted values and nothing of the refused.
    let mut fresh = h.login(&ops).await;
    fresh.sync(&h, &[]).await;
    let custom = fresh.view(&id).custom;
    assert_eq!(
        custom.keys().collect::<Vec<_>>(),
        ["first", "second", "third"]
    );
    // And the ticket takes the next change as before.
    let notes = fresh.view(&id).notes.len();
    let note = phone.edit(
        &id,
        Edit::AddNote {
            text: "still there".into(),
            internal: false,
        },
    );
    let answer = phone.sync(&h, &[(&id, &note)]).await;
    assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    fresh.sync(&h, &[]).await;
    assert_eq!(fresh.view(&id).notes.len(), notes + 1);
}
