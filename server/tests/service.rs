//! The one write path (`service::Tickets::commit`) as the back-office API and the brain will use
//! it: a person's changes judged by the same rules as a device's, the server's own changes bound
//! only by what the store keeps, and the notice every commit announces.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::ticket::{ActorId, Change, Edit, NewTicket, Ticket, TicketDocument};
use fieldwork_core::{Actor, Priority, Role};
use fieldwork_protocol::sync::{PullItem, RejectCode};
use fieldwork_server::Error;
use fieldwork_server::service::{Author, ProposedChange, Writer};
use fieldwork_server::storage::{ReadWith, TicketQuery, UserRecord};
use support::{Device, Harness, repair};

fn record(h: &Harness, tenant: &str, name: &str) -> UserRecord {
    let store = h.state.store();
    let tenant = store.find_tenant(tenant).expect("reads").expect("tenant");
    store
        .user_by_name(&tenant.id, name)
        .expect("reads")
        .expect("user")
        .0
}

/// The stored document of ticket `id`, as the API or the brain would load it.
fn stored_doc(h: &Harness, tenant_id: &str, id: &str) -> TicketDocument {
    let snapshot = h
        .state
        .store()
        .read_with(|r| r.ticket_snapshot(tenant_id, id))
        .expect("reads")
        .expect("stored");
    TicketDocument::load(&snapshot).expect("loads")
}

/// `edit` of ticket `id` as `user` writing with `actor`, the way the API will make it.
fn person_edit(h: &Harness, user: &UserRecord, actor: &ActorId, id: &str, edit: Edit) -> Change {
    let mut doc = stored_doc(h, &user.tenant_id, id);
    doc.set_actor(actor.clone());
    let view: Ticket = doc.view().expect("view");
    let author: Actor = user.actor();
    doc.apply(&view, &edit, &author, h.state.now_ms())
        .expect("applies")
        .expect("changes something")
}

fn proposed(id: &str, change: &Change) -> Vec<ProposedChange> {
    vec![ProposedChange::public(id, change.raw_bytes().to_vec())]
}

#[tokio::test]
async fn a_persons_change_is_judged_like_a_devices_stored_and_pulled_by_devices() {
    let h = Harness::new();
    h.tenant("acme");
    let tech = h.user("acme", "tech", Role::Technician, None);
    h.user("acme", "ops", Role::Dispatcher, None);
    h.user("acme", "rider", Role::Rider, None);
    let mut phone = h.login(&tech).await;
    let (id, created) = phone.create(repair("fridge warm"));
    phone.sync(&h, &[(&id, &created)]).await;
    let mut notices = h.state.tickets().subscribe();

    let ops = record(&h, "acme", "ops");
    let actor = ActorId::random();
    let urgent = person_edit(
        &h,
        &ops,
        &actor,
        &id,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    let author = Author::Person {
        user: ops.clone(),
        actor: actor.clone(),
    };
    let done = h
        .state
        .tickets()
        .commit(author.clone(), &ops.tenant_id, proposed(&id, &urgent))
        .await
        .expect("commits");
    assert_eq!(done.accepted, [urgent.hash().to_string()]);
    assert!(done.rejected.is_empty());
    assert_eq!(done.changed, [id.as_str()]);
    let notice = notices.recv().await.expect("a notice");
    assert_eq!(notice.tenant, ops.tenant_id);
    assert_eq!(notice.tickets, [id.as_str()]);
    assert_eq!(Some(notice.max_seq), done.max_seq);
    assert_eq!(
        notice.writer,
        Writer::Person {
            user_id: ops.id.clone()
        }
    );

    // The technician's phone hears of it like of any other change.
    let pulled = phone.sync(&h, &[]).await;
    assert!(matches!(&pulled.items[..], [PullItem::Changes { ticket_id, .. }] if ticket_id == &id));
    assert_eq!(phone.view(&id).priority, Priority::Urgent);

    // Sent again, it is accepted and stored once.
    let again = h
        .state
        .tickets()
        .commit(author, &ops.tenant_id, proposed(&id, &urgent))
        .await
        .expect("commits");
    assert_eq!((again.accepted.len(), again.max_seq), (1, None));

    // A rider may not set a priority, through the API as little as on a phone.
    let rider = record(&h, "acme", "rider");
    let rider_actor = ActorId::random();
    let forged = person_edit(
        &h,
        &rider,
        &rider_actor,
        &id,
        Edit::SetPriority {
            priority: Priority::Low,
        },
    );
    let refused = h
        .state
        .tickets()
        .commit(
            Author::Person {
                user: rider,
                actor: rider_actor,
            },
            &ops.tenant_id,
            proposed(&id, &forged),
        )
        .await
        .expect("answers");
    assert_eq!(refused.rejected.len(), 1);
    assert!(matches!(
        refused.rejected[0].code,
        RejectCode::NotVisible | RejectCode::Forbidden
    ));
    assert_eq!(refused.refresh, [id.as_str()]);
    assert!(
        notices.try_recv().is_err(),
        "nothing stored, nothing announced"
    );
}

#[tokio::test]
async fn changes_must_carry_the_authors_actor_and_stay_in_the_authors_tenant() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let tech = h.user("acme", "tech", Role::Technician, None);
    h.user("acme", "ops", Role::Dispatcher, None);
    h.user("globex", "boss", Role::Admin, None);
    let mut phone = h.login(&tech).await;
    let (id, created) = phone.create(repair("door stuck"));
    phone.sync(&h, &[(&id, &created)]).await;
    let ops = record(&h, "acme", "ops");
    let actor = ActorId::random();
    let change = person_edit(
        &h,
        &ops,
        &actor,
        &id,
        Edit::SetPriority {
            priority: Priority::High,
        },
    );

    let other_actor = h
        .state
        .tickets()
        .commit(
            Author::Person {
                user: ops.clone(),
                actor: ActorId::random(),
            },
            &ops.tenant_id,
            proposed(&id, &change),
        )
        .await
        .expect("answers");
    assert_eq!(other_actor.rejected[0].code, RejectCode::ForeignActor);
    let as_server = h
        .state
        .tickets()
        .commit(Author::Server, &ops.tenant_id, proposed(&id, &change))
        .await
        .expect("answers");
    assert_eq!(
        as_server.rejected[0].code,
        RejectCode::ForeignActor,
        "the server writes only with its own actor"
    );

    let boss = record(&h, "globex", "boss");
    let crossing = h
        .state
        .tickets()
        .commit(
            Author::Person { user: boss, actor },
            &ops.tenant_id,
            proposed(&id, &change),
        )
        .await;
    assert!(
        matches!(
            crossing,
            Err(Error::Invalid {
                field: "tenant",
                ..
            })
        ),
        "{crossing:?}"
    );
}

#[tokio::test]
async fn the_server_writes_as_itself_and_a_long_poll_hears_it() {
    let h = Arc::new(Harness::new());
    h.tenant("acme");
    let tech = h.user("acme", "tech", Role::Technician, None);
    let mut phone = h.login(&tech).await;
    let (id, created) = phone.create(repair("compressor noise"));
    phone.sync(&h, &[(&id, &created)]).await;
    let tenant = phone.actor.tenant.clone();
    let mut waiter = h.login(&tech).await;
    waiter.pull_all(&h).await;
    let mut notices = h.state.tickets().subscribe();
    let waiting = {
        let h = h.clone();
        tokio::spawn(async move {
            let heard = waiter.round(&h, &[], 30_000, 0).await;
            (waiter, heard)
        })
    };

    // The brain's kind of change: a field only the server owns, by the server's actor.
    let server_actor = h.state.store().server_actor().clone();
    let mut doc = stored_doc(&h, &tenant, &id);
    let renumbered = doc
        .set_number("FW-000777", server_actor, h.state.now_ms())
        .expect("writes")
        .expect("a change");
    let done = h
        .state
        .tickets()
        .commit(Author::Server, &tenant, proposed(&id, &renumbered))
        .await
        .expect("commits");
    assert_eq!(done.accepted.len(), 1, "{:?}", done.rejected);
    let (mut waiter, heard) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the long-poll answers well before its 30 s")
        .expect("the task ends");
    waiter.apply(&heard);
    assert_eq!(waiter.view(&id).number.as_deref(), Some("FW-000777"));
    let notice = notices.recv().await.expect("a notice");
    assert_eq!(
        (notice.writer.clone(), notice.tickets.clone()),
        (Writer::Server, vec![id.clone()])
    );

    // A server change that builds on nothing the store has is refused, not stored.
    let mut stray = TicketDocument::empty(
        fieldwork_core::ticket::Part::Public,
        h.state.store().server_actor().clone(),
    );
    let orphan = stray
        .set_number("FW-000778", h.state.store().server_actor().clone(), 1)
        .expect("writes")
        .expect("a change");
    let refused = h
        .state
        .tickets()
        .commit(Author::Server, &tenant, proposed(&id, &orphan))
        .await
        .expect("answers");
    assert_eq!(refused.rejected.len(), 1);
    assert_eq!(refused.max_seq, None);
}

#[tokio::test]
async fn a_device_push_announces_the_tickets_it_stored_and_who_pushed() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "rider", Role::Rider, None);
    let mut phone = h.login(&rider).await;
    let mut notices = h.state.tickets().subscribe();
    let (a, first) = phone.create(NewTicket::help_request(
        None,
        None,
        Some("flat tyre".into()),
    ));
    let (b, second) = phone.create(NewTicket::help_request(None, None, Some("crashed".into())));
    let pushed = phone.sync(&h, &[(&a, &first), (&b, &second)]).await;
    assert_eq!(pushed.accepted.len(), 2);
    let notice = notices.recv().await.expect("a notice");
    assert_eq!(notice.tickets, [a, b]);
    assert_eq!(notice.max_seq, 4, "two creations and their two numbers");
    assert_eq!(
        notice.writer,
        Writer::Device {
            user_id: rider.id.clone(),
            device_id: phone.device_id.clone()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_judged_at_once_on_one_ticket_are_all_stored_once_each_in_turn() {
    // Judging happens before a commit takes its tenant's turn; a commit whose ticket moved
    // meanwhile is judged again in its turn. Many people writing one ticket at once must all
    // land, each once, whatever the interleaving.
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut desk = h.login(&ops).await;
    let (id, created) = desk.create(repair("fridge warm"));
    desk.sync(&h, &[(&id, &created)]).await;
    let ops = record(&h, "acme", "ops");
    let commits: Vec<_> = (0..8)
        .map(|n| {
            let actor = ActorId::random();
            let note = person_edit(
                &h,
                &ops,
                &actor,
                &id,
                Edit::AddNote {
                    text: format!("note {n}"),
                    internal: false,
                },
            );
            let author = Author::Person {
                user: ops.clone(),
                actor,
            };
            let tickets = h.state.tickets().clone();
            let tenant = ops.tenant_id.clone();
            let proposed = proposed(&id, &note);
            tokio::spawn(async move { tickets.commit(author, &tenant, proposed).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for commit in commits {
        let done = commit.await.expect("joins").expect("commits");
        assert_eq!(done.accepted.len(), 1, "{:?}", done.rejected);
        seqs.push(done.max_seq.expect("stored"));
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 8, "each commit has its own seq");
    let notes = stored_doc(&h, &ops.tenant_id, &id)
        .view()
        .expect("view")
        .notes;
    assert_eq!(notes.len(), 8, "every note is on the ticket, once");
}

#[tokio::test]
async fn notes_to_a_ticket_whose_document_left_the_cache_are_judged_on_its_tip() {
    // One document fits: two tickets written in turn push each other out, and each is kept as
    // its view and tip. Notes to it are judged on those; anything else loads the document.
    let h = Harness::with_doc_cache(1);
    let tenant = h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&ops).await;
    let (a, created_a) = phone.create(repair("fridge warm"));
    let (b, created_b) = phone.create(repair("freezer loud"));
    phone.sync(&h, &[(&a, &created_a), (&b, &created_b)]).await;
    let store = h.state.store();
    let mut tails = Vec::new();
    // Enough notes to compact either ticket at least twice wherever its id puts the first point
    // (16 to 31 changes).
    const NOTES: u64 = 70;
    for n in 0..NOTES {
        for id in [&a, &b] {
            let note = phone.edit(
                id,
                Edit::AddNote {
                    text: format!("note {n}"),
                    internal: false,
                },
            );
            let done = phone.sync(&h, &[(id, &note)]).await;
            assert!(done.rejected.is_empty(), "{:?}", done.rejected);
            let stored = stored_doc(&h, &tenant, id).view().expect("view");
            assert_eq!(stored, phone.view(id), "{id} after note {n}");
        }
        let head = store
            .read_with(|r| r.ticket_head(&tenant, &a))
            .expect("reads")
            .expect("stored");
        tails.push(head.tail);
    }
    // The ticket that lost its place in the cache is judged on its tip but for the commits that
    // compact it; the other one stays cached as its document.
    let on_tips = h.state.changes_judged_on_tips();
    // Every note to the one kept by its tip, those whose commits compact it too (the document is
    // loaded after, to be saved).
    assert!(
        on_tips >= NOTES,
        "{on_tips} of {} judged on a tip",
        2 * NOTES
    );
    // Still compacted: the commit that would fill the tail loads the document (its creation and
    // its notes: the tail never past half of them, or the first point's 31).
    let most = 31.max((1 + NOTES).div_ceil(2));
    assert!(
        tails.iter().all(|&tail| u64::from(tail) <= most),
        "{tails:?}"
    );
    assert!(
        tails.windows(2).filter(|w| w[1] < w[0]).count() >= 2,
        "compacted at least twice: {tails:?}"
    );
    // Which one is kept by its tip: a note to it is judged there.
    let note = |phone: &mut Device, id: &str, text: &str| {
        phone.edit(
            id,
            Edit::AddNote {
                text: text.into(),
                internal: false,
            },
        )
    };
    let probe = note(&mut phone, &a, "which one?");
    phone.sync(&h, &[(&a, &probe)]).await;
    let kept = if h.state.changes_judged_on_tips() > on_tips {
        &a
    } else {
        &b
    };
    // Search finds every note, whether its terms followed the ticket's (judged on the tip) or
    // came with all of them (judged on the document).
    let found = |text: &str| -> Vec<String> {
        let page = store
            .list_tickets(&TicketQuery {
                tenant_id: tenant.clone(),
                text: Some(text.into()),
                limit: 10,
                ..TicketQuery::default()
            })
            .expect("searched");
        let mut ids: Vec<String> = page.tickets.into_iter().map(|t| t.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    for n in 0..NOTES {
        assert_eq!(found(&format!("note {n}")), both, "note {n}");
    }
    assert_eq!(found("fridge which one"), std::slice::from_ref(&a));
    let last = format!("freezer loud note {}", NOTES - 1);
    assert_eq!(found(&last), std::slice::from_ref(&b));
    // A note and a change of priority in one push: the note is judged on the tip, the priority
    // on the document, loaded with that note in it.
    let before = h.state.changes_judged_on_tips();
    let on_my_way = note(&mut phone, kept, "on my way");
    let urgent = phone.edit(
        kept,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    let done = phone.sync(&h, &[(kept, &on_my_way), (kept, &urgent)]).await;
    assert_eq!(done.accepted.len(), 2, "{:?}", done.rejected);
    assert_eq!(h.state.changes_judged_on_tips(), before + 1, "the note");
    let stored = stored_doc(&h, &tenant, kept).view().expect("view");
    assert_eq!(stored, phone.view(kept));
    assert_eq!(
        stored.notes.last().map(|n| n.text.as_str()),
        Some("on my way")
    );
    // A new phone gets both tickets whole.
    let mut other = h.login(&ops).await;
    other.pull_all(&h).await;
    assert_eq!(other.view(&a), phone.view(&a));
    assert_eq!(other.view(&b), phone.view(&b));
}

#[tokio::test]
async fn a_ticket_is_stored_as_its_changes_after_a_snapshot_and_compacted_as_its_history_grows() {
    // With no document cache, every commit loads the ticket from the store: snapshot and tail.
    let h = Harness::with_doc_cache(0);
    let tenant = h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut phone = h.login(&ops).await;
    let (id, created) = phone.create(repair("fridge warm"));
    phone.sync(&h, &[(&id, &created)]).await;
    let store = h.state.store();
    // (tail, changes in the history) after each note.
    let mut tails = Vec::new();
    for n in 0..200 {
        let note = phone.edit(
            &id,
            Edit::AddNote {
                text: format!("note {n}"),
                internal: false,
            },
        );
        let done = phone.sync(&h, &[(&id, &note)]).await;
        assert!(done.rejected.is_empty(), "{:?}", done.rejected);
        let head = store
            .read_with(|r| r.ticket_head(&tenant, &id))
            .expect("reads")
            .expect("stored");
        let stored = stored_doc(&h, &tenant, &id);
        tails.push((head.tail, stored.changes()));
        assert_eq!(
            stored.view().expect("view"),
            phone.view(&id),
            "after note {n}"
        );
    }
    // A tail is never left due: compacted first at 16 to 31 changes by the ticket's id, then
    // each time the tail reaches half the history (`ticket::compacts`), so a long ticket is
    // compacted less often, each compaction as long as the document.
    for &(tail, changes) in &tails {
        assert!(
            !fieldwork_core::ticket::compacts(changes, tail.into(), &id),
            "{tail} of {changes}: {tails:?}"
        );
    }
    // The history at each compaction: each twice the one before (rounded down), three at least
    // in a history of 201 changes (17, 34, 68 and 136 when the first point is 17; 31, 62 and 124
    // when it is 31).
    let compactions: Vec<u64> = tails
        .windows(2)
        .filter(|w| w[1].0 < w[0].0)
        .map(|w| w[1].1)
        .collect();
    assert!(compactions.len() >= 3, "{compactions:?}");
    assert!(
        compactions
            .windows(2)
            .all(|w| (2 * w[0]..=2 * w[0] + 1).contains(&w[1])),
        "each at twice the history: {compactions:?}"
    );
    assert!(
        tails.iter().any(|&(tail, _)| tail > 31),
        "a long history grows a longer tail than the first: {tails:?}"
    );
    // A new phone gets the ticket whole in one snapshot, tail and all.
    let mut other = h.login(&ops).await;
    other.pull_all(&h).await;
    assert_eq!(other.view(&id), phone.view(&id));
}
