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

/// A stored byte quota (`tenant_quotas.blob_bytes`, `user_blob_bytes`); `None` keeps the
/// server's default.
pub(crate) fn quota_of(value: Option<i64>) -> Option<u64> {
    value.map(super::seq_of)
}

/// A stored device cap (`tenant_quotas.devices_per_user`); `None` keeps the server's default.
pub(crate) fn device_cap_of(value: Option<i64>) -> Option<u32> {
    value.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Orders a tenant's users as [`TenantUsage::users`] lists them: most bytes held first, then by
/// name.
pub(crate) fn sort_holders(users: &mut [UserUsage]) {
    users.sort_by(|a, b| {
        b.usage
            .held_bytes()
            .cmp(&a.usage.held_bytes())
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(name: &str, stored_bytes: u64, open_bytes: u64) -> UserUsage {
        UserUsage {
            user_id: name.to_owned(),
            name: name.to_owned(),
            usage: BlobUsage {
                stored_bytes,
                open_bytes,
                ..BlobUsage::default()
            },
        }
    }

    #[test]
    fn holders_sort_by_bytes_held_then_by_name() {
        let mut users = vec![
            holder("b", 1, 0),
            holder("c", 5, 5),
            holder("a", 0, 1),
            holder("d", 10, 0),
        ];
        sort_holders(&mut users);
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["c", "d", "a", "b"]);
    }

    #[test]
    fn stored_quotas_read_back() {
        assert_eq!(quota_of(Some(-1)), Some(0));
        assert_eq!(quota_of(None), None);
        assert_eq!(device_cap_of(Some(i64::MAX)), Some(u32::MAX));
        assert_eq!(device_cap_of(Some(-1)), Some(u32::MAX));
        assert_eq!(device_cap_of(Some(3)), Some(3));
    }
}
