//! [`S3BlobStore`]: blob bytes in an S3-compatible bucket (`fieldwork serve --blobs
//! s3://bucket/prefix`), so several server replicas share them: a tus upload begun on one replica
//! resumes on another (its offset is in the database, its bytes in the bucket), and any replica
//! serves any blob.
//!
//! Layout under `PREFIX/` (every name server-made and checked: a tenant id is 1-64 of
//! `[A-Za-z0-9_-]`, an upload id and a sha256 64 lower-case hex digits):
//!
//! - `blobs/TENANT/SHA256`: a finished blob, written once whole and verified (one `PUT`, or a
//!   multipart upload completed only after the bytes hashed right: S3 shows neither until done).
//! - `partial/TENANT/UPLOAD_ID/OFFSET`: an unfinished upload as one object per appended chunk,
//!   named by the offset it starts at (20 decimal digits, so names sort as numbers). The empty
//!   chunk at offset 0, written at creation, marks that the upload exists. An append at `offset`
//!   deletes the chunks beyond it, highest first, then writes its own at `offset` (replacing one a
//!   retried append left there). A chunk that runs past the start of the next counts only up to
//!   it (an append at an offset inside an earlier chunk), so the upload's bytes are the chunks
//!   in order, each cut at the next: contiguous from 0 — a crash anywhere leaves a shorter
//!   upload, never a wrong one.
//!
//! object_store is async and the [`BlobStore`] trait blocking: every call runs its requests as a
//! task on the store's own small runtime and waits for it with `futures_executor::block_on`,
//! which needs no runtime of its own, so calls work on any thread (a blocking task, a test, an
//! async worker), as the PostgreSQL backend does (`crate::storage::postgres`). Reads are bounded:
//! a download streams through a short channel, hashing streams chunk by chunk, and finishing an
//! upload holds at most one multipart part ([`PART_BYTES`]) in memory.
//!
//! Credentials, region and endpoint come from the usual `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` or `AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL` or `AWS_ENDPOINT`, `AWS_ALLOW_HTTP=true` for a plain-http endpoint, and the
//! rest `object_store::aws::AmazonS3Builder::from_env` reads). Opening checks the bucket answers,
//! so a missing bucket or refused credentials stop the server at start with an error that says
//! which (never the secret).

use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use fieldwork_protocol::blobs::is_sha256_hex;
use futures_executor::block_on;
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};

use super::s3_errors::{describe, is_not_found, s3_code, to_io};
use super::store::{Appended, BlobStore, Finalized, valid_tenant};
use crate::error::Error;

type Result<T> = std::result::Result<T, Error>;

/// The scheme of a bucket's address.
pub const S3_SCHEME: &str = "s3://";
/// A finished blob of at most this many bytes is written with one `PUT`; a larger one as a
/// multipart upload of parts this long (S3 wants at least 5 MiB a part, the last excepted; some
/// stores want them all the same length). Also the most bytes finishing an upload holds.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Frames of a download read ahead of the client (each a network read, tens of KiB).
const READ_AHEAD: usize = 4;
/// S3's error codes for credentials it does not accept (or that may not use the bucket).
const CREDENTIAL_CODES: [&str; 7] = [
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "AuthorizationHeaderMalformed",
];
/// Digits of a chunk's offset in its name: every `u64`.
const OFFSET_DIGITS: usize = 20;

/// Blob bytes in an S3 bucket, under an optional prefix (module docs).
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    bucket: String,
    /// `s3://bucket/prefix`, for messages.
    address: String,
    /// The prefix's segments (none for the bucket's root).
    prefix: Vec<String>,
    /// Runs every request; shut down (not dropped: that may not block) with the store.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl fmt::Debug for S3BlobStore {
    // By hand: the client's configuration holds the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: "blobs",
        reason: reason.into(),
    }
}

/// A bucket name S3 accepts (3-63 of lower-case letters, digits, `.` and `-`, a letter or digit
/// at each end).
fn valid_bucket(bucket: &str) -> bool {
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| edge(b) || b == b'.' || b == b'-')
        && bucket.bytes().next().is_some_and(edge)
        && bucket.bytes().last().is_some_and(edge)
}

/// A prefix segment: 1-100 of `[A-Za-z0-9._-]`, not `.` or `..`.
fn valid_segment(segment: &str) -> bool {
    (1..=100).contains(&segment.len())
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `s3://bucket` or `s3://bucket/some/prefix` as (bucket, prefix segments).
pub fn parse_address(address: &str) -> Result<(String, Vec<String>)> {
    let rest = address.strip_prefix(S3_SCHEME).ok_or_else(|| {
        invalid(format!(
            "`{address}` is not an S3 address; write s3://bucket or s3://bucket/prefix"
        ))
    })?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid_bucket(bucket) {
        return Err(invalid(format!(
            "`{bucket}` is not a bucket name (3-63 lower-case letters, digits, dots and hyphens)"
        )));
    }
    let prefix: Vec<String> = if prefix.is_empty() {
        Vec::new()
    } else {
        prefix.split('/').map(str::to_owned).collect()
    };
    if let Some(bad) = prefix.iter().find(|s| !valid_segment(s)) {
        return Err(invalid(format!(
            "the prefix segment `{bad}` must be 1-100 letters, digits, dots, hyphens or underscores \
             (and not . or ..)"
        )));
    }
    Ok((bucket.to_owned(), prefix))
}

/// One chunk object of a partial upload.
#[derive(Debug, Clone)]
struct Chunk {
    path: Path,
    offset: u64,
    /// The object's size; the chunk counts only up to the next chunk's offset.
    size: u64,
}

/// A partial upload as listed: its chunks by offset.
#[derive(Debug, Default)]
struct Partial {
    chunks: Vec<Chunk>,
}

impl Partial {
    /// Whether the upload exists: its chunk at offset 0 does.
    fn exists(&self) -> bool {
        self.chunks.first().is_some_and(|c| c.offset == 0)
    }

    /// The chunks that make the upload's bytes, each with the length it counts for: in order,
    /// each cut at the next one's offset, up to the first gap (left only by a crash).
    fn pieces(&self) -> Vec<(Chunk, u64)> {
        let mut pieces = Vec::new();
        if !self.exists() {
            return pieces;
        }
        for (i, chunk) in self.chunks.iter().enumerate() {
            let end = chunk.offset.saturating_add(chunk.size);
            let counted = match self.chunks.get(i + 1) {
                Some(next) if next.offset <= end => next.offset - chunk.offset,
                _ => chunk.size,
            };
            pieces.push((chunk.clone(), counted));
            if self.chunks.get(i + 1).is_some_and(|next| next.offset > end) {
                break;
            }
        }
        pieces
    }

    /// The upload's length, if it exists.
    fn len(&self) -> Option<u64> {
        self.exists().then(|| {
            self.pieces()
                .last()
                .map_or(0, |(chunk, counted)| chunk.offset.saturating_add(*counted))
        })
    }
}

/// The bytes of a partial upload's pieces, in order, chunk after chunk (ranged reads of the
/// chunks that count only in part).
fn piece_bytes(
    s3: Arc<AmazonS3>,
    pieces: Vec<(Chunk, u64)>,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    stream::iter(pieces.into_iter().filter(|(_, counted)| *counted > 0))
        .then(move |(chunk, counted)| {
            let s3 = s3.clone();
            async move {
                let options = GetOptions {
                    range: (counted < chunk.size).then_some(GetRange::Bounded(0..counted)),
                    ..GetOptions::default()
                };
                let got = s3.get_opts(&chunk.path, options).await?;
                Ok::<_, object_store::Error>(got.into_stream())
            }
        })
        .try_flatten()
        .boxed()
}

/// Lists a partial upload's chunks under `dir`, by offset.
async fn list_partial(s3: &AmazonS3, dir: &Path) -> object_store::Result<Partial> {
    let mut chunks: Vec<Chunk> = s3
        .list(Some(dir))
        .try_filter_map(|meta| async move {
            let offset = meta
                .location
                .filename()
                .filter(|name| {
                    name.len() == OFFSET_DIGITS && name.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|name| name.parse::<u64>().ok());
            Ok(offset.map(|offset| Chunk {
                path: meta.location,
                offset,
                size: meta.size,
            }))
        })
        .try_collect()
        .await?;
    chunks.sort_by_key(|c| c.offset);
    Ok(Partial { chunks })
}

/// Deletes chunks, highest offset first (so a crash midway leaves a shorter upload); a chunk
/// gone already is fine.
async fn delete_chunks(s3: &AmazonS3, chunks: &[Chunk]) -> object_store::Result<()> {
    for chunk in chunks.iter().rev() {
        match s3.delete(&chunk.path).await {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The sha256 (hex) of a stream of bytes.
async fn sha256_of(
    mut bytes: BoxStream<'static, object_store::Result<Bytes>>,
) -> object_store::Result<String> {
    let mut hasher = Sha256::new();
    while let Some(frame) = bytes.next().await {
        hasher.update(&frame?);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What writing a blob from a partial upload found.
enum Written {
    Stored,
    HashMismatch,
}

/// Writes the stream to `dest` if its bytes hash to `sha256`: one `PUT` for a blob of at most
/// [`PART_BYTES`], else a multipart upload completed only once the hash matched (aborted if
/// not, or on an error). Holds at most one part in memory.
async fn write_verified(
    s3: &AmazonS3,
    mut bytes: BoxStream<'static, object_store::Result<Bytes>>,
    dest: &Path,
    sha256: &str,
    length: u64,
) -> object_store::Result<Written> {
    let mut hasher = Sha256::new();
    let first = usize::try_from(length)
        .unwrap_or(PART_BYTES)
        .min(PART_BYTES);
    let mut part: Vec<u8> = Vec::with_capacity(first);
    let mut multipart: Option<Box<dyn object_store::MultipartUpload>> = None;
    let result = async {
        while let Some(frame) = bytes.next().await {
            let mut frame = frame?;
            hasher.update(&frame);
            while !frame.is_empty() {
                let take = frame.len().min(PART_BYTES - part.len());
                part.extend_from_slice(&frame[..take]);
                frame.advance(take);
                if part.len() == PART_BYTES {
                    let upload = match &mut multipart {
                        Some(upload) => upload,
                        None => multipart.insert(s3.put_multipart(dest).await?),
                    };
                    let full = std::mem::replace(&mut part, Vec::with_capacity(PART_BYTES));
                    upload.put_part(PutPayload::from(full)).await?;
                }
            }
        }
        if hex::encode(hasher.finalize_reset()) != sha256 {
            return Ok(Written::HashMismatch);
        }
        let rest = std::mem::take(&mut part);
        match &mut multipart {
            Some(upload) => {
                if !rest.is_empty() {
                    upload.put_part(PutPayload::from(rest)).await?;
                }
                upload.complete().await?;
            }
            None => {
                s3.put(dest, PutPayload::from(rest)).await?;
            }
        }
        Ok(Written::Stored)
    }
    .await;
    let finished = matches!(result, Ok(Written::Stored));
    if let (false, Some(mut upload)) = (finished, multipart) {
        // Nothing was shown under the blob's name; the parts are only clutter now.
        if let Err(error) = upload.abort().await {
            tracing::warn!(error = %describe(&error), "aborting a multipart upload failed");
        }
    }
    result
}

/// A download: frames a task on the store's runtime reads from S3, handed over a short channel.
struct RangeReader {
    frames: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// Bytes still to come; the stream ending before is an error, not a short blob.
    remaining: u64,
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.remaining == 0 || buf.is_empty() {
                return Ok(0);
            }
            match block_on(self.frames.recv()) {
                Some(Ok(frame)) => self.current = frame,
                Some(Err(error)) => return Err(error),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the blob's download from S3 ended early",
                    ));
                }
            }
        }
        let n = buf
            .len()
            .min(self.current.len())
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl S3BlobStore {
    /// The bucket at `address` (`s3://bucket` or `s3://bucket/prefix`), with the credentials,
    /// region and endpoint of the `AWS_*` environment variables; checks that it answers.
    pub fn open(address: &str) -> Result<Self> {
        let vars = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
        Self::open_with(address, vars)
    }

    /// [`Self::open`] with these variables in place of the environment (`AWS_ACCESS_KEY_ID`
    /// and the rest; names object_store does not know are ignored).
    pub fn open_with(
        address: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let (bucket, prefix) = parse_address(address)?;
        let mut builder = AmazonS3Builder::new();
        for (key, value) in vars {
            if key.starts_with("AWS_")
                && let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
            {
                builder = builder.with_config(key, value);
            }
        }
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "AWS S3".to_owned());
        // A failing request is tried again a few times within 30 s, not object_store's 10 in
        // 3 min: a caller (a device's PATCH, a download) is waiting.
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 4,
            retry_timeout: Duration::from_secs(30),
        };
        // TLS by rustls with ring, as the rest of the server (webhooks).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = builder
            .with_bucket_name(&bucket)
            .with_retry(retry)
            .build()
            .map_err(|e| invalid(format!("cannot set up S3 for {address}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldwork-s3")
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                action: "start the runtime of",
                path: address.to_owned(),
                source,
            })?;
        let store = S3BlobStore {
            s3: Arc::new(s3),
            address: std::iter::once(format!("{S3_SCHEME}{bucket}"))
                .chain(prefix.iter().cloned())
                .collect::<Vec<_>>()
                .join("/"),
            bucket: bucket.clone(),
            prefix,
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        };
        store.check(&bucket, &endpoint)?;
        Ok(store)
    }

    /// Lists the prefix once: the bucket exists and the credentials are good, or a clear error.
    fn check(&self, bucket: &str, endpoint: &str) -> Result<()> {
        let (s3, root) = (self.s3.clone(), self.path(&[]));
        let listed =
            self.run(async move { s3.list_with_delimiter(Some(&root)).await.map(|_| ()) })?;
        let Err(error) = listed else {
            return Ok(());
        };
        let text = error.to_string();
        let code = s3_code(&text).unwrap_or_default();
        let missing = code == "NoSuchBucket"
            || (code.is_empty() && matches!(error, object_store::Error::NotFound { .. }));
        // object_store classifies some requests' 401 and 403 (not a list's): look at S3's code.
        let refused = CREDENTIAL_CODES.contains(&code)
            || matches!(
                error,
                object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            )
            || text.contains(" 403 Forbidden")
            || text.contains(" 401 Unauthorized");
        let reason = if missing {
            format!("the bucket `{bucket}` does not exist at {endpoint}; create it first")
        } else if refused {
            format!(
                "{endpoint} refused the credentials for the bucket `{bucket}`{}: check \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the role the server runs with), \
                 and that they may list, read, write and delete there",
                if code.is_empty() {
                    String::new()
                } else {
                    format!(" ({code})")
                }
            )
        } else {
            return Err(Error::Io {
                action: "reach the bucket",
                path: format!("{} at {endpoint}", self.address),
                source: to_io(&error),
            });
        };
        Err(invalid(reason))
    }

    /// How many objects are under the store's prefix (tests: nothing left behind).
    #[cfg(any(test, feature = "conformance"))]
    pub fn object_count(&self) -> Result<usize> {
        let (s3, root) = (self.s3.clone(), self.path(&[]));
        self.run(async move { s3.list(Some(&root)).try_collect::<Vec<_>>().await })?
            .map(|objects| objects.len())
            .map_err(|e| self.failed("list", &self.path(&[]), &e))
    }

    /// Removes every object under the store's prefix (tests clean up after themselves).
    #[cfg(any(test, feature = "conformance"))]
    pub fn remove_everything(&self) -> Result<()> {
        let (s3, root) = (self.s3.clone(), self.path(&[]));
        self.run(async move {
            let objects: Vec<_> = s3.list(Some(&root)).try_collect().await?;
            for object in objects {
                match s3.delete(&object.location).await {
                    Err(e) if !is_not_found(&e) => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        })?
        .map_err(|e| self.failed("remove", &self.path(&[]), &e))
    }

    /// The store's address, `s3://bucket/prefix`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Runs `work` on the store's runtime and waits for it on this thread.
    fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> Result<T> {
        block_on(self.handle.spawn(work)).map_err(|e| Error::Task(format!("an S3 request: {e}")))
    }

    /// An object name: the prefix, then `parts`.
    fn path(&self, parts: &[&str]) -> Path {
        self.prefix
            .iter()
            .map(String::as_str)
            .chain(parts.iter().copied())
            .collect()
    }

    fn partial_dir(&self, tenant: &str, upload_id: &str) -> Result<Path> {
        if !valid_tenant(tenant) {
            return Err(super::store::invalid("tenant id"));
        }
        if !is_sha256_hex(upload_id) {
            return Err(super::store::invalid("upload id"));
        }
        Ok(self.path(&["partial", tenant, upload_id]))
    }

    fn chunk_path(dir: &Path, offset: u64) -> Path {
        dir.clone().join(format!("{offset:0OFFSET_DIGITS$}"))
    }

    /// Where a finished blob lives.
    pub fn blob_path(&self, tenant: &str, sha256: &str) -> Result<Path> {
        if !valid_tenant(tenant) {
            return Err(super::store::invalid("tenant id"));
        }
        if !is_sha256_hex(sha256) {
            return Err(super::store::invalid("sha256"));
        }
        Ok(self.path(&["blobs", tenant, sha256]))
    }

    fn failed(&self, action: &'static str, path: &Path, error: &object_store::Error) -> Error {
        Error::Io {
            action,
            path: format!("{S3_SCHEME}{}/{path}", self.bucket),
            source: to_io(error),
        }
    }
}

impl BlobStore for S3BlobStore {
    fn create_partial(&self, tenant: &str, upload_id: &str) -> Result<()> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let (s3, first) = (self.s3.clone(), Self::chunk_path(&dir, 0));
        let path = first.clone();
        self.run(async move { s3.put(&path, PutPayload::new()).await })?
            .map_err(|e| self.failed("create", &first, &e))?;
        Ok(())
    }

    fn append_partial(
        &self,
        tenant: &str,
        upload_id: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Appended> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let chunk = Self::chunk_path(&dir, offset);
        let (s3, written) = (self.s3.clone(), chunk.clone());
        let end = offset.saturating_add(bytes.len() as u64);
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        self.run(async move {
            let partial = list_partial(&s3, &dir).await?;
            match partial.len() {
                Some(len) if len >= offset => {}
                _ => return Ok(Appended::Lost),
            }
            let beyond: Vec<Chunk> = partial
                .chunks
                .into_iter()
                .filter(|c| c.offset > offset)
                .collect();
            delete_chunks(&s3, &beyond).await?;
            // Replaces the chunk a retried append at this offset left, in one step.
            s3.put(&written, payload).await?;
            Ok(Appended::To(end))
        })?
        .map_err(|e| self.failed("append to", &chunk, &e))
    }

    fn partial_len(&self, tenant: &str, upload_id: &str) -> Result<Option<u64>> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let (s3, listed) = (self.s3.clone(), dir.clone());
        let partial = self
            .run(async move { list_partial(&s3, &listed).await })?
            .map_err(|e| self.failed("list", &dir, &e))?;
        Ok(partial.len())
    }

    fn partial_sha256(&self, tenant: &str, upload_id: &str) -> Result<Option<String>> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let (s3, listed) = (self.s3.clone(), dir.clone());
        let hashed = self.run(async move {
            let partial = list_partial(&s3, &listed).await?;
            if !partial.exists() {
                return Ok(None);
            }
            sha256_of(piece_bytes(s3, partial.pieces())).await.map(Some)
        })?;
        match hashed {
            Ok(hash) => Ok(hash),
            // A chunk went while being read: the upload was discarded meanwhile.
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.failed("read", &dir, &e)),
        }
    }

    fn finalize(
        &self,
        tenant: &str,
        upload_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Finalized> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let dest = self.blob_path(tenant, sha256)?;
        let (s3, sha256, listed, target) = (
            self.s3.clone(),
            sha256.to_owned(),
            dir.clone(),
            dest.clone(),
        );
        let finished = self.run(async move {
            let partial = list_partial(&s3, &listed).await?;
            if partial.len() != Some(length) {
                return Ok(Finalized::Lost);
            }
            let bytes = piece_bytes(s3.clone(), partial.pieces());
            let stored = match s3.head(&target).await {
                Ok(meta) => Some(meta),
                Err(e) if is_not_found(&e) => None,
                Err(e) => return Err(e),
            };
            let outcome = if stored.is_some() {
                if sha256_of(bytes).await? == sha256 {
                    Finalized::AlreadyStored
                } else {
                    Finalized::HashMismatch
                }
            } else {
                match write_verified(&s3, bytes, &target, &sha256, length).await? {
                    Written::Stored => Finalized::Stored,
                    Written::HashMismatch => Finalized::HashMismatch,
                }
            };
            // The blob is in place (or refused): the chunks go, the marker at 0 last.
            delete_chunks(&s3, &partial.chunks).await?;
            Ok(outcome)
        })?;
        match finished {
            Ok(outcome) => Ok(outcome),
            // A chunk went while being read: the upload was discarded meanwhile.
            Err(e) if is_not_found(&e) => Ok(Finalized::Lost),
            Err(e) => Err(self.failed("finish the upload into", &dest, &e)),
        }
    }

    fn discard_partial(&self, tenant: &str, upload_id: &str) -> Result<()> {
        let dir = self.partial_dir(tenant, upload_id)?;
        let (s3, listed) = (self.s3.clone(), dir.clone());
        self.run(async move {
            let partial = list_partial(&s3, &listed).await?;
            delete_chunks(&s3, &partial.chunks).await
        })?
        .map_err(|e| self.failed("remove", &dir, &e))
    }

    fn remove_blob(&self, tenant: &str, sha256: &str) -> Result<()> {
        let path = self.blob_path(tenant, sha256)?;
        let (s3, target) = (self.s3.clone(), path.clone());
        match self.run(async move { s3.delete(&target).await })? {
            Err(e) if !is_not_found(&e) => Err(self.failed("remove", &path, &e)),
            _ => Ok(()),
        }
    }

    fn blob_len(&self, tenant: &str, sha256: &str) -> Result<Option<u64>> {
        let path = self.blob_path(tenant, sha256)?;
        let (s3, target) = (self.s3.clone(), path.clone());
        match self.run(async move { s3.head(&target).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.failed("read the length of", &path, &e)),
        }
    }

    fn open_range(
        &self,
        tenant: &str,
        sha256: &str,
        start: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send>> {
        let path = self.blob_path(tenant, sha256)?;
        let s3 = self.s3.clone();
        let target = path.clone();
        // An empty range cannot be asked of S3 (`bytes=5-4`); the object must still exist.
        let options = GetOptions {
            range: (len > 0).then(|| GetRange::Bounded(start..start.saturating_add(len))),
            head: len == 0,
            ..GetOptions::default()
        };
        // The request is answered (or refused) before the reader is handed out, so a missing
        // blob is an error here, as on the filesystem.
        let opened = self.run(async move { s3.get_opts(&target, options).await })?;
        let got = opened.map_err(|e| self.failed("open", &path, &e))?;
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        if len > 0 {
            self.handle.spawn(async move {
                let mut frames = got.into_stream();
                while let Some(frame) = frames.next().await {
                    let failed = frame.is_err();
                    if tx.send(frame.map_err(|e| to_io(&e))).await.is_err() || failed {
                        // The reader is gone (the client left), or the read failed: stop.
                        break;
                    }
                }
            });
        }
        Ok(Box::new(RangeReader {
            frames: rx,
            current: Bytes::new(),
            remaining: len,
        }))
    }
}
