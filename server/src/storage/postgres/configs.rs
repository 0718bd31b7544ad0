//! Tenants' configurations on PostgreSQL: `tenant_configs`, one row per applied version.

use tokio_postgres::Row;

use super::PgStore;
use super::accounts::lock_tenant;
use crate::storage::{AppliedConfig, ConfigLog, ConfigVersion, Result, configs};

const COLUMNS: &str = "version, toml, sha256, applied_by, applied_at";

fn version_of(r: &Row) -> Result<ConfigVersion> {
    let version: i64 = r.try_get(0)?;
    Ok(ConfigVersion {
        version: u64::try_from(version).unwrap_or(0),
        toml: r.try_get(1)?,
        sha256: r.try_get(2)?,
        applied_by: r.try_get(3)?,
        applied_at: r.try_get(4)?,
    })
}

impl ConfigLog for PgStore {
    /// Holds the tenant's row while it reads the version in force and stores the next, so two
    /// replicas applying at once number their versions one after the other.
    fn apply_config(
        &self,
        tenant_id: &str,
        toml: &str,
        sha256: &str,
        applied_by: &str,
        applied_at: i64,
    ) -> Result<AppliedConfig> {
        self.write(|db| {
            lock_tenant(db, tenant_id)?;
            let current: Option<(i64, String)> = db
                .query_opt(
                    "SELECT version, sha256 FROM tenant_configs WHERE tenant_id = $1
                     ORDER BY version DESC LIMIT 1",
                    &[&tenant_id],
                )?
                .map(|r| Ok::<_, tokio_postgres::Error>((r.try_get::<_, i64>(0)?, r.try_get(1)?)))
                .transpose()?;
            let current = current.as_ref().map(|(v, sha)| (*v, sha.as_str()));
            let (applied, store_as) = configs::config_to_apply(current, sha256);
            if let Some(version) = store_as {
                db.execute(
                    "INSERT INTO tenant_configs (tenant_id, version, toml, sha256, applied_by,
                         applied_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &tenant_id,
                        &version,
                        &toml,
                        &sha256,
                        &applied_by,
                        &applied_at,
                    ],
                )?;
            }
            Ok(applied)
        })
    }

    fn configured_tenants(&self) -> Result<Vec<String>> {
        self.with_reader(|db| {
            db.query(
                "SELECT DISTINCT tenant_id FROM tenant_configs ORDER BY tenant_id",
                &[],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn current_config(&self, tenant_id: &str) -> Result<Option<ConfigVersion>> {
        self.with_reader(|db| {
            db.query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM tenant_configs WHERE tenant_id = $1
                     ORDER BY version DESC LIMIT 1"
                ),
                &[&tenant_id],
            )?
            .map(|r| version_of(&r))
            .transpose()
        })
    }

    fn config_version(&self, tenant_id: &str, version: u64) -> Result<Option<ConfigVersion>> {
        self.with_reader(|db| {
            let version = i64::try_from(version).unwrap_or(i64::MAX);
            db.query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM tenant_configs WHERE tenant_id = $1 AND version = $2"
                ),
                &[&tenant_id, &version],
            )?
            .map(|r| version_of(&r))
            .transpose()
        })
    }

    fn config_history(&self, tenant_id: &str, limit: usize) -> Result<Vec<ConfigVersion>> {
        self.with_reader(|db| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            db.query(
                "SELECT version, ''::text, sha256, applied_by, applied_at FROM tenant_configs
                 WHERE tenant_id = $1 ORDER BY version DESC LIMIT $2",
                &[&tenant_id, &limit],
            )?
            .iter()
            .map(version_of)
            .collect()
        })
    }
}
