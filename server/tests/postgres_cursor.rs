//! The pull's cursor on PostgreSQL with several writers (issue: "the cursor must stay correct
//! with concurrent writers"; docs/adr/0019-postgres-backend.md). Two stores on one database
//! stand for two server replicas, each with its own pool of connections.
//!
//! - `a_change_committed_late_is_never_skipped`: the classic gap, forced. A commit is held up
//!   after it started (another connection holds a row it must write), a second commit to the
//!   same tenant is sent through the other replica, and a device pulls meanwhile. With seqs taken
//!   from a plain sequence the second commit would land first with the higher seq, the device's
//!   cursor would move past the first, and the first change would never reach it.
//! - `devices_receive_every_change_of_many_interleaved_commits`: many writers on both replicas,
//!   commits of different sizes, several devices pulling all the while, each ending with every
//!   change exactly once, in seq order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use fieldwork_server::storage::conformance::postgres::TestDatabase;
use fieldwork_server::storage::conformance::{change, commit, create_ticket, tenant, ticket};
use fieldwork_server::storage::{
    PgOptions, PgStore, ReadWith, ServerStore, StorageError, TenantRecord,
};

fn replicas(database: &TestDatabase) -> (Arc<dyn ServerStore>, Arc<dyn ServerStore>) {
    let options = PgOptions { pool_size: 4 };
    let a = PgStore::open(&database.url, &options).expect("replica a");
    let b = PgStore::open(&database.url, &options).expect("replica b");
    (Arc::new(a), Arc::new(b))
}

/// One pull the way `sync::pull` does it: the changes after `cursor` in one snapshot, and the
/// cursor to hand back — the last change's seq, or the snapshot's `max_seq` when none is left.
fn pull(store: &dyn ServerStore, tenant: &str, cursor: u64) -> (Vec<(u64, String)>, u64) {
    store
        .read_with(|r| {
            let page = r.changes_after(tenant, cursor, 50, None)?;
            let next = match page.last() {
                Some(last) => last.seq,
                None => r.max_seq(tenant)?.max(cursor),
            };
            let seen = page
                .into_iter()
                .map(|c| (c.seq, String::from_utf8(c.bytes).unwrap()))
                .collect();
            Ok::<_, StorageError>((seen, next))
        })
        .unwrap()
}

/// A plain connection to the test database, outside the stores, on its own runtime.
struct Raw {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Raw {
    fn connect(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
        });
        Raw { runtime, client }
    }

    fn run(&self, sql: &str) {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .unwrap();
    }
}

#[test]
fn a_change_committed_late_is_never_skipped() {
    let database = TestDatabase::create();
    let (a, b) = replicas(&database);
    let acme: TenantRecord = tenant(a.as_ref(), "acme");
    let x = create_ticket(a.as_ref(), &acme, "x", "u1", "x-0");
    let y = create_ticket(a.as_ref(), &acme, "y", "u1", "y-0");
    let (_, mut cursor) = pull(b.as_ref(), &acme.id, 0);
    assert_eq!(cursor, y);

    // Another connection holds ticket x's row: a commit to x starts, then waits on it.
    let holder = Raw::connect(&database.url);
    holder.run(&format!(
        "BEGIN; SELECT 1 FROM tickets WHERE tenant_id = '{}' AND id = 'x' FOR UPDATE",
        acme.id
    ));
    let late = {
        let (a, acme) = (a.clone(), acme.clone());
        thread::spawn(move || {
            a.commit(&commit(
                &acme,
                vec![ticket("x", "u1", Some(x))],
                vec![change("x", "x-late")],
            ))
            .unwrap()
        })
    };
    thread::sleep(Duration::from_millis(300));
    // Meanwhile a commit to y arrives at the other replica.
    let early = {
        let (b, acme) = (b.clone(), acme.clone());
        thread::spawn(move || {
            b.commit(&commit(
                &acme,
                vec![ticket("y", "u1", Some(y))],
                vec![change("y", "y-early")],
            ))
            .unwrap()
        })
    };
    thread::sleep(Duration::from_millis(300));

    // A device pulls while the first commit is held up: whatever it is told, its cursor must
    // not pass a change that is not yet visible.
    let mut seen = BTreeSet::new();
    for _ in 0..5 {
        let (page, next) = pull(b.as_ref(), &acme.id, cursor);
        seen.extend(page.into_iter().map(|(_, hash)| hash));
        cursor = next;
        thread::sleep(Duration::from_millis(50));
    }
    holder.run("COMMIT");
    let late_seqs = late.join().unwrap();
    let early_seqs = early.join().unwrap();
    assert_ne!(late_seqs, early_seqs, "each commit has its own seqs");

    // Then the device pulls until it is up to date.
    loop {
        let (page, next) = pull(b.as_ref(), &acme.id, cursor);
        if page.is_empty() {
            break;
        }
        seen.extend(page.into_iter().map(|(_, hash)| hash));
        cursor = next;
    }
    assert!(
        seen.contains("x-late") && seen.contains("y-early"),
        "the device received both changes, got {seen:?}"
    );
    assert_eq!(cursor, late_seqs[0].max(early_seqs[0]));
}

const WRITERS_PER_REPLICA: usize = 3;
const COMMITS_PER_WRITER: usize = 40;
const DEVICES: usize = 3;

#[test]
fn devices_receive_every_change_of_many_interleaved_commits() {
    let database = TestDatabase::create();
    let (a, b) = replicas(&database);
    let acme = tenant(a.as_ref(), "acme");
    let done = Arc::new(AtomicBool::new(false));

    // Devices pull through either replica, all the while.
    let devices: Vec<_> = (0..DEVICES)
        .map(|d| {
            let store = if d % 2 == 0 { a.clone() } else { b.clone() };
            let (tenant, done) = (acme.id.clone(), done.clone());
            thread::spawn(move || {
                let mut cursor = 0;
                let mut seen = Vec::new();
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let (page, next) = pull(store.as_ref(), &tenant, cursor);
                    assert!(next >= cursor, "a cursor never goes back");
                    let empty = page.is_empty();
                    seen.extend(page);
                    cursor = next;
                    if empty && finished {
                        return seen;
                    }
                    if empty {
                        // A device long-polls; a short wait keeps the pullers from starving
                        // the writers of the two cores.
                        thread::sleep(Duration::from_millis(2));
                    }
                }
            })
        })
        .collect();

    // Writers on both replicas, each on its own ticket, commits of 1 to 5 changes.
    let writers: Vec<_> = (0..2 * WRITERS_PER_REPLICA)
        .map(|w| {
            let store = if w % 2 == 0 { a.clone() } else { b.clone() };
            let acme = acme.clone();
            thread::spawn(move || {
                let id = format!("w{w}");
                let mut last = None;
                let mut hashes = Vec::new();
                for n in 0..COMMITS_PER_WRITER {
                    let batch: Vec<String> = (0..1 + (n * 7 + w) % 5)
                        .map(|k| format!("{id}-{n}-{k}"))
                        .collect();
                    let seqs = store
                        .commit(&commit(
                            &acme,
                            vec![ticket(&id, "u1", last)],
                            batch.iter().map(|h| change(&id, h)).collect(),
                        ))
                        .unwrap();
                    last = seqs.last().copied();
                    hashes.extend(batch);
                }
                hashes
            })
        })
        .collect();
    let committed: BTreeSet<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    done.store(true, Ordering::SeqCst);

    for device in devices {
        let seen = device.join().unwrap();
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "a device receives changes in seq order, each once"
        );
        let got: BTreeSet<String> = seen.into_iter().map(|(_, hash)| hash).collect();
        let missed: Vec<_> = committed.difference(&got).collect();
        assert!(
            missed.is_empty(),
            "a device missed {} changes: {missed:?}",
            missed.len()
        );
        assert_eq!(got.len(), committed.len());
    }
}
