//! [`TicketLog`] and [`StoreRead`]: commits, seqs, cursors, the counter, holdings, snapshots.

use fieldwork_core::model::{Part, Priority, Role, Status, TicketKind};
use fieldwork_protocol::blobs::BlobKind;
use fieldwork_protocol::sync::{SnapshotSummary, SummaryFile};

use super::{TestStore, change, commit, create_ticket, device, tenant, ticket, user};
use crate::storage::{
    Conflict, Holding, HoldingUpdate, Missing, PullScope, ReadWith, ServerStore, StorageError,
    StoreRead, StoredChange, SummaryFill, TenantRecord, TicketLog,
};

fn seqs_after(log: &dyn TicketLog, tenant: &str, after: u64, limit: usize) -> Vec<u64> {
    log.read_with(|r| r.changes_after(tenant, after, limit, None))
        .unwrap()
        .into_iter()
        .map(|c| c.seq)
        .collect()
}

/// Tenants acme, with ticket t1 created by change h1 (seq 1), and globex, for the group cases.
fn acme_with_t1_and_globex(s: &dyn ServerStore) -> (TenantRecord, TenantRecord) {
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    create_ticket(s, &acme, "t1", "u1", "h1");
    (acme, globex)
}

fn max_seq(log: &dyn TicketLog, tenant: &str) -> u64 {
    log.read_with(|r| r.max_seq(tenant)).unwrap()
}

pub fn the_server_actor_stays_the_same(t: &TestStore) {
    let first = t.store.server_actor().clone();
    assert!(!first.to_bytes().is_empty());
    assert_eq!(t.store.server_actor(), &first);
}

pub fn a_commit_numbers_its_changes_with_the_tenants_next_seqs(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    assert_eq!(max_seq(s, &acme.id), 0);
    let seqs = s
        .commit(&commit(
            &acme,
            vec![ticket("t1", "u1", None)],
            vec![change("t1", "h1"), change("t1", "h2")],
        ))
        .unwrap();
    assert_eq!(seqs, [1, 2]);
    let seqs = s
        .commit(&commit(
            &acme,
            vec![ticket("t1", "u1", Some(2))],
            vec![change("t1", "h3")],
        ))
        .unwrap();
    assert_eq!(seqs, [3]);
    s.read_with(|r| {
        assert_eq!(r.max_seq(&acme.id)?, 3);
        assert_eq!(r.change_ticket(&acme.id, "h2")?.as_deref(), Some("t1"));
        assert_eq!(r.change_ticket(&acme.id, "nope")?, None);
        let head = r.ticket_head(&acme.id, "t1")?.unwrap();
        assert_eq!(
            (head.tenant_id.as_str(), head.last_seq),
            (acme.id.as_str(), 3)
        );
        assert_eq!(
            r.ticket_snapshot(&acme.id, "t1")?,
            Some(b"doc of t1 after Some(2)".to_vec())
        );
        let all = r.changes_after(&acme.id, 0, 10, None)?;
        assert_eq!(
            all[0],
            StoredChange {
                seq: 1,
                ticket_id: "t1".into(),
                part: Part::Public,
                actor_id: "aa".into(),
                bytes: b"h1".to_vec(),
            }
        );
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // A commit without changes stores its tickets but takes no seq.
    assert!(s.commit(&commit(&acme, vec![], vec![])).unwrap().is_empty());
    assert_eq!(max_seq(s, &acme.id), 3);
}

pub fn cursors_page_through_changes_in_seq_order(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let mut last = std::collections::HashMap::new();
    for n in 0..12u64 {
        let id = format!("t{}", n % 3);
        let expected = last.get(&id).copied();
        let seqs = s
            .commit(&commit(
                &acme,
                vec![ticket(&id, "u1", expected)],
                vec![change(&id, &format!("h{n}"))],
            ))
            .unwrap();
        last.insert(id, seqs[0]);
    }
    assert_eq!(
        seqs_after(s, &acme.id, 0, 100),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(seqs_after(s, &acme.id, 0, 5), [1, 2, 3, 4, 5]);
    assert_eq!(seqs_after(s, &acme.id, 5, 5), [6, 7, 8, 9, 10]);
    assert_eq!(seqs_after(s, &acme.id, 10, 5), [11, 12]);
    assert!(seqs_after(s, &acme.id, 12, 5).is_empty());
    assert!(
        seqs_after(s, &acme.id, u64::MAX, 5).is_empty(),
        "a cursor past the end"
    );
    let heads = s
        .read_with(|r| {
            (0..3)
                .map(|n| r.ticket_head(&acme.id, &format!("t{n}")))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    let last_seqs: Vec<u64> = heads.into_iter().map(|h| h.unwrap().last_seq).collect();
    assert_eq!(last_seqs, [10, 11, 12], "each ticket's newest change");
}

pub fn tenants_never_see_each_others_tickets_changes_or_seqs(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert_eq!(create_ticket(s, &acme, "t1", "ua", "ha1"), 1);
    create_ticket(s, &acme, "t2", "ua", "ha2");
    // The same ticket id in another tenant is another ticket, numbered from 1 there.
    assert_eq!(create_ticket(s, &globex, "t1", "ug", "hg1"), 1);
    s.read_with(|r| {
        assert_eq!((r.max_seq(&acme.id)?, r.max_seq(&globex.id)?), (2, 1));
        let acme_t1 = r.ticket_head(&acme.id, "t1")?.unwrap();
        let globex_t1 = r.ticket_head(&globex.id, "t1")?.unwrap();
        assert_eq!(
            (acme_t1.reporter_id.as_str(), globex_t1.reporter_id.as_str()),
            ("ua", "ug")
        );
        assert_eq!(r.ticket_head(&globex.id, "t2")?, None);
        assert_eq!(r.ticket_snapshot(&globex.id, "t2")?, None);
        assert_eq!(r.change_ticket(&globex.id, "ha1")?, None);
        assert_eq!(r.change_ticket(&acme.id, "hg1")?, None);
        let globex_changes = r.changes_after(&globex.id, 0, 10, None)?;
        assert_eq!(globex_changes.len(), 1);
        assert_eq!(globex_changes[0].bytes, b"hg1");
        assert!(r.changes_after("tenant-nobody", 0, 10, None)?.is_empty());
        assert_eq!(r.max_seq("tenant-nobody")?, 0);
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // A hash stored in one tenant may be stored in another too.
    let seqs = s
        .commit(&commit(
            &globex,
            vec![ticket("t9", "ug", None)],
            vec![change("t9", "ha1")],
        ))
        .unwrap();
    assert_eq!(seqs, [2]);
}

pub fn a_group_of_commits_stores_each_in_order_and_refuses_only_the_failing_one(t: &TestStore) {
    let s = t.store.as_ref();
    let (acme, globex) = acme_with_t1_and_globex(s);
    let first = commit(
        &acme,
        vec![ticket("t1", "u1", Some(1))],
        vec![change("t1", "h2")],
    );
    // Read before `first` moved t1: refused, and nothing of it stays (not even its new ticket).
    let stale = commit(
        &acme,
        vec![ticket("t2", "u1", None), ticket("t1", "u1", Some(1))],
        vec![change("t2", "h3"), change("t1", "h4")],
    );
    // Builds on `first`, in the same group: sees it.
    let after_first = commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "h5"), change("t1", "h6")],
    );
    let other_tenant = commit(
        &globex,
        vec![ticket("g1", "ug", None)],
        vec![change("g1", "h1")],
    );
    let stored = s
        .commit_group(&[&first, &stale, &after_first, &other_tenant])
        .unwrap();
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0].as_ref().unwrap(), &[2]);
    assert!(
        matches!(stored[1], Err(StorageError::Conflict(Conflict::Moved))),
        "{:?}",
        stored[1]
    );
    assert_eq!(stored[2].as_ref().unwrap(), &[3, 4], "no seq left behind");
    assert_eq!(stored[3].as_ref().unwrap(), &[1], "seqs are per tenant");
    s.read_with(|r| {
        assert_eq!(r.max_seq(&acme.id)?, 4);
        assert_eq!(r.ticket_head(&acme.id, "t1")?.unwrap().last_seq, 4);
        assert_eq!(r.ticket_head(&acme.id, "t2")?, None);
        assert_eq!(r.change_ticket(&acme.id, "h3")?, None);
        assert_eq!(r.change_ticket(&acme.id, "h6")?.as_deref(), Some("t1"));
        assert_eq!(r.max_seq(&globex.id)?, 1);
        Ok::<_, StorageError>(())
    })
    .unwrap();
    assert!(s.commit_group(&[]).unwrap().is_empty());
}

pub fn a_group_that_is_all_accepted_stores_every_commit_with_its_seqs(t: &TestStore) {
    let s = t.store.as_ref();
    let (acme, globex) = acme_with_t1_and_globex(s);
    let first = commit(
        &acme,
        vec![ticket("t1", "u1", Some(1)), ticket("t2", "u2", None)],
        vec![change("t1", "h2"), change("t2", "h3")],
    );
    let other_tenant = commit(
        &globex,
        vec![ticket("g1", "ug", None)],
        vec![change("g1", "h1"), change("g1", "h2")],
    );
    let next = commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "h4")],
    );
    let stored = s.commit_group(&[&first, &other_tenant, &next]).unwrap();
    let seqs: Vec<Vec<u64>> = stored.into_iter().map(Result::unwrap).collect();
    assert_eq!(seqs, [vec![2, 3], vec![1, 2], vec![4]]);
    s.read_with(|r| {
        assert_eq!(r.max_seq(&acme.id)?, 4);
        assert_eq!(r.max_seq(&globex.id)?, 2);
        assert_eq!(r.ticket_head(&acme.id, "t1")?.unwrap().last_seq, 4);
        assert_eq!(r.ticket_head(&acme.id, "t2")?.unwrap().last_seq, 3);
        assert_eq!(r.change_ticket(&acme.id, "h4")?.as_deref(), Some("t1"));
        assert_eq!(r.change_ticket(&globex.id, "h2")?.as_deref(), Some("g1"));
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

pub fn a_commit_against_a_moved_ticket_or_counter_stores_nothing(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    create_ticket(s, &acme, "t1", "u1", "h1");
    let moved = |result: Result<Vec<u64>, StorageError>| {
        assert!(
            matches!(result, Err(StorageError::Conflict(Conflict::Moved))),
            "{result:?}"
        );
    };
    // The ticket moved on since it was read (last_seq 1, not 0).
    moved(s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(0))],
        vec![change("t1", "h2")],
    )));
    // A "new" ticket whose id is taken.
    moved(s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", None)],
        vec![change("t1", "h3")],
    )));
    // A change hash the tenant has, filed again; the ticket write before it is undone too.
    moved(s.commit(&commit(
        &acme,
        vec![ticket("t2", "u1", None)],
        vec![change("t2", "h4"), change("t2", "h1")],
    )));
    // The counter moved on.
    let mut numbered = commit(
        &acme,
        vec![ticket("t3", "u1", None)],
        vec![change("t3", "h5")],
    );
    numbered.numbers = Some((7, 8));
    moved(s.commit(&numbered));
    s.read_with(|r| {
        assert_eq!(r.max_seq(&acme.id)?, 1);
        assert_eq!(r.changes_after(&acme.id, 0, 10, None)?.len(), 1);
        assert_eq!(r.ticket_head(&acme.id, "t2")?, None);
        assert_eq!(r.change_ticket(&acme.id, "h4")?, None);
        assert_eq!(r.next_number(&acme.id)?, 1);
        assert_eq!(
            r.ticket_snapshot(&acme.id, "t1")?,
            Some(b"doc of t1 after None".to_vec())
        );
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

pub fn a_commit_to_an_unknown_tenant_is_refused(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let nobody = crate::storage::TenantRecord {
        id: "tenant-nobody".into(),
        name: "nobody".into(),
    };
    let refused = s.commit(&commit(
        &nobody,
        vec![ticket("t1", "u1", None)],
        vec![change("t1", "h1")],
    ));
    assert!(
        matches!(refused, Err(StorageError::NotFound(Missing::Tenant))),
        "{refused:?}"
    );
    let next = s.read_with(|r| r.next_number(&nobody.id));
    assert!(matches!(next, Err(StorageError::NotFound(Missing::Tenant))));
    assert_eq!(max_seq(s, &acme.id), 0);
}

pub fn the_ticket_counter_moves_only_as_committed(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let first = s.read_with(|r| r.next_number(&acme.id)).unwrap();
    let mut numbered = commit(
        &acme,
        vec![ticket("t1", "u1", None), ticket("t2", "u1", None)],
        vec![change("t1", "h1"), change("t2", "h2")],
    );
    numbered.numbers = Some((first, first + 2));
    s.commit(&numbered).unwrap();
    s.read_with(|r| {
        assert_eq!(r.next_number(&acme.id)?, first + 2);
        assert_eq!(
            r.next_number(&globex.id)?,
            first,
            "another tenant counts on its own"
        );
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

pub fn a_ticket_write_replaces_its_index_row_and_document(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    create_ticket(s, &acme, "t1", "u1", "h1");
    let mut write = ticket("t1", "u1", Some(1));
    write.number = Some("FW-000001".into());
    write.assignee = Some("tech".into());
    write.team = Some("north".into());
    write.status = "assigned".into();
    write.snapshot = Some(b"assigned doc".to_vec());
    s.commit(&commit(&acme, vec![write], vec![change("t1", "h2")]))
        .unwrap();
    let (head, doc) = s
        .read_with(|r| {
            Ok::<_, StorageError>((
                r.ticket_head(&acme.id, "t1")?,
                r.ticket_snapshot(&acme.id, "t1")?,
            ))
        })
        .unwrap();
    let head = head.unwrap();
    assert_eq!(head.last_seq, 2);
    assert_eq!(head.assignee.as_deref(), Some("tech"));
    assert_eq!(head.team.as_deref(), Some("north"));
    assert_eq!(head.reporter_id, "u1");
    assert_eq!(doc.as_deref(), Some(b"assigned doc".as_slice()));
    // Its assignee carries its load while it is open; another tenant's tickets count elsewhere.
    globex_for_load(s);
    let load = s.read_with(|r| r.open_load(&acme.id)).unwrap();
    assert_eq!(load, [("tech".to_owned(), 1)]);
    let mut done = ticket("t1", "u1", Some(2));
    done.number = Some("FW-000001".into());
    done.assignee = Some("tech".into());
    done.status = "resolved".into();
    s.commit(&commit(&acme, vec![done], vec![change("t1", "h3")]))
        .unwrap();
    assert!(s.read_with(|r| r.open_load(&acme.id)).unwrap().is_empty());
    // Resolved is still live (a time rule may close it); closed is not; each tenant its own.
    create_ticket(s, &acme, "t2", "u1", "h4");
    let live = |tenant: &str, limit| s.read_with(|r| r.live_tickets(tenant, limit)).unwrap();
    assert_eq!(
        live(&acme.id, 10),
        ["t2", "t1"],
        "most recently changed first"
    );
    assert_eq!(live(&acme.id, 1), ["t2"]);
    let mut closed = ticket("t2", "u1", Some(4));
    closed.status = "closed".into();
    s.commit(&commit(&acme, vec![closed], vec![change("t2", "h5")]))
        .unwrap();
    assert_eq!(live(&acme.id, 10), ["t1"]);
    // Found by its number, in its tenant only.
    let globex = s.find_tenant("globex").unwrap().unwrap();
    s.read_with(|r| {
        assert_eq!(
            r.ticket_by_number(&acme.id, "FW-000001")?.as_deref(),
            Some("t1")
        );
        assert_eq!(r.ticket_by_number(&acme.id, "FW-000002")?, None);
        assert_eq!(r.ticket_by_number(&globex.id, "FW-000001")?, None);
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

/// A summary as a write brings it: `title` and `status`.
fn summary(title: &str, status: Status) -> SnapshotSummary {
    SnapshotSummary {
        number: Some("FW-000001".into()),
        kind: TicketKind::Repair,
        status,
        priority: Priority::High,
        assignee: None,
        category: Some("cooling".into()),
        title: title.into(),
        reporter_id: "u1".into(),
        created_at: 1_795_000_000_000,
        due: Some(1_795_000_600_000),
        site: Some((31.23, 121.47)),
        conflicts: 1,
        files: vec![SummaryFile {
            sha256: "ab".repeat(32),
            kind: BlobKind::Thumb,
            mime: "image/jpeg".into(),
            bytes: 0,
        }],
    }
}

pub fn a_documents_summary_is_stored_and_replaced_with_it(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let read = |id: &str| s.read_with(|r| r.ticket_summary(&acme.id, id)).unwrap();
    let mut first = ticket("t1", "u1", None);
    first.summary = Some(summary("Freezer alarm", Status::New));
    s.commit(&commit(&acme, vec![first], vec![change("t1", "h1")]))
        .unwrap();
    assert_eq!(read("t1"), Some(summary("Freezer alarm", Status::New)));
    let mut next = ticket("t1", "u1", Some(1));
    next.summary = Some(summary("Freezer alarm, shop 12", Status::Assigned));
    s.commit(&commit(&acme, vec![next], vec![change("t1", "h2")]))
        .unwrap();
    assert_eq!(
        read("t1"),
        Some(summary("Freezer alarm, shop 12", Status::Assigned)),
        "each write replaces the summary with its document's"
    );
    // A write without one leaves none (never a summary of an older document).
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "h3")],
    ))
    .unwrap();
    assert_eq!(read("t1"), None);
    // Such a document is found, and filled in only while the ticket stays where it was read.
    assert_eq!(
        s.unsummarised_tickets(10).unwrap(),
        [(acme.id.clone(), "t1".to_owned(), 3)]
    );
    let filled = summary("Freezer alarm, shop 12", Status::Accepted);
    let fill = |last_seq, summary: &SnapshotSummary| {
        s.fill_summaries(&[SummaryFill {
            tenant_id: acme.id.clone(),
            ticket_id: "t1".into(),
            last_seq,
            summary: summary.clone(),
        }])
        .unwrap()
    };
    assert_eq!(fill(2, &filled), 0, "it moved");
    assert_eq!(fill(3, &filled), 1);
    assert_eq!(read("t1"), Some(filled.clone()));
    assert!(s.unsummarised_tickets(10).unwrap().is_empty());
    assert_eq!(
        fill(3, &summary("Other", Status::New)),
        0,
        "one it has is never replaced by a fill"
    );
    assert_eq!(read("t1"), Some(filled));
    // Another tenant's ticket of the same id is not found.
    let globex = tenant(s, "globex");
    assert_eq!(
        s.read_with(|r| r.ticket_summary(&globex.id, "t1")).unwrap(),
        None
    );
}

pub fn staff_documents_and_staff_changes_are_kept_apart(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    create_ticket(s, &acme, "t1", "u1", "h1");
    let staff = |r: &dyn StoreRead| r.ticket_staff_snapshot(&acme.id, "t1");
    assert_eq!(s.read_with(staff).unwrap(), None, "no staff data yet");
    // A staff change, with the staff document it makes.
    let mut write = ticket("t1", "u1", Some(1));
    write.staff_snapshot = Some(b"staff doc 1".to_vec());
    let mut internal = change("t1", "h2");
    internal.part = Part::Staff;
    s.commit(&commit(&acme, vec![write], vec![internal]))
        .unwrap();
    assert_eq!(
        s.read_with(staff).unwrap().as_deref(),
        Some(b"staff doc 1".as_slice())
    );
    // A public change leaves the staff document as it was.
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "h3")],
    ))
    .unwrap();
    assert_eq!(
        s.read_with(staff).unwrap().as_deref(),
        Some(b"staff doc 1".as_slice())
    );
    let parts: Vec<(u64, Part)> = s
        .read_with(|r| r.changes_after(&acme.id, 0, 10, None))
        .unwrap()
        .into_iter()
        .map(|c| (c.seq, c.part))
        .collect();
    assert_eq!(
        parts,
        vec![(1, Part::Public), (2, Part::Staff), (3, Part::Public)]
    );
    // The scoped walk says which part each change is too.
    let scope = PullScope {
        user_id: "u1",
        team: None,
        device_id: "none",
    };
    let scoped: Vec<Part> = s
        .read_with(|r| r.changes_after(&acme.id, 0, 10, Some(&scope)))
        .unwrap()
        .into_iter()
        .map(|c| c.part)
        .collect();
    assert_eq!(scoped, vec![Part::Public, Part::Staff, Part::Public]);
}

pub fn a_tickets_people_are_kept_and_their_seq_moves_only_when_they_change(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let head = |id: &str| {
        s.read_with(|r| r.ticket_head(&acme.id, id))
            .unwrap()
            .unwrap()
    };
    create_ticket(s, &acme, "t1", "u1", "h1");
    assert_eq!(
        (head("t1").people, head("t1").people_seq),
        (vec!["u1".into()], 1)
    );
    // A change that names nobody new leaves the seq where it was.
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(1))],
        vec![change("t1", "h2")],
    ))
    .unwrap();
    assert_eq!((head("t1").last_seq, head("t1").people_seq), (2, 1));
    // Someone new: the seq of the ticket's last change in that commit.
    let mut named = ticket("t1", "u1", Some(2));
    named.people = vec!["u1".into(), "tech".into()];
    s.commit(&commit(
        &acme,
        vec![named],
        vec![change("t1", "h3"), change("t1", "h4")],
    ))
    .unwrap();
    assert_eq!(head("t1").people, ["u1", "tech"]);
    assert_eq!(head("t1").people_seq, 4);
    // One commit, two tickets: each gets its own last seq, not the commit's.
    let mut more = ticket("t1", "u1", Some(4));
    more.people = vec!["u1".into(), "tech".into(), "disp".into()];
    s.commit(&commit(
        &acme,
        vec![more, ticket("t2", "u2", None)],
        vec![change("t1", "h5"), change("t2", "h6")],
    ))
    .unwrap();
    assert_eq!(head("t1").people, ["u1", "tech", "disp"]);
    assert_eq!((head("t1").last_seq, head("t1").people_seq), (5, 5));
    assert_eq!(
        (head("t2").people, head("t2").people_seq),
        (vec!["u2".into()], 6)
    );
    // The same people in another order is a change too (the assignee comes second).
    let mut reordered = ticket("t1", "u1", Some(5));
    reordered.people = vec!["u1".into(), "disp".into(), "tech".into()];
    s.commit(&commit(&acme, vec![reordered], vec![change("t1", "h7")]))
        .unwrap();
    assert_eq!(head("t1").people_seq, 7);
}

pub fn a_scoped_walk_reads_only_tickets_that_may_concern_the_user(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let tech = user(s, &acme, "tech", Role::Technician);
    let phone = device(s, &tech, "d-tech", "aa01");
    let mut assigned = ticket("assigned", "someone", None);
    assigned.assignee = Some(tech.id.clone());
    let mut queue = ticket("queue", "someone", None);
    queue.team = Some("north".into());
    let mut other_team = ticket("other-team", "someone", None);
    other_team.team = Some("south".into());
    let mut taken = ticket("taken", "someone", None);
    taken.team = Some("north".into());
    taken.assignee = Some("someone-else".into());
    let tickets = vec![
        ticket("reported", &tech.id, None),
        assigned,
        queue,
        other_team,
        taken,
        ticket("held", "someone", None),
        ticket("unrelated", "someone", None),
    ];
    let changes = tickets
        .iter()
        .map(|t| change(&t.id, &format!("h-{}", t.id)))
        .collect();
    let mut all = commit(&acme, tickets, changes);
    all.device_id = Some(phone.id.clone());
    all.held_by_device = vec!["held".into()];
    s.commit(&all).unwrap();
    let scope = PullScope {
        user_id: &tech.id,
        team: Some("north"),
        device_id: &phone.id,
    };
    let walked = |after, limit| -> Vec<String> {
        s.read_with(|r| r.changes_after(&acme.id, after, limit, Some(&scope)))
            .unwrap()
            .into_iter()
            .map(|c| c.ticket_id)
            .collect()
    };
    assert_eq!(walked(0, 100), ["reported", "assigned", "queue", "held"]);
    assert_eq!(
        walked(0, 2),
        ["reported", "assigned"],
        "in seq order, limited"
    );
    assert_eq!(walked(2, 100), ["queue", "held"], "after the cursor");
    let everything = seqs_after(s, &acme.id, 0, 100);
    assert_eq!(everything.len(), 7, "unscoped, the walk reads every ticket");
}

pub fn holdings_are_kept_per_device_and_replaced(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let rider = user(s, &acme, "rider", Role::Rider);
    let phone = device(s, &rider, "d1", "aa01");
    let tablet = device(s, &rider, "d2", "aa02");
    let mut created = commit(
        &acme,
        vec![ticket("t1", &rider.id, None)],
        vec![change("t1", "h1")],
    );
    created.device_id = Some(phone.id.clone());
    created.held_by_device = vec!["t1".into()];
    s.commit(&created).unwrap();
    let holding = |device: &str, ticket: &str| s.read_with(|r| r.holding(device, ticket)).unwrap();
    let fresh = Holding {
        covered_seq: 0,
        evicted: false,
        since_cursor: 0,
    };
    assert_eq!(holding(&phone.id, "t1"), Some(fresh));
    assert_eq!(holding(&tablet.id, "t1"), None);
    let sent = Holding {
        covered_seq: 1,
        evicted: false,
        since_cursor: 1,
    };
    let evicted = Holding {
        covered_seq: 1,
        evicted: true,
        since_cursor: 4,
    };
    s.record_holdings(
        &tablet.id,
        &[HoldingUpdate {
            ticket_id: "t1".into(),
            holding: sent,
        }],
    )
    .unwrap();
    assert_eq!(holding(&tablet.id, "t1"), Some(sent));
    s.record_holdings(
        &tablet.id,
        &[HoldingUpdate {
            ticket_id: "t1".into(),
            holding: evicted,
        }],
    )
    .unwrap();
    assert_eq!(holding(&tablet.id, "t1"), Some(evicted));
    assert_eq!(
        holding(&phone.id, "t1"),
        Some(fresh),
        "another device's row stays"
    );
    s.record_holdings(&phone.id, &[]).unwrap();
    // Created by the same device again (a retried commit) keeps what was recorded.
    let mut again = commit(
        &acme,
        vec![ticket("t2", &rider.id, None)],
        vec![change("t2", "h2")],
    );
    again.device_id = Some(tablet.id.clone());
    again.held_by_device = vec!["t1".into(), "t2".into()];
    s.commit(&again).unwrap();
    assert_eq!(holding(&tablet.id, "t1"), Some(evicted));
    assert_eq!(holding(&tablet.id, "t2"), Some(fresh));
}

pub fn a_read_sees_one_snapshot_while_commits_go_on(t: &TestStore) {
    let acme = tenant(t.store.as_ref(), "acme");
    create_ticket(t.store.as_ref(), &acme, "t1", "u1", "h1");
    let writer = t.store.clone();
    let tenant_for_writer = acme.clone();
    let seen = t
        .store
        .read_with(|r| {
            let before = (
                r.max_seq(&acme.id)?,
                r.changes_after(&acme.id, 0, 10, None)?.len(),
            );
            // Another connection commits while this read is open.
            std::thread::spawn(move || {
                create_ticket(writer.as_ref(), &tenant_for_writer, "t2", "u1", "h2");
            })
            .join()
            .unwrap();
            let after = (
                r.max_seq(&acme.id)?,
                r.changes_after(&acme.id, 0, 10, None)?.len(),
            );
            let t2 = r.ticket_head(&acme.id, "t2")?;
            Ok::<_, StorageError>((before, after, t2))
        })
        .unwrap();
    assert_eq!(seen.0, (1, 1));
    assert_eq!(
        seen.1,
        (1, 1),
        "the read still sees the state it started with"
    );
    assert_eq!(seen.2, None);
    assert_eq!(
        max_seq(t.store.as_ref(), &acme.id),
        2,
        "a new read sees the commit"
    );
}

/// Tenant `globex`, with an assigned open ticket of its own.
fn globex_for_load(s: &dyn crate::storage::ServerStore) -> crate::storage::TenantRecord {
    let globex = tenant(s, "globex");
    let mut write = ticket("t1", "u1", None);
    write.assignee = Some("tech".into());
    write.status = "assigned".into();
    s.commit(&commit(&globex, vec![write], vec![change("t1", "g0")]))
        .unwrap();
    globex
}
