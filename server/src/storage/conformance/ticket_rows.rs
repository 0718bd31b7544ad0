//! [`TicketLog`]'s per-ticket records beside the documents: the times of changes by people,
//! a reporter's recent tickets by creation time, and the people only the staff document names.

use super::{TestStore, change, commit, create_ticket, tenant, ticket};
use crate::storage::{ChangeTimes, ReadWith};

pub fn changes_by_people_keep_their_times_and_the_ticket_its_newest(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let timed = |hash: &str, device_time: i64, effective_at: i64| {
        let mut c = change("t1", hash);
        c.times = Some(ChangeTimes {
            author_id: "u1".into(),
            device_time,
            effective_at,
        });
        c
    };
    let mut first = ticket("t1", "u1", None);
    first.last_effective_at = Some(1_000);
    s.commit(&commit(
        &acme,
        vec![first],
        vec![timed("h1", 900, 1_000), change("t1", "n1")],
    ))
    .unwrap();
    let head = |s: &dyn crate::storage::ServerStore| {
        s.read_with(|r| r.ticket_head(&acme.id, "t1"))
            .unwrap()
            .unwrap()
    };
    assert_eq!(head(s).last_effective_at, Some(1_000));
    // A commit that times nothing keeps the ticket's newest time.
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "n2")],
    ))
    .unwrap();
    assert_eq!(head(s).last_effective_at, Some(1_000));
    let mut later = ticket("t1", "u1", Some(3));
    later.last_effective_at = Some(5_000);
    s.commit(&commit(&acme, vec![later], vec![timed("h2", 4_000, 5_000)]))
        .unwrap();
    assert_eq!(head(s).last_effective_at, Some(5_000));
    let times = s.read_with(|r| r.ticket_times(&acme.id, "t1")).unwrap();
    let seen: Vec<(i64, i64)> = times
        .iter()
        .map(|t| (t.device_time, t.effective_at))
        .collect();
    assert_eq!(
        seen,
        [(900, 1_000), (4_000, 5_000)],
        "people's changes only, in order"
    );
    assert!(times.iter().all(|t| t.author_id == "u1"));
    let globex = tenant(s, "globex");
    assert!(
        s.read_with(|r| r.ticket_times(&globex.id, "t1"))
            .unwrap()
            .is_empty()
    );
}

pub fn a_reporters_recent_tickets_are_found_by_creation_time(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let reported = |tenant: &crate::storage::TenantRecord, id: &str, reporter: &str, at: i64| {
        let mut write = ticket(id, reporter, None);
        write.category = Some("pos_printer".into());
        write.created_at = Some(at);
        s.commit(&commit(
            tenant,
            vec![write],
            vec![change(id, &format!("h-{id}"))],
        ))
        .unwrap();
    };
    reported(&acme, "t1", "rider", 1_000);
    reported(&acme, "t2", "rider", 5_000);
    reported(&acme, "t3", "other", 6_000);
    reported(&acme, "t4", "rider", 9_000);
    reported(&globex, "g1", "rider", 7_000);
    let since = |from: i64, limit| {
        s.read_with(|r| r.reported_since(&acme.id, "rider", from, limit))
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.created_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        since(2_000, 10),
        [("t2".to_owned(), 5_000), ("t4".to_owned(), 9_000)],
        "oldest first, this reporter and tenant only"
    );
    assert_eq!(since(0, 1).len(), 1);
    // The creation time stays; the category follows the ticket.
    let mut later = ticket("t2", "rider", Some(2));
    later.category = Some("network".into());
    later.created_at = Some(99_999);
    s.commit(&commit(&acme, vec![later], vec![change("t2", "h-t2b")]))
        .unwrap();
    let t2 = s
        .read_with(|r| r.reported_since(&acme.id, "rider", 5_000, 1))
        .unwrap();
    assert_eq!(
        (t2[0].created_at, t2[0].category.as_deref()),
        (5_000, Some("network"))
    );
}

pub fn staff_people_are_kept_apart_and_move_the_people_seq(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    create_ticket(s, &acme, "t1", "u1", "h1");
    let head = |s: &dyn crate::storage::ServerStore| {
        s.read_with(|r| r.ticket_head(&acme.id, "t1"))
            .unwrap()
            .unwrap()
    };
    assert!(head(s).staff_people.is_empty());
    let before = head(s).people_seq;
    let mut staff = ticket("t1", "u1", Some(1));
    staff.staff_people = Some(vec!["lead".into()]);
    s.commit(&commit(&acme, vec![staff], vec![change("t1", "h2")]))
        .unwrap();
    let after = head(s);
    assert_eq!(after.staff_people, ["lead"]);
    assert_eq!(after.people, ["u1"], "apart from the public ones");
    assert!(after.people_seq > before, "a device learns the new name");
    // A commit that leaves the staff document alone keeps them, and the seq.
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(2))],
        vec![change("t1", "h3")],
    ))
    .unwrap();
    assert_eq!(head(s).staff_people, ["lead"]);
    assert_eq!(head(s).people_seq, after.people_seq);
    // The same ones again move nothing.
    let mut same = ticket("t1", "u1", Some(3));
    same.staff_people = Some(vec!["lead".into()]);
    s.commit(&commit(&acme, vec![same], vec![change("t1", "h4")]))
        .unwrap();
    assert_eq!(head(s).people_seq, after.people_seq);
}
