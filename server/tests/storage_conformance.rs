//! The storage conformance suite (`fieldwork_server::storage::conformance`) on the SQLite
//! backend: every test on a fresh database file. A PostgreSQL backend runs the same suite with
//! its own one line.

use std::sync::Arc;

use fieldwork_server::storage::SqliteStore;
use fieldwork_server::storage::conformance::TestStore;

fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(&dir.path().join("conformance.db")).expect("a new database opens");
    TestStore::new(Arc::new(store), dir)
}

fieldwork_server::storage_conformance_tests!(sqlite());
