//! [`CsatLinks`]: a link is found by its token's hash, used at most once and only before it
//! expires, given back on request, and a new link for a ticket ends the ticket's unused ones.

use super::{TestStore, tenant};
use crate::storage::{CsatLink, Missing, StorageError};

fn link(hash: &str, tenant_id: &str, ticket: &str, at: i64, expires: i64) -> CsatLink {
    CsatLink {
        token_hash: hash.to_owned(),
        tenant_id: tenant_id.to_owned(),
        ticket_id: ticket.to_owned(),
        reporter_id: "reporter".to_owned(),
        actor_id: format!("actor-{hash}"),
        created_by: "agent".to_owned(),
        created_at: at,
        expires_at: expires,
        used_at: None,
    }
}

pub fn a_link_is_used_once_before_it_expires_and_a_newer_one_ends_it(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let first = link("h1", &acme.id, "t1", 100, 1_000);
    s.create_csat_link(&first).unwrap();
    assert_eq!(s.csat_link("h1").unwrap(), Some(first.clone()));
    assert_eq!(s.csat_link("nothing").unwrap(), None);

    // Used once; given back, usable again; never at or after its expiry.
    assert!(s.use_csat_link("h1", 200).unwrap());
    assert!(!s.use_csat_link("h1", 201).unwrap(), "once");
    assert_eq!(s.csat_link("h1").unwrap().unwrap().used_at, Some(200));
    s.release_csat_link("h1").unwrap();
    assert!(!s.use_csat_link("h1", 1_000).unwrap(), "expired");
    assert!(s.use_csat_link("h1", 999).unwrap());

    // A new link for the ticket ends the unused ones, not the used ones nor other tickets'.
    s.create_csat_link(&link("h2", &acme.id, "t2", 300, 5_000))
        .unwrap();
    s.create_csat_link(&link("h3", &acme.id, "t2", 400, 5_000))
        .unwrap();
    assert_eq!(s.csat_link("h2").unwrap().unwrap().expires_at, 400);
    assert!(!s.use_csat_link("h2", 450).unwrap());
    assert!(s.use_csat_link("h3", 450).unwrap());
    assert_eq!(s.csat_link("h1").unwrap().unwrap().used_at, Some(999));

    let refused = s.create_csat_link(&link("h4", "no-such-tenant", "t", 1, 2));
    assert!(matches!(
        refused,
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(s.csat_link("h4").unwrap(), None);
}
