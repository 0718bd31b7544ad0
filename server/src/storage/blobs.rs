//! What the store keeps for the blob lane: uploads in progress with their bookkeeping, stored
//! blobs (once per tenant and hash), which tickets reference a blob, and what each tenant and
//! user holds against their quota. The bytes themselves live in a [`crate::blobs::BlobStore`].

use fieldwork_protocol::blobs::BlobKind;
use serde::Serialize;

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
    /// Who stored it first: its bytes count against their quota. `None` only for blobs stored
    /// before quotas existed whose upload was already swept.
    pub user_id: Option<String>,
}

/// The limits a new upload is admitted under: the server-wide defaults. A tenant's own quotas
/// ([`TenantQuotas`]) replace them, read in the same transaction as the admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Unfinished uploads one device may have at once.
    pub max_open_per_device: usize,
    /// Declared bytes of one user's unfinished uploads at once: a reservation costs no traffic,
    /// so without this a few users could hold a tenant's whole quota with empty uploads.
    pub max_open_bytes_per_user: u64,
    pub tenant_blob_bytes: u64,
    pub user_blob_bytes: u64,
    /// Uploads created this long before the new one are expired and hold no bytes in flight.
    pub upload_ttl_ms: i64,
}

/// Whether a new upload was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Created,
    /// The device has [`UploadLimits::max_open_per_device`] unfinished uploads, or the user's
    /// unfinished uploads would declare more than [`UploadLimits::max_open_bytes_per_user`].
    TooManyOpen,
    /// Storing it would take the tenant or the user over their quota.
    OverQuota(QuotaRefusal),
}

/// Which quota an upload would break, and how it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaRefusal {
    pub scope: QuotaScope,
    /// The quota, in bytes.
    pub limit: u64,
    /// Bytes held now: stored blobs plus open uploads.
    pub used: u64,
}

/// Whose quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaScope {
    Tenant,
    User,
}

/// What asking for an already stored blob found (one transaction, so the collector cannot
/// take the blob in between).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The tenant has no such blob: the bytes must be uploaded.
    NotStored,
    /// The tenant has it: the finished upload is recorded and the blob's grace period starts
    /// again. Costs no quota.
    Claimed,
    /// The tenant has a blob with this hash and another length.
    LengthMismatch,
}

/// An admin's overrides of the server-wide [`crate::config::Quotas`] for one tenant; `None`
/// keeps the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TenantQuotas {
    pub blob_bytes: Option<u64>,
    pub user_blob_bytes: Option<u64>,
    pub devices_per_user: Option<u32>,
}

/// Bytes held by a tenant or a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BlobUsage {
    /// Stored blobs charged to them.
    pub stored_bytes: u64,
    pub stored_blobs: u64,
    /// Declared lengths of their unfinished, unexpired uploads (counted against the quota too).
    pub open_bytes: u64,
    pub open_uploads: u64,
}

impl BlobUsage {
    /// What counts against the quota.
    pub fn held_bytes(&self) -> u64 {
        self.stored_bytes.saturating_add(self.open_bytes)
    }
}

/// One user's share of a tenant's storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserUsage {
    pub user_id: String,
    pub name: String,
    pub usage: BlobUsage,
}

/// A tenant's storage as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantUsage {
    pub tenant: BlobUsage,
    /// Stored blobs no ticket names (collected after the grace period).
    pub unnamed_bytes: u64,
    pub unnamed_blobs: u64,
    /// Users holding anything, most bytes first.
    pub users: Vec<UserUsage>,
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
