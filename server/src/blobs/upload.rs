//! Uploads, tus 1.0 core + creation: `OPTIONS /v1/blobs` (discovery), `POST /v1/blobs` (create,
//! or learn the blob is already stored), `HEAD` and `PATCH /v1/blobs/uploads/{id}` (offset, append).
//! The last byte of an upload is followed by hashing the whole file: a match stores the blob once
//! per tenant, a mismatch discards the upload (`460 blob_hash_mismatch`).
//!
//! Every PATCH aimed at an upload is counted (`patch_requests`) with every body byte read
//! (`bytes_received`), so re-sent bytes can be measured.
//!
//! Storage is bounded where it is cheapest to refuse: a `POST` declares `Upload-Length`, and
//! that length must fit the tenant's and the user's quota counting stored blobs and every open
//! upload's declared length, so no number of parallel uploads overshoots; a `PATCH` never writes
//! past the declared length, and compressed bodies are refused before they are inflated
//! (`super::refuse_encoded_bodies`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header as http};
use axum::response::{IntoResponse, Response};
use fieldwork_protocol::blobs::{
    MAX_BLOB_BYTES, MAX_PATCH_BYTES, OFFSET_CONTENT_TYPE, TUS_EXTENSIONS, TUS_VERSION,
    UPLOADS_PATH, UploadMetadata, header, is_sha256_hex,
};
use futures_util::StreamExt;

use super::collect::collect_unnamed;
use super::{
    Appended, BlobLane, COLLECT_BATCH, Finalized, MAX_OPEN_BYTES_PER_USER,
    MAX_OPEN_UPLOADS_PER_DEVICE, SWEEP_BATCH, UPLOAD_TTL_MS,
};
use crate::auth::DeviceAuth;
use crate::config::Quotas;
use crate::error::{AppError, Error};
use crate::state::{AppState, blocking};
use crate::storage::{
    Admission, BlobRecord, Claim, Conflict, DeviceRecord, PatchRecord, QuotaRefusal, ReadWith,
    StorageError, UploadFinish, UploadLimits, UploadRecord, UploadState, UserRecord,
};
use crate::visibility::{Sight, sight};

/// `OPTIONS /v1/blobs`: what the server speaks. No token needed; it says nothing about anyone.
pub(super) async fn discover() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::TUS_VERSION, HeaderValue::from_static(TUS_VERSION));
    headers.insert(
        header::TUS_EXTENSION,
        HeaderValue::from_static(TUS_EXTENSIONS),
    );
    headers.insert(header::TUS_MAX_SIZE, HeaderValue::from(MAX_BLOB_BYTES));
    response
}

/// `POST /v1/blobs`: `201` with the upload's `Location` and the `Upload-Offset` to go on from
/// (the length itself when the tenant has the blob already: nothing to send).
pub(super) async fn create(
    State(state): State<AppState>,
    auth: DeviceAuth,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_tus(&headers)?;
    let length = number(&headers, header::UPLOAD_LENGTH)?.ok_or_else(|| {
        AppError::BadRequest("Upload-Length is required; deferred lengths are not supported".into())
    })?;
    if length == 0 {
        return Err(AppError::BadRequest("an empty blob is not stored".into()));
    }
    if length > MAX_BLOB_BYTES {
        return Err(AppError::BlobTooLarge);
    }
    let metadata = headers
        .get(header::UPLOAD_METADATA)
        .ok_or_else(|| AppError::BadRequest("Upload-Metadata is required".into()))?
        .to_str()
        .map_err(|_| AppError::BadRequest("Upload-Metadata is not ASCII".into()))?;
    let metadata =
        UploadMetadata::parse(metadata).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (lane, now, quotas) = (state.blobs().clone(), state.now_ms(), state.quotas());
    let user = auth.session.user;
    let device = auth.device;
    let begun =
        blocking(move || begin(&lane, &quotas, &user, &device, metadata, length, now)).await?;
    let (id, offset) = match begun {
        Begin::At { id, offset } => (id, offset),
        Begin::Hidden => return Err(AppError::Missing("ticket")),
        Begin::LengthMismatch => {
            return Err(AppError::BadRequest(
                "Upload-Length is not the length of the blob with this sha256".into(),
            ));
        }
        Begin::TooMany => return Err(AppError::TooManyUploads),
        Begin::OverQuota(refusal) => {
            return Err(AppError::QuotaExceeded {
                needed: length,
                refusal,
            });
        }
    };
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("{UPLOADS_PATH}/{id}")) {
        headers.insert(http::LOCATION, location);
    }
    headers.insert(header::UPLOAD_OFFSET, HeaderValue::from(offset));
    Ok(response)
}

/// `HEAD /v1/blobs/uploads/{id}`: how much of the upload is safely stored.
pub(super) async fn offset(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_tus(&headers)?;
    let upload = own_upload(&state, &auth.session.user, id).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(header::UPLOAD_OFFSET, HeaderValue::from(upload.offset));
    headers.insert(header::UPLOAD_LENGTH, HeaderValue::from(upload.length));
    headers.insert(http::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `PATCH /v1/blobs/uploads/{id}`: appends the body at `Upload-Offset`; `204` with the new offset.
pub(super) async fn append(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    check_tus(&headers)?;
    let is_offset_stream = headers
        .get(http::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(OFFSET_CONTENT_TYPE));
    if !is_offset_stream {
        return Err(AppError::NotOffsetStream);
    }
    let offset = number(&headers, header::UPLOAD_OFFSET)?
        .ok_or_else(|| AppError::BadRequest("Upload-Offset is required".into()))?;
    let user = auth.session.user;
    let upload = own_upload(&state, &user, id).await?;
    let room = upload.length.saturating_sub(offset);
    let declared = number(&headers, "content-length").unwrap_or(None);
    let early = if upload.offset != offset {
        Some(AppError::OffsetMismatch)
    } else if declared.is_some_and(|n| n > MAX_PATCH_BYTES as u64) {
        Some(AppError::PatchTooLarge)
    } else if declared.is_some_and(|n| n > room) {
        Some(past_the_end())
    } else {
        None
    };
    if let Some(refusal) = early {
        count_refused(&state, &upload.id, 0).await?;
        return Err(refusal);
    }
    // The rest runs as its own task, so a client that goes away mid-body does not cancel it:
    // what arrived before the cut is kept and counted, and the device resumes after it.
    let task = tokio::spawn(receive(state, upload, user.id, offset, body));
    let patched = task
        .await
        .map_err(|e| AppError::Internal(Error::Task(e.to_string())))??;
    match patched {
        Patched::To(offset) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(header::UPLOAD_OFFSET, HeaderValue::from(offset));
            Ok(response)
        }
        Patched::OffsetMismatch => Err(AppError::OffsetMismatch),
        Patched::HashMismatch => Err(AppError::HashMismatch),
        Patched::Gone => Err(AppError::UploadGone),
    }
}

/// Reads a PATCH body and applies it.
async fn receive(
    state: AppState,
    upload: UploadRecord,
    user_id: String,
    offset: u64,
    body: Body,
) -> Result<Patched, AppError> {
    let room = upload.length.saturating_sub(offset);
    let (bytes, cut) = match read_body(body, room).await {
        Received::Whole(bytes) => (bytes, false),
        Received::Cut(bytes) => {
            tracing::debug!(tenant = %upload.tenant_id, upload = %upload.id, "PATCH body cut short");
            (bytes, true)
        }
        Received::Refused(refusal, read) => {
            count_refused(&state, &upload.id, read).await?;
            return Err(refusal);
        }
    };
    let (lane, now) = (state.blobs().clone(), state.now_ms());
    let upload_id = upload.id;
    let patched = blocking(move || patch(&lane, &user_id, &upload_id, offset, &bytes, now)).await?;
    match patched {
        // Usually nobody is left to hear this; a client that is (a broken gzip body) learns
        // from HEAD how much was kept.
        Patched::To(_) if cut => Err(AppError::BadRequest(
            "the body broke off; ask with HEAD where the upload stands and resume from there"
                .into(),
        )),
        other => Ok(other),
    }
}

fn past_the_end() -> AppError {
    AppError::BadRequest("the body runs past Upload-Length".into())
}

/// Refuses anything but `Tus-Resumable: 1.0.0` (`412`, with `Tus-Version`).
fn check_tus(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get(header::TUS_RESUMABLE) {
        Some(v) if v.as_bytes() == TUS_VERSION.as_bytes() => Ok(()),
        _ => Err(AppError::TusVersion),
    }
}

/// A header holding a non-negative decimal integer, if present.
fn number(headers: &HeaderMap, name: &'static str) -> Result<Option<u64>, AppError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let bad = || AppError::BadRequest(format!("{name} must be a non-negative integer"));
    let text = value.to_str().map_err(|_| bad())?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map(Some).map_err(|_| bad())
}

/// The upload `id` if it is this user's and still going (or done): else `404`, or `410` when
/// it expired or failed.
async fn own_upload(
    state: &AppState,
    user: &UserRecord,
    id: String,
) -> Result<UploadRecord, AppError> {
    if !is_sha256_hex(&id) {
        return Err(AppError::Missing("upload"));
    }
    let store = state.store();
    let upload = blocking(move || Ok(store.upload(&id)?))
        .await?
        .filter(|u| u.tenant_id == user.tenant_id && u.user_id == user.id)
        .ok_or(AppError::Missing("upload"))?;
    if is_gone(&upload, state.now_ms()) {
        return Err(AppError::UploadGone);
    }
    Ok(upload)
}

fn is_gone(upload: &UploadRecord, now: i64) -> bool {
    match upload.state {
        UploadState::Failed => true,
        UploadState::Uploading => now.saturating_sub(upload.created_at) >= UPLOAD_TTL_MS,
        UploadState::Done => false,
    }
}

async fn count_refused(state: &AppState, upload_id: &str, read: u64) -> Result<(), AppError> {
    let record = PatchRecord {
        upload_id: upload_id.to_owned(),
        bytes_received: read,
        advance: None,
        finish: None,
        at: state.now_ms(),
    };
    let store = state.store();
    match blocking(move || Ok(store.record_patch(&record)?)).await {
        // Swept meanwhile: nothing left to count on.
        Ok(()) | Err(Error::Storage(StorageError::Conflict(Conflict::Moved))) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// A PATCH body as read.
enum Received {
    Whole(Vec<u8>),
    /// The connection broke mid-body; these bytes arrived first.
    Cut(Vec<u8>),
    /// Too much: the refusal, and how many bytes were read before stopping.
    Refused(AppError, u64),
}

/// Reads a PATCH body of at most [`MAX_PATCH_BYTES`] and at most `room` bytes.
async fn read_body(body: Body, room: u64) -> Received {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(frame) = stream.next().await {
        let Ok(frame) = frame else {
            return Received::Cut(bytes);
        };
        let read = (bytes.len() + frame.len()) as u64;
        if read > MAX_PATCH_BYTES as u64 {
            return Received::Refused(AppError::PatchTooLarge, read);
        }
        if read > room {
            return Received::Refused(past_the_end(), read);
        }
        bytes.extend_from_slice(&frame);
    }
    Received::Whole(bytes)
}

/// What a create found.
enum Begin {
    /// Go on from `offset` on upload `id` (`offset` = length: nothing to send).
    At {
        id: String,
        offset: u64,
    },
    /// The ticket exists and this user may not see it.
    Hidden,
    /// The tenant has a blob with this hash and another length.
    LengthMismatch,
    TooMany,
    OverQuota(QuotaRefusal),
}

/// Creates an upload (after sweeping expired uploads and collecting unnamed blobs, so their
/// space is free), or finds there is nothing to send.
fn begin(
    lane: &BlobLane,
    quotas: &Quotas,
    user: &UserRecord,
    device: &DeviceRecord,
    meta: UploadMetadata,
    length: u64,
    now: i64,
) -> Result<Begin, Error> {
    let actor = user.actor();
    let seen = lane
        .records
        .read_with(|reader| sight(&lane.cache, reader, &actor, &meta.ticket_id))?;
    if matches!(seen, Sight::Hidden) {
        return Ok(Begin::Hidden);
    }
    sweep(lane, now)?;
    collect_unnamed(lane, quotas.unnamed_blob_grace_ms, now, COLLECT_BATCH)?;
    let store = &lane.records;
    let upload = UploadRecord {
        id: hex::encode(rand::random::<[u8; 32]>()),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        device_id: device.id.clone(),
        sha256: meta.sha256,
        kind: meta.kind,
        mime: meta.mime,
        ticket_id: meta.ticket_id,
        length,
        offset: 0,
        state: UploadState::Uploading,
        created_at: now,
        patch_requests: 0,
        bytes_received: 0,
    };
    // Already stored: recorded as a finished upload (so its Location answers HEAD like any
    // other), at no cost to the quota.
    match store.claim_stored_blob(&upload)? {
        Claim::Claimed => {
            tracing::debug!(tenant = %upload.tenant_id, upload = %upload.id, "blob already stored");
            return Ok(Begin::At {
                id: upload.id,
                offset: length,
            });
        }
        Claim::LengthMismatch => return Ok(Begin::LengthMismatch),
        Claim::NotStored => {}
    }
    // The same device asking again (its answer was lost, or it forgot the Location) resumes.
    if let Some(open) = store.open_upload(&device.id, &upload.sha256, length)?
        && !is_gone(&open, now)
    {
        return Ok(Begin::At {
            id: open.id,
            offset: open.offset,
        });
    }
    let limits = UploadLimits {
        max_open_per_device: MAX_OPEN_UPLOADS_PER_DEVICE,
        max_open_bytes_per_user: MAX_OPEN_BYTES_PER_USER,
        tenant_blob_bytes: quotas.tenant_blob_bytes,
        user_blob_bytes: quotas.user_blob_bytes,
        upload_ttl_ms: UPLOAD_TTL_MS,
    };
    let blobs = &lane.store;
    blobs.create_partial(&upload.tenant_id, &upload.id)?;
    let refused = match store.create_upload(&upload, &limits)? {
        Admission::Created => None,
        Admission::TooManyOpen => Some(Begin::TooMany),
        Admission::OverQuota(refusal) => {
            tracing::info!(tenant = %upload.tenant_id, scope = ?refusal.scope, "upload refused: over quota");
            Some(Begin::OverQuota(refusal))
        }
    };
    if let Some(refused) = refused {
        blobs.discard_partial(&upload.tenant_id, &upload.id)?;
        return Ok(refused);
    }
    tracing::debug!(tenant = %upload.tenant_id, upload = %upload.id, "upload created");
    Ok(Begin::At {
        id: upload.id,
        offset: 0,
    })
}

/// Drops at most one batch of uploads older than [`UPLOAD_TTL_MS`]: the bytes of unfinished
/// ones, and the rows. Returns how many.
pub(super) fn sweep(lane: &BlobLane, now: i64) -> Result<usize, Error> {
    // Created at or before `now - UPLOAD_TTL_MS`, as `is_gone` counts.
    let cutoff = now.saturating_sub(UPLOAD_TTL_MS).saturating_add(1);
    let old = lane.records.uploads_created_before(cutoff, SWEEP_BATCH)?;
    let swept = old.len();
    for upload in old {
        let _turn = lane.lock(&upload.id);
        if upload.state == UploadState::Uploading {
            lane.store.discard_partial(&upload.tenant_id, &upload.id)?;
        }
        lane.records
            .delete_uploads(std::slice::from_ref(&upload.id))?;
        tracing::debug!(tenant = %upload.tenant_id, upload = %upload.id, "old upload swept");
    }
    Ok(swept)
}

/// What a PATCH did.
enum Patched {
    To(u64),
    OffsetMismatch,
    HashMismatch,
    Gone,
}

/// Appends `bytes` at `offset` and, at the last byte, verifies and stores the blob; all under the
/// upload's lock, and recorded with the PATCH's counters in one transaction.
fn patch(
    lane: &BlobLane,
    user_id: &str,
    upload_id: &str,
    offset: u64,
    bytes: &[u8],
    now: i64,
) -> Result<Patched, Error> {
    let _turn = lane.lock(upload_id);
    let store = &lane.records;
    let Some(upload) = store.upload(upload_id)?.filter(|u| u.user_id == user_id) else {
        return Ok(Patched::Gone);
    };
    let mut record = PatchRecord {
        upload_id: upload.id.clone(),
        bytes_received: bytes.len() as u64,
        advance: None,
        finish: None,
        at: now,
    };
    let refused = if is_gone(&upload, now) {
        Some(Patched::Gone)
    } else if upload.offset != offset {
        Some(Patched::OffsetMismatch)
    } else {
        None
    };
    if let Some(refused) = refused {
        store.record_patch(&record)?;
        return Ok(refused);
    }
    let (tenant, blobs) = (&upload.tenant_id, &lane.store);
    let mut to = offset;
    if !bytes.is_empty() {
        match blobs.append_partial(tenant, &upload.id, offset, bytes)? {
            Appended::To(end) => {
                to = end;
                record.advance = Some((offset, end));
            }
            Appended::Lost => {
                tracing::warn!(tenant = %tenant, upload = %upload.id, "partial upload lost; the device must start again");
                record.finish = Some(UploadFinish::Failed);
                store.record_patch(&record)?;
                return Ok(Patched::Gone);
            }
        }
    }
    let mut outcome = Patched::To(to);
    // From the hash check to the row's commit: a collector must not remove the file between
    // "already there" and the row that says so.
    let finishing = (to == upload.length && upload.state == UploadState::Uploading)
        .then(|| lane.lock_blob(tenant, &upload.sha256));
    if finishing.is_some() {
        match blobs.finalize(tenant, &upload.id, &upload.sha256, upload.length)? {
            Finalized::Stored | Finalized::AlreadyStored => {
                record.finish = Some(UploadFinish::Stored(BlobRecord {
                    tenant_id: tenant.clone(),
                    sha256: upload.sha256.clone(),
                    length: upload.length,
                    mime: upload.mime.clone(),
                    created_at: now,
                    user_id: Some(upload.user_id.clone()),
                }));
                tracing::info!(tenant = %tenant, upload = %upload.id, bytes = upload.length, "blob stored");
            }
            Finalized::HashMismatch => {
                record.finish = Some(UploadFinish::Failed);
                tracing::info!(tenant = %tenant, upload = %upload.id, "upload refused: hash mismatch");
                outcome = Patched::HashMismatch;
            }
            Finalized::Lost => {
                record.finish = Some(UploadFinish::Failed);
                tracing::warn!(tenant = %tenant, upload = %upload.id, "partial upload lost; the device must start again");
                outcome = Patched::Gone;
            }
        }
    }
    store.record_patch(&record)?;
    Ok(outcome)
}
