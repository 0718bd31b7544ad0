//! Several threads at once: commits to one tenant (the ordering rule the pull relies on, ADR
//! 0009) and device registrations under one cap.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fieldwork_core::model::Role;

use super::{TestStore, change, commit, device_record, device_token, tenant, ticket, user};
use crate::storage::{OverQuota, ReadWith, ServerStore, StorageError, TicketLog};

const WRITERS: usize = 4;
const COMMITS_PER_WRITER: usize = 25;

/// Commits `COMMITS_PER_WRITER` times to a ticket of its own; returns (seq, hash) of each change.
fn write_ticket(
    store: &dyn TicketLog,
    tenant: &crate::storage::TenantRecord,
    writer: usize,
) -> Vec<(u64, String)> {
    let id = format!("w{writer}");
    let mut last = None;
    let mut stored = Vec::new();
    for n in 0..COMMITS_PER_WRITER {
        // Every other commit carries two changes, so commits of several seqs interleave too.
        let hashes: Vec<String> = (0..1 + n % 2).map(|k| format!("{id}-{n}-{k}")).collect();
        let changes = hashes.iter().map(|h| change(&id, h)).collect();
        let seqs = store
            .commit(&commit(tenant, vec![ticket(&id, "u1", last)], changes))
            .unwrap();
        assert_eq!(seqs.len(), hashes.len());
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "one commit's seqs run on"
        );
        last = seqs.last().copied();
        stored.extend(seqs.into_iter().zip(hashes));
    }
    stored
}

/// Pages through the tenant's changes after a cursor the way the pull does, until told to stop
/// and nothing is left; returns every (seq, hash) seen, in the order seen.
fn pull_until(store: &dyn TicketLog, tenant: &str, done: &AtomicBool) -> Vec<(u64, String)> {
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let (page, max) = store
            .read_with(|r| {
                Ok::<_, StorageError>((
                    r.changes_after(tenant, cursor, 7, None)?,
                    r.max_seq(tenant)?,
                ))
            })
            .unwrap();
        for c in &page {
            assert!(c.seq > cursor, "a page never goes back behind its cursor");
            assert!(
                c.seq <= max,
                "a snapshot's changes never pass its own max_seq"
            );
            cursor = c.seq;
            seen.push((c.seq, String::from_utf8(c.bytes.clone()).unwrap()));
        }
        if page.is_empty() && finished {
            return seen;
        }
    }
}

pub fn parallel_commits_get_unique_gap_free_seqs_and_a_pull_misses_none(t: &TestStore) {
    let acme = tenant(t.store.as_ref(), "acme");
    let globex = tenant(t.store.as_ref(), "globex");
    let done = Arc::new(AtomicBool::new(false));
    let puller = {
        let (store, tenant, done) = (t.store.clone(), acme.id.clone(), done.clone());
        std::thread::spawn(move || pull_until(store.as_ref(), &tenant, &done))
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = t.store.clone();
            // One writer of another tenant commits at the same time.
            let tenant = if w == 0 { globex.clone() } else { acme.clone() };
            std::thread::spawn(move || (w, write_ticket(store.as_ref(), &tenant, w)))
        })
        .collect();
    let mut committed: BTreeMap<u64, String> = BTreeMap::new();
    let mut other_tenant = Vec::new();
    for writer in writers {
        let (w, stored) = writer.join().unwrap();
        if w == 0 {
            other_tenant = stored;
            continue;
        }
        for (seq, hash) in stored {
            assert!(
                committed.insert(seq, hash).is_none(),
                "seq {seq} given twice"
            );
        }
    }
    done.store(true, Ordering::SeqCst);
    let pulled = puller.join().unwrap();
    let per_writer = COMMITS_PER_WRITER + COMMITS_PER_WRITER / 2;
    let total = (WRITERS - 1) * per_writer;
    let seqs: Vec<u64> = committed.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "unique and gap-free"
    );
    let pulled_map: HashMap<u64, String> = pulled.iter().cloned().collect();
    assert_eq!(pulled.len(), total, "the pull saw every change once");
    assert!(
        pulled.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "in seq order with no gap"
    );
    for (seq, hash) in &committed {
        assert_eq!(
            pulled_map.get(seq),
            Some(hash),
            "seq {seq} holds what was committed"
        );
    }
    let other: Vec<u64> = other_tenant.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        other,
        (1..=per_writer as u64).collect::<Vec<_>>(),
        "the other tenant counts on its own"
    );
    let max = t.store.read_with(|r| r.max_seq(&acme.id)).unwrap();
    assert_eq!(max, total as u64);
}

pub fn parallel_device_registrations_never_overshoot_the_cap(t: &TestStore) {
    let acme = tenant(t.store.as_ref(), "acme");
    let li = user(t.store.as_ref(), &acme, "li", Role::Technician);
    let attempts: Vec<_> = (0..8)
        .map(|n| {
            let (store, li): (Arc<dyn ServerStore>, _) = (t.store.clone(), li.clone());
            std::thread::spawn(move || {
                store.register_device(
                    &device_record(&li, &format!("d{n}"), &format!("3a{n:02}")),
                    &device_token(&li, &format!("tok{n}"), 1),
                    3,
                )
            })
        })
        .collect();
    let mut registered = 0;
    for attempt in attempts {
        match attempt.join().unwrap() {
            Ok(_) => registered += 1,
            Err(StorageError::Quota(OverQuota::Devices { limit: 3 })) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(registered, 3);
    assert_eq!(t.store.list_devices(&li.id).unwrap().len(), 3);
}
