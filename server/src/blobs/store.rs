//! [`BlobStore`]: where blob bytes live, behind a trait so object storage can join the filesystem
//! default ([`FsBlobStore`]). Two kinds of file: partial uploads, named by their random upload id,
//! and finished blobs, named by their sha256. A finished blob only ever appears under its final
//! name whole and verified: bytes are written and synced first, then moved into place.
//!
//! Every method is blocking; the server calls them off the async threads.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fieldwork_protocol::blobs::is_sha256_hex;
use sha2::{Digest, Sha256};

use crate::error::Error;

type Result<T> = std::result::Result<T, Error>;

/// What an append found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The partial upload is now this long, and on disk.
    To(u64),
    /// The partial upload is missing or shorter than the offset: it cannot be continued.
    Lost,
}

/// What finishing an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finalized {
    /// The bytes matched the hash and are now the blob.
    Stored,
    /// The bytes matched, and the blob was there already; the partial upload is gone.
    AlreadyStored,
    /// The bytes did not hash to the declared sha256; the partial upload is gone.
    HashMismatch,
    /// The partial upload is missing or not the declared length.
    Lost,
}

/// Blob bytes, per tenant. Names are checked by every method: a tenant id is 1-64 of
/// `[A-Za-z0-9_-]`, a sha256 and an upload id 64 lower-case hex digits.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Starts an empty partial upload.
    fn create_partial(&self, tenant: &str, upload_id: &str) -> Result<()>;
    /// Writes `bytes` at `offset` (dropping anything stored beyond `offset`, e.g. by an append
    /// whose bookkeeping never committed) and syncs them to disk.
    fn append_partial(
        &self,
        tenant: &str,
        upload_id: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Appended>;
    /// How long a partial upload is, if it exists.
    fn partial_len(&self, tenant: &str, upload_id: &str) -> Result<Option<u64>>;
    /// The sha256 (lower-case hex) of a partial upload, read incrementally.
    fn partial_sha256(&self, tenant: &str, upload_id: &str) -> Result<Option<String>>;
    /// Verifies a complete partial upload against `sha256` and `length` and moves it into place
    /// as that blob, atomically; on a mismatch the partial upload is discarded.
    fn finalize(
        &self,
        tenant: &str,
        upload_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Finalized>;
    /// Removes a partial upload; nothing happens if it is gone already.
    fn discard_partial(&self, tenant: &str, upload_id: &str) -> Result<()>;

    /// Removes a finished blob; nothing happens if it is gone already. Only the collector calls
    /// this, after the blob's row is deleted (a crash in between leaves a file no row names,
    /// never a row naming no file).
    fn remove_blob(&self, tenant: &str, sha256: &str) -> Result<()>;

    /// The length of a finished blob, if the tenant has it.
    fn blob_len(&self, tenant: &str, sha256: &str) -> Result<Option<u64>>;
    /// A reader of `len` bytes of a finished blob from `start`, for streaming.
    fn open_range(
        &self,
        tenant: &str,
        sha256: &str,
        start: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send>>;

    /// Whether the tenant has the finished blob.
    fn exists(&self, tenant: &str, sha256: &str) -> Result<bool> {
        Ok(self.blob_len(tenant, sha256)?.is_some())
    }

    /// `len` bytes of a finished blob from `start`, in memory.
    fn read_range(&self, tenant: &str, sha256: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_range(tenant, sha256, start, len)?
            .read_to_end(&mut out)
            .map_err(|source| Error::Io {
                action: "read",
                path: format!("blob {sha256}"),
                source,
            })?;
        Ok(out)
    }
}

/// Blobs as files: `ROOT/TENANT/blobs/ab/<sha256>` (`ab` = the first two hex digits) and
/// `ROOT/TENANT/partial/<upload_id>`. Both under one root, so finishing is a rename.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

/// Bytes read at a time when hashing.
const READ_BUF: usize = 64 * 1024;

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

pub(super) fn invalid(field: &'static str) -> Error {
    Error::Invalid {
        field,
        reason: "not a name the blob store makes".into(),
    }
}

pub(super) fn valid_tenant(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Makes a new directory entry durable (a no-op where directories cannot be synced).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync the directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn not_found<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn sha256_of(mut reader: impl Read, path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; READ_BUF];
    loop {
        let n = reader.read(&mut buf).map_err(io_error("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl FsBlobStore {
    /// A store under `root` (created as needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tenant_dir(&self, tenant: &str) -> Result<PathBuf> {
        if !valid_tenant(tenant) {
            return Err(invalid("tenant id"));
        }
        Ok(self.root.join(tenant))
    }

    /// Where a finished blob lives.
    pub fn blob_path(&self, tenant: &str, sha256: &str) -> Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            return Err(invalid("sha256"));
        }
        Ok(self
            .tenant_dir(tenant)?
            .join("blobs")
            .join(&sha256[..2])
            .join(sha256))
    }

    /// Where a partial upload lives.
    pub fn partial_path(&self, tenant: &str, upload_id: &str) -> Result<PathBuf> {
        if !is_sha256_hex(upload_id) {
            return Err(invalid("upload id"));
        }
        Ok(self.tenant_dir(tenant)?.join("partial").join(upload_id))
    }
}

impl BlobStore for FsBlobStore {
    fn create_partial(&self, tenant: &str, upload_id: &str) -> Result<()> {
        let path = self.partial_path(tenant, upload_id)?;
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(io_error("create the directory", dir))?;
        File::create(&path)
            .and_then(|f| f.sync_all())
            .map_err(io_error("create", &path))?;
        sync_dir(dir)
    }

    fn append_partial(
        &self,
        tenant: &str,
        upload_id: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Appended> {
        let path = self.partial_path(tenant, upload_id)?;
        let opened = not_found(OpenOptions::new().write(true).open(&path))
            .map_err(io_error("open", &path))?;
        let Some(mut file) = opened else {
            return Ok(Appended::Lost);
        };
        let len = file
            .metadata()
            .map_err(io_error("read the length of", &path))?
            .len();
        if len < offset {
            return Ok(Appended::Lost);
        }
        if len > offset {
            file.set_len(offset).map_err(io_error("truncate", &path))?;
        }
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(bytes))
            .and_then(|()| file.sync_data())
            .map_err(io_error("append to", &path))?;
        Ok(Appended::To(offset + bytes.len() as u64))
    }

    fn partial_len(&self, tenant: &str, upload_id: &str) -> Result<Option<u64>> {
        let path = self.partial_path(tenant, upload_id)?;
        let meta = not_found(fs::metadata(&path)).map_err(io_error("read the length of", &path))?;
        Ok(meta.map(|m| m.len()))
    }

    fn partial_sha256(&self, tenant: &str, upload_id: &str) -> Result<Option<String>> {
        let path = self.partial_path(tenant, upload_id)?;
        let Some(file) = not_found(File::open(&path)).map_err(io_error("open", &path))? else {
            return Ok(None);
        };
        sha256_of(file, &path).map(Some)
    }

    fn finalize(
        &self,
        tenant: &str,
        upload_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Finalized> {
        let partial = self.partial_path(tenant, upload_id)?;
        let dest = self.blob_path(tenant, sha256)?;
        let Some(file) = not_found(File::open(&partial)).map_err(io_error("open", &partial))?
        else {
            return Ok(Finalized::Lost);
        };
        let len = file
            .metadata()
            .map_err(io_error("read the length of", &partial))?
            .len();
        if len != length {
            return Ok(Finalized::Lost);
        }
        if sha256_of(&file, &partial)? != sha256 {
            drop(file);
            self.discard_partial(tenant, upload_id)?;
            return Ok(Finalized::HashMismatch);
        }
        // Appends were synced one by one; this covers a partial written some other way.
        file.sync_all().map_err(io_error("sync", &partial))?;
        drop(file);
        if self.exists(tenant, sha256)? {
            self.discard_partial(tenant, upload_id)?;
            return Ok(Finalized::AlreadyStored);
        }
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(io_error("create the directory", dir))?;
        fs::rename(&partial, &dest).map_err(io_error("move into place", &dest))?;
        sync_dir(dir)?;
        Ok(Finalized::Stored)
    }

    fn discard_partial(&self, tenant: &str, upload_id: &str) -> Result<()> {
        let path = self.partial_path(tenant, upload_id)?;
        not_found(fs::remove_file(&path)).map_err(io_error("remove", &path))?;
        Ok(())
    }

    fn remove_blob(&self, tenant: &str, sha256: &str) -> Result<()> {
        let path = self.blob_path(tenant, sha256)?;
        // Not synced: if the removal is lost in a crash, the file is an orphan no row names,
        // adopted again by the next upload of the same bytes.
        not_found(fs::remove_file(&path)).map_err(io_error("remove", &path))?;
        Ok(())
    }

    fn blob_len(&self, tenant: &str, sha256: &str) -> Result<Option<u64>> {
        let path = self.blob_path(tenant, sha256)?;
        let meta = not_found(fs::metadata(&path)).map_err(io_error("read the length of", &path))?;
        Ok(meta.map(|m| m.len()))
    }

    fn open_range(
        &self,
        tenant: &str,
        sha256: &str,
        start: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send>> {
        let path = self.blob_path(tenant, sha256)?;
        let mut file = File::open(&path).map_err(io_error("open", &path))?;
        file.seek(SeekFrom::Start(start))
            .map_err(io_error("seek in", &path))?;
        Ok(Box::new(file.take(len)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::blobs::conformance::TestBlobs;

    const TENANT: &str = "0193a3c1-7d2e-7cc0-9d1e-1234567890ab";

    fn fs() -> TestBlobs {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.path()));
        TestBlobs::new(store, dir)
    }

    // The contract every blob store passes (`crate::blobs::conformance`), on files.
    crate::blob_store_conformance_tests!(fs());

    #[test]
    fn a_blob_lives_under_its_tenant_and_the_first_two_digits_of_its_hash() {
        let store = FsBlobStore::new("/data/blobs");
        let hash = "ab".repeat(32);
        let path = store.blob_path(TENANT, &hash).expect("path");
        assert_eq!(
            path,
            Path::new(&format!("/data/blobs/{TENANT}/blobs/ab/{hash}"))
        );
        let partial = store.partial_path(TENANT, &hash).expect("path");
        assert_eq!(
            partial,
            Path::new(&format!("/data/blobs/{TENANT}/partial/{hash}"))
        );
    }

    #[test]
    fn names_that_are_not_hashes_or_ids_never_reach_the_filesystem() {
        let store = FsBlobStore::new("/nonexistent");
        for bad in ["../../etc/passwd", "", &"A".repeat(64), &"a".repeat(63)] {
            assert!(store.blob_path(TENANT, bad).is_err(), "{bad}");
            assert!(store.partial_path(TENANT, bad).is_err(), "{bad}");
        }
        let good = "a".repeat(64);
        for tenant in ["..", "a/b", "", &"t".repeat(65)] {
            assert!(store.blob_path(tenant, &good).is_err(), "{tenant}");
        }
    }
}
