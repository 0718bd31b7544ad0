//! What the store keeps for the blob lane: uploads in progress with their bookkeeping, stored
//! blobs (once per tenant and hash) and which tickets reference a blob. The bytes themselves live
//! in a [`crate::blobs::BlobStore`]; what each tenant and user holds is in [`super::quotas`].

use fieldwork_protocol::blobs::BlobKind;

use super::{BlobUsage, OverQuota, Result, StorageError, TenantQuotas};

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

// How a new upload is admitted ([`BlobRecords::create_upload`]), in the order a backend checks
// it inside its admitting transaction: only an upload in progress is checked (a finished one,
// recorded by a claim, costs no quota); then the device's open uploads, the user's open bytes,
// and the tenant's and the user's quotas. The first refusal wins. The steps are separate so that
// a backend reads only what the next step needs.

/// Open uploads created after this count against an admission (older ones are expired, whether
/// swept yet or not).
pub(crate) fn upload_open_after(upload: &UploadRecord, limits: &UploadLimits) -> i64 {
    upload.created_at.saturating_sub(limits.upload_ttl_ms)
}

/// The first step of an admission: refused when the device already has
/// [`UploadLimits::max_open_per_device`] unfinished uploads (`open_on_device`, as counted).
pub(crate) fn device_open_refusal(open_on_device: i64, limits: &UploadLimits) -> Option<Admission> {
    (usize::try_from(open_on_device).unwrap_or(usize::MAX) >= limits.max_open_per_device)
        .then_some(Admission::TooManyOpen)
}

/// The second step: refused when the uploader's open uploads (`user`, created after
/// [`upload_open_after`]) and this one would declare more than
/// [`UploadLimits::max_open_bytes_per_user`].
pub(crate) fn open_bytes_refusal(
    upload: &UploadRecord,
    user: &BlobUsage,
    limits: &UploadLimits,
) -> Option<Admission> {
    (user.open_bytes.saturating_add(upload.length) > limits.max_open_bytes_per_user)
        .then_some(Admission::TooManyOpen)
}

/// The last step: refused when the upload's declared length would take the tenant (`tenant`)
/// or the uploader (`user`) past their quota — the tenant's own (`own`) where it set one, else
/// the server's in `limits`. The tenant is checked first.
pub(crate) fn quota_refusal(
    upload: &UploadRecord,
    limits: &UploadLimits,
    own: &TenantQuotas,
    tenant: BlobUsage,
    user: BlobUsage,
) -> Option<Admission> {
    let checks = [
        (
            QuotaScope::Tenant,
            own.blob_bytes.unwrap_or(limits.tenant_blob_bytes),
            tenant,
        ),
        (
            QuotaScope::User,
            own.user_blob_bytes.unwrap_or(limits.user_blob_bytes),
            user,
        ),
    ];
    for (scope, limit, usage) in checks {
        let used = usage.held_bytes();
        if used.saturating_add(upload.length) > limit {
            return Some(Admission::OverQuota(QuotaRefusal { scope, limit, used }));
        }
    }
    None
}

/// What a claim of a stored blob records ([`BlobRecords::claim_stored_blob`]): `upload`,
/// finished, its every byte in place.
pub(crate) fn claimed_upload(upload: &UploadRecord) -> UploadRecord {
    UploadRecord {
        offset: upload.length,
        state: UploadState::Done,
        ..upload.clone()
    }
}

/// Open uploads created after this count against a blob the server stores itself at `at`
/// ([`BlobRecords::record_server_blob`]).
pub(crate) fn server_blob_open_after(at: i64) -> i64 {
    at.saturating_sub(crate::blobs::UPLOAD_TTL_MS)
}

/// Whether a blob the server stores itself fits the tenant's quota — its own (`own`) where it
/// set one, else `tenant_limit` — given what the tenant holds (`tenant`, open uploads created
/// after [`server_blob_open_after`]); [`OverQuota::TenantBlobs`] if it does not. Only asked for
/// a blob the tenant does not store yet.
pub(crate) fn admit_server_blob(
    blob: &BlobRecord,
    own: &TenantQuotas,
    tenant_limit: u64,
    tenant: &BlobUsage,
) -> Result<()> {
    let limit = own.blob_bytes.unwrap_or(tenant_limit);
    let used = tenant.held_bytes();
    if used.saturating_add(blob.length) > limit {
        return Err(StorageError::Quota(OverQuota::TenantBlobs { limit, used }));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> UploadLimits {
        UploadLimits {
            max_open_per_device: 2,
            max_open_bytes_per_user: 100,
            tenant_blob_bytes: 1_000,
            user_blob_bytes: 500,
            upload_ttl_ms: 10,
        }
    }

    fn upload(length: u64) -> UploadRecord {
        UploadRecord {
            id: "u".into(),
            tenant_id: "t".into(),
            user_id: "p".into(),
            device_id: "d".into(),
            sha256: "s".into(),
            kind: BlobKind::Full,
            mime: "image/jpeg".into(),
            ticket_id: "k".into(),
            length,
            offset: 0,
            state: UploadState::Uploading,
            created_at: 5,
            patch_requests: 0,
            bytes_received: 0,
        }
    }

    fn held(stored_bytes: u64, open_bytes: u64) -> BlobUsage {
        BlobUsage {
            stored_bytes,
            open_bytes,
            ..BlobUsage::default()
        }
    }

    #[test]
    fn a_device_at_its_cap_of_open_uploads_is_refused() {
        assert_eq!(device_open_refusal(1, &limits()), None);
        assert_eq!(
            device_open_refusal(2, &limits()),
            Some(Admission::TooManyOpen)
        );
        // A count that does not fit is as good as too many.
        assert_eq!(
            device_open_refusal(-1, &limits()),
            Some(Admission::TooManyOpen)
        );
        assert_eq!(upload_open_after(&upload(1), &limits()), -5);
    }

    #[test]
    fn open_bytes_count_the_new_upload_too() {
        let l = limits();
        assert_eq!(open_bytes_refusal(&upload(40), &held(0, 60), &l), None);
        assert_eq!(
            open_bytes_refusal(&upload(41), &held(0, 60), &l),
            Some(Admission::TooManyOpen)
        );
        assert_eq!(
            open_bytes_refusal(&upload(u64::MAX), &held(0, 1), &l),
            Some(Admission::TooManyOpen)
        );
    }

    #[test]
    fn the_tenant_quota_is_checked_before_the_users_and_a_tenants_own_replaces_the_servers() {
        let l = limits();
        let none = TenantQuotas::default();
        assert_eq!(
            quota_refusal(&upload(100), &l, &none, held(800, 100), held(300, 100)),
            None
        );
        assert_eq!(
            quota_refusal(&upload(101), &l, &none, held(800, 100), held(400, 0)),
            Some(Admission::OverQuota(QuotaRefusal {
                scope: QuotaScope::Tenant,
                limit: 1_000,
                used: 900,
            }))
        );
        assert_eq!(
            quota_refusal(&upload(101), &l, &none, held(0, 0), held(300, 100)),
            Some(Admission::OverQuota(QuotaRefusal {
                scope: QuotaScope::User,
                limit: 500,
                used: 400,
            }))
        );
        let own = TenantQuotas {
            blob_bytes: Some(2_000),
            user_blob_bytes: Some(50),
            devices_per_user: None,
        };
        assert_eq!(
            quota_refusal(&upload(51), &l, &own, held(1_500, 0), held(0, 0)),
            Some(Admission::OverQuota(QuotaRefusal {
                scope: QuotaScope::User,
                limit: 50,
                used: 0,
            }))
        );
    }

    #[test]
    fn a_server_blob_is_refused_past_the_tenants_quota() {
        let blob = BlobRecord {
            tenant_id: "t".into(),
            sha256: "s".into(),
            length: 10,
            mime: "image/jpeg".into(),
            created_at: 0,
            user_id: None,
        };
        let none = TenantQuotas::default();
        assert!(admit_server_blob(&blob, &none, 100, &held(80, 10)).is_ok());
        let refused = admit_server_blob(&blob, &none, 100, &held(81, 10));
        assert!(matches!(
            refused,
            Err(StorageError::Quota(OverQuota::TenantBlobs {
                limit: 100,
                used: 91
            }))
        ));
        let own = TenantQuotas {
            blob_bytes: Some(200),
            ..TenantQuotas::default()
        };
        assert!(admit_server_blob(&blob, &own, 100, &held(81, 10)).is_ok());
        assert_eq!(server_blob_open_after(i64::MIN), i64::MIN);
    }

    #[test]
    fn a_claimed_upload_is_done_and_whole() {
        let claimed = claimed_upload(&upload(42));
        assert_eq!((claimed.offset, claimed.state), (42, UploadState::Done));
        assert_eq!(claimed.id, "u");
    }
}
