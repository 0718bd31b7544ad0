//! The storage conformance suite (`fieldwork_server::storage::conformance`) on the PostgreSQL
//! backend: every test on a new, empty database (`conformance::postgres::TestDatabase`).

use std::sync::Arc;

use fieldwork_server::storage::conformance::TestStore;
use fieldwork_server::storage::conformance::postgres::TestDatabase;
use fieldwork_server::storage::{PgOptions, PgStore};

fn postgres() -> TestStore {
    let database = TestDatabase::create();
    let store = PgStore::open(&database.url, &PgOptions::default()).expect("the database opens");
    TestStore::new(Arc::new(store), database)
}

fieldwork_server::storage_conformance_tests!(postgres());
