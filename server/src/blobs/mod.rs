//! The blob lane (`docs/sync-protocol.md`, "Blob lane"): photos and screenshots travel apart from
//! ticket sync, over tus 1.0 (core + creation) for uploads ([`upload`]) and plain `GET` with
//! ranges for downloads ([`download`]). Bytes live in a [`BlobStore`]: files in the data
//! directory ([`FsBlobStore`], the default) or an S3-compatible bucket several replicas share
//! ([`S3BlobStore`], `serve --blobs s3://…`); bookkeeping (uploads, stored blobs, which tickets
//! reference a blob, quotas) in the server store. Blobs no ticket names are collected after a
//! grace period ([`collect`]). Every blob store passes the same contract ([`conformance`], behind
//! the `conformance` feature).

mod collect;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub(crate) mod download;
mod s3;
mod s3_errors;
mod store;
mod upload;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header as http};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head};
use fieldwork_protocol::blobs::{BLOBS_PATH, TUS_VERSION, UPLOADS_PATH, header};

use crate::cache::DocCache;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::ServerStore;

pub(crate) use collect::collect_in_background;
pub use collect::{Collected, collect_now};
pub use s3::{PART_BYTES, S3_SCHEME, S3BlobStore};
pub use store::{Appended, BlobStore, Finalized, FsBlobStore};

/// An unfinished upload is dropped (bytes and bookkeeping) this long after it was created.
pub const UPLOAD_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Unfinished uploads one device may have at once.
pub const MAX_OPEN_UPLOADS_PER_DEVICE: usize = 64;
/// Declared bytes of one user's unfinished uploads at once (16 full-size blobs). A device's lane
/// uploads one file at a time, so an honest user rarely holds more than a few.
pub const MAX_OPEN_BYTES_PER_USER: u64 = 256 * 1024 * 1024;
/// Old uploads swept per upload created, so one request never does unbounded work.
const SWEEP_BATCH: usize = 32;
/// Unnamed blobs collected per upload created (the background collector takes more per round).
const COLLECT_BATCH: usize = 32;
/// Independent locks uploads are spread over: two PATCHes of one upload never interleave.
const UPLOAD_LOCKS: usize = 64;
/// Independent locks stored blobs are spread over: finishing an upload and collecting the same
/// blob never interleave.
const BLOB_LOCKS: usize = 64;

/// What the blob lane works with: the records (uploads, blobs, refs, quotas) in the server
/// store, the bytes in a [`BlobStore`], the document cache for visibility, and the locks.
#[derive(Debug)]
pub(crate) struct BlobLane {
    pub records: Arc<dyn ServerStore>,
    pub store: Arc<dyn BlobStore>,
    pub cache: Arc<DocCache>,
    upload_locks: Vec<Mutex<()>>,
    blob_locks: Vec<Mutex<()>>,
}

fn stripe(parts: &[&str], stripes: usize) -> usize {
    parts
        .iter()
        .flat_map(|p| p.bytes().chain([0]))
        .fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        })
        % stripes
}

fn acquire(lock: &Mutex<()>) -> MutexGuard<'_, ()> {
    // The guarded work leaves nothing half done in memory, so a poisoned lock is usable.
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlobLane {
    pub fn new(
        records: Arc<dyn ServerStore>,
        store: Arc<dyn BlobStore>,
        cache: Arc<DocCache>,
    ) -> Self {
        BlobLane {
            records,
            store,
            cache,
            upload_locks: (0..UPLOAD_LOCKS).map(|_| Mutex::new(())).collect(),
            blob_locks: (0..BLOB_LOCKS).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Holds off every other writer of this upload (blocking; call off the async threads).
    pub fn lock(&self, upload_id: &str) -> MutexGuard<'_, ()> {
        acquire(&self.upload_locks[stripe(&[upload_id], self.upload_locks.len())])
    }

    /// Holds off the collector from this stored blob, e.g. while an upload of the same bytes
    /// finishes (blocking). Taken after an upload's lock, never before one.
    pub fn lock_blob(&self, tenant: &str, sha256: &str) -> MutexGuard<'_, ()> {
        acquire(&self.blob_locks[stripe(&[tenant, sha256], self.blob_locks.len())])
    }

    /// [`Self::lock_blob`] for several blobs at once, taken in one global order so two
    /// collectors never wait on each other in a circle.
    pub fn lock_blobs<'a>(
        &self,
        blobs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = blobs
            .map(|(tenant, sha256)| stripe(&[tenant, sha256], self.blob_locks.len()))
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|s| acquire(&self.blob_locks[s]))
            .collect()
    }
}

/// The blob lane's routes.
pub(crate) fn router() -> Router<AppState> {
    let uploads = Router::new()
        .route(
            BLOBS_PATH,
            axum::routing::post(upload::create).options(upload::discover),
        )
        .route(
            &format!("{UPLOADS_PATH}/{{id}}"),
            head(upload::offset).patch(upload::append),
        )
        .layer(middleware::from_fn(tus_resumable));
    let downloads = Router::new().route(&format!("{BLOBS_PATH}/{{sha256}}"), get(download::fetch));
    uploads.merge(downloads)
}

/// Refuses a request to the blob lane whose body has a `Content-Encoding` (`415`), before the
/// router's decompression would inflate it: a gzip `PATCH` of 16 KiB would otherwise write
/// 16 MiB. tus clients send raw bytes, and photos (JPEG) do not compress, so nothing honest is
/// lost. Runs outside the decompression layer.
pub(crate) async fn refuse_encoded_bodies(request: Request, next: Next) -> Response {
    let encoded = request
        .headers()
        .get_all(http::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity"));
    if encoded && request.uri().path().starts_with(BLOBS_PATH) {
        tracing::debug!("blob lane request with a Content-Encoding refused");
        let mut response = AppError::EncodedUpload.into_response();
        let headers = response.headers_mut();
        headers.insert(http::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        headers.insert(header::TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
        return response;
    }
    next.run(request).await
}

/// tus: every answer but `OPTIONS` says which version it speaks.
async fn tus_resumable(request: Request, next: Next) -> Response {
    let is_options = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if !is_options {
        response
            .headers_mut()
            .insert(header::TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    }
    response
}
