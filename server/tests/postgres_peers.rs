//! `storage::Peers` on PostgreSQL: two stores on one database stand for two server replicas.
//! Messages reach the other one and never come back to their sender; a duty's lease is held by
//! one at a time, passes on when released, and is lost — on both sides — when the holder's
//! connection breaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use fieldwork_server::storage::conformance::postgres::TestDatabase;
use fieldwork_server::storage::{MAX_PEER_MESSAGE, PeerEvent, Peers, PgOptions, PgStore};
use tokio::sync::mpsc::UnboundedReceiver;

fn replica(database: &TestDatabase) -> PgStore {
    PgStore::open(&database.url, &PgOptions { pool_size: 2 }).expect("a replica opens")
}

/// The next event within a few seconds, or `None`.
fn next(heard: &mut UnboundedReceiver<PeerEvent>) -> Option<PeerEvent> {
    next_within(heard, 100)
}

/// The next event within `polls` × 50 ms, or `None`.
fn next_within(heard: &mut UnboundedReceiver<PeerEvent>, polls: u32) -> Option<PeerEvent> {
    for _ in 0..polls {
        match heard.try_recv() {
            Ok(event) => return Some(event),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    None
}

/// Runs `sql` on the database outside the stores.
fn run(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}

#[test]
fn a_message_reaches_the_other_replica_only() {
    let database = TestDatabase::create();
    let (a, b) = (replica(&database), replica(&database));
    let mut heard_a = a.hear_peers().expect("a listens");
    let mut heard_b = b.hear_peers().expect("b listens");
    assert!(a.hear_peers().is_none(), "one listener per server");
    // The listeners connect in the background: send until the first arrives.
    let mut arrived = None;
    for attempt in 0..50 {
        a.tell_peers(&format!("hello {attempt}")).unwrap();
        if let Some(event) = next_within(&mut heard_b, 4) {
            arrived = Some(event);
            break;
        }
    }
    assert!(
        matches!(arrived, Some(PeerEvent::Message(m)) if m.starts_with("hello ")),
        "b hears a"
    );
    b.tell_peers("a | message with the separator").unwrap();
    assert_eq!(
        next(&mut heard_a),
        Some(PeerEvent::Message("a | message with the separator".into()))
    );
    // Neither hears itself.
    while let Ok(event) = heard_b.try_recv() {
        assert!(matches!(event, PeerEvent::Message(m) if m.starts_with("hello ")));
    }
    assert!(
        heard_a.try_recv().is_err(),
        "a never hears its own messages"
    );

    let too_long = "x".repeat(MAX_PEER_MESSAGE + 1);
    assert!(a.tell_peers(&too_long).is_err(), "refused, not cut");
}

#[test]
fn one_replica_leads_a_duty_at_a_time_until_it_lets_go_or_loses_its_connection() {
    let database = TestDatabase::create();
    let (a, b) = (replica(&database), replica(&database));
    let lead = a.lead("duties").unwrap().expect("a leads");
    assert!(lead.still_leads());
    assert!(
        b.lead("duties").unwrap().is_none(),
        "b does not while a does"
    );
    assert!(
        b.lead("other duty").unwrap().is_some(),
        "duties are leased apart"
    );

    drop(lead);
    let lead = b.lead("duties").unwrap().expect("b leads once a let go");
    assert!(a.lead("duties").unwrap().is_none());

    // The connection holding b's lease is cut (as when b's host drops off the network). Only
    // in this test's database: `pg_locks` spans the cluster, and a test beside this one may hold
    // an advisory lock of its own (a store migrating as it opens).
    run(
        &database.url,
        "SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    assert!(!lead.still_leads(), "b knows it lost the lease");
    assert!(a.lead("duties").unwrap().is_some(), "a takes it at once");
}
