//! [`TicketList`]: listings written by commits, filtered, sorted, paged, counted and searched
//! (English and Chinese), within one tenant and one caller's sight.

use super::{TestStore, change, commit, tenant, ticket};
use crate::storage::{
    AssigneeFilter, ListCursor, ListScope, StaffListing, Terms, TicketListing, TicketQuery,
    TicketRewrite, TicketSort, TicketWrite,
};
use fieldwork_core::search::index_terms;

/// A listing titled `title` whose searchable text is the title and `text`.
pub fn listing(title: &str, priority: u8, next_due: Option<i64>, text: &str) -> TicketListing {
    TicketListing {
        kind: "repair".into(),
        channel: "app".into(),
        title: title.into(),
        priority,
        first_response_due: next_due,
        resolution_due: None,
        next_due,
        sla_paused: false,
        breached: false,
        asset_serial: None,
        public_terms: Terms::All(index_terms(&format!("{title}\n{text}"))),
    }
}

/// A ticket write with its listing, created at `at`.
fn listed(id: &str, reporter: &str, at: i64, l: TicketListing) -> TicketWrite {
    TicketWrite {
        created_at: Some(at),
        listing: Some(l),
        ..ticket(id, reporter, None)
    }
}

fn ids(t: &TestStore, q: &TicketQuery) -> Vec<String> {
    let page = t.store.list_tickets(q).unwrap();
    page.tickets.into_iter().map(|r| r.id).collect()
}

fn query(tenant: &str) -> TicketQuery {
    TicketQuery {
        tenant_id: tenant.to_owned(),
        limit: 50,
        ..TicketQuery::default()
    }
}

pub fn tickets_are_filtered_sorted_and_paged_within_their_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let mut writes = Vec::new();
    for (i, (title, priority, due)) in [
        ("Freezer warm", 3, Some(500)),
        ("Oven door", 1, None),
        ("Till jammed", 2, Some(300)),
        ("Printer paper", 1, Some(900)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut w = listed(
            &format!("a{i}"),
            "rider-1",
            100 + i as i64,
            TicketListing {
                asset_serial: (i % 2 == 1).then(|| "SN-7".to_owned()),
                ..listing(title, priority, due, "")
            },
        );
        w.status = if i == 1 {
            "resolved".into()
        } else {
            "new".into()
        };
        w.team = (i % 2 == 0).then(|| "north".to_owned());
        w.assignee = (i == 2).then(|| "tech-1".to_owned());
        w.category = Some(if i < 2 { "cold" } else { "pos" }.into());
        writes.push(w);
    }
    let changes = (0..4)
        .map(|i| change(&format!("a{i}"), &format!("h{i}")))
        .collect();
    s.commit(&commit(&acme, writes, changes)).unwrap();
    s.commit(&commit(
        &globex,
        vec![listed(
            "g0",
            "rider-1",
            50,
            TicketListing {
                asset_serial: Some("SN-7".to_owned()),
                ..listing("Freezer warm", 3, Some(1), "")
            },
        )],
        vec![change("g0", "hg")],
    ))
    .unwrap();

    let all = query(&acme.id);
    assert_eq!(
        ids(t, &all),
        ["a0", "a1", "a2", "a3"],
        "oldest first, own tenant only"
    );
    assert_eq!(s.list_tickets(&all).unwrap().total, 4);
    let newest = TicketQuery {
        descending: true,
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &newest), ["a3", "a2", "a1", "a0"]);
    let urgent_first = TicketQuery {
        sort: TicketSort::Priority,
        descending: true,
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &urgent_first), ["a0", "a2", "a3", "a1"]);
    let due = TicketQuery {
        sort: TicketSort::Due,
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &due), ["a2", "a0", "a3", "a1"], "nothing due last");

    let asset = TicketQuery {
        asset: Some("SN-7".into()),
        ..query(&acme.id)
    };
    assert_eq!(
        ids(t, &asset),
        ["a1", "a3"],
        "one asset's tickets, own tenant only"
    );
    let open = TicketQuery {
        statuses: vec!["new".into()],
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &open), ["a0", "a2", "a3"]);
    let pos = TicketQuery {
        categories: vec!["pos".into()],
        priorities: vec![2],
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &pos), ["a2"]);
    let queue = TicketQuery {
        team: Some("north".into()),
        assignee: Some(AssigneeFilter::Nobody),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &queue), ["a0"]);
    let mine = TicketQuery {
        assignee: Some(AssigneeFilter::User("tech-1".into())),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &mine), ["a2"]);
    let soon = TicketQuery {
        due_before: Some(600),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &soon), ["a0", "a2"]);
    let window = TicketQuery {
        created_from: Some(101),
        created_before: Some(103),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &window), ["a1", "a2"]);

    // Pages of two, each after the last of the one before; the count is of all.
    let mut page = TicketQuery {
        limit: 2,
        ..query(&acme.id)
    };
    let first = s.list_tickets(&page).unwrap();
    assert_eq!((first.tickets.len(), first.total), (2, 4));
    assert!(first.total_exact);
    // Counted up to a bound: the bound, and that more match; the page is the same.
    let bounded = |most| {
        let p = s
            .list_tickets(&TicketQuery {
                count_up_to: Some(most),
                ..page.clone()
            })
            .unwrap();
        (p.tickets.len(), p.total, p.total_exact)
    };
    assert_eq!(bounded(3), (2, 3, false));
    assert_eq!(bounded(4), (2, 4, true));
    assert_eq!(bounded(0), (2, 0, false));
    let last = first.tickets.last().unwrap();
    page.after = Some(ListCursor {
        key: last.sort_key,
        id: last.id.clone(),
    });
    assert_eq!(ids(t, &page), ["a2", "a3"]);

    // A technician sees what is assigned to them and their team's queue; a rider, their own.
    let tech = TicketQuery {
        scope: Some(ListScope::Own {
            user_id: "tech-1".into(),
            team: Some("north".into()),
            technician: true,
        }),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &tech), ["a0", "a2"]);
    let rider = TicketQuery {
        scope: Some(ListScope::Own {
            user_id: "rider-2".into(),
            team: None,
            technician: false,
        }),
        ..query(&acme.id)
    };
    assert!(ids(t, &rider).is_empty());
    assert_eq!(s.list_tickets(&rider).unwrap().total, 0);
    let none_counted = TicketQuery {
        count_up_to: Some(0),
        ..rider
    };
    assert!(s.list_tickets(&none_counted).unwrap().total_exact);
}

pub fn text_is_found_in_english_and_chinese_and_internal_notes_by_staff_only(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let mut a = listed(
        "t1",
        "r",
        1,
        listing("POS printer jammed", 1, None, "打印机卡纸了，收银台三号"),
    );
    a.staff_listing = Some(StaffListing {
        tags: vec!["vip".into()],
        staff_terms: index_terms("customer has fraud flags"),
    });
    let b = listed(
        "t2",
        "r",
        2,
        listing("冰柜不制冷", 2, None, "freezer at store 12"),
    );
    s.commit(&commit(
        &acme,
        vec![a, b],
        vec![change("t1", "h1"), change("t2", "h2")],
    ))
    .unwrap();
    s.commit(&commit(
        &globex,
        vec![listed(
            "g1",
            "r",
            1,
            listing("打印机坏了", 1, None, "printer"),
        )],
        vec![change("g1", "hg")],
    ))
    .unwrap();
    let find = |text: &str, staff: bool| {
        ids(
            t,
            &TicketQuery {
                text: Some(text.into()),
                search_staff: staff,
                ..query(&acme.id)
            },
        )
    };
    assert_eq!(
        find("printer", false),
        ["t1"],
        "another tenant's printer is not found"
    );
    assert_eq!(find("PRINT", false), ["t1"], "a word's start");
    assert_eq!(find("打印机", false), ["t1"]);
    assert_eq!(find("打印", false), ["t1"], "two characters");
    assert_eq!(find("收银台", false), ["t1"]);
    assert_eq!(find("制冷", false), ["t2"]);
    assert_eq!(find("冰", false), ["t2"], "one character");
    assert_eq!(find("freezer 12", false), ["t2"], "every word");
    assert!(find("印打", false).is_empty(), "characters in order");
    assert!(
        find("fraud", false).is_empty(),
        "internal notes are not searched for reporters"
    );
    assert_eq!(find("fraud", true), ["t1"]);
    assert!(
        find("\"*)(", false).is_empty(),
        "nothing searchable finds nothing"
    );
    let vip = TicketQuery {
        tag: Some("vip".into()),
        ..query(&acme.id)
    };
    assert_eq!(ids(t, &vip), ["t1"]);
    assert_eq!(s.list_tickets(&vip).unwrap().tickets[0].tags, ["vip"]);

    // A later commit replaces the text: old words are gone.
    let mut later = ticket("t1", "r", Some(1));
    later.listing = Some(listing("Till jammed", 1, None, "fixed"));
    later.staff_listing = Some(StaffListing::default());
    s.commit(&commit(&acme, vec![later], vec![change("t1", "h3")]))
        .unwrap();
    assert!(find("printer", true).is_empty());
    assert!(find("fraud", true).is_empty());
    assert_eq!(find("till", false), ["t1"]);
    assert!(ids(t, &vip).is_empty());
}

pub fn tickets_stored_before_listings_are_filled_in_once(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    s.commit(&commit(
        &acme,
        vec![ticket("old", "r", None)],
        vec![change("old", "h1")],
    ))
    .unwrap();
    let unlisted = s.unlisted_tickets(10).unwrap();
    assert_eq!(unlisted.len(), 1);
    let (tenant_id, id, last_seq) = unlisted[0].clone();
    assert_eq!((tenant_id.as_str(), id.as_str()), (acme.id.as_str(), "old"));
    // A ticket that moved since is left to its commit.
    assert!(
        !s.fill_listing(
            &acme.id,
            "old",
            last_seq + 1,
            &listing("x", 1, None, ""),
            &StaffListing::default()
        )
        .unwrap()
    );
    assert!(
        s.fill_listing(
            &acme.id,
            "old",
            last_seq,
            &listing("Old one", 1, None, "早就坏了"),
            &StaffListing::default()
        )
        .unwrap()
    );
    assert!(s.unlisted_tickets(10).unwrap().is_empty());
    let found = ids(
        t,
        &TicketQuery {
            text: Some("坏了".into()),
            ..query(&acme.id)
        },
    );
    assert_eq!(found, ["old"]);
}

pub fn changed_tickets_are_found_by_their_newest_change_within_their_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let seqs = s
        .commit(&commit(
            &acme,
            vec![ticket("a", "r", None), ticket("b", "r", None)],
            vec![change("a", "h1"), change("b", "h2")],
        ))
        .unwrap();
    let (a_seq, first) = (seqs[0], seqs[1]);
    s.commit(&commit(
        &globex,
        vec![ticket("g", "r", None)],
        vec![change("g", "h3")],
    ))
    .unwrap();
    let second = s
        .commit(&commit(
            &acme,
            vec![ticket("a", "r", Some(a_seq))],
            vec![change("a", "h4")],
        ))
        .unwrap()
        .last()
        .copied()
        .unwrap();
    // "a" changed again, so only its newest change counts: it comes after "b".
    assert_eq!(
        s.changed_tickets(&acme.id, 0, second, 10).unwrap(),
        ["b", "a"]
    );
    assert_eq!(
        s.changed_tickets(&acme.id, first, second, 10).unwrap(),
        ["a"]
    );
    assert!(
        s.changed_tickets(&acme.id, second, second, 10)
            .unwrap()
            .is_empty()
    );
    // Up to a seq before the newest change: not yet.
    assert_eq!(s.changed_tickets(&acme.id, 0, first, 10).unwrap(), ["b"]);
    assert_eq!(s.changed_tickets(&acme.id, 0, second, 1).unwrap(), ["b"]);
    assert_eq!(
        s.changed_tickets(&globex.id, 0, u64::MAX >> 1, 10).unwrap(),
        ["g"]
    );
}

pub fn text_left_for_the_index_is_found_by_every_search_and_an_erasure_indexes_at_once(
    t: &TestStore,
) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    // More tickets than a batch of the index takes.
    let n = 150;
    let writes = (0..n)
        .map(|i| {
            listed(
                &format!("k{i:03}"),
                "r",
                i,
                listing("Compressor", 1, None, ""),
            )
        })
        .collect();
    let changes = (0..n)
        .map(|i| change(&format!("k{i:03}"), &format!("h{i}")))
        .collect();
    let mut seqs = s.commit(&commit(&acme, writes, changes)).unwrap();
    let count = |text: &str, staff: bool| {
        s.list_tickets(&TicketQuery {
            text: Some(text.into()),
            search_staff: staff,
            ..query(&acme.id)
        })
        .unwrap()
        .total
    };
    // A backend may index some of it now (SQLite leaves it for later; PostgreSQL has nothing
    // left): whatever it did, every search finds every commit before it.
    assert!(s.index_waiting_text(10).unwrap() <= 10);
    assert_eq!(count("compressor", false), 150);
    assert_eq!(
        s.index_waiting_text(64).unwrap(),
        0,
        "the search indexed it all"
    );

    // Staff text, then public text, each left over the other.
    let mut staff_only = ticket("k000", "r", Some(seqs[0]));
    staff_only.staff_listing = Some(StaffListing {
        tags: Vec::new(),
        staff_terms: index_terms("customer has fraud flags"),
    });
    seqs[0] = s
        .commit(&commit(&acme, vec![staff_only], vec![change("k000", "s1")]))
        .unwrap()[0];
    let mut public_only = ticket("k000", "r", Some(seqs[0]));
    public_only.listing = Some(listing("Freezer", 1, None, "secretcode 4711"));
    seqs[0] = s
        .commit(&commit(
            &acme,
            vec![public_only],
            vec![change("k000", "s2")],
        ))
        .unwrap()[0];
    assert_eq!(count("compressor", false), 149, "the old public text went");
    assert_eq!(count("freezer", false), 1);
    assert_eq!(count("fraud", false), 0);
    assert_eq!(count("fraud", true), 1, "the staff text stayed");

    // An erasure's rewrite indexes its ticket at once: nothing of it waits after.
    let mut erased = ticket("k000", "r", Some(seqs[0]));
    erased.snapshot = Some(b"rewritten".to_vec());
    erased.listing = Some(listing("Freezer", 1, None, ""));
    erased.staff_listing = Some(StaffListing::default());
    let mut again = ticket("k000", "r", Some(seqs[0]));
    again.listing = Some(listing("Freezer", 1, None, "secretcode 4711 again"));
    seqs[0] = s
        .commit(&commit(&acme, vec![again], vec![change("k000", "s3")]))
        .unwrap()[0];
    erased.expected_last_seq = Some(seqs[0]);
    s.rewrite(&TicketRewrite {
        tenant_id: acme.id.clone(),
        at: 500,
        ticket: erased,
        changes: vec![change("k000", "r1")],
        unnamed_blobs: Vec::new(),
        erased: vec![fieldwork_core::model::Erasure::Contact],
        by: "privacy.officer".into(),
        reference: None,
    })
    .unwrap();
    assert_eq!(s.index_waiting_text(64).unwrap(), 0, "nothing of it waits");
    assert_eq!(count("secretcode", true), 0);
    assert_eq!(count("fraud", true), 0);
    assert_eq!(count("freezer", false), 1);
}

pub fn a_notes_terms_follow_the_tickets_waiting_or_indexed_until_all_its_terms_replace_them(
    t: &TestStore,
) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let mut seq = s
        .commit(&commit(
            &acme,
            vec![listed(
                "k1",
                "r",
                1,
                listing("Compressor", 1, None, "runs warm"),
            )],
            vec![change("k1", "h1")],
        ))
        .unwrap()[0];
    let count = |text: &str| {
        s.list_tickets(&TicketQuery {
            text: Some(text.into()),
            ..query(&acme.id)
        })
        .unwrap()
        .total
    };
    let note = |terms: Terms, hash: &str, seq: u64| {
        let mut write = ticket("k1", "r", Some(seq));
        write.listing = Some(TicketListing {
            public_terms: terms,
            ..listing("Compressor", 1, None, "")
        });
        s.commit(&commit(&acme, vec![write], vec![change("k1", hash)]))
            .unwrap()[0]
    };
    // A note's terms while the ticket's may still wait, then after they were indexed.
    seq = note(Terms::More(index_terms("Gas low")), "h2", seq);
    s.index_waiting_text(64).unwrap();
    seq = note(Terms::More(index_terms("refilled")), "h3", seq);
    seq = note(Terms::More(String::new()), "h4", seq);
    for word in ["compressor", "warm", "gas", "refilled"] {
        assert_eq!(count(word), 1, "{word}");
    }
    assert_eq!(count("low refilled"), 1, "in one ticket's text");
    // All the ticket's terms replace what it had, notes' terms waiting included.
    seq = note(Terms::More(index_terms("later")), "h5", seq);
    note(Terms::All(index_terms("Freezer")), "h6", seq);
    assert_eq!(count("freezer"), 1);
    for word in ["compressor", "gas", "later"] {
        assert_eq!(count(word), 0, "{word}");
    }
}
