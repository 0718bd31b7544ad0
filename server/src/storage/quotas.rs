//! Quotas and what is used against them: a tenant's own overrides of the server-wide
//! [`crate::config::Quotas`], and the bytes each tenant and user holds (stored blobs, moved in the
//! same transaction as every blob row, plus the declared lengths of open uploads).

use serde::Serialize;

use super::Result;

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

/// Quotas and usage. Every method is one transaction.
pub trait QuotaLedger {
    /// A tenant's overrides of the server's quotas (all `None` when it has none).
    fn tenant_quotas(&self, tenant_id: &str) -> Result<TenantQuotas>;
    /// Replaces a tenant's overrides; `None` fields return to the server's default.
    fn set_tenant_quotas(&self, tenant_id: &str, quotas: &TenantQuotas) -> Result<()>;
    /// What a tenant and its users hold; open uploads count when created after `open_after`.
    fn tenant_usage(&self, tenant_id: &str, open_after: i64) -> Result<TenantUsage>;
}
