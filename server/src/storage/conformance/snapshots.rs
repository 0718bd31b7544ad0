//! A ticket's public document as stored: a compacted snapshot followed by the ticket's public
//! changes stored after it ([`crate::storage::TicketWrite::snapshot`]). A commit without a
//! snapshot appends, one with a snapshot starts the tail again, and a read returns the two as
//! one byte string (Automerge loads a document chunk followed by change chunks). The store never
//! reads the bytes, so these use opaque ones.

use fieldwork_core::model::Part;

use super::{TestStore, change, commit, tenant, ticket};
use crate::storage::{ReadWith, ServerStore, StorageError, TenantRecord, TicketRewrite};

/// The stored document of ticket `id` and its tail, read together.
fn stored(s: &dyn ServerStore, tenant: &TenantRecord, id: &str) -> (String, u32) {
    s.read_with(|r| {
        let document = r.ticket_snapshot(&tenant.id, id)?.unwrap();
        let head = r.ticket_head(&tenant.id, id)?.unwrap();
        Ok::<_, StorageError>((String::from_utf8(document).unwrap(), head.tail))
    })
    .unwrap()
}

/// Commits public changes `hashes` to ticket `id` (read at `expected`, `None` for a new one),
/// with `snapshot` as its compacted document or none (append).
fn write(
    s: &dyn ServerStore,
    tenant: &TenantRecord,
    id: &str,
    expected: Option<u64>,
    snapshot: Option<&[u8]>,
    hashes: &[&str],
) {
    let mut write = ticket(id, "u1", expected);
    write.snapshot = snapshot.map(<[u8]>::to_vec);
    let changes = hashes.iter().map(|hash| change(id, hash)).collect();
    s.commit(&commit(tenant, vec![write], changes)).unwrap();
}

pub fn public_changes_follow_the_snapshot_until_a_commit_compacts_them(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    write(s, &acme, "t1", None, Some(b"S1."), &["c1."]);
    assert_eq!(stored(s, &acme, "t1"), ("S1.".into(), 0), "a new snapshot");
    // Appending: a public change follows; the staff change and another ticket's do not.
    let mut append = ticket("t1", "u1", Some(1));
    append.snapshot = None;
    let mut staff = change("t1", "staff.");
    staff.part = Part::Staff;
    let mut other = ticket("t2", "u1", None);
    other.snapshot = Some(b"T.".to_vec());
    s.commit(&commit(
        &acme,
        vec![append, other],
        vec![change("t1", "c2."), staff, change("t2", "o1.")],
    ))
    .unwrap();
    assert_eq!(stored(s, &acme, "t1"), ("S1.c2.".into(), 1));
    write(s, &acme, "t1", Some(3), None, &["c3.", "c4."]);
    assert_eq!(
        stored(s, &acme, "t1"),
        ("S1.c2.c3.c4.".into(), 3),
        "in seq order"
    );
    assert_eq!(stored(s, &acme, "t2"), ("T.".into(), 0));
    // Compacting: the new snapshot stands alone again.
    write(s, &acme, "t1", Some(6), Some(b"S2."), &["c5."]);
    assert_eq!(stored(s, &acme, "t1"), ("S2.".into(), 0));
    write(s, &acme, "t1", Some(7), None, &["c6."]);
    assert_eq!(stored(s, &acme, "t1"), ("S2.c6.".into(), 1));
}

pub fn a_new_ticket_without_a_snapshot_is_its_changes(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    write(s, &acme, "t1", None, None, &["create.", "number."]);
    assert_eq!(stored(s, &acme, "t1"), ("create.number.".into(), 2));
    // Another tenant's ticket of the same id is its own.
    let globex = tenant(s, "globex");
    write(s, &globex, "t1", None, None, &["theirs."]);
    assert_eq!(stored(s, &globex, "t1"), ("theirs.".into(), 1));
    assert_eq!(stored(s, &acme, "t1"), ("create.number.".into(), 2));
}

pub fn a_rewrite_replaces_snapshot_and_tail_and_must_bring_a_document(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    write(s, &acme, "t1", None, Some(b"S1."), &["c1."]);
    write(s, &acme, "t1", Some(1), None, &["c2."]);
    let mut rewrite = TicketRewrite {
        tenant_id: acme.id.clone(),
        at: 10,
        ticket: ticket("t1", "u1", Some(2)),
        changes: vec![change("t1", "r1.")],
        unnamed_blobs: Vec::new(),
        erased: Vec::new(),
        by: "privacy.officer".into(),
        reference: None,
    };
    rewrite.ticket.snapshot = None;
    assert!(
        matches!(s.rewrite(&rewrite), Err(StorageError::Backend(_))),
        "the old snapshot holds what was erased"
    );
    assert_eq!(stored(s, &acme, "t1"), ("S1.c2.".into(), 1), "unchanged");
    rewrite.ticket.snapshot = Some(b"R.".to_vec());
    assert_eq!(s.rewrite(&rewrite).unwrap(), 3);
    assert_eq!(stored(s, &acme, "t1"), ("R.".into(), 0));
    write(s, &acme, "t1", Some(3), None, &["c3."]);
    assert_eq!(stored(s, &acme, "t1"), ("R.c3.".into(), 1));
}
