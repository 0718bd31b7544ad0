//! Opening the server database: durability pragmas, and migrations by the shared contract
//! (`storage::migrate`) with the version in `PRAGMA user_version`, one step at a time, each in its
//! own immediate transaction (the same pattern as the device store).

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::storage::Result;
use crate::storage::migrate::{SchemaVersion, migrate as run_steps};

/// Each entry upgrades the schema by one version; index `i` takes version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_initial.sql"),
    include_str!("sql/0002_blobs_positions.sql"),
    include_str!("sql/0003_pull_indexes.sql"),
    include_str!("sql/0004_tenant_scoped.sql"),
    include_str!("sql/0005_blob_quotas.sql"),
    include_str!("sql/0006_ticket_people.sql"),
    include_str!("sql/0007_staff_documents.sql"),
    include_str!("sql/0008_erasures.sql"),
    include_str!("sql/0009_tenant_configs.sql"),
    include_str!("sql/0010_change_times.sql"),
    include_str!("sql/0011_reporter_history.sql"),
    include_str!("sql/0012_webhooks.sql"),
    include_str!("sql/0013_staff_people.sql"),
    include_str!("sql/0014_brain_memory.sql"),
    include_str!("sql/0015_web_sessions.sql"),
    include_str!("sql/0016_ticket_listing.sql"),
    include_str!("sql/0017_audit.sql"),
    include_str!("sql/0018_account_events.sql"),
    include_str!("sql/0019_ticket_facts.sql"),
    include_str!("sql/0020_csat_links.sql"),
    include_str!("sql/0021_search_tombstones.sql"),
    include_str!("sql/0022_saved_views.sql"),
    include_str!("sql/0023_list_sort_indexes.sql"),
    include_str!("sql/0024_asset_serial.sql"),
    include_str!("sql/0025_channels.sql"),
    include_str!("sql/0026_assets.sql"),
    include_str!("sql/0027_knowledge_base.sql"),
    include_str!("sql/0028_kb_images.sql"),
    include_str!("sql/0029_covering_list_filters.sql"),
    include_str!("sql/0030_ticket_summaries.sql"),
    include_str!("sql/0031_snapshot_tails.sql"),
    include_str!("sql/0032_summaries_apart.sql"),
    include_str!("sql/0033_change_times_covered.sql"),
    include_str!("sql/0034_search_text_waiting.sql"),
    include_str!("sql/0035_search_text_appended.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// Opens (creating if needed) the writer connection and brings the schema up to date.
pub(super) fn open_writer(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Deleted rows and replaced documents are zeroed, not left in free pages: what an erase
    // removes leaves the file (docs/staff-data.md, "Erase").
    conn.pragma_update(None, "secure_delete", "ON")?;
    // A group commit gives each push a savepoint; its undo journal stays in memory instead of a
    // temporary file opened and closed on every commit (seen in `perf` under load).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    configure(&conn, WRITER_CACHE_KIB)?;
    migrate(&mut conn, LATEST_VERSION)?;
    Ok(conn)
}

/// Opens a read-only connection; WAL lets it read while the writer writes.
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, READER_CACHE_KIB)?;
    Ok(conn)
}

/// How many prepared statements each connection keeps (see `configure`): more than the server's
/// distinct statements on any one path, a few KiB each.
const STATEMENT_CACHE: usize = 256;

/// The writer's page cache, in KiB (SQLite's default is 2 MiB): the pull and push paths touch
/// the index pages of many tickets per second. The writer's cache is never emptied by another's
/// commit and fills whatever it is given — 64 MiB held the server's heap ~30 MiB higher under
/// 1,000 devices, with the same throughput and back-office latencies (`docs/benchmarks.md`, "A
/// smaller page cache").
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// A read connection's page cache, in KiB. It lasts one read transaction under writes (see
/// `configure`), and one reads a few pages; eight idle readers at the writer's 16 MiB kept that
/// much each of the last report or search they ran (`docs/benchmarks.md`, "No memory map").
const READER_CACHE_KIB: i64 = 4 * 1024;

/// Settings every connection takes, with a page cache of `cache_kib`.
fn configure(conn: &Connection, cache_kib: i64) -> Result<()> {
    // A push is answered only once it is on disk: a device then drops the changes from its outbox.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A negative size is in KiB.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // Pages are read with `pread` into the page cache, not through a memory map of the file. In
    // WAL mode a reader empties its page cache whenever another connection committed since its
    // last read — and unmaps its whole map too, faulting back in what it touches — so under
    // writes the map saved nothing: `pread` costs what the faults and unmapping did (0.92–0.94
    // against 0.98 ms of server CPU a round under 1,000 devices). But mapped pages count as the
    // server's resident memory: the writer's map, never torn down, came to hold every page it
    // had touched (860 MiB after ten minutes), and a reader that loaded a few long tickets held
    // 100–300 MiB more until its next read (`docs/benchmarks.md`, "No memory map").
    conn.pragma_update(None, "mmap_size", 0)?;
    // The query planner stability guarantee: a statement keeps the plan it was prepared with,
    // whatever values are bound. Without it SQLite prepares again, on every run, each statement
    // whose tables have a partial index (`tokens`, `changes`, `tickets`: it weighs the bound
    // values against the index's condition) — 12% of the server's time under load, in the pull,
    // the session check and the knowledge base (`docs/benchmarks.md`, "Back-office API", fix 10).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Prepared statements kept per connection (rusqlite's `prepare_cached`; 16 by default). A
    // commit alone runs more than 16 distinct statements, and past the cache's size each run
    // parses and plans its statements again: 14% of the server under load when four more were
    // added (`docs/benchmarks.md`, "Rows a note rewrites").
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The admin CLI writes to the same file while a server runs.
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

/// SQLite keeps the version in the database header (`PRAGMA user_version`), written in the same
/// transaction as the step; an immediate transaction takes the one write lock before reading it.
impl SchemaVersion for Connection {
    fn schema_version(&mut self) -> Result<u32> {
        Ok(self.pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn apply_step(&mut self, from: u32, sql: &str) -> Result<()> {
        let tx = self.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process (the admin CLI, a second server start) may have migrated while we
        // waited for the lock.
        let current: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current == from {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", from + 1)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Applies migrations until the schema is at `target`. Refuses a database from a newer server.
pub(super) fn migrate(conn: &mut Connection, target: u32) -> Result<()> {
    run_steps(conn, MIGRATIONS, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement on a table with a partial index, run again with other values, is not
    /// prepared again (`configure`: the query planner stability guarantee).
    #[test]
    fn statements_keep_their_plan_whatever_is_bound() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plans.db");
        let _writer = open_writer(&path).expect("writer");
        let reader = open_reader(&path).expect("reader");
        let sql = "SELECT t.kind FROM tokens t JOIN users u ON u.id = t.user_id
                   LEFT JOIN devices d ON d.id = t.device_id
                   WHERE t.hash = ?1 AND t.revoked_at IS NULL";
        for hash in ["a", "b", "c"] {
            let mut stmt = reader.prepare_cached(sql).expect("prepares");
            let mut rows = stmt.query([hash]).expect("runs");
            while rows.next().expect("steps").is_some() {}
        }
        let stmt = reader.prepare_cached(sql).expect("cached");
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    /// Neither the writer nor a reader maps the database file: what they read stays out of the
    /// server's resident memory, bounded by their page caches (`configure`).
    #[test]
    #[cfg(target_os = "linux")]
    fn no_connection_maps_the_file_it_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("unmapped.db");
        let writer = open_writer(&path).expect("writer");
        writer
            .execute_batch(
                "CREATE TABLE filler (n INTEGER PRIMARY KEY, bytes BLOB);
                 WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 2000)
                 INSERT INTO filler SELECT n, randomblob(2000) FROM k;",
            )
            .expect("4 MB written");
        let reader = open_reader(&path).expect("reader");
        for conn in [&writer, &reader] {
            let read: i64 = conn
                .query_row("SELECT sum(length(bytes)) FROM filler", [], |r| r.get(0))
                .expect("every page read");
            assert_eq!(read, 4_000_000);
        }
        let file = path.to_string_lossy().into_owned();
        let maps = std::fs::read_to_string("/proc/self/maps").expect("this process's maps");
        assert!(
            !maps.lines().any(|line| line.ends_with(&file)),
            "the database file is mapped"
        );
        // The WAL's index is shared memory by design, and small.
        assert!(
            maps.lines()
                .any(|line| line.ends_with(&format!("{file}-shm")))
        );
    }

    fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .expect("sqlite_master is always readable");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query runs")
            .collect::<std::result::Result<_, _>>()
            .expect("rows decode")
    }

    #[test]
    fn every_old_schema_upgrades_to_exactly_the_fresh_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let expected = schema_of(&open_writer(&dir.path().join("fresh.db")).expect("fresh"));
        assert!(!expected.is_empty());
        for start in 0..LATEST_VERSION {
            let path = dir.path().join(format!("from-{start}.db"));
            {
                let mut conn = Connection::open(&path).expect("old db");
                migrate(&mut conn, start).expect("old schema builds");
            }
            let upgraded = open_writer(&path).expect("upgrade succeeds");
            assert_eq!(schema_of(&upgraded), expected, "upgrade from v{start}");
        }
    }

    #[test]
    fn version_4_numbers_changes_per_tenant_and_carries_holdings_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v3.db");
        {
            let mut conn = Connection::open(&path).expect("old db");
            migrate(&mut conn, 3).expect("v3 builds");
            conn.execute_batch(
                "INSERT INTO tenants (id, name, created_at) VALUES ('A', 'acme', 0), ('G', 'globex', 0);
                 INSERT INTO users (id, tenant_id, name, role, created_at)
                     VALUES ('ua', 'A', 'a', 'rider', 0), ('ug', 'G', 'g', 'rider', 0);
                 INSERT INTO devices (id, user_id, tenant_id, actor_id, name, created_at)
                     VALUES ('da', 'ua', 'A', 'aa', 'p', 0), ('dg', 'ug', 'G', 'bb', 'p', 0);
                 INSERT INTO tickets (id, tenant_id, reporter_id, status, last_seq)
                     VALUES ('ta', 'A', 'ua', 'new', 4), ('tg', 'G', 'ug', 'new', 3);
                 INSERT INTO docs (ticket_id, snapshot) VALUES ('ta', x'01'), ('tg', x'02');
                 INSERT INTO changes (seq, tenant_id, ticket_id, hash, actor_id, bytes, received_at)
                     VALUES (1, 'A', 'ta', 'h1', 'aa', x'00', 0), (2, 'G', 'tg', 'h2', 'bb', x'00', 0),
                            (3, 'G', 'tg', 'h3', 'bb', x'00', 0), (4, 'A', 'ta', 'h4', 'aa', x'00', 0);
                 INSERT INTO blob_refs (tenant_id, sha256, ticket_id) VALUES ('A', 'ab', 'ta');
                 INSERT INTO device_tickets (device_id, ticket_id, covered_seq, since_cursor)
                     VALUES ('da', 'ta', 4, 4), ('dg', 'tg', 2, 3);",
            )
            .expect("v3 data");
        }
        let conn = open_writer(&path).expect("upgrade succeeds");
        let seqs: Vec<(String, i64, String)> = conn
            .prepare("SELECT tenant_id, seq, hash FROM changes ORDER BY tenant_id, seq")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        let expected = [
            ("A", 1, "h1"),
            ("A", 2, "h4"),
            ("G", 1, "h2"),
            ("G", 2, "h3"),
        ];
        assert_eq!(
            seqs,
            expected.map(|(t, s, h)| (t.to_owned(), s, h.to_owned()))
        );
        let last: Vec<(String, i64)> = conn
            .prepare("SELECT id, last_seq FROM tenants ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(last, [("A".to_owned(), 2), ("G".to_owned(), 2)]);
        let holdings: Vec<(String, i64, i64)> = conn
            .prepare("SELECT ticket_id, covered_seq, since_cursor FROM device_tickets ORDER BY 1")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(holdings, [("ta".to_owned(), 2, 2), ("tg".to_owned(), 1, 2)]);
        let ticket_seq: i64 = conn
            .query_row("SELECT last_seq FROM tickets WHERE id = 'ta'", [], |r| {
                r.get(0)
            })
            .expect("ticket");
        assert_eq!(ticket_seq, 2);
        let refs: i64 = conn
            .query_row("SELECT COUNT(*) FROM blob_refs", [], |r| r.get(0))
            .expect("refs");
        assert_eq!(refs, 1);
    }

    #[test]
    fn blobs_stored_before_quotas_are_counted_and_charged_to_their_uploader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v3.db");
        {
            let mut conn = Connection::open(&path).expect("old db");
            migrate(&mut conn, 3).expect("v3 builds");
            conn.execute_batch(
                "INSERT INTO tenants (id, name, created_at) VALUES ('t', 'acme', 0);
                 INSERT INTO users (id, tenant_id, name, role, created_at)
                     VALUES ('u', 't', 'li', 'rider', 0);
                 INSERT INTO devices (id, user_id, tenant_id, actor_id, name, created_at)
                     VALUES ('d', 'u', 't', 'aa', 'phone', 0);
                 INSERT INTO tickets (id, tenant_id, reporter_id, status, last_seq)
                     VALUES ('k', 't', 'u', 'new', 0);
                 INSERT INTO blobs (tenant_id, sha256, length, mime, created_at) VALUES
                     ('t', 'named', 100, 'image/jpeg', 5),
                     ('t', 'junk', 30, 'image/jpeg', 6),
                     ('t', 'old', 7, 'image/jpeg', 1);
                 INSERT INTO blob_refs (tenant_id, sha256, ticket_id) VALUES ('t', 'named', 'k');
                 INSERT INTO blob_uploads (id, tenant_id, user_id, device_id, sha256, kind, mime,
                     ticket_id, upload_length, upload_offset, state, created_at, updated_at)
                 VALUES ('x', 't', 'u', 'd', 'named', 'full', 'image/jpeg', 'k', 100, 100, 'done', 4, 5),
                        ('y', 't', 'u', 'd', 'junk', 'full', 'image/jpeg', 'k', 30, 30, 'done', 5, 6);",
            )
            .expect("v3 data");
        }
        let conn = open_writer(&path).expect("upgrades");
        let flags: Vec<(String, Option<String>, i64, i64)> = conn
            .prepare("SELECT sha256, user_id, claimed_at, named FROM blobs ORDER BY sha256")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect()
            })
            .expect("blobs");
        assert_eq!(
            flags,
            [
                ("junk".into(), Some("u".into()), 6, 0),
                ("named".into(), Some("u".into()), 5, 1),
                ("old".into(), None, 1, 0),
            ]
        );
        let tenant: (i64, i64) = conn
            .query_row("SELECT bytes, blobs FROM tenant_blob_usage", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("tenant usage");
        let user: (i64, i64) = conn
            .query_row(
                "SELECT bytes, blobs FROM user_blob_usage WHERE user_id = 'u'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("user usage");
        assert_eq!((tenant, user), ((137, 3), (130, 2)));
    }

    #[test]
    fn a_newer_schema_is_refused_and_durability_pragmas_hold() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.db");
        let conn = open_writer(&path).expect("open");
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("sync");
        assert_eq!((mode.as_str(), sync), ("wal", 2));
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(matches!(
            open_writer(&path),
            Err(crate::storage::StorageError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn version_32_moves_summaries_out_of_the_documents_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v31.db");
        {
            let mut conn = Connection::open(&path).expect("old db");
            migrate(&mut conn, 31).expect("v31 builds");
            conn.execute_batch(
                "INSERT INTO tenants (id, name, created_at) VALUES ('A', 'acme', 0);
                 INSERT INTO users (id, tenant_id, name, role, created_at)
                     VALUES ('ua', 'A', 'a', 'rider', 0);
                 INSERT INTO tickets (id, tenant_id, reporter_id, status, last_seq)
                     VALUES ('ta', 'A', 'ua', 'new', 1), ('tb', 'A', 'ua', 'new', 2);
                 INSERT INTO docs (tenant_id, ticket_id, snapshot, summary)
                     VALUES ('A', 'ta', x'01', x'5a'), ('A', 'tb', x'02', NULL);",
            )
            .expect("v31 data");
        }
        let conn = open_writer(&path).expect("upgrade succeeds");
        let summaries: Vec<(String, Vec<u8>)> = conn
            .prepare("SELECT ticket_id, summary FROM ticket_summaries ORDER BY 1")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(summaries, [("ta".to_owned(), vec![0x5a])]);
        let snapshots: Vec<Vec<u8>> = conn
            .prepare("SELECT snapshot FROM docs ORDER BY ticket_id")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(snapshots, [vec![0x01], vec![0x02]], "the documents stay");
    }
}
