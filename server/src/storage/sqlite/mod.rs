//! [`SqliteStore`]: the embedded backend. One file in WAL mode, `synchronous=FULL`, one writer
//! connection behind a mutex and a small pool of read-only connections. One submodule per storage
//! trait; `rusqlite::Error` becomes [`StorageError`] here, at the backend's edge.

mod accounts;
mod assets;
mod audit;
mod blobs;
mod brain_memory;
mod channels;
mod configs;
mod csat_links;
mod devices;
mod documents;
mod knowledge;
mod peers;
mod positions;
mod quotas;
mod readers;
mod report_facts;
mod saved_views;
mod schema;
pub(crate) mod search_text;
mod ticket_list;
mod ticket_log;
mod web_sessions;
mod webhooks;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fieldwork_core::ticket::ActorId;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};

use super::{Missing, Result, StorageError, seq_of, sql_seq};
use readers::ReaderPool;

/// The SQLite backend.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: ReaderPool,
    server_actor: ActorId,
}

impl From<rusqlite::Error> for StorageError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StorageError::OutOfSpace,
            _ => StorageError::backend(error),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock dropped its transaction (rolled back): the connection is clean.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fails with [`Missing::Tenant`] unless the tenant exists (inside the caller's transaction).
fn require_tenant(conn: &Connection, tenant_id: &str) -> Result<()> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")?
        .query_row([tenant_id], |r| r.get(0))
        .optional()?;
    match known {
        Some(_) => Ok(()),
        None => Err(Missing::Tenant.into()),
    }
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

impl SqliteStore {
    /// Opens the database at `path`, creating and migrating it as needed.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = schema::open_writer(path)?;
        let server_actor = server_actor(&mut writer)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: ReaderPool::new(path.to_owned()),
            server_actor,
        })
    }

    /// Runs `work` in one immediate transaction on the writer and commits it durably.
    fn write<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `work` on a read-only connection from the pool ([`ReaderPool`]).
    fn with_reader<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        self.readers.with(work)
    }
}

/// Reads (or makes, once) the actor of server-authored changes.
fn server_actor(conn: &mut Connection) -> Result<ActorId> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_actor', ?1)",
        [ActorId::random().to_hex_string()],
    )?;
    let hex: String = tx.query_row(
        "SELECT value FROM meta WHERE key = 'server_actor'",
        [],
        |r| r.get(0),
    )?;
    tx.commit()?;
    ActorId::try_from(hex.as_str()).map_err(|e| StorageError::Corrupt(format!("server actor: {e}")))
}
