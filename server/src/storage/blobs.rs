//! What the store keeps for the blob lane: uploads in progress with their bookkeeping, stored
//! blobs (once per tenant and hash) and which tickets reference a blob. The bytes themselves live
//! in a [`crate::blobs::BlobStore`]; what each tenant and user holds is in [`super::quotas`].

use fieldwork_protocol::blobs::BlobKind;

use super::Result;

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
    /// The offset moves from `.0` to `.1`; the write fails with [`super::Conflict::Moved`] if the
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

/// Uploads and stored blobs. Every method is one transaction; implementations keep the usage
/// counters ([`super::QuotaLedger::tenant_usage`]) in step with the `blobs` rows in the same
/// transaction.
pub trait BlobRecords {
    /// Stores a new upload in state [`UploadState::Uploading`], unless its device already has
    /// `max_open_per_device` of them, its user's open uploads would declare more than
    /// `max_open_bytes_per_user`, or its declared length would take the tenant or the user over
    /// their quota: stored bytes plus the declared lengths of open, unexpired uploads.
    /// Checked and written in one transaction, so parallel uploads cannot overshoot a quota.
    fn create_upload(&self, upload: &UploadRecord, limits: &UploadLimits) -> Result<Admission>;
    /// If the tenant already stores the blob `upload` names (same hash and length), records
    /// `upload` as finished and starts the blob's grace period again, in one transaction.
    fn claim_stored_blob(&self, upload: &UploadRecord) -> Result<Claim>;
    /// An upload by id, in any tenant: callers check it is theirs.
    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>>;
    /// The newest upload of this device still in progress for the same blob and length.
    fn open_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Option<UploadRecord>>;
    /// Records one PATCH in one transaction: its counters always, the offset and the end of the
    /// upload (with the stored blob) when it has them. Fails with [`super::Conflict::Moved`] if
    /// the upload is gone or its offset moved meanwhile, and records nothing then.
    fn record_patch(&self, patch: &PatchRecord) -> Result<()>;
    /// At most `limit` uploads (any tenant, any state) created before `before`, oldest first.
    fn uploads_created_before(&self, before: i64, limit: usize) -> Result<Vec<UploadRecord>>;
    fn delete_uploads(&self, upload_ids: &[String]) -> Result<()>;
    /// Records a blob the server stored itself (a photo an intake channel brought), charged to
    /// the tenant alone; refused with [`super::OverQuota::TenantBlobs`] when it would pass
    /// `tenant_limit` (or the tenant's own quota). A blob recorded already only has its grace
    /// period started again. One transaction.
    fn record_server_blob(&self, blob: &BlobRecord, tenant_limit: u64, at: i64) -> Result<()>;
    /// A stored blob of a tenant.
    fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>>;
    /// The tickets of a tenant whose attachments name the blob, by id.
    fn blob_ref_tickets(&self, tenant_id: &str, sha256: &str) -> Result<Vec<String>>;
    /// At most `limit` stored blobs (any tenant) no ticket names, last claimed before `before`,
    /// oldest claim first.
    fn unnamed_blobs(&self, before: i64, limit: usize) -> Result<Vec<BlobRecord>>;
    /// Deletes the rows of those `blobs` that are still unnamed and unclaimed since `before`,
    /// checked and deleted in one transaction (a commit naming one commits before or after,
    /// never in between), and takes their bytes off the usage counters. Returns the deleted
    /// ones: the caller removes their files afterwards.
    fn delete_unnamed_blobs(&self, blobs: &[BlobRecord], before: i64) -> Result<Vec<BlobRecord>>;
}
