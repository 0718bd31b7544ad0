//! [`ReportFacts`]: facts kept per ticket with the seq they were read at, stale until they catch
//! up with the ticket, the newer of two racing writes kept, found by period within one tenant.

use fieldwork_brain::report::TicketFacts;
use fieldwork_core::model::Status;

use super::{TestStore, change, commit, create_ticket, tenant, ticket};
use crate::storage::{FreshFacts, StaleFacts};

fn facts(created_at: i64, open_until: Option<i64>) -> TicketFacts {
    TicketFacts {
        created_at,
        category: Some("printer".into()),
        channel: "app".into(),
        team: None,
        assignee: None,
        status: if open_until.is_some() {
            Status::Resolved
        } else {
            Status::New
        },
        first_response_at: None,
        resolved_at: open_until,
        open_spans: vec![(created_at, open_until)],
        reopens: 0,
        assignees: 0,
        sla_policy: None,
        first_response_business_min: None,
        resolution_business_min: None,
        breached: false,
        csat_score: None,
    }
}

fn fresh(id: &str, seq: u64, facts: TicketFacts) -> FreshFacts {
    FreshFacts {
        ticket_id: id.to_owned(),
        seq,
        facts,
    }
}

fn stale(t: &TestStore, tenant: &str, after: u64) -> Vec<(String, u64)> {
    t.store
        .stale_facts(tenant, after, u64::MAX, 100)
        .unwrap()
        .into_iter()
        .map(
            |StaleFacts {
                 ticket_id,
                 last_seq,
                 ..
             }| (ticket_id, last_seq),
        )
        .collect()
}

pub fn facts_are_stale_until_they_catch_up_and_the_newer_read_wins(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let one = create_ticket(s, &acme, "t1", "u", "h1");
    let two = create_ticket(s, &acme, "t2", "u", "h2");
    create_ticket(s, &globex, "g1", "u", "h3");
    assert_eq!(
        stale(t, &acme.id, 0),
        vec![("t1".into(), one), ("t2".into(), two)]
    );
    // In the order of their newest change, after a seq, up to another.
    assert_eq!(stale(t, &acme.id, one), vec![("t2".into(), two)]);
    assert_eq!(
        s.stale_facts(&acme.id, 0, one, 10).unwrap().len(),
        1,
        "not beyond `up_to`"
    );
    assert_eq!(s.stale_facts(&acme.id, 0, u64::MAX, 1).unwrap().len(), 1);

    assert_eq!(
        s.put_facts(&acme.id, &[fresh("t1", one, facts(100, None))], None)
            .unwrap(),
        1
    );
    assert_eq!(stale(t, &acme.id, 0), vec![("t2".into(), two)]);
    // A new change makes t1 stale again; facts read before it cannot replace newer ones.
    let later = s
        .commit(&commit(
            &acme,
            vec![ticket("t1", "u", Some(one))],
            vec![change("t1", "h4")],
        ))
        .unwrap()[0];
    assert_eq!(
        stale(t, &acme.id, 0),
        vec![("t2".into(), two), ("t1".into(), later)]
    );
    // Two refreshes in one batch: each stored unless a newer one is.
    let both = [
        fresh("t1", later, facts(100, Some(200))),
        fresh("t1", one, facts(100, None)),
    ];
    assert_eq!(s.put_facts(&acme.id, &both, None).unwrap(), 1);
    assert_eq!(
        s.facts_between(&acme.id, 0, 1_000, 0).unwrap(),
        vec![facts(100, Some(200))]
    );

    // Progress: per tenant, only forward; tenants behind it are listed.
    let mut behind = s.tenants_behind().unwrap();
    behind.sort();
    assert_eq!(behind, vec![acme.id.clone(), globex.id.clone()]);
    assert_eq!(s.facts_progress(&acme.id).unwrap(), 0);
    s.put_facts(&acme.id, &[], Some(later)).unwrap();
    s.put_facts(&acme.id, &[], Some(one)).unwrap();
    assert_eq!(s.facts_progress(&acme.id).unwrap(), later, "never back");
    assert_eq!(s.tenants_behind().unwrap(), vec![globex.id.clone()]);
    assert!(s.put_facts("no-such-tenant", &[], Some(1)).is_err());

    // Facts of a ticket the tenant does not have are not stored.
    let strangers = [
        fresh("g1", 1, facts(1, None)),
        fresh("nothing", 1, facts(1, None)),
    ];
    assert_eq!(s.put_facts(&acme.id, &strangers, None).unwrap(), 0);
}

pub fn a_period_finds_what_was_open_or_created_in_it_within_its_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let rows = [
        ("old-done", facts(10, Some(20))),
        ("old-open", facts(10, None)),
        ("ended-inside", facts(50, Some(150))),
        ("before-last-period", facts(60, Some(70))),
        ("inside", facts(120, Some(130))),
        ("after", facts(300, None)),
    ];
    for (i, (id, f)) in rows.iter().enumerate() {
        let seq = create_ticket(s, &acme, id, "u", &format!("h{i}"));
        s.put_facts(&acme.id, &[fresh(id, seq, f.clone())], None)
            .unwrap();
    }
    let g = create_ticket(s, &globex, "theirs", "u", "hg");
    s.put_facts(&globex.id, &[fresh("theirs", g, facts(120, None))], None)
        .unwrap();

    // The period [100, 200), the one before it from 50.
    let mut found: Vec<i64> = s
        .facts_between(&acme.id, 100, 200, 50)
        .unwrap()
        .into_iter()
        .map(|f| f.created_at * 1000 + f.open_spans[0].1.unwrap_or(999))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        vec![10_999, 50_150, 60_070, 120_130],
        "open at the start, ended inside, created in the period before, created inside"
    );
    assert_eq!(s.facts_between(&globex.id, 100, 200, 50).unwrap().len(), 1);
}
