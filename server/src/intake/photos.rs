//! Photos that come in through a channel (a web form's images, an email's image attachments):
//! through the same pipeline as a phone's (`fieldwork_core::photo`: decoded within a pixel
//! limit, turned upright, metadata stripped, 1920 px JPEG + 320 px thumbnail), stored as blobs of
//! the tenant (charged to its photo quota), and filed on the ticket as attachments in the
//! channel's name. At most [`PHOTO_SLOTS`] are processed at once, so a flood of large images
//! queues instead of taking every core and gigabytes of pixels.
//!
//! An email's other files (a PDF, a spreadsheet) are kept as they came ([`store_files`]): stored
//! as blobs of the tenant under a media type from a short list (anything else is
//! `application/octet-stream`), and filed with their name. They are only ever downloaded, never
//! shown in a page (`blobs::download`).

use fieldwork_core::photo::{self, MIME_JPEG, PhotoOptions};
use fieldwork_core::ticket::NewAttachment;
use sha2::Digest;
use tokio::sync::Semaphore;

use crate::api::error::{ApiError, ErrorCode};
use crate::blobs::Finalized;
use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::storage::{BlobRecord, OverQuota, StorageError};

/// Photos processed at once across all channels (the machine's cores).
pub(super) const PHOTO_SLOTS: usize = 2;

/// Most images one delivery brings.
pub(super) const MAX_IMAGES: usize = 5;
/// Most other files one delivery brings.
pub(super) const MAX_FILES: usize = 5;

/// Media types a kept file is stored under as they came; any other is `application/octet-stream`.
const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "audio/mpeg",
    "audio/wav",
    "video/mp4",
];

/// The media type a file is kept under.
pub(super) fn file_type(declared: &str) -> &'static str {
    let declared = declared.trim().to_ascii_lowercase();
    FILE_TYPES
        .iter()
        .find(|t| **t == declared)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// The photo slots.
#[derive(Debug)]
pub(crate) struct PhotoSlots(Semaphore);

impl Default for PhotoSlots {
    fn default() -> Self {
        PhotoSlots(Semaphore::new(PHOTO_SLOTS))
    }
}

/// What became of a delivery's images.
#[derive(Debug, Default)]
pub(crate) struct Filed {
    /// Stored, to attach to the ticket.
    pub attachments: Vec<NewAttachment>,
    /// Why each image that is not stored was refused ("leak.heic: not a JPEG, PNG or WebP").
    pub refused: Vec<String>,
}

/// Processes and stores `images` (name, bytes) of `tenant`. An image the pipeline refuses (not an
/// image, too many pixels, corrupt) is named in `refused` and the rest go on; a full quota or a
/// storage failure is an error.
pub(crate) async fn store(
    state: &AppState,
    tenant: &str,
    images: Vec<(String, Vec<u8>)>,
) -> Result<Filed, Error> {
    let mut filed = Filed::default();
    for (name, bytes) in images.into_iter().take(MAX_IMAGES) {
        let _slot = state
            .intake()
            .photo_slots
            .0
            .acquire()
            .await
            .map_err(|_| Error::Intake("the photo slots are closed".into()))?;
        let processed =
            blocking(move || Ok(photo::process(&bytes, &PhotoOptions::default()))).await?;
        let processed = match processed {
            Ok(processed) => processed,
            Err(refusal) => {
                filed.refused.push(format!("{}: {refusal}", short(&name)));
                continue;
            }
        };
        for image in [&processed.full, &processed.thumb] {
            keep(state, tenant, &image.sha256, image.bytes.clone(), MIME_JPEG).await?;
        }
        filed.attachments.push(NewAttachment {
            sha256: processed.full.sha256.clone(),
            thumb: Some(processed.thumb.sha256.clone()),
            mime: MIME_JPEG.to_owned(),
            name: None,
            bytes: processed.full.bytes.len() as i64,
            width: i64::from(processed.full.width),
            height: i64::from(processed.full.height),
            captured_at: processed.captured_at,
            location: processed.location,
        });
    }
    Ok(filed)
}

/// Stores `files` (name, declared media type, bytes) of `tenant` as they came, each at most the
/// blob lane's size, and answers them as attachments to file (a full quota or a storage failure
/// is an error).
pub(super) async fn store_files(
    state: &AppState,
    tenant: &str,
    files: Vec<(String, String, Vec<u8>)>,
) -> Result<Vec<NewAttachment>, Error> {
    let mut filed = Vec::new();
    for (name, declared, bytes) in files.into_iter().take(MAX_FILES) {
        if bytes.is_empty() {
            continue;
        }
        let mime = file_type(&declared);
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        let length = bytes.len() as i64;
        keep(state, tenant, &sha256, bytes, mime).await?;
        filed.push(NewAttachment {
            sha256,
            thumb: None,
            mime: mime.to_owned(),
            name: Some(file_name(&name)),
            bytes: length,
            width: 0,
            height: 0,
            captured_at: None,
            location: None,
        });
    }
    Ok(filed)
}

/// A file name as a message may repeat it: at most 80 characters, no control characters.
fn short(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// A file's name as it is kept: its last path part, no control characters, at most 120
/// characters, never empty.
pub(super) fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    let kept = kept.trim();
    if kept.is_empty() {
        "attachment".to_owned()
    } else {
        kept.to_owned()
    }
}

/// Stores one file (an encoded image or a kept file) as a blob of the tenant and records it.
async fn keep(
    state: &AppState,
    tenant: &str,
    sha256: &str,
    bytes: Vec<u8>,
    mime: &'static str,
) -> Result<(), Error> {
    let lane = state.blobs().clone();
    let limit = state.quotas().tenant_blob_bytes;
    let (tenant, sha256, now) = (tenant.to_owned(), sha256.to_owned(), state.now_ms());
    blocking(move || {
        let length = bytes.len() as u64;
        let upload_id = hex::encode(rand::random::<[u8; 32]>());
        let _blob = lane.lock_blob(&tenant, &sha256);
        if lane.records.blob(&tenant, &sha256)?.is_none() {
            lane.store.create_partial(&tenant, &upload_id)?;
            lane.store.append_partial(&tenant, &upload_id, 0, &bytes)?;
            match lane.store.finalize(&tenant, &upload_id, &sha256, length)? {
                Finalized::Stored | Finalized::AlreadyStored => {}
                Finalized::HashMismatch | Finalized::Lost => {
                    lane.store.discard_partial(&tenant, &upload_id)?;
                    return Err(Error::Intake("a delivered file did not store whole".into()));
                }
            }
        }
        let record = BlobRecord {
            tenant_id: tenant.clone(),
            sha256: sha256.clone(),
            length,
            mime: mime.to_owned(),
            created_at: now,
            user_id: None,
        };
        lane.records.record_server_blob(&record, limit, now)?;
        Ok(())
    })
    .await
}

/// The answer to a failure to store a delivery's photos: a full photo storage is the tenant's
/// to fix (`422 refused`, nothing stored); anything else is the server's.
pub(crate) fn photo_error(error: Error) -> ApiError {
    match &error {
        Error::Storage(StorageError::Quota(full @ OverQuota::TenantBlobs { .. })) => {
            ApiError::new(ErrorCode::Refused, full.to_string())
        }
        _ => error.into(),
    }
}
