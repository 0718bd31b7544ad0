//! The blob lane (`docs/sync-protocol.md`, "Blob lane"): photos and screenshots travel apart from
//! ticket sync, over tus 1.0 (core + creation) for uploads ([`upload`]) and plain `GET` with
//! ranges for downloads ([`download`]). Bytes live in a [`BlobStore`]; bookkeeping (uploads,
//! stored blobs, which tickets reference a blob) in the server store.

mod download;
mod store;
mod upload;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, head};
use fieldwork_core::sync::blob_protocol::{BLOBS_PATH, TUS_VERSION, UPLOADS_PATH, header};

use crate::state::AppState;

pub use store::{Appended, BlobStore, Finalized, FsBlobStore};

/// An unfinished upload is dropped (bytes and bookkeeping) this long after it was created.
pub const UPLOAD_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Unfinished uploads one device may have at once.
pub const MAX_OPEN_UPLOADS_PER_DEVICE: usize = 64;
/// Old uploads swept per upload created, so one request never does unbounded work.
const SWEEP_BATCH: usize = 32;
/// Independent locks uploads are spread over: two PATCHes of one upload never interleave.
const UPLOAD_LOCKS: usize = 64;

/// The blob store and the per-upload locks, shared by all requests.
#[derive(Debug)]
pub(crate) struct BlobLane {
    pub store: Arc<dyn BlobStore>,
    locks: Vec<Mutex<()>>,
}

impl BlobLane {
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        BlobLane {
            store,
            locks: (0..UPLOAD_LOCKS).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Holds off every other writer of this upload (blocking; call off the async threads).
    pub fn lock(&self, upload_id: &str) -> MutexGuard<'_, ()> {
        let stripe = upload_id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        }) % self.locks.len();
        // The guarded work leaves nothing half done in memory, so a poisoned lock is usable.
        self.locks[stripe]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
