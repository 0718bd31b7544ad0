//! Migrations on PostgreSQL, by the shared contract (`storage::migrate`): the version is the one
//! row of `fieldwork_schema`, and each step runs in its own transaction holding a transaction
//! advisory lock, so replicas starting at once never both run a step.

use super::db::{Db, PgResult};
use crate::storage::Result;
use crate::storage::migrate::{SchemaVersion, migrate as run_steps};

/// Each entry upgrades the schema by one version; index `i` takes version `i` to `i + 1`. The
/// PostgreSQL schema starts at what SQLite's thirty steps built, one file per group of concerns;
/// later steps follow SQLite's one for one.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_accounts.sql"),
    include_str!("sql/0002_tickets.sql"),
    include_str!("sql/0003_blobs.sql"),
    include_str!("sql/0004_channels.sql"),
    include_str!("sql/0005_snapshot_tails.sql"),
    include_str!("sql/0006_change_times_covered.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// The key of the advisory lock migrations hold ("fieldwrk" in ASCII).
const MIGRATION_LOCK: i64 = 0x6669_656c_6477_726b;

struct Versioned<'a>(&'a Db);

impl Versioned<'_> {
    fn read_version(&self) -> PgResult<u32> {
        let row = self
            .0
            .query_opt("SELECT version FROM fieldwork_schema", &[])?;
        let version: i64 = row.map_or(Ok(0), |r| r.try_get(0))?;
        Ok(u32::try_from(version).unwrap_or(u32::MAX))
    }
}

impl SchemaVersion for Versioned<'_> {
    fn schema_version(&mut self) -> Result<u32> {
        Ok(self.read_version()?)
    }

    fn apply_step(&mut self, from: u32, sql: &str) -> Result<()> {
        let db = self.0;
        db.batch("BEGIN")?;
        let step = (|| -> PgResult<()> {
            db.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            if self.read_version()? == from {
                db.batch(sql)?;
                db.execute(
                    "UPDATE fieldwork_schema SET version = $1",
                    &[&i64::from(from + 1)],
                )?;
            }
            Ok(())
        })();
        match step {
            Ok(()) => db.batch("COMMIT")?,
            Err(error) => {
                let _ = db.batch("ROLLBACK");
                return Err(error.into());
            }
        }
        Ok(())
    }
}

/// Brings the schema up to date on `db` (outside any transaction).
pub(super) fn migrate(db: &Db) -> Result<()> {
    // The version table itself, made race-free by the same lock.
    let made = db.batch(&format!(
        "BEGIN;
         SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
         CREATE TABLE IF NOT EXISTS fieldwork_schema (version BIGINT NOT NULL);
         INSERT INTO fieldwork_schema (version)
             SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM fieldwork_schema);
         COMMIT"
    ));
    if let Err(error) = made {
        let _ = db.batch("ROLLBACK");
        return Err(error.into());
    }
    run_steps(&mut Versioned(db), MIGRATIONS, LATEST_VERSION)
}
