//! Where the server keeps its data and how it listens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use crate::connections::ConnectionLimits;
use crate::error::Error;
pub use crate::login::{Backoff, LoginLimits};
use crate::storage::SqliteStore;

/// The database file inside a data directory.
pub const DATABASE_FILE: &str = "fieldwork-server.db";
/// The blob store's root inside a data directory, next to the database.
pub const BLOB_DIR: &str = "blobs";
/// Where `fieldwork serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Documents kept in memory unless told otherwise (a few tens of MB at most).
pub const DEFAULT_DOC_CACHE: usize = 1000;

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Holds the database; created on first start.
    pub data_dir: PathBuf,
    /// Port 0 picks a free port (see [`crate::Server::local_addr`]).
    pub listen: SocketAddr,
    /// Most ticket documents held in memory at once.
    pub doc_cache: usize,
    /// Sign-in rate limits and the password hashing gate.
    pub logins: LoginLimits,
    /// Connection caps and timeouts.
    pub connections: ConnectionLimits,
}

impl ServerConfig {
    /// Defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            doc_cache: DEFAULT_DOC_CACHE,
            logins: LoginLimits::default(),
            connections: ConnectionLimits::default(),
        }
    }

    /// Where photos and screenshots are kept: [`BLOB_DIR`] next to the database.
    pub fn blob_root(&self) -> PathBuf {
        self.data_dir.join(BLOB_DIR)
    }
}

/// Opens the store of a data directory, creating the directory and database as needed.
pub fn open_data_dir(data_dir: &Path) -> Result<SqliteStore, Error> {
    std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
        action: "create the data directory",
        path: data_dir.display().to_string(),
        source,
    })?;
    SqliteStore::open(&data_dir.join(DATABASE_FILE))
}
