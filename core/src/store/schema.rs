//! Opening the database: pragmas for durability, and migrations by `PRAGMA user_version`, one
//! step at a time, each in its own immediate transaction.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use crate::migrate::{MigrationError, apply_migrations};

/// Each entry upgrades the schema by one version; index `i` takes version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_initial.sql"),
    include_str!("sql/0002_quarantine.sql"),
    include_str!("sql/0003_evidence.sql"),
    include_str!("sql/0004_title_search.sql"),
    include_str!("sql/0005_unverified.sql"),
    include_str!("sql/0006_people.sql"),
    include_str!("sql/0007_staff_documents.sql"),
    include_str!("sql/0008_forgotten_changes.sql"),
    include_str!("sql/0009_knowledge_base.sql"),
    include_str!("sql/0010_unchecked_documents.sql"),
];

/// Prepared statements a connection keeps: every one the store prepares with `prepare_cached`
/// (about a hundred) fits.
const STATEMENT_CACHE: usize = 128;

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// Opens (creating if needed) the writer connection and brings the schema up to date.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Checkpoints run on a background thread (`checkpoint.rs`); the writer's own is a safety net.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        super::checkpoint::FALLBACK_PAGES,
    )?;
    // Deleted content is overwritten, not left in free pages: a ticket's staff document that
    // leaves with an eviction, or content erased on the server, must leave no bytes behind
    // (`docs/staff-data.md`). The WAL keeps old frames until a checkpoint truncates it
    // (`TicketStore::scrub`).
    conn.pragma_update(None, "secure_delete", "ON")?;
    migrate(&mut conn, LATEST_VERSION)?;
    Ok(conn)
}

/// Opens a read-only connection; WAL lets it read while the writer writes.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // A write is acknowledged only once it is on disk: the help request must survive the battery
    // dying a second later.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The query planner stability guarantee: a statement keeps the plan it was prepared with,
    // whatever values are bound. Without it SQLite prepared the read of a document's chunks
    // again on every run (it weighs bound values against the schema's constraints): ~8% of a
    // device's CPU per edit and sync round (`docs/benchmarks.md`, "The device's side of a
    // round"). The server's connections do the same.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Prepared statements kept per connection (rusqlite's `prepare_cached`; 16 by default). An
    // edit and a sync round run more than 16 distinct statements, so with the default each round
    // parsed and planned some of them again — the index row's upsert on every edit among them.
    // A bench device's CPU a round fell by 43% with this (`docs/benchmarks.md`, "Search text
    // indexed after the commit, and the devices' prepared statements"). The server's
    // connections keep 256.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // `title_matches(title, query)`: what a title search means (`crate::search::matches`), for
    // the list query to confirm candidates with.
    conn.create_scalar_function(
        "title_matches",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            // The query is the same for every row of a statement: parsed once, kept by SQLite.
            let query = ctx.get_or_create_aux(1, |raw| {
                Ok::<_, rusqlite::Error>(crate::search::SearchQuery::parse(
                    raw.as_str().unwrap_or(""),
                ))
            })?;
            Ok(query.matches(ctx.get_raw(0).as_str().unwrap_or("")))
        },
    )?;
    Ok(())
}

/// Applies migrations until the schema is at `target`. Refuses a database from a newer app.
pub(super) fn migrate(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    apply_migrations(conn, MIGRATIONS, target).map_err(|e| match e {
        MigrationError::Sqlite(e) => StoreError::from(e),
        MigrationError::TooNew { found, supported } => {
            StoreError::SchemaTooNew { found, supported }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .expect("sqlite_master is always readable");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query runs")
            .collect::<Result<_, _>>()
            .expect("rows decode")
    }

    /// Puts a row into the tables that exist at `version`, so upgrades are tested with data.
    fn seed(conn: &Connection, version: u32) {
        if version >= 1 {
            conn.execute(
                "INSERT INTO tickets (id, kind, status, priority, priority_rank, title, reporter_id,
                     created_at, updated_at, updated_seq, sla_due_key)
                 VALUES ('t-old', 'repair', 'new', 'normal', 1, '冷柜不制冷 fridge warm', 'u1', 1, 1, 1, 9)",
                [],
            )
            .expect("seed row fits schema v1");
        }
    }

    #[test]
    fn every_old_schema_upgrades_to_exactly_the_fresh_one_and_keeps_its_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh = open_writer(&dir.path().join("fresh.db")).expect("fresh db opens");
        let expected = schema_of(&fresh);
        assert!(!expected.is_empty());
        for start in 0..LATEST_VERSION {
            let path = dir.path().join(format!("from-{start}.db"));
            {
                let mut conn = Connection::open(&path).expect("old db");
                migrate(&mut conn, start).expect("old schema builds");
                seed(&conn, start);
            }
            let upgraded = open_writer(&path).expect("upgrade succeeds");
            assert_eq!(
                schema_of(&upgraded),
                expected,
                "upgrade from v{start} differs"
            );
            let version: u32 = upgraded
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .expect("version readable");
            assert_eq!(version, LATEST_VERSION);
            if start >= 1 {
                let kept: String = upgraded
                    .query_row("SELECT title FROM tickets WHERE id = 't-old'", [], |r| {
                        r.get(0)
                    })
                    .expect("row from the old schema is still there");
                assert_eq!(kept, "冷柜不制冷 fridge warm");
            }
        }
    }

    #[test]
    fn opening_twice_is_a_no_op_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.db");
        drop(open_writer(&path).expect("first open"));
        let conn = open_writer(&path).expect("second open");
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .expect("bump");
        drop(conn);
        match open_writer(&path) {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (LATEST_VERSION + 1, LATEST_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn durability_pragmas_are_in_force() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = open_writer(&dir.path().join("p.db")).expect("open");
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("sync");
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}
