//! Push and pull as devices see them: numbering, visibility per role, tenants, judgement of
//! changes as their author saw the ticket, eviction, paging and idempotency.

mod support;

use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Priority, Role, Status};
use fieldwork_protocol::sync::{
    self as protocol, ByteBuf, PullItem, PushChange, RejectCode, SyncResponse,
};
use support::{Harness, repair, snapshots};

#[tokio::test]
async fn a_help_request_is_numbered_and_reaches_the_back_office_as_a_snapshot() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;

    let help = NewTicket::help_request(Some("ORD-1".into()), None, Some("crashed".into()));
    let (id, change) = phone.create(help);
    let pushed = phone.sync(&h, &[(&id, &change)]).await;
    assert_eq!(pushed.accepted, [change.hash().to_string()]);
    assert!(pushed.rejected.is_empty());
    // The rider's device gets only the server's numbering change, not its own change back.
    assert!(
        matches!(&pushed.items[..], [PullItem::Changes { ticket_id, changes, .. }]
        if ticket_id == &id && changes.len() == 1)
    );
    assert_eq!(phone.view(&id).number.as_deref(), Some("FW-000001"));
    assert!(!pushed.more);

    let pulled = desk.sync(&h, &[]).await;
    assert_eq!(snapshots(&pulled), [id.as_str()]);
    assert_eq!(
        pulled.items.len(),
        1,
        "the snapshot already holds the number"
    );
    let seen = desk.view(&id);
    assert_eq!(seen.number.as_deref(), Some("FW-000001"));
    assert_eq!(seen.order_ref.as_deref(), Some("ORD-1"));
    assert_eq!(pulled.cursor, pushed.cursor);

    // Nothing new: an empty answer with the same cursor.
    let quiet = desk.sync(&h, &[]).await;
    assert!(quiet.items.is_empty() && !quiet.more);
    assert_eq!(quiet.cursor, pulled.cursor);
}

#[tokio::test]
async fn pushing_the_same_change_again_stores_it_once() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut desk = h.login(&ops).await;
    let (id, change) = desk.create(repair("fridge warm"));
    let first = desk.round(&h, &[(&id, &change)], 0, 0).await;
    // The answer was lost: the device sends the same outbox again.
    let second = desk
        .round(&h, &[(&id, &change), (&id, &change)], 0, 0)
        .await;
    let hash = change.hash().to_string();
    assert_eq!(first.accepted, [hash.as_str()]);
    assert_eq!(second.accepted, [hash.as_str(), hash.as_str()]);
    assert!(second.rejected.is_empty());
    assert_eq!(second.cursor, first.cursor, "nothing new was stored");

    let (next, creation) = desk.create(repair("oven cold"));
    desk.sync(&h, &[(&next, &creation)]).await;
    assert_eq!(desk.view(&next).number.as_deref(), Some("FW-000002"));
    let mut fresh = h.login(&ops).await;
    let all = fresh.pull_all(&h).await;
    let ids: Vec<&str> = all.iter().flat_map(snapshots).collect();
    assert_eq!(ids, [id.as_str(), next.as_str()]);
}

#[tokio::test]
async fn a_small_budget_pages_the_download_with_more() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let mut desk = h.login(&ops).await;
    let made: Vec<_> = (0..5)
        .map(|i| desk.create(repair(&format!("job {i}"))))
        .collect();
    let push: Vec<_> = made.iter().map(|(id, c)| (id.as_str(), c)).collect();
    let pushed = desk.sync(&h, &push).await;
    assert_eq!(pushed.accepted.len(), 5);

    let mut fresh = h.login(&ops).await;
    let mut pages = Vec::new();
    loop {
        let page = fresh.round(&h, &[], 0, 1).await;
        fresh.apply(&page);
        assert_eq!(
            page.items.len(),
            1,
            "one item per page when one does not fit"
        );
        let more = page.more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let ids: Vec<&str> = pages.iter().flat_map(snapshots).collect();
    let expected: Vec<&str> = made.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected);
    let cursors: Vec<u64> = pages.iter().map(|p| p.cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    for (id, _) in &made {
        assert!(fresh.view(id).number.is_some());
    }
}

#[tokio::test]
async fn riders_see_only_their_own_tickets() {
    let h = Harness::new();
    h.tenant("acme");
    let a = h.user("acme", "rider-a", Role::Rider, None);
    let b = h.user("acme", "rider-b", Role::Rider, None);
    let mut phone_a = h.login(&a).await;
    let mut phone_b = h.login(&b).await;
    let (id, change) = phone_a.create(NewTicket::help_request(None, None, None));
    phone_a.sync(&h, &[(&id, &change)]).await;
    let pulled = phone_b.pull_all(&h).await;
    assert!(pulled.iter().all(|r| r.items.is_empty()));
    assert!(phone_b.docs.is_empty());
}

#[tokio::test]
async fn tenants_never_see_or_touch_each_other() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let ops_a = h.user("acme", "ops", Role::Admin, None);
    let ops_b = h.user("globex", "ops", Role::Admin, None);
    let mut desk_a = h.login(&ops_a).await;
    let mut desk_b = h.login(&ops_b).await;
    let (id, change) = desk_a.create(repair("acme only"));
    desk_a.sync(&h, &[(&id, &change)]).await;

    let pulled = desk_b.pull_all(&h).await;
    assert!(
        pulled.iter().all(|r| r.items.is_empty()),
        "nothing crosses tenants"
    );

    // Globex's device somehow has Acme's document and pushes an edit to it. Ticket ids are
    // scoped to the tenant, so in Globex that id is unknown, and the answer is exactly the one
    // for an edit to a ticket nobody has: nothing tells Globex the id is used elsewhere.
    let stolen = desk_a.docs.remove(&id).expect("held");
    desk_b.docs.insert(id.clone(), stolen);
    let docs = desk_b.docs.get_mut(&id).expect("held");
    docs.set_actor(desk_b.actor_id.clone());
    let edit = desk_b.edit(
        &id,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    let answer = desk_b.round(&h, &[(&id, &edit)], 0, 0).await;
    let (never, _never_pushed) = desk_b.create(repair("never pushed"));
    let never_edit = desk_b.edit(
        &never,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    let unknown = desk_b.round(&h, &[(&never, &never_edit)], 0, 0).await;
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::MissingDependencies);
    assert_eq!(
        (&answer.rejected[0].code, &answer.rejected[0].message),
        (&unknown.rejected[0].code, &unknown.rejected[0].message),
        "a foreign id answers like an unknown one"
    );
    assert!(matches!(&answer.items[..], [PullItem::Evict { ticket_id }] if ticket_id == &id));
    assert!(matches!(&unknown.items[..], [PullItem::Evict { ticket_id }] if ticket_id == &never));
    assert_eq!(answer.cursor, unknown.cursor);

    // A creation under Acme's ticket id is simply a new ticket of Globex's, numbered in Globex;
    // Acme's ticket is untouched.
    let reused_change = desk_b.create_with_id(&id, repair("globex, same id"));
    let created = desk_b.sync(&h, &[(&id, &reused_change)]).await;
    assert!(created.rejected.is_empty(), "{:?}", created.rejected);
    assert_eq!(desk_b.view(&id).title, "globex, same id");
    assert_eq!(desk_b.view(&id).number.as_deref(), Some("FW-000001"));
    let acme_again = desk_a.pull_all(&h).await;
    assert!(
        acme_again.iter().all(|r| r.items.is_empty()),
        "Acme hears nothing of it"
    );
    desk_a.docs.clear();
    desk_a.cursor = 0;
    desk_a.pull_all(&h).await;
    assert_eq!(desk_a.view(&id).title, "acme only");

    // A ticket created in another tenant's name is refused as well, and numbers stay per tenant.
    let globex = std::mem::replace(&mut desk_b.actor.tenant, desk_a.actor.tenant.clone());
    let (fid, fchange) = desk_b.create(repair("planted"));
    desk_b.actor.tenant = globex;
    let refused = desk_b.round(&h, &[(&fid, &fchange)], 0, 0).await;
    assert_eq!(refused.rejected[0].code, RejectCode::NotVisible);
    let (own, own_change) = desk_b.create(repair("globex job"));
    desk_b.sync(&h, &[(&own, &own_change)]).await;
    assert_eq!(desk_b.view(&own).number.as_deref(), Some("FW-000002"));
}

#[tokio::test]
async fn a_rider_cannot_assign_or_resolve_and_gets_the_ticket_back() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let mut phone = h.login(&rider).await;
    let (id, change) = phone.create(NewTicket::help_request(None, None, Some("help".into())));
    phone.sync(&h, &[(&id, &change)]).await;

    let assign = phone.edit(
        &id,
        Edit::Assign {
            assignee: Some(tech.id.clone()),
        },
    );
    let answer = phone.round(&h, &[(&id, &assign)], 0, 0).await;
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(answer.rejected[0].hash, assign.hash().to_string());
    assert!(
        answer.rejected[0].message.contains("rider"),
        "{}",
        answer.rejected[0].message
    );
    assert_eq!(snapshots(&answer), [id.as_str()]);
    phone.apply(&answer);
    assert_eq!(
        phone.view(&id).assignee,
        None,
        "reset to the server's version"
    );

    let resolve = phone.edit(
        &id,
        Edit::SetStatus {
            status: Status::Resolved,
        },
    );
    let answer = phone.round(&h, &[(&id, &resolve)], 0, 0).await;
    assert_eq!(answer.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(snapshots(&answer), [id.as_str()]);
    phone.apply(&answer);
    assert_eq!(phone.view(&id).status, Status::New);

    // A note is the rider's to add, and goes through after the refusals.
    let note = phone.edit(
        &id,
        Edit::AddNote {
            text: "still waiting".into(),
            internal: false,
        },
    );
    let answer = phone.sync(&h, &[(&id, &note)]).await;
    assert_eq!(answer.accepted, [note.hash().to_string()]);
}

#[tokio::test]
async fn changes_by_another_devices_actor_are_refused_and_the_rest_goes_on() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut mine = h.login(&ops).await;
    let mut other = h.login(&ops).await;
    let (theirs, forged) = other.create(repair("not mine"));
    let (id, change) = mine.create(repair("mine"));
    let answer = mine.sync(&h, &[(&theirs, &forged), (&id, &change)]).await;
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].code, RejectCode::ForeignActor);
    assert_eq!(answer.rejected[0].ticket_id, theirs);
    assert_eq!(answer.accepted, [change.hash().to_string()]);
    assert!(
        answer
            .items
            .iter()
            .any(|i| matches!(i, PullItem::Evict { ticket_id } if ticket_id == &theirs))
    );

    // Garbage, and a change filed under a ticket it does not belong to, are refused one by one.
    let garbage = PushChange {
        ticket_id: id.clone(),
        part: Default::default(),
        change: ByteBuf::from(vec![1, 2, 3]),
    };
    let mut request = mine.request(&[], 0, 0);
    request.changes.push(garbage);
    let reply = h
        .call(
            "POST",
            "/v1/sync",
            Some(&mine.token),
            Some(protocol::encode(&request)),
        )
        .await;
    let answer: SyncResponse = reply.ok();
    assert_eq!(answer.rejected[0].code, RejectCode::Malformed);
    let (other_id, _) = mine.create(repair("x"));
    let edit = mine.edit(&id, Edit::AddTag { tag: "cold".into() });
    let misfiled = mine.round(&h, &[(&other_id, &edit)], 0, 0).await;
    assert_eq!(misfiled.rejected[0].code, RejectCode::MissingDependencies);
}

#[tokio::test]
async fn an_offline_note_survives_a_reassignment_and_the_ticket_is_then_evicted() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, Some("north"));
    let t1 = h.user("acme", "tech1", Role::Technician, Some("south"));
    let t2 = h.user("acme", "tech2", Role::Technician, Some("south"));
    let mut desk = h.login(&ops).await;
    let mut phone1 = h.login(&t1).await;
    let mut phone2 = h.login(&t2).await;

    let (id, change) = desk.create(repair("pump leaks"));
    let assign = desk.edit(
        &id,
        Edit::Assign {
            assignee: Some(t1.id.clone()),
        },
    );
    desk.sync(&h, &[(&id, &change), (&id, &assign)]).await;
    let got = phone1.sync(&h, &[]).await;
    assert_eq!(snapshots(&got), [id.as_str()]);
    assert!(phone2.pull_all(&h).await.iter().all(|r| r.items.is_empty()));

    // In the basement, tech1 writes a note; meanwhile the dispatcher gives the job to tech2.
    let note = phone1.edit(
        &id,
        Edit::AddNote {
            text: "valve replaced".into(),
            internal: true,
        },
    );
    let reassign = desk.edit(
        &id,
        Edit::Assign {
            assignee: Some(t2.id.clone()),
        },
    );
    desk.sync(&h, &[(&id, &reassign)]).await;

    let back_online = phone1.sync(&h, &[(&id, &note)]).await;
    assert_eq!(
        back_online.accepted,
        [note.hash().to_string()],
        "{:?}",
        back_online.rejected
    );
    assert!(
        matches!(&back_online.items[..], [PullItem::Evict { ticket_id }] if ticket_id == &id),
        "{:?}",
        back_online.items
    );
    assert!(phone1.docs.is_empty());

    let now_theirs = phone2.sync(&h, &[]).await;
    assert_eq!(snapshots(&now_theirs), [id.as_str()]);
    let view = phone2.view(&id);
    assert_eq!(view.assignee.as_deref(), Some(t2.id.as_str()));
    assert!(view.notes.iter().any(|n| n.text == "valve replaced"));
    // The dispatcher, who holds the ticket, gets the note as a change.
    let desk_news = desk.sync(&h, &[]).await;
    assert!(matches!(&desk_news.items[..], [PullItem::Changes { .. }]));
    assert_eq!(desk.view(&id).notes.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_sent_again_and_changes_follow_a_snapshot() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Supervisor, None);
    let mut desk = h.login(&ops).await;
    let mut tablet = h.login(&ops).await;
    let (id, change) = desk.create(repair("door stuck"));
    desk.sync(&h, &[(&id, &change)]).await;

    // The tablet's first answer never arrives: it asks again from the same cursor.
    let lost = tablet.round(&h, &[], 0, 0).await;
    assert_eq!(snapshots(&lost), [id.as_str()]);
    let again = tablet.sync(&h, &[]).await;
    assert_eq!(
        snapshots(&again),
        [id.as_str()],
        "the snapshot is sent again"
    );

    let tag = desk.edit(
        &id,
        Edit::AddTag {
            tag: "urgent-ish".into(),
        },
    );
    desk.sync(&h, &[(&id, &tag)]).await;
    let news = tablet.sync(&h, &[]).await;
    assert!(matches!(&news.items[..], [PullItem::Changes { changes, .. }] if changes.len() == 1));
    assert_eq!(tablet.view(&id).tags, ["urgent-ish"]);
}

#[tokio::test]
async fn a_cursor_beyond_everything_stored_comes_back_down() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let mut desk = h.login(&ops).await;
    let mut other = h.login(&ops).await;
    desk.cursor = u64::MAX;
    let answer = desk.sync(&h, &[]).await;
    assert!(answer.items.is_empty() && !answer.more);
    assert_eq!(answer.cursor, 0);
    let (id, change) = other.create(repair("after the reset"));
    other.sync(&h, &[(&id, &change)]).await;
    assert_eq!(snapshots(&desk.sync(&h, &[]).await), [id.as_str()]);
}

#[tokio::test]
async fn documents_in_memory_stay_within_the_cache_bound() {
    let h = Harness::with_doc_cache(3);
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Agent, None);
    let mut desk = h.login(&ops).await;
    let made: Vec<_> = (0..12)
        .map(|i| desk.create(repair(&format!("t{i}"))))
        .collect();
    let push: Vec<_> = made.iter().map(|(id, c)| (id.as_str(), c)).collect();
    desk.sync(&h, &push).await;
    assert!(h.state.cached_docs() <= 3);
    for (id, _) in &made {
        let tag = desk.edit(id, Edit::AddTag { tag: "seen".into() });
        let answer = desk.sync(&h, &[(id, &tag)]).await;
        assert!(answer.rejected.is_empty());
    }
    let mut fresh = h.login(&ops).await;
    let ids: Vec<String> = fresh
        .pull_all(&h)
        .await
        .iter()
        .flat_map(|r| {
            snapshots(r)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids.len(), 12);
    assert!(ids.iter().all(|id| fresh.view(id).tags == ["seen"]));
    assert!(h.state.cached_docs() <= 3);
}

#[tokio::test]
async fn a_device_starting_over_at_cursor_zero_gets_everything_whole_again() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider7", Role::Rider, None);
    let mut phone = h.login(&rider).await;
    let (id, change) = phone.create(NewTicket::help_request(None, None, None));
    let first = phone.sync(&h, &[(&id, &change)]).await;
    assert!(
        snapshots(&first).is_empty(),
        "its own new ticket: just the number"
    );

    // The app's data is lost; the device comes back with the same actor and cursor 0.
    phone.docs.clear();
    phone.cursor = 0;
    let again = phone.sync(&h, &[]).await;
    assert_eq!(snapshots(&again), [id.as_str()]);
    assert_eq!(phone.view(&id).number.as_deref(), Some("FW-000001"));
}

#[tokio::test]
async fn a_tenants_cursor_moves_only_with_its_own_changes() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let merchant = h.user("acme", "shop", Role::Merchant, None);
    let rider = h.user("globex", "rider", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut till = h.login(&merchant).await;
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let (own, own_change) = desk.create(repair("acme job"));
    desk.sync(&h, &[(&own, &own_change)]).await;
    let idle = till.sync(&h, &[]).await.cursor;

    // Another tenant's traffic: the idle merchant's cursor does not move, not even by one.
    for _ in 0..3 {
        let (id, change) = phone.create(NewTicket::help_request(None, None, Some("x".into())));
        phone.sync(&h, &[(&id, &change)]).await;
    }
    assert_eq!(till.sync(&h, &[]).await.cursor, idle);
    assert_eq!(
        phone.cursor, 6,
        "globex counts its own changes (3 tickets, each numbered)"
    );

    // Its own tenant's traffic does move it.
    let (id, change) = desk.create(repair("second"));
    desk.sync(&h, &[(&id, &change)]).await;
    assert!(till.sync(&h, &[]).await.cursor > idle);
}

#[tokio::test]
async fn a_cursor_beyond_the_tenants_changes_starts_the_device_over() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut desk = h.login(&ops).await;
    let mut other = h
        .login(&h.user("acme", "ops2", Role::Dispatcher, None))
        .await;
    let (id, change) = desk.create(repair("kept"));
    desk.sync(&h, &[(&id, &change)]).await;
    other.pull_all(&h).await;
    assert!(other.docs.contains_key(&id));

    // A device that carries a cursor from before a restore (or an older server's numbering)
    // receives every visible ticket again instead of silently skipping what it never saw.
    other.docs.clear();
    other.cursor = 1_000_000;
    other.pull_all(&h).await;
    assert_eq!(other.view(&id).title, "kept");
    assert_eq!(other.cursor, desk.cursor);
}
