//! The store through its public API, on real SQLite files.

use super::*;
use super::{persist, search_index};
use crate::bundle::Bundle;
use crate::model::{Priority, Status, TicketKind};

use super::testkit::{T0, device};

fn repair(title: &str) -> NewTicket {
    NewTicket::titled(TicketKind::Repair, title)
}

#[test]
fn a_created_ticket_is_stored_indexed_and_queued_for_the_server() {
    let d = device("agent1", Role::Agent);
    let t = d.store.create(repair("Printer jam")).expect("creates");
    assert_eq!(d.store.ticket(&t.id).expect("reads"), t);
    assert_eq!(d.store.outbox_len().expect("outbox"), 1);
    let rows = d.store.list(&ListQuery::default()).expect("lists");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].title.as_str(), rows[0].status),
        ("Printer jam", Status::New)
    );
}

#[test]
fn tickets_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.db");
    let id = {
        let store = TicketStore::open(&path).expect("opens");
        store
            .init(Actor {
                tenant: "acme".into(),
                user_id: "r1".into(),
                role: Role::Rider,
                name: None,
                team: None,
            })
            .expect("init");
        store
            .help_request(Some("ORD-1".into()), None, Some("bag torn".into()))
            .expect("help")
            .id
    };
    let store = TicketStore::open(&path).expect("reopens");
    let t = store.ticket(&id).expect("still there");
    assert_eq!(t.kind, TicketKind::HelpRequest);
    assert_eq!(t.notes[0].text, "bag torn");
    assert_eq!(store.identity().expect("identity").actor.user_id, "r1");
}

#[test]
fn the_help_request_carries_order_position_and_note() {
    let d = device("rider1", Role::Rider);
    let fix = LocationFix {
        lat: 31.2,
        lon: 121.5,
        accuracy_m: Some(9.0),
        at: Some(T0),
    };
    let t = d
        .store
        .help_request(Some("ORD-9".into()), Some(fix), Some("crash".into()))
        .expect("help");
    assert_eq!(t.kind, TicketKind::HelpRequest);
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.order_ref.as_deref(), Some("ORD-9"));
    assert_eq!(
        t.site.as_ref().map(|s| (s.lat, s.lon, s.accuracy_m)),
        Some((31.2, 121.5, Some(9.0)))
    );
    assert_eq!(t.reporter.user_id, "rider1");
}

#[test]
fn an_invalid_position_or_a_refused_edit_leaves_the_store_untouched() {
    let d = device("rider1", Role::Rider);
    let bad = LocationFix {
        lat: 91.0,
        lon: 0.0,
        accuracy_m: None,
        at: None,
    };
    assert!(matches!(
        d.store.help_request(None, Some(bad), None),
        Err(StoreError::Location(_))
    ));
    assert_eq!(d.store.ticket_count().expect("count"), 0);

    let t = d.store.help_request(None, None, None).expect("help");
    let before_outbox = d.store.outbox_len().expect("outbox");
    // The first edit is fine, the second is not: neither may land.
    let edits = [
        Edit::AddNote {
            text: "ok".into(),
            internal: false,
        },
        Edit::SetStatus {
            status: Status::Resolved,
        },
    ];
    assert!(matches!(
        d.store.edit(&t.id, &edits),
        Err(StoreError::Refused(_))
    ));
    assert_eq!(d.store.ticket(&t.id).expect("reads"), t);
    assert_eq!(d.store.outbox_len().expect("outbox"), before_outbox);
    assert!(matches!(
        d.store.edit("no-such-id", &edits[..1]),
        Err(StoreError::UnknownTicket)
    ));
    let refused = d
        .store
        .create(repair("Not mine to make"))
        .expect_err("rider cannot create a repair");
    assert!(refused.is_refusal(), "{refused}");
}

#[test]
fn list_filters_sorts_pages_and_searches_titles() {
    let d = device("agent1", Role::Agent);
    let titles = [
        "冷柜不制冷",
        "Printer jam",
        "Printer offline",
        "Door broken",
        "Scale wrong",
    ];
    let mut ids = Vec::new();
    for (i, title) in titles.iter().enumerate() {
        d.clock.advance(1000);
        let mut new = repair(title);
        new.priority = Priority::ALL[i % 4];
        new.category = Some(if i % 2 == 0 { "cold" } else { "pos" }.into());
        ids.push(d.store.create(new).expect("creates").id);
    }
    d.clock.advance(1000);
    d.store
        .edit(
            &ids[1],
            &[Edit::Assign {
                assignee: Some("tech1".into()),
            }],
        )
        .expect("assign");

    let newest = d.store.list(&ListQuery::default()).expect("list");
    assert_eq!(newest[0].id, ids[1], "just edited comes first");
    assert_eq!(newest.len(), 5);

    let by_status = ListQuery {
        status: Some(Status::Assigned),
        ..Default::default()
    };
    assert_eq!(d.store.list(&by_status).expect("list").len(), 1);
    let mine = ListQuery {
        assignee: Some("tech1".into()),
        ..Default::default()
    };
    assert_eq!(d.store.list(&mine).expect("list")[0].id, ids[1]);
    let unassigned = ListQuery {
        assignee: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(d.store.list(&unassigned).expect("list").len(), 4);
    let cold = ListQuery {
        category: Some("cold".into()),
        ..Default::default()
    };
    assert_eq!(d.store.list(&cold).expect("list").len(), 3);
    let urgent_first = ListQuery {
        sort: SortBy::Priority,
        ..Default::default()
    };
    let ranks: Vec<i64> = d
        .store
        .list(&urgent_first)
        .expect("list")
        .iter()
        .map(|r| r.priority.rank())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    let high = ListQuery {
        priority: Some(Priority::High),
        ..Default::default()
    };
    assert!(
        d.store
            .list(&high)
            .expect("list")
            .iter()
            .all(|r| r.priority == Priority::High)
    );

    let search = |text: &str| {
        let q = ListQuery {
            text: Some(text.into()),
            ..Default::default()
        };
        d.store
            .list(&q)
            .expect("search")
            .into_iter()
            .map(|r| r.title)
            .collect::<Vec<_>>()
    };
    assert_eq!(search("printer").len(), 2, "case-insensitive");
    assert_eq!(
        search("print"),
        ["Printer jam", "Printer offline"],
        "word starts"
    );
    assert_eq!(search("不制冷"), ["冷柜不制冷"], "Chinese as written");
    assert_eq!(
        search("冷柜"),
        ["冷柜不制冷"],
        "two-character Chinese words"
    );
    assert_eq!(search("冷"), ["冷柜不制冷"], "one character");
    assert_eq!(search("制冷不"), Vec::<String>::new());
    assert_eq!(
        search("\"jam OR"),
        Vec::<String>::new(),
        "search syntax is taken literally"
    );
    assert_eq!(search("jam \""), ["Printer jam"]);

    let page1 = ListQuery {
        limit: 2,
        ..Default::default()
    };
    let page2 = ListQuery {
        limit: 2,
        offset: 2,
        ..Default::default()
    };
    let p1 = d.store.list(&page1).expect("p1");
    let p2 = d.store.list(&page2).expect("p2");
    assert_eq!(p1.len(), 2);
    assert!(
        p1.iter().all(|a| p2.iter().all(|b| a.id != b.id)),
        "pages do not overlap"
    );
}

#[test]
fn ids_resolve_by_unique_prefix_only() {
    let d = device("agent1", Role::Agent);
    let a = d.store.create(repair("a")).expect("a").id;
    let b = d.store.create(repair("b")).expect("b").id;
    assert_eq!(d.store.resolve_id(&a).expect("full"), a);
    let common: usize = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    assert_eq!(
        d.store.resolve_id(&a[..common + 1]).expect("unique prefix"),
        a
    );
    assert!(matches!(
        d.store.resolve_id(&a[..common]),
        Err(StoreError::AmbiguousId(2))
    ));
    assert!(matches!(
        d.store.resolve_id("zzzz"),
        Err(StoreError::UnknownTicket)
    ));
    assert!(matches!(
        d.store.resolve_id("'; DROP"),
        Err(StoreError::UnknownTicket)
    ));
}

#[test]
fn many_edits_compact_into_one_snapshot_and_read_the_same() {
    let d = device("agent1", Role::Agent);
    let id = d.store.create(repair("busy")).expect("creates").id;
    let (mut longest, mut last, mut compactions) = (0, 0, 0);
    for i in 0..200_i64 {
        d.store
            .edit(
                &id,
                &[Edit::AddNote {
                    text: format!("note {i}"),
                    internal: false,
                }],
            )
            .expect("note");
        let chunks: i64 = d
            .store
            .writer
            .first()
            .query_row("SELECT chunks FROM docs WHERE ticket_id = ?1", [&id], |r| {
                r.get(0)
            })
            .expect("row");
        // Compacted first at 16 to 31 chunks by the ticket's id, then each time the chunks reach
        // half the history (the creation and the notes so far): the tail never holds more
        // (`ticket::compacts`).
        let changes = i + 2;
        assert!(
            chunks <= 31.max((changes + 1) / 2),
            "automatic compaction kept chunks at {chunks} after {changes} changes"
        );
        compactions += i32::from(chunks < last);
        (longest, last) = (longest.max(chunks), chunks);
    }
    assert!(compactions >= 3, "compacted {compactions} times");
    assert!(
        longest > 31,
        "a long history grows a longer tail than the first"
    );
    let before = d.store.ticket(&id).expect("view");
    d.store.compact().expect("compacts");
    assert_eq!(d.store.ticket(&id).expect("view"), before);
    assert_eq!(before.notes.len(), 200);
}

#[test]
fn bundles_merge_two_devices_and_importing_twice_changes_nothing() {
    let a = device("agent1", Role::Agent);
    let b = device("agent2", Role::Agent);
    let id = a.store.create(repair("shared")).expect("creates").id;
    let report = b
        .store
        .import(&a.store.export(None, None).expect("export"))
        .expect("import");
    assert_eq!((report.tickets_new, report.changes_applied), (1, 1));

    a.store
        .edit(
            &id,
            &[Edit::SetPriority {
                priority: Priority::Low,
            }],
        )
        .expect("a edits");
    b.store
        .edit(
            &id,
            &[Edit::SetPriority {
                priority: Priority::Urgent,
            }],
        )
        .expect("b edits");
    b.store
        .edit(
            &id,
            &[Edit::AddNote {
                text: "from b".into(),
                internal: false,
            }],
        )
        .expect("b notes");
    a.store
        .import(&b.store.export(Some(&id), None).expect("export"))
        .expect("import into a");
    b.store
        .import(&a.store.export(Some(&id), None).expect("export"))
        .expect("import into b");
    let (va, vb) = (
        a.store.ticket(&id).expect("a"),
        b.store.ticket(&id).expect("b"),
    );
    assert_eq!(va, vb);
    assert!(va.conflicts.iter().any(|c| c.field == "priority"));
    assert_eq!(
        a.store.list(&ListQuery::default()).expect("list")[0].conflicts,
        1,
        "index knows"
    );

    let again = a
        .store
        .import(&b.store.export(None, None).expect("export"))
        .expect("again");
    assert_eq!((again.changes_applied, again.tickets_updated), (0, 0));
    assert!(again.changes_known > 0);
    // Imported changes are not this device's to push.
    assert_eq!(b.store.outbox_len().expect("outbox"), 2);
}

#[test]
fn export_since_a_point_carries_only_tickets_changed_after_it() {
    let a = device("agent1", Role::Agent);
    a.store.create(repair("old")).expect("old");
    let point = a.store.export(None, None).expect("export").until_seq;
    let newer = a.store.create(repair("new")).expect("new").id;
    let delta = a.store.export(None, Some(point)).expect("delta");
    assert_eq!(
        delta
            .tickets
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [newer.as_str()]
    );
}

#[test]
fn bad_bundles_are_refused_whole_and_leave_the_store_as_it_was() {
    let a = device("agent1", Role::Agent);
    let b = device("agent2", Role::Agent);
    let kept = b.store.create(repair("b's own")).expect("b").id;
    let id = a.store.create(repair("one")).expect("one").id;
    a.store
        .edit(
            &id,
            &[Edit::SetTitle {
                title: "two".into(),
            }],
        )
        .expect("edit");
    let good = a.store.export(None, None).expect("export");

    let bytes = good.encode();
    assert!(
        Bundle::decode(&bytes[..bytes.len() / 2]).is_err(),
        "truncated file"
    );

    let mut incomplete = good.clone();
    incomplete.tickets[0].changes.remove(0);
    assert!(matches!(
        b.store.import(&incomplete),
        Err(StoreError::IncompleteBundle(_))
    ));

    let mut garbage = good.clone();
    garbage.tickets[0].changes[0] =
        crate::bundle::ByteBuf::from(vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]);
    assert!(matches!(
        b.store.import(&garbage),
        Err(StoreError::Bundle(_))
    ));

    // The same change, compressed: honest bundles carry plain chunks (`raw_bytes`), and a
    // compressed one would be inflated without bound before anything was counted.
    let mut compressed = good.clone();
    let mut change = crate::ticket::Change::from_bytes(good.tickets[0].changes[0].to_vec())
        .expect("an honest change");
    let deflated = change.bytes().to_vec();
    assert_eq!(deflated[8], 2, "Automerge compressed it");
    compressed.tickets[0].changes[0] = crate::bundle::ByteBuf::from(deflated);
    assert!(matches!(
        b.store.import(&compressed),
        Err(StoreError::Bundle(_))
    ));

    let mut misfiled = good.clone();
    misfiled.tickets[0].id = kept.clone();
    assert!(b.store.import(&misfiled).is_err());

    let mut foreign = good.clone();
    foreign.tenant = "globex".into();
    assert!(matches!(
        b.store.import(&foreign),
        Err(StoreError::WrongTenant)
    ));

    assert_eq!(b.store.ticket_count().expect("count"), 1);
    assert_eq!(b.store.ticket(&kept).expect("kept").title, "b's own");
}

#[test]
fn a_store_belongs_to_one_user() {
    let d = device("agent1", Role::Agent);
    let same = Actor {
        tenant: "acme".into(),
        user_id: "agent1".into(),
        role: Role::Agent,
        name: None,
        team: None,
    };
    assert!(
        d.store.init(same).is_ok(),
        "re-init for the same user is harmless"
    );
    let other = Actor {
        tenant: "acme".into(),
        user_id: "agent9".into(),
        role: Role::Agent,
        name: None,
        team: None,
    };
    assert!(matches!(
        d.store.init(other),
        Err(StoreError::AlreadyInitialised)
    ));
    let dir = tempfile::tempdir().expect("dir");
    let fresh = TicketStore::open(&dir.path().join("x.db")).expect("opens");
    assert!(matches!(
        fresh.create(repair("x")),
        Err(StoreError::NotInitialised)
    ));
}

#[test]
fn setting_a_value_it_already_has_changes_nothing() {
    let d = device("agent1", Role::Agent);
    let id = d.store.create(repair("same")).expect("creates").id;
    d.store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some("tech1".into()),
            }],
        )
        .expect("assign");
    d.store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: Status::Accepted,
            }],
        )
        .expect("accept");
    let before = d.store.ticket(&id).expect("view");
    let queued = d.store.outbox_len().expect("outbox");
    // Re-assigning the same technician must not knock the ticket back to `assigned`.
    let again = [
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
        Edit::SetPriority {
            priority: Priority::Normal,
        },
        Edit::SetTitle {
            title: "same".into(),
        },
    ];
    let after = d.store.edit(&id, &again).expect("no-op edits succeed");
    assert_eq!(after, before);
    assert_eq!(
        d.store.outbox_len().expect("outbox"),
        queued,
        "nothing new to send"
    );
}

#[test]
fn title_search_is_exact_whatever_the_index_has_caught_up_with() {
    let d = device("agent1", Role::Agent);
    let mut ids = Vec::new();
    for i in 0..300 {
        d.clock.advance(1000);
        let title = match i {
            7 => "Compressor 压缩机 noisy".to_owned(),
            _ => format!("Routine check {i}"),
        };
        ids.push(d.store.create(repair(&title)).expect("creates").id);
    }
    let page = |text: &str, limit: u32| {
        let q = ListQuery {
            text: Some(text.into()),
            limit,
            ..Default::default()
        };
        d.store.list(&q).expect("search")
    };
    let search = |text: &str| page(text, 500).len();
    // Not indexed yet: found by the scan of rows past the mark; the search catches the index up.
    assert!(d.store.read(search_index::behind).expect("reads"));
    assert_eq!(search("compressor"), 1);
    assert!(!d.store.read(search_index::behind).expect("reads"));
    assert_eq!(search("压缩"), 1);
    // A word in most titles: the index's candidates for a large page, a scan for a small one.
    assert_eq!(search("routine"), 299);
    let first = page("routine", 50);
    assert_eq!(first.len(), 50);
    assert!(first.iter().all(|t| t.title.starts_with("Routine")));
    assert_eq!(first[0].id, ids[299], "newest first");

    // A retitled ticket is found by its new title only, before and after the index catches up.
    d.clock.advance(1000);
    d.store
        .edit(
            &ids[7],
            &[Edit::SetTitle {
                title: "Fan replaced".into(),
            }],
        )
        .expect("retitle");
    assert_eq!((search("compressor"), search("fan")), (0, 1));
    assert_eq!((search("compressor"), search("fan")), (0, 1));
}

#[test]
fn a_removed_newest_ticket_does_not_hide_the_next_write_from_search() {
    let d = device("agent1", Role::Agent);
    let first = d.store.create(repair("Alpha")).expect("creates");
    let newest = d.store.create(repair("Bravo")).expect("creates");
    let find = |text: &str| {
        let q = ListQuery {
            text: Some(text.into()),
            ..Default::default()
        };
        d.store.list(&q).expect("search").len()
    };
    assert_eq!(find("bravo"), 1);
    d.store
        .write(|tx| persist::delete_ticket(tx, &newest.id))
        .expect("removes");
    // The next write reuses the removed row's `updated_seq`; the index must not take it as done.
    d.store.create(repair("Charlie")).expect("creates");
    assert_eq!((find("bravo"), find("charlie"), find("alpha")), (0, 1, 1));
    let _ = first;
}

#[test]
fn statements_keep_their_plans_and_are_not_prepared_again_on_each_run() {
    let d = device("agent1", Role::Agent);
    let t = d.store.create(repair("Fridge warm")).expect("creates");
    let chunks = "SELECT chunk FROM doc_chunks WHERE ticket_id = ?1 AND part = ?2 ORDER BY seq";
    for i in 0..4 {
        let note = Edit::AddNote {
            text: format!("visit {i}"),
            internal: false,
        };
        d.store.edit(&t.id, &[note]).expect("edits");
    }
    // The statement each edit's load of the document ran, from the connection's cache.
    let conn = d.store.writer.first();
    let stmt = conn.prepare_cached(chunks).expect("cached");
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}

#[test]
fn the_view_after_each_own_edit_is_the_view_read_from_the_file() {
    // Notes are read on their own while the ticket has no staff data and no conflicts; other
    // edits, and every edit once an internal note made a staff document, read the whole ticket.
    let d = device("agent1", Role::Agent);
    let id = d.store.create(repair("long job")).expect("creates").id;
    let note = |text: &str, internal: bool| Edit::AddNote {
        text: text.into(),
        internal,
    };
    let edits = [
        note("first", false),
        note("second", false),
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
        note("third", false),
        note("only staff read this", true),
        note("fourth", false),
    ];
    for edit in edits {
        let after = d
            .store
            .edit(&id, std::slice::from_ref(&edit))
            .expect("edits");
        let read = persist::load_view(&d.store.writer.first(), &id)
            .expect("reads")
            .expect("stored");
        assert_eq!(after, read, "after {}", edit.name());
    }
    assert_eq!(d.store.ticket(&id).expect("view").notes.len(), 5);
}
