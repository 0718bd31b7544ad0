//! The journey of photo and screenshot files to and from the server (the blob lane,
//! `crate::sync::lane`): which files the device has, which it must send or fetch, and how each
//! transfer stands. The files themselves are written and read by [`super::files`].

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Result, TicketStore};
pub use fieldwork_protocol::blobs::sha256_hex;
use fieldwork_protocol::blobs::{BlobKind, is_sha256_hex};
use fieldwork_protocol::sync::SummaryFile;

/// One file of the upload queue, as the status screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub sha256: String,
    pub kind: BlobKind,
    pub ticket_id: String,
    pub bytes: u64,
    /// How much of it the server is known to hold.
    pub sent_bytes: u64,
    pub attempts: u32,
    /// Device time of the next attempt (0 = as soon as possible).
    pub next_try_at: i64,
    pub last_error: Option<String>,
}

/// A file the blob lane should send, with where its upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadJob {
    pub sha256: String,
    pub kind: BlobKind,
    pub mime: String,
    pub ticket_id: String,
    pub upload_url: Option<String>,
    pub attempts: u32,
}

/// A file the device should fetch (thumbnails eagerly; full images when asked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadJob {
    pub sha256: String,
    pub kind: BlobKind,
    pub attempts: u32,
}

/// Records the files ticket `ticket_id`'s attachments name ([`crate::ticket::Ticket::files`], or a pulled
/// summary's), so the lane fetches thumbnails and full images can be asked for. Called wherever a
/// ticket's index row is written; files already known are left as they are. Files with a
/// malformed hash are skipped, and the first record of a hash is kept (a photo that
/// is its own thumbnail stays a thumbnail, fetched eagerly).
pub(super) fn register_files(
    tx: &Transaction,
    ticket_id: &str,
    files: &[SummaryFile],
    at: i64,
) -> Result<()> {
    for file in files.iter().filter(|f| is_sha256_hex(&f.sha256)) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO blobs (sha256, kind, mime, bytes, ticket_id, present, upload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 'none', ?6)",
        )?
        .execute(params![file.sha256, file.kind.as_str(), file.mime, file.bytes, ticket_id, at])?;
        tx.prepare_cached("INSERT OR IGNORE INTO blob_refs (sha256, ticket_id) VALUES (?1, ?2)")?
            .execute(params![file.sha256, ticket_id])?;
    }
    Ok(())
}

/// Records a file this device made (its bytes already written): present, and queued for upload
/// unless the server is already known to have it.
pub(super) fn insert_local(
    tx: &Transaction,
    sha256: &str,
    kind: BlobKind,
    mime: &str,
    bytes: usize,
    ticket_id: &str,
    at: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO blobs (sha256, kind, mime, bytes, ticket_id, present, upload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, 'pending', ?6)
         ON CONFLICT(sha256) DO UPDATE SET present = 1, bytes = excluded.bytes,
             upload = CASE WHEN upload = 'done' THEN 'done' ELSE 'pending' END",
    )?
    .execute(params![
        sha256,
        kind.as_str(),
        mime,
        bytes as i64,
        ticket_id,
        at
    ])?;
    tx.prepare_cached("INSERT OR IGNORE INTO blob_refs (sha256, ticket_id) VALUES (?1, ?2)")?
        .execute(params![sha256, ticket_id])?;
    Ok(())
}

fn kind_of(s: String) -> BlobKind {
    BlobKind::parse(&s).unwrap_or(BlobKind::Full)
}

impl TicketStore {
    /// Whether this device knows file `sha256` from some ticket's attachment (present or not).
    pub fn knows_blob(&self, sha256: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM blobs WHERE sha256 = ?1")?
                .query_row([sha256], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    pub(super) fn has_blob(&self, sha256: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT present FROM blobs WHERE sha256 = ?1")?
                .query_row([sha256], |r| r.get::<_, bool>(0))
                .optional()?
                .unwrap_or(false))
        })
    }

    /// Files waiting to go to the server, thumbnails first, with their progress.
    pub fn pending_uploads(&self) -> Result<Vec<PendingUpload>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sha256, kind, ticket_id, bytes, sent_bytes, attempts, next_try_at, last_error
                 FROM blobs WHERE upload = 'pending' AND present = 1
                 ORDER BY kind = 'thumb' DESC, created_at, sha256",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(PendingUpload {
                    sha256: r.get(0)?,
                    kind: kind_of(r.get(1)?),
                    ticket_id: r.get(2)?,
                    bytes: r.get::<_, i64>(3)? as u64,
                    sent_bytes: r.get::<_, i64>(4)? as u64,
                    attempts: r.get::<_, i64>(5)? as u32,
                    next_try_at: r.get(6)?,
                    last_error: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// The files due for upload at `now`, thumbnails first (each retries on its own schedule).
    pub fn due_uploads(&self, now: i64) -> Result<Vec<UploadJob>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sha256, kind, mime, ticket_id, upload_url, attempts FROM blobs
                 WHERE upload = 'pending' AND present = 1 AND next_try_at <= ?1
                 ORDER BY kind = 'thumb' DESC, created_at, sha256",
            )?;
            let rows = stmt.query_map([now], |r| {
                Ok(UploadJob {
                    sha256: r.get(0)?,
                    kind: kind_of(r.get(1)?),
                    mime: r.get(2)?,
                    ticket_id: r.get(3)?,
                    upload_url: r.get(4)?,
                    attempts: r.get::<_, i64>(5)? as u32,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Thumbnails named by tickets on this device but not here yet, due at `now`.
    pub fn due_downloads(&self, now: i64) -> Result<Vec<DownloadJob>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sha256, kind, attempts FROM blobs
                 WHERE present = 0 AND kind = 'thumb' AND next_try_at <= ?1
                 ORDER BY created_at, sha256",
            )?;
            let rows = stmt.query_map([now], |r| {
                Ok(DownloadJob {
                    sha256: r.get(0)?,
                    kind: kind_of(r.get(1)?),
                    attempts: r.get::<_, i64>(2)? as u32,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Notes how far an upload got (and the server resource holding it).
    pub fn record_upload_progress(&self, sha256: &str, url: &str, sent: u64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET upload_url = ?2, sent_bytes = ?3 WHERE sha256 = ?1",
            )?
            .execute(params![sha256, url, sent as i64])?;
            Ok(())
        })
    }

    /// The server holds file `sha256`: nothing more to send.
    pub fn record_upload_done(&self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET upload = 'done', upload_url = NULL, sent_bytes = bytes,
                     attempts = 0, next_try_at = 0, last_error = NULL WHERE sha256 = ?1",
            )?
            .execute([sha256])?;
            Ok(())
        })
    }

    /// An upload must start over (the server lost or refused the partial one).
    pub fn forget_upload_resource(&self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET upload_url = NULL, sent_bytes = 0 WHERE sha256 = ?1",
            )?
            .execute([sha256])?;
            Ok(())
        })
    }

    /// A transfer of file `sha256` failed: try it again at `next_try_at`. Other files go on.
    pub fn record_blob_failure(&self, sha256: &str, error: &str, next_try_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET attempts = attempts + 1, next_try_at = ?2, last_error = ?3
                 WHERE sha256 = ?1",
            )?
            .execute(params![sha256, next_try_at, error])?;
            Ok(())
        })
    }
}
