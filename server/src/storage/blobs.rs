//! What the store keeps for the blob lane: uploads in progress with their bookkeeping, stored
//! blobs (once per tenant and hash), and which tickets reference a blob. The bytes themselves
//! live in a [`crate::blobs::BlobStore`].

use fieldwork_core::sync::blob_protocol::BlobKind;

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Bytes are still arriving.
    Uploading,
    /// The blob is stored (by this upload, or it was already there).
    Done,
    /// The bytes did not hash to the declared sha256 and were discarded.
    Failed,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Uploading => "uploading",
            UploadState::Done => "done",
            UploadState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<UploadState> {
        match s {
            "uploading" => Some(UploadState::Uploading),
            "done" => Some(UploadState::Done),
            "failed" => Some(UploadState::Failed),
            _ => None,
        }
    }
}

/// One upload (a row of `blob_uploads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// 64 lower-case hex digits, random.
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub device_id: String,
    pub sha256: String,
    pub kind: BlobKind,
    pub mime: String,
    pub ticket_id: String,
    /// `Upload-Length`.
    pub length: u64,
    /// `Upload-Offset`: the bytes safely stored.
    pub offset: u64,
    pub state: UploadState,
    /// Server time.
    pub created_at: i64,
    /// Every PATCH aimed at this upload, refused ones included.
    pub patch_requests: u64,
    /// Every PATCH body byte read, re-sent bytes included.
    pub bytes_received: u64,
}

/// A stored blob (a row of `blobs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    pub tenant_id: String,
    pub sha256: String,
    pub length: u64,
    pub mime: String,
    pub created_at: i64,
}

/// A ticket whose attachments name a blob.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlobRef {
    pub ticket_id: String,
    pub sha256: String,
}

/// What one PATCH did to an upload, recorded in one transaction.
#[derive(Debug, Clone)]
pub struct PatchRecord {
    pub upload_id: String,
    /// Body bytes read by this PATCH.
    pub bytes_received: u64,
    /// The offset moves from `.0` to `.1`; the write fails with [`crate::Error::Conflict`] if the
    /// stored offset is not `.0`. `None` for a PATCH that was refused.
    pub advance: Option<(u64, u64)>,
    /// How the upload ended, if this PATCH ended it.
    pub finish: Option<UploadFinish>,
    /// Server time.
    pub at: i64,
}

/// The end of an upload.
#[derive(Debug, Clone)]
pub enum UploadFinish {
    /// The blob is in the blob store; record it (nothing happens if it is recorded already).
    Stored(BlobRecord),
    /// The bytes did not match the declared hash, or the partial upload was lost.
    Failed,
}
