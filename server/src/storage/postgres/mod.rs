//! [`PgStore`]: the PostgreSQL backend, for several server replicas on one database. A bounded
//! pool of connections ([`db::Pool`]); writes in `READ COMMITTED` transactions that lock what they
//! must keep still (`FOR UPDATE`), reads of the ticket log in `REPEATABLE READ` snapshots. One
//! submodule per storage trait, mirroring the SQLite backend; `tokio_postgres::Error` becomes
//! [`StorageError`] here, at the backend's edge.
//!
//! The ordering rule the pull relies on (seq order is commit order within a tenant) holds across
//! replicas because a commit takes its seqs by updating the tenant's row, whose lock it holds
//! until it commits (`docs/adr/0019-postgres-backend.md`).

mod accounts;
mod assets;
mod audit;
mod blobs;
mod brain_memory;
mod channels;
mod commit;
mod configs;
mod csat_links;
mod db;
mod devices;
mod knowledge;
mod peers;
mod positions;
mod quotas;
mod report_facts;
mod saved_views;
mod schema;
mod ticket_list;
mod ticket_log;
mod web_sessions;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use fieldwork_core::ticket::ActorId;

use super::{Missing, Result, StorageError};
use db::{Begin, Db, Pool};

/// How the backend connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections open at once (each replica has its own pool).
    pub pool_size: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { pool_size: 16 }
    }
}

/// The PostgreSQL backend.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    server_actor: ActorId,
    /// This server's mark on its messages to its peers, so it does not hear its own.
    origin: String,
    /// Whether someone listens to the peers already (one listener per server).
    listening: std::sync::Mutex<bool>,
    /// Runs the connections' socket work; shut down in the background when the store goes, so
    /// dropping the store never blocks (nor panics inside an async context).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// the key/value form), creating the schema or bringing it up to date.
    pub fn open(url: &str, options: &PgOptions) -> Result<Self> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StorageError::backend(format!("the PostgreSQL address: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("fieldwork");
        if config.get_options().is_none() {
            // Notices ("relation … already exists, skipping") are not the operator's business.
            config.options("-c client_min_messages=warning");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fieldwork-pg")
            .enable_all()
            .build()
            .map_err(|e| StorageError::backend(format!("starting PostgreSQL's runtime: {e}")))?;
        let pool = Pool::new(config, runtime.handle().clone(), options.pool_size);
        pool.with(schema::migrate)?;
        let server_actor = pool.transaction(Begin::Write, server_actor)?;
        Ok(PgStore {
            pool,
            server_actor,
            origin: format!("{:016x}", rand::random::<u64>()),
            listening: std::sync::Mutex::new(false),
            runtime: Some(runtime),
        })
    }

    /// Runs `work` in one write transaction, committed if it returns `Ok`.
    fn write<T>(&self, work: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.pool.transaction(Begin::Write, work)
    }

    /// Runs `work` in one read-only snapshot.
    fn read_snapshot<T>(&self, work: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.pool.transaction(Begin::Snapshot, work)
    }

    /// Runs one statement's worth of reading (`work`) outside an explicit transaction.
    fn with_reader<T>(&self, work: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.pool.with(work)
    }
}

/// Reads (or makes, once) the actor of server-authored changes.
fn server_actor(db: &Db) -> Result<ActorId> {
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('server_actor', $1) ON CONFLICT (key) DO NOTHING",
        &[&ActorId::random().to_hex_string()],
    )?;
    let hex: String = db
        .query_one("SELECT value FROM meta WHERE key = 'server_actor'", &[])?
        .try_get(0)?;
    ActorId::try_from(hex.as_str()).map_err(|e| StorageError::Corrupt(format!("server actor: {e}")))
}

/// Fails with [`Missing::Tenant`] unless the tenant exists.
fn require_tenant(db: &Db, tenant_id: &str) -> Result<()> {
    match db.query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant_id])? {
        Some(_) => Ok(()),
        None => Err(Missing::Tenant.into()),
    }
}
