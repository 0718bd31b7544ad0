//! The blob lane: moves photo files between the device and the server, apart from ticket sync.
//!
//! - Uploads go thumbnails first, then full images, each resumable (tus: the server's offset is
//!   asked for before sending more, so a cut connection re-sends at most one chunk).
//! - Each file retries on its own schedule (exponential backoff with jitter, kept in the store):
//!   a file that keeps failing is skipped until its time comes and never holds up the others,
//!   nor ticket sync, which runs before the lane and does not wait for it.
//! - Thumbnails of attachments that arrived with tickets are fetched eagerly; full images on
//!   demand ([`fetch_blob`]). Downloads resume from a partial file with `Range`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SyncError;
use super::backoff::RetryPolicy;
use super::blob_client::Download;
use super::client::ServerClient;
use crate::clock::Clock;
use crate::store::{DownloadJob, TicketStore, UploadJob};
use fieldwork_protocol::blobs::{ByteRange, MAX_BLOB_BYTES, UPLOAD_CHUNK_BYTES, UploadMetadata};

/// How far apart a failing file's attempts are spaced: longer than ticket sync's, since a file
/// that failed is usually waiting on something slow to change (the network, the server's disk).
pub const BLOB_RETRY: RetryPolicy = RetryPolicy {
    base: Duration::from_secs(5),
    max_delay: Duration::from_secs(15 * 60),
    max_attempts: u32::MAX,
};

/// What one pass of the lane did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneReport {
    pub uploaded: usize,
    pub downloaded: usize,
    /// Files that failed this pass (each retries later on its own).
    pub failed: usize,
    /// Upload bytes sent this pass.
    pub bytes_sent: u64,
}

/// One pass: every upload and thumbnail download that is due. Fails only when the server
/// refuses the device's credentials (nothing else would work either); a file's own failure is
/// recorded on it and the pass goes on. `progress` is called each time an upload's recorded
/// progress moves (after every chunk), so a UI can show it.
pub async fn run(
    store: &TicketStore,
    client: &ServerClient,
    token: &str,
    clock: &dyn Clock,
    retry: &RetryPolicy,
    progress: &(dyn Fn() + Sync),
) -> Result<LaneReport, SyncError> {
    let mut report = LaneReport::default();
    for job in store.due_uploads(clock.now_ms())? {
        match upload(store, client, token, &job, progress).await {
            Ok(sent) => {
                store.record_upload_done(&job.sha256)?;
                report.uploaded += 1;
                report.bytes_sent += sent;
            }
            Err(e) => {
                fail(store, &job.sha256, job.attempts, &e, clock, retry)?;
                report.failed += 1;
            }
        }
    }
    for job in store.due_downloads(clock.now_ms())? {
        match download(store, client, token, &job.sha256).await {
            Ok(()) => report.downloaded += 1,
            Err(e) => {
                let DownloadJob {
                    sha256, attempts, ..
                } = &job;
                fail(store, sha256, *attempts, &e, clock, retry)?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Records a file's failure and when to try it again; credentials refused end the pass.
fn fail(
    store: &TicketStore,
    sha256: &str,
    attempts: u32,
    error: &SyncError,
    clock: &dyn Clock,
    retry: &RetryPolicy,
) -> Result<(), SyncError> {
    if let SyncError::Unauthorized(message) = error {
        return Err(SyncError::Unauthorized(message.clone()));
    }
    let delay = retry.delay(attempts + 1, rand::random::<f64>());
    let next = clock.now_ms() + delay.as_millis() as i64;
    store.record_blob_failure(sha256, &error.to_string(), next)?;
    Ok(())
}

/// Sends one file, resuming where the server's copy ends. Returns the bytes sent.
async fn upload(
    store: &TicketStore,
    client: &ServerClient,
    token: &str,
    job: &UploadJob,
    progress: &(dyn Fn() + Sync),
) -> Result<u64, SyncError> {
    let bytes = store
        .blob(&job.sha256)?
        .ok_or_else(|| SyncError::Protocol("a queued file is missing from the device".into()))?;
    let length = bytes.len() as u64;
    let mut resource = match &job.upload_url {
        Some(location) => client
            .upload_offset(token, location)
            .await?
            .map(|offset| (location.clone(), offset)),
        None => None,
    };
    if resource.is_none() {
        let metadata = UploadMetadata {
            sha256: job.sha256.clone(),
            mime: job.mime.clone(),
            kind: job.kind,
            ticket_id: job.ticket_id.clone(),
        };
        let created = client.create_upload(token, &metadata, length).await?;
        store.record_upload_progress(&job.sha256, &created.location, created.offset)?;
        resource = Some((created.location, created.offset));
    }
    let Some((location, mut offset)) = resource else {
        return Ok(0);
    };
    let mut sent = 0;
    while offset < length {
        let end = (offset as usize + UPLOAD_CHUNK_BYTES).min(bytes.len());
        let chunk = bytes[offset as usize..end].to_vec();
        let result = client.patch_upload(token, &location, offset, chunk).await;
        let next = match result {
            Ok(next) => next,
            Err(SyncError::Server { status: 409, .. }) => {
                // Our idea of the offset is stale (a response was lost): ask and go on.
                client
                    .upload_offset(token, &location)
                    .await?
                    .ok_or_else(|| {
                        SyncError::Protocol("the server forgot the upload; it starts over".into())
                    })?
            }
            Err(
                e @ SyncError::Server {
                    status: 404 | 410 | 460,
                    ..
                },
            ) => {
                store.forget_upload_resource(&job.sha256)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if next <= offset || next > length {
            return Err(SyncError::Protocol(
                "the server answered an impossible upload offset".into(),
            ));
        }
        sent += next - offset;
        offset = next;
        store.record_upload_progress(&job.sha256, &location, offset)?;
        progress();
    }
    Ok(sent)
}

/// Fetches file `sha256` into the store, resuming a partial download with `Range`.
async fn download(
    store: &TicketStore,
    client: &ServerClient,
    token: &str,
    sha256: &str,
) -> Result<(), SyncError> {
    let mut part = store.partial_download(sha256)?;
    let have = part.have();
    let range = (have > 0).then_some(ByteRange {
        start: have,
        end: MAX_BLOB_BYTES,
    });
    let answer = match client.download_blob(token, sha256, range).await {
        Err(e @ SyncError::Server { status: 416, .. }) => {
            // The partial file is no prefix of the server's: start again from nothing.
            part.discard();
            return Err(e);
        }
        other => other?,
    };
    let (mut response, partial) = match answer {
        Download::Missing => {
            return Err(SyncError::Server {
                status: 404,
                code: "not_found".into(),
                message: "the server does not have this file (yet)".into(),
            });
        }
        Download::Body {
            response, partial, ..
        } => (response, partial),
    };
    part.begin(partial)?;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SyncError::Offline(super::client::describe(&e)))?
    {
        if part.have() + chunk.len() as u64 > MAX_BLOB_BYTES {
            part.discard();
            return Err(SyncError::Protocol("a downloaded file is too large".into()));
        }
        part.append(&chunk)?;
    }
    store.adopt_download(part)?;
    Ok(())
}

/// The bytes of file `sha256`: from the device if present, else fetched from the server now
/// (full images come down only when asked for). The file must be named by a ticket here.
pub async fn fetch_blob(
    store: &TicketStore,
    client: &ServerClient,
    token: &str,
    sha256: &str,
) -> Result<Vec<u8>, SyncError> {
    if let Some(bytes) = store.blob(sha256)? {
        return Ok(bytes);
    }
    if !store.knows_blob(sha256)? {
        return Err(SyncError::Server {
            status: 404,
            code: "not_found".into(),
            message: "no ticket on this device has a file with that sha256".into(),
        });
    }
    download(store, client, token, sha256).await?;
    store
        .blob(sha256)?
        .ok_or_else(|| SyncError::Protocol("a downloaded file vanished".into()))
}

/// Pictures of knowledge-base articles fetched in one pass.
const KB_IMAGES_PER_PASS: usize = 20;

/// Fetches pictures the device's articles show and does not have yet (at most
/// [`KB_IMAGES_PER_PASS`]), so articles read offline show them. One that the server does not give
/// (gone, or no longer for this user) or that arrives damaged counts a failed attempt; an
/// unreachable server ends the pass. Answers how many were kept.
pub async fn fetch_kb_images(
    store: &TicketStore,
    client: &ServerClient,
    token: &str,
) -> Result<usize, SyncError> {
    let mut kept = 0;
    for sha256 in store.kb_images_wanted(KB_IMAGES_PER_PASS)? {
        let mut response = match client.download_blob(token, &sha256, None).await {
            Ok(Download::Body { response, .. }) => response,
            Ok(Download::Missing) => {
                store.kb_image_failed(&sha256)?;
                continue;
            }
            Err(error) if error.is_offline() => return Err(error),
            Err(_) => {
                store.kb_image_failed(&sha256)?;
                continue;
            }
        };
        let mut bytes = Vec::new();
        let mut whole = true;
        loop {
            match response.chunk().await {
                Ok(Some(chunk))
                    if bytes.len() + chunk.len() <= crate::store::MAX_KB_IMAGE_BYTES =>
                {
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Ok(Some(_)) | Err(_) => {
                    whole = false;
                    break;
                }
            }
        }
        if whole && store.keep_kb_image(&sha256, &bytes)? {
            kept += 1;
        } else if !whole {
            store.kb_image_failed(&sha256)?;
        }
    }
    Ok(kept)
}
