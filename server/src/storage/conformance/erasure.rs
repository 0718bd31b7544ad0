//! [`TicketLog::rewrite`] and the erasure log: a ticket's history replaced in one transaction,
//! only the hashes of the old one kept, erasures logged per tenant, erased photos unnamed.

use fieldwork_core::model::{Erasure, Part};

use super::blobs::{phone, sha, store_blob, upload};
use super::{TestStore, change, commit, create_ticket, tenant, ticket};
use crate::storage::{
    BlobRef, Conflict, Missing, ReadWith, StorageError, TenantRecord, TicketRewrite,
};

fn note(id: &str) -> Erasure {
    Erasure::Note {
        note_id: id.to_owned(),
    }
}

/// A rewrite of ticket `id` made from `last_seq`, as one public change `hash`.
fn rewrite(tenant: &TenantRecord, id: &str, last_seq: u64, hash: &str) -> TicketRewrite {
    let mut write = ticket(id, "u1", Some(last_seq));
    write.snapshot = Some(format!("rewrite {hash}").into_bytes());
    TicketRewrite {
        tenant_id: tenant.id.clone(),
        at: 500,
        ticket: write,
        changes: vec![change(id, hash)],
        unnamed_blobs: Vec::new(),
        erased: vec![note("n1")],
        by: "privacy.officer".into(),
        reference: Some("DSR-1".into()),
    }
}

pub fn a_rewrite_replaces_a_tickets_history_and_keeps_only_the_old_hashes(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    create_ticket(s, &acme, "t1", "u1", "h1");
    create_ticket(s, &acme, "t2", "u1", "other");
    let mut staff = change("t1", "h3");
    staff.part = Part::Staff;
    let mut write = ticket("t1", "u1", Some(1));
    write.staff_snapshot = Some(b"staff".to_vec());
    s.commit(&commit(&acme, vec![write], vec![change("t1", "h2"), staff]))
        .unwrap();
    // The rewrite: a public and a staff change in place of the three.
    let mut new = rewrite(&acme, "t1", 4, "r1");
    let mut staff_rewrite = change("t1", "r2");
    staff_rewrite.part = Part::Staff;
    new.changes.push(staff_rewrite);
    new.ticket.staff_snapshot = Some(b"staff rewrite".to_vec());
    assert_eq!(s.rewrite(&new).unwrap(), 6, "the tenant's next seqs");
    s.read_with(|r| {
        let left: Vec<(u64, String, Part)> = r
            .changes_after(&acme.id, 0, 10, None)?
            .into_iter()
            .map(|c| (c.seq, c.ticket_id, c.part))
            .collect();
        assert_eq!(
            left,
            [
                (2, "t2".to_owned(), Part::Public),
                (5, "t1".to_owned(), Part::Public),
                (6, "t1".to_owned(), Part::Staff)
            ],
            "the old changes are gone, other tickets' stay"
        );
        let head = r.ticket_head(&acme.id, "t1")?.unwrap();
        assert_eq!((head.last_seq, head.rewritten_seq), (6, 6));
        assert_eq!(r.ticket_head(&acme.id, "t2")?.unwrap().rewritten_seq, 0);
        assert_eq!(
            r.ticket_snapshot(&acme.id, "t1")?.as_deref(),
            Some(b"rewrite r1".as_slice())
        );
        assert_eq!(
            r.ticket_staff_snapshot(&acme.id, "t1")?.as_deref(),
            Some(b"staff rewrite".as_slice())
        );
        for old in ["h1", "h2", "h3"] {
            assert_eq!(r.change_ticket(&acme.id, old)?, None);
            assert_eq!(r.forgotten_change(&acme.id, old)?.as_deref(), Some("t1"));
        }
        assert_eq!(r.change_ticket(&acme.id, "r1")?.as_deref(), Some("t1"));
        assert_eq!(r.forgotten_change(&acme.id, "r1")?, None);
        assert_eq!(r.forgotten_change(&acme.id, "other")?, None);
        assert_eq!(r.max_seq(&acme.id)?, 6);
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // The ticket goes on from the rewrite.
    s.commit(&commit(
        &acme,
        vec![ticket("t1", "u1", Some(6))],
        vec![change("t1", "h4")],
    ))
    .unwrap();
    let head = s
        .read_with(|r| r.ticket_head(&acme.id, "t1"))
        .unwrap()
        .unwrap();
    assert_eq!((head.last_seq, head.rewritten_seq), (7, 6));
}

pub fn a_rewrite_of_a_moved_or_unknown_ticket_stores_nothing(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    create_ticket(s, &acme, "t1", "u1", "h1");
    let moved = s.rewrite(&rewrite(&acme, "t1", 0, "r1"));
    assert!(matches!(
        moved,
        Err(StorageError::Conflict(Conflict::Moved))
    ));
    let unknown = s.rewrite(&rewrite(&acme, "t9", 1, "r1"));
    assert!(matches!(
        unknown,
        Err(StorageError::NotFound(Missing::Ticket))
    ));
    let elsewhere = s.rewrite(&rewrite(&globex, "t1", 1, "r1"));
    assert!(
        matches!(elsewhere, Err(StorageError::NotFound(Missing::Ticket))),
        "another tenant's ticket is unknown here"
    );
    s.read_with(|r| {
        assert_eq!(r.change_ticket(&acme.id, "h1")?.as_deref(), Some("t1"));
        assert_eq!(r.forgotten_change(&acme.id, "h1")?, None);
        assert_eq!(r.ticket_head(&acme.id, "t1")?.unwrap().rewritten_seq, 0);
        assert!(r.erasures(&acme.id, "t1")?.is_empty());
        Ok::<_, StorageError>(())
    })
    .unwrap();
    assert!(s.erasure_log(&acme.id, 10).unwrap().is_empty());
}

pub fn erasures_are_logged_per_ticket_and_tenant_newest_first(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    create_ticket(s, &acme, "t1", "u1", "h1");
    create_ticket(s, &globex, "t1", "u2", "g1");
    let mut first = rewrite(&acme, "t1", 1, "r1");
    first.erased = vec![note("n1"), Erasure::Contact];
    let seq = s.rewrite(&first).unwrap();
    let mut second = rewrite(&acme, "t1", seq, "r2");
    second.erased = vec![Erasure::Photo { sha256: sha(7) }];
    second.reference = None;
    second.at = 900;
    let seq2 = s.rewrite(&second).unwrap();
    let on_ticket = s.read_with(|r| r.erasures(&acme.id, "t1")).unwrap();
    let kinds: Vec<(&Erasure, u64)> = on_ticket.iter().map(|e| (&e.erasure, e.seq)).collect();
    assert_eq!(
        kinds,
        [
            (&note("n1"), seq),
            (&Erasure::Contact, seq),
            (&Erasure::Photo { sha256: sha(7) }, seq2)
        ],
        "oldest first on the ticket"
    );
    assert_eq!(on_ticket[0].by, "privacy.officer");
    assert_eq!(on_ticket[0].reference.as_deref(), Some("DSR-1"));
    assert_eq!((on_ticket[0].at, on_ticket[2].at), (500, 900));
    assert_eq!(on_ticket[2].reference, None);
    let log = s.erasure_log(&acme.id, 2).unwrap();
    assert_eq!(log.len(), 2, "bounded by the limit");
    assert_eq!(
        log[0].erasure,
        Erasure::Photo { sha256: sha(7) },
        "newest first"
    );
    assert!(s.erasure_log(&globex.id, 10).unwrap().is_empty());
    assert!(
        s.read_with(|r| r.erasures(&globex.id, "t1"))
            .unwrap()
            .is_empty(),
        "the same ticket id in another tenant has none"
    );
}

pub fn a_rewrite_unnames_its_tickets_erased_photos_only(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "1001");
    let acme = s.find_tenant("acme").unwrap().unwrap();
    let shared = store_blob(s, &upload(&li, "u1", 1, 100, 10), 10);
    let alone = store_blob(s, &upload(&li, "u2", 2, 100, 10), 10);
    let mut named = commit(
        &acme,
        vec![ticket("t1", "u1", None), ticket("t2", "u1", None)],
        vec![change("t1", "h1"), change("t2", "h2")],
    );
    named.blob_refs = [("t1", &shared), ("t2", &shared), ("t1", &alone)]
        .into_iter()
        .map(|(ticket_id, blob)| BlobRef {
            ticket_id: ticket_id.into(),
            sha256: blob.sha256.clone(),
        })
        .collect();
    s.commit(&named).unwrap();
    let mut erase = rewrite(&acme, "t1", 1, "r1");
    erase.unnamed_blobs = vec![shared.sha256.clone(), alone.sha256.clone()];
    s.rewrite(&erase).unwrap();
    assert_eq!(
        s.blob_ref_tickets(&acme.id, &shared.sha256).unwrap(),
        ["t2"]
    );
    assert!(
        s.blob_ref_tickets(&acme.id, &alone.sha256)
            .unwrap()
            .is_empty()
    );
    // The one no ticket names is unnamed at once: collected with no grace period left.
    let gone = s
        .delete_unnamed_blobs(&[alone.clone(), shared.clone()], i64::MAX)
        .unwrap();
    assert_eq!(gone, [alone], "the one another ticket names stays");
}
