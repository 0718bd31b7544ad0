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

/// Waits until `heard`'s listener is up: it says so with [`PeerEvent::Missed`].
fn listening(heard: &mut UnboundedReceiver<PeerEvent>) {
    assert_eq!(
        next(heard),
        Some(PeerEvent::Missed),
        "a listener says when it starts listening"
    );
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
    // The listeners connect in the background; a message sent before one listens is not heard
    // (a hint, never a promise), and each says when it starts, so its server catches up.
    listening(&mut heard_a);
    listening(&mut heard_b);
    a.tell_peers("hello").unwrap();
    assert_eq!(next(&mut heard_b), Some(PeerEvent::Message("hello".into())));
    b.tell_peers("a | message with the separator").unwrap();
    assert_eq!(
        next(&mut heard_a),
        Some(PeerEvent::Message("a | message with the separator".into()))
    );
    // Neither hears itself.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        heard_a.try_recv().is_err() && heard_b.try_recv().is_err(),
        "nobody hears their own messages"
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

#[test]
fn a_listener_whose_connection_breaks_listens_again_and_says_it_may_have_missed_messages() {
    let database = TestDatabase::create();
    let (a, b) = (replica(&database), replica(&database));
    let mut heard_b = b.hear_peers().expect("b listens");
    listening(&mut heard_b);

    // Only in this test's database, as above.
    run(
        &database.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()
           AND datname = current_database()",
    );
    a.tell_peers("while b was away").unwrap();
    // b connects again within a second or so, and says it may have missed something.
    // (The old connection may still have heard the message on its way out.)
    let mut event = next_within(&mut heard_b, 100);
    if event == Some(PeerEvent::Message("while b was away".into())) {
        event = next_within(&mut heard_b, 100);
    }
    assert_eq!(
        event,
        Some(PeerEvent::Missed),
        "b is told it may have missed messages"
    );
    a.tell_peers("after b is back").unwrap();
    assert_eq!(
        next(&mut heard_b),
        Some(PeerEvent::Message("after b is back".into()))
    );
}
