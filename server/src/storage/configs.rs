//! A tenant's configuration of the service brain (`docs/brain.md`): one TOML file, applied whole.
//! Every version is kept with who applied it and when, which is the audit trail. The store keeps
//! the text exactly as applied. Checking it is the caller's work (`fieldwork_brain::TenantConfig`),
//! done before it is stored.

use serde::Serialize;

use super::Result;

/// One applied version of a tenant's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigVersion {
    /// 1 for the first file a tenant applies, then one more per change.
    pub version: u64,
    /// The file as applied.
    pub toml: String,
    /// SHA-256 of `toml` (hex), for telling versions apart at a glance.
    pub sha256: String,
    /// Who applied it: a user id, or the operator of the admin command.
    pub applied_by: String,
    /// Server time.
    pub applied_at: i64,
}

/// What applying a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppliedConfig {
    /// The version in force now.
    pub version: u64,
    /// False when the file was the one already in force: nothing was stored.
    pub changed: bool,
}

/// Tenants' configurations. Every method is one transaction.
pub trait ConfigLog {
    /// Stores `toml` (with its `sha256`) as the tenant's next version, unless it is the one in
    /// force. Fails with [`super::Missing::Tenant`] for an unknown tenant.
    fn apply_config(
        &self,
        tenant_id: &str,
        toml: &str,
        sha256: &str,
        applied_by: &str,
        applied_at: i64,
    ) -> Result<AppliedConfig>;
    /// The ids of the tenants that applied a configuration.
    fn configured_tenants(&self) -> Result<Vec<String>>;
    /// The version in force, if the tenant ever applied one.
    fn current_config(&self, tenant_id: &str) -> Result<Option<ConfigVersion>>;
    /// One version of the tenant's configuration.
    fn config_version(&self, tenant_id: &str, version: u64) -> Result<Option<ConfigVersion>>;
    /// At most `limit` versions, newest first, without their text (`toml` is empty).
    fn config_history(&self, tenant_id: &str, limit: usize) -> Result<Vec<ConfigVersion>>;
}

/// What applying a file with hash `sha256` does, given the version in force (`current`: its
/// number and hash, if the tenant applied one): nothing, when the file is the one in force;
/// otherwise it is stored as the next version. Returns the answer and, when the file is to be
/// stored, the version it is stored as.
pub(crate) fn config_to_apply(
    current: Option<(i64, &str)>,
    sha256: &str,
) -> (AppliedConfig, Option<i64>) {
    if let Some((version, current_sha)) = current
        && current_sha == sha256
    {
        let applied = AppliedConfig {
            version: super::seq_of(version),
            changed: false,
        };
        return (applied, None);
    }
    let version = current.map_or(1, |(v, _)| v + 1);
    let applied = AppliedConfig {
        version: super::seq_of(version),
        changed: true,
    };
    (applied, Some(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_in_force_is_not_stored_again() {
        let unchanged = AppliedConfig {
            version: 3,
            changed: false,
        };
        assert_eq!(config_to_apply(Some((3, "a")), "a"), (unchanged, None));
        let next = AppliedConfig {
            version: 4,
            changed: true,
        };
        assert_eq!(config_to_apply(Some((3, "a")), "b"), (next, Some(4)));
        let first = AppliedConfig {
            version: 1,
            changed: true,
        };
        assert_eq!(config_to_apply(None, "a"), (first, Some(1)));
    }
}
