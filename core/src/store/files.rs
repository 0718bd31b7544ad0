//! Photo and screenshot files on the device, by sha256: written, read, downloaded and removed.
//!
//! Files live in `blobs/ab/<sha256>` beside the database. A file is written under a temporary
//! name, fsynced and renamed *before* the transaction that names it commits: a crash in between
//! leaves at most a whole, unreferenced file (removed by [`TicketStore::collect_garbage`]), never a
//! row naming a file that is missing or half-written. A download collects its bytes in a
//! [`PartialDownload`] (resumable after a cut) and becomes a file only once its hash matches.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fieldwork_protocol::blobs::{is_sha256_hex, sha256_hex};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, TicketStore};

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

/// The bytes of one download so far, in a file the store owns (`blobs/partial/<sha256>`): kept
/// across a cut connection, so the next try asks only for the rest.
#[derive(Debug)]
pub struct PartialDownload {
    sha256: String,
    path: PathBuf,
    file: Option<File>,
    have: u64,
}

impl PartialDownload {
    /// Bytes already received by earlier tries.
    pub fn have(&self) -> u64 {
        self.have
    }

    /// Starts receiving: after what [`Self::have`] holds when the server answered a range
    /// (`resume`), or from nothing.
    pub fn begin(&mut self, resume: bool) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(io_error)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resume)
            .truncate(!resume)
            .open(&self.path)
            .map_err(io_error)?;
        if !resume {
            self.have = 0;
        }
        self.file = Some(file);
        Ok(())
    }

    /// Appends the next bytes received.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if self.file.is_none() {
            self.begin(self.have > 0)?;
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(bytes).map_err(io_error)?;
        }
        self.have += bytes.len() as u64;
        Ok(())
    }

    /// Throws the bytes away: they are no prefix of the file, or more than a file may be.
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.path);
    }
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

    /// The download of file `sha256` so far (nothing yet for a first try).
    pub fn partial_download(&self, sha256: &str) -> Result<PartialDownload> {
        if !is_sha256_hex(sha256) {
            return Err(StoreError::Files(
                "a file to download is not named by a sha256".to_owned(),
            ));
        }
        let path = self.blob_root().join("partial").join(sha256);
        let have = fs::metadata(&path).map_or(0, |m| m.len());
        Ok(PartialDownload {
            sha256: sha256.to_owned(),
            path,
            file: None,
            have,
        })
    }

    /// Keeps a completed download after checking that its bytes are the ones named: moved into
    /// place, not copied. A download that does not match is deleted.
    pub fn adopt_download(&self, download: PartialDownload) -> Result<()> {
        let PartialDownload {
            sha256, path, file, ..
        } = download;
        drop(file);
        let bytes = fs::read(&path).map_err(io_error)?;
        if sha256_hex(&bytes) != sha256 {
            let _ = fs::remove_file(&path);
            return Err(StoreError::Files(
                "a downloaded file does not match its sha256; it was discarded".to_owned(),
            ));
        }
        place(&self.blob_root(), &sha256, &path).map_err(io_error)?;
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE blobs SET present = 1, bytes = ?2, attempts = 0, next_try_at = 0,
                     last_error = NULL WHERE sha256 = ?1",
            )?
            .execute(params![sha256, bytes.len() as i64])?;
            Ok(())
        })
    }
}
