//! [`BrainMemory`]: turns per tenant and each ticket's heads, replaced whole, kept per tenant.

use super::{TestStore, tenant};
use crate::storage::{Missing, RememberedTicket, StorageError};

fn remembered(id: &str, public: &[&str], staff: &[&str]) -> RememberedTicket {
    let owned = |heads: &[&str]| heads.iter().map(|h| (*h).to_owned()).collect();
    RememberedTicket {
        ticket_id: id.to_owned(),
        public_heads: owned(public),
        staff_heads: owned(staff),
    }
}

pub fn the_brains_memory_is_replaced_per_ticket_and_kept_per_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert_eq!(s.remembered_turns(&acme.id).unwrap(), None);
    assert_eq!(s.remembered_ticket(&acme.id, "t1").unwrap(), None);

    let first = remembered("t1", &["aa", "bb"], &[]);
    s.remember(
        &acme.id,
        Some(r#"{"teams":{}}"#),
        std::slice::from_ref(&first),
    )
    .unwrap();
    assert_eq!(s.remembered_ticket(&acme.id, "t1").unwrap(), Some(first));
    assert_eq!(
        s.remembered_turns(&acme.id).unwrap().as_deref(),
        Some(r#"{"teams":{}}"#)
    );

    // Later: new heads replace the old; turns left out stay as they were.
    let later = remembered("t1", &["cc"], &["dd"]);
    let other = remembered("t2", &["ee"], &["ff"]);
    s.remember(&acme.id, None, &[later.clone(), other.clone()])
        .unwrap();
    assert_eq!(s.remembered_ticket(&acme.id, "t1").unwrap(), Some(later));
    assert_eq!(s.remembered_ticket(&acme.id, "t2").unwrap(), Some(other));
    assert_eq!(
        s.remembered_turns(&acme.id).unwrap().as_deref(),
        Some(r#"{"teams":{}}"#)
    );
    s.remember(&acme.id, Some(r#"{"teams":{"a":{}}}"#), &[])
        .unwrap();
    assert_eq!(
        s.remembered_turns(&acme.id).unwrap().as_deref(),
        Some(r#"{"teams":{"a":{}}}"#)
    );

    // Another tenant sees none of it.
    assert_eq!(s.remembered_turns(&globex.id).unwrap(), None);
    assert_eq!(s.remembered_ticket(&globex.id, "t1").unwrap(), None);
}

pub fn memory_for_an_unknown_tenant_is_refused(t: &TestStore) {
    let s = t.store.as_ref();
    let refused = s.remember(
        "tenant-nobody",
        Some("{}"),
        &[remembered("t", &["aa"], &[])],
    );
    assert!(matches!(
        refused,
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(s.remembered_turns("tenant-nobody").unwrap(), None);
    assert_eq!(s.remembered_ticket("tenant-nobody", "t").unwrap(), None);
}
