//! The test harness shared by the store's tests: a store on a real SQLite file in a temporary
//! directory, bound to one user, with a clock the test moves.

use std::sync::Arc;

use super::TicketStore;
use crate::clock::ManualClock;
use crate::model::{Actor, Role};

/// Device time at the start of every test.
pub(super) const T0: i64 = 1_795_000_000_000;

pub(super) struct Device {
    pub dir: tempfile::TempDir,
    pub store: TicketStore,
    pub clock: Arc<ManualClock>,
}

/// A fresh store for `user` in tenant `acme`, team `north`.
pub(super) fn device(user: &str, role: Role) -> Device {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::at(T0));
    let store =
        TicketStore::open_with_clock(&dir.path().join("store.db"), clock.clone()).expect("opens");
    store
        .init(Actor {
            tenant: "acme".into(),
            user_id: user.into(),
            role,
            name: None,
            team: Some("north".into()),
        })
        .expect("init");
    Device { dir, store, clock }
}
