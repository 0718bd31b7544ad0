//! Photo and screenshot files on the device, by sha256, and the state of their journey to and
//! from the server (the blob lane, `crate::sync::lane`).
//!
//! Files live in `blobs/ab/<sha256>` beside the database. A file is written under a temporary
//! name, fsynced and renamed *before* the transaction that names it commits: a crash in between
//! leaves at most a whole, unreferenced file (removed by [`TicketStore::collect_garbage`]), never a
//! row naming a file that is missing or half-written.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Result, StoreError, TicketStore};
use crate::ticket::Ticket;
pub use fieldwork_protocol::blobs::sha256_hex;
use fieldwork_protocol::blobs::{BlobKind, is_sha256_hex};

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

/// Where the files of the store at `db_path` live.
pub(super) fn root_for(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .map_or_else(|| PathBuf::from("blobs"), |dir| dir.join("blobs"))
}

fn file_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(&sha256[..2]).join(sha256)
}

/// Writes `bytes` as the file named `sha256`, durably and atomically. Does nothing if it is
/// already there (the name is the content). Returns whether it wrote a new file.
pub(super) fn write_file(root: &Path, sha256: &str, bytes: &[u8]) -> io::Result<bool> {
    let path = file_path(root, sha256);
    if fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(false);
    }
    let tmp_dir = root.join("tmp");
    fs::create_dir_all(&tmp_dir)?;
    let tmp = tmp_dir.join(format!("{sha256}.{}", uuid::Uuid::now_v7().simple()));
    let written = File::create(&tmp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| place(root, sha256, &tmp));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map(|()| true)
}

/// Moves the whole file at `from` (on the same file system) to its final name `sha256`:
/// fsync, rename, fsync the directory — the rename must reach the disk before a row names it.
fn place(root: &Path, sha256: &str, from: &Path) -> io::Result<()> {
    let path = file_path(root, sha256);
    let dir = path.parent().unwrap_or(root);
    fs::create_dir_all(dir)?;
    File::open(from)?.sync_all()?;
    fs::rename(from, &path)?;
    File::open(dir)?.sync_all()
}

fn read_file(root: &Path, sha256: &str) -> io::Result<Option<Vec<u8>>> {
    match fs::read(file_path(root, sha256)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn io_error(e: io::Error) -> StoreError {
    StoreError::Files(if e.kind() == io::ErrorKind::StorageFull {
        "the device is out of storage space; free some and try again".to_owned()
    } else {
        format!("cannot write the photo files ({})", e.kind())
    })
}

/// Records the files a ticket's attachments name, so the lane fetches thumbnails and full images
/// can be asked for. Called wherever a ticket's index row is written; files already known are
/// left as they are.
pub(super) fn register_refs(tx: &Transaction, ticket: &Ticket, at: i64) -> Result<()> {
    for attachment in &ticket.attachments {
        // Thumbnail first: a photo already smaller than a thumbnail is its own thumbnail (one
        // file, one hash), and as a thumbnail it is fetched eagerly.
        let files = [
            (attachment.thumb.as_ref(), BlobKind::Thumb, 0),
            (Some(&attachment.sha256), BlobKind::Full, attachment.bytes),
        ];
        for (sha256, kind, bytes) in files {
            let Some(sha256) = sha256.filter(|s| is_sha256_hex(s)) else {
                continue;
            };
            tx.prepare_cached(
                "INSERT OR IGNORE INTO blobs (sha256, kind, mime, bytes, ticket_id, present, upload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, 'none', ?6)",
            )?
            .execute(params![sha256, kind.as_str(), attachment.mime, bytes, ticket.id, at])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO blob_refs (sha256, ticket_id) VALUES (?1, ?2)",
            )?
            .execute(params![sha256, ticket.id])?;
        }
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
    /// Where this store keeps its photo files.
    pub fn blob_root(&self) -> PathBuf {
        root_for(&self.path)
    }

    /// The bytes of file `sha256`, if it is on this device.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        if !is_sha256_hex(sha256) || !self.has_blob(sha256)? {
            return Ok(None);
        }
        read_file(&self.blob_root(), sha256).map_err(io_error)
    }

    /// The path of file `sha256`, if it is on this device (for an app to show it directly).
    pub fn blob_path(&self, sha256: &str) -> Result<Option<PathBuf>> {
        if !is_sha256_hex(sha256) || !self.has_blob(sha256)? {
            return Ok(None);
        }
        Ok(Some(file_path(&self.blob_root(), sha256)))
    }

    /// Where a download of file `sha256` collects its bytes until they are checked.
    pub fn partial_download_path(&self, sha256: &str) -> PathBuf {
        self.blob_root().join("partial").join(sha256)
    }

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

    fn has_blob(&self, sha256: &str) -> Result<bool> {
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

    /// Keeps the completed download at `part` (from [`Self::partial_download_path`]) after
    /// checking that its bytes are the ones named: moved into place, not copied. A file that does
    /// not match is deleted.
    pub fn adopt_download(&self, sha256: &str, part: &Path) -> Result<()> {
        let bytes = fs::read(part).map_err(io_error)?;
        if !is_sha256_hex(sha256) || sha256_hex(&bytes) != sha256 {
            let _ = fs::remove_file(part);
            return Err(StoreError::Files(
                "a downloaded file does not match its sha256; it was discarded".to_owned(),
            ));
        }
        place(&self.blob_root(), sha256, part).map_err(io_error)?;
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET present = 1, bytes = ?2, attempts = 0, next_try_at = 0,
                     last_error = NULL WHERE sha256 = ?1",
            )?
            .execute(params![sha256, bytes.len() as i64])?;
            Ok(())
        })
    }

    /// Removes files no ticket on this device names any more (evicted tickets) and leftovers of
    /// interrupted writes; keeps everything still waiting for upload. Returns files removed.
    pub fn collect_garbage(&self) -> Result<usize> {
        let root = self.blob_root();
        let orphans: Vec<String> = self.write(|tx| {
            let orphans: Vec<String> = tx
                .prepare(
                    "SELECT sha256 FROM blobs WHERE upload != 'pending'
                     AND NOT EXISTS (SELECT 1 FROM blob_refs r JOIN tickets t ON t.id = r.ticket_id
                                     WHERE r.sha256 = blobs.sha256)",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            for sha in &orphans {
                tx.prepare_cached("DELETE FROM blobs WHERE sha256 = ?1")?
                    .execute([sha])?;
                tx.prepare_cached("DELETE FROM blob_refs WHERE sha256 = ?1")?
                    .execute([sha])?;
            }
            Ok(orphans)
        })?;
        let mut removed = 0;
        for sha in &orphans {
            if fs::remove_file(file_path(&root, sha)).is_ok() {
                removed += 1;
            }
        }
        // Files with no row at all: a crash between writing a file and committing its row.
        let known = |sha: &str| -> Result<bool> {
            self.read(|conn| {
                Ok(conn
                    .prepare_cached("SELECT 1 FROM blobs WHERE sha256 = ?1")?
                    .query_row([sha], |_| Ok(()))
                    .optional()?
                    .is_some())
            })
        };
        let _ = fs::remove_dir_all(root.join("tmp"));
        for dir in fs::read_dir(&root).into_iter().flatten().flatten() {
            for file in fs::read_dir(dir.path()).into_iter().flatten().flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if is_sha256_hex(&name) && !known(&name)? && fs::remove_file(file.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Removes a just-written file again if nothing names it (the transaction that would have named
/// it failed). Best effort: a file left behind is garbage-collected later.
pub(super) fn discard_if_unnamed(conn: &Connection, root: &Path, sha256: &str) {
    let named = conn
        .query_row(
            "SELECT 1 FROM blobs WHERE sha256 = ?1",
            [sha256],
            |_| Ok(()),
        )
        .optional()
        .ok()
        .flatten()
        .is_some();
    if !named {
        let _ = fs::remove_file(file_path(root, sha256));
    }
}
