//! The device store's SQLite migration runner (`store::schema`): numbered SQL steps, each in its
//! own immediate transaction, the version kept in `PRAGMA user_version`, and a schema from a newer
//! build refused rather than touched. (The server has its own, for two backends: ADR 0009.)

use rusqlite::{Connection, TransactionBehavior};

/// Why [`apply_migrations`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("schema version {found} is newer than this build's {supported}")]
    TooNew { found: u32, supported: u32 },
}

/// The migration runner shared by the device store and the server: `migrations[i]` takes
/// `PRAGMA user_version` from `i` to `i + 1`, each step in its own immediate transaction, until
/// the schema is at `target`. A schema newer than `migrations` knows is refused.
pub fn apply_migrations(
    conn: &mut Connection,
    migrations: &[&str],
    target: u32,
) -> Result<(), MigrationError> {
    let latest = migrations.len() as u32;
    let mut version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > latest {
        return Err(MigrationError::TooNew {
            found: version,
            supported: latest,
        });
    }
    while version < target.min(latest) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let current: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current == version {
            tx.execute_batch(migrations[version as usize])?;
            tx.pragma_update(None, "user_version", version + 1)?;
        }
        tx.commit()?;
        version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    }
    Ok(())
}
