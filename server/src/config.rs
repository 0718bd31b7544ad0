//! Where the server keeps its data and how it listens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blobs::{BlobStore, FsBlobStore, S3_SCHEME, S3BlobStore};
pub use crate::connections::ConnectionLimits;
use crate::error::Error;
pub use crate::login::{Backoff, LoginLimits};
use crate::storage::{self, ServerStore};

/// The database file inside a data directory.
pub const DATABASE_FILE: &str = "fieldwork-server.db";
/// The blob store's root inside a data directory, next to the database.
pub const BLOB_DIR: &str = "blobs";
/// Where `fieldwork serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Documents kept in memory unless told otherwise, and within `cache::DEFAULT_DOC_CACHE_BYTES`
/// by estimate (a ticket of 30 notes takes ~120 KB).
pub const DEFAULT_DOC_CACHE: usize = 1000;

/// Threads for blocking work (SQLite, Automerge) in `fieldwork serve`. Tokio's default, 512, let
/// a load of 1,000 devices park a thread for each request waiting on the store — each thread
/// with its stack and allocator caches, 600 MiB in all (`docs/benchmarks.md`, "Server under
/// load") — while two cores run a few at a time. Work beyond this waits in tokio's queue. No
/// blocking work waits for a client (downloads read a frame at a time), so a slow client
/// cannot hold one of these threads.
pub const BLOCKING_THREADS: u16 = 32;

const GIB: u64 = 1024 * 1024 * 1024;
/// Bytes of photos one tenant may store unless told otherwise (a full photo and its thumbnail
/// take about 0.5 MB: some 100,000 photos).
pub const DEFAULT_TENANT_BLOB_BYTES: u64 = 50 * GIB;
/// Bytes of photos one user may store unless told otherwise (some 10,000 photos).
pub const DEFAULT_USER_BLOB_BYTES: u64 = 5 * GIB;
/// Devices one user may have registered unless told otherwise.
pub const DEFAULT_DEVICES_PER_USER: u32 = 20;
/// How long a stored blob no ticket names is kept after its upload finished, unless told
/// otherwise: a device pushes the ticket change before the lane uploads the file, so an honest
/// blob is named within minutes.
pub const DEFAULT_UNNAMED_BLOB_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// What one tenant and one user may store and register (`docs/security.md`, "Blob storage and
/// uploads"). These are the server-wide defaults; an admin may override the first three for one
/// tenant (`fieldwork admin set-quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Bytes of blobs a tenant may hold: stored blobs plus the declared length of its open uploads.
    pub tenant_blob_bytes: u64,
    /// Bytes of blobs one user may hold: blobs they stored first plus their open uploads.
    pub user_blob_bytes: u64,
    /// Devices (not removed by an admin) one user may have registered.
    pub devices_per_user: u32,
    /// A stored blob no ticket names is collected this long after its last upload (ms).
    pub unnamed_blob_grace_ms: i64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            tenant_blob_bytes: DEFAULT_TENANT_BLOB_BYTES,
            user_blob_bytes: DEFAULT_USER_BLOB_BYTES,
            devices_per_user: DEFAULT_DEVICES_PER_USER,
            unnamed_blob_grace_ms: DEFAULT_UNNAMED_BLOB_GRACE_MS,
        }
    }
}

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Holds the database (unless [`Self::database`] names another) and the photo files;
    /// created on first start.
    pub data_dir: PathBuf,
    /// Where the records live: `None` (or `sqlite`) for the embedded SQLite file in
    /// [`Self::data_dir`], or a PostgreSQL address (`postgres://user:password@host/db`) that
    /// several servers may share ([`open_store`]).
    pub database: Option<String>,
    /// Where the photo files live: `None` (or `local`) for [`BLOB_DIR`] in [`Self::data_dir`],
    /// or an S3 bucket (`s3://bucket/prefix`) that several servers may share ([`open_blobs`]).
    pub blobs: Option<String>,
    /// Port 0 picks a free port (see [`crate::Server::local_addr`]).
    pub listen: SocketAddr,
    /// Most ticket documents held in memory at once.
    pub doc_cache: usize,
    /// Most memory those documents may take, by the cache's estimate (which errs high:
    /// `server/tests/doc_memory.rs`); whichever bound is met first holds.
    pub doc_cache_bytes: usize,
    /// Storage quotas and the device cap (server-wide defaults).
    pub quotas: Quotas,
    /// Sign-in rate limits and the password hashing gate.
    pub logins: LoginLimits,
    /// Connection caps and timeouts.
    pub connections: ConnectionLimits,
    /// The first retry of a failed webhook delivery waits this long (ms); each next one twice
    /// as long, up to an hour.
    pub webhook_retry_ms: i64,
    /// Mark the back-office API's session cookies `Secure`: set when clients reach the server
    /// over TLS (through a proxy that terminates it), so browsers never send them in the clear.
    pub secure_cookies: bool,
    /// The tiles the console's dispatch map draws; none: a plain background with coordinates.
    pub map_tiles: Option<crate::console::TileSource>,
    /// How fast each intake channel may deliver (`docs/channels.md`).
    pub intake: crate::intake::IntakeLimits,
}

impl ServerConfig {
    /// Defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            database: None,
            blobs: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            doc_cache: DEFAULT_DOC_CACHE,
            doc_cache_bytes: crate::cache::DEFAULT_DOC_CACHE_BYTES,
            quotas: Quotas::default(),
            logins: LoginLimits::default(),
            connections: ConnectionLimits::default(),
            webhook_retry_ms: crate::webhooks::DEFAULT_RETRY_MS,
            secure_cookies: false,
            map_tiles: None,
            intake: crate::intake::IntakeLimits::default(),
        }
    }

    /// Where photos and screenshots are kept unless [`Self::blobs`] names a bucket: [`BLOB_DIR`]
    /// next to the database.
    pub fn blob_root(&self) -> PathBuf {
        self.data_dir.join(BLOB_DIR)
    }
}

/// Opens the store of a data directory, creating the directory and database as needed. The one
/// place that picks a backend: SQLite, in [`DATABASE_FILE`], unless `database` names PostgreSQL
/// (`postgres://…` or `postgresql://…`; `sqlite` names the default).
pub fn open_store(data_dir: &Path, database: Option<&str>) -> Result<Arc<dyn ServerStore>, Error> {
    match database {
        None | Some("sqlite") => {}
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            return Ok(storage::open_postgres(url)?);
        }
        Some(_) => {
            return Err(Error::Invalid {
                field: "database",
                reason: "must be `sqlite` or a postgres:// address".to_owned(),
            });
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
        action: "create the data directory",
        path: data_dir.display().to_string(),
        source,
    })?;
    Ok(storage::open_sqlite(&data_dir.join(DATABASE_FILE))?)
}

/// Opens the blob store of a data directory. The one place that picks where photo files live:
/// [`BLOB_DIR`] in `data_dir` unless `blobs` names an S3 bucket (`s3://bucket` or
/// `s3://bucket/prefix`, reached with the `AWS_*` environment variables: `crate::blobs`'s
/// `S3BlobStore`); `local` names the default. Opening a bucket checks that it answers.
pub fn open_blobs(data_dir: &Path, blobs: Option<&str>) -> Result<Arc<dyn BlobStore>, Error> {
    match blobs {
        None | Some("local") => Ok(Arc::new(FsBlobStore::new(data_dir.join(BLOB_DIR)))),
        Some(url) if url.starts_with(S3_SCHEME) => Ok(Arc::new(S3BlobStore::open(url)?)),
        Some(_) => Err(Error::Invalid {
            field: "blobs",
            reason: "must be `local` (the data directory) or an s3://bucket/prefix address"
                .to_owned(),
        }),
    }
}

/// [`open_store`] of the embedded SQLite database in `data_dir`.
pub fn open_data_dir(data_dir: &Path) -> Result<Arc<dyn ServerStore>, Error> {
    open_store(data_dir, None)
}
