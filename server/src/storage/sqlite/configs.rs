//! Tenants' configurations in SQLite: `tenant_configs`, one row per applied version.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, require_tenant, seq_of, sql_seq};
use crate::storage::{AppliedConfig, ConfigLog, ConfigVersion, Result, configs};

const COLUMNS: &str = "version, toml, sha256, applied_by, applied_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConfigVersion> {
    Ok(ConfigVersion {
        version: seq_of(r.get(0)?),
        toml: r.get(1)?,
        sha256: r.get(2)?,
        applied_by: r.get(3)?,
        applied_at: r.get(4)?,
    })
}

impl ConfigLog for SqliteStore {
    fn apply_config(
        &self,
        tenant_id: &str,
        toml: &str,
        sha256: &str,
        applied_by: &str,
        applied_at: i64,
    ) -> Result<AppliedConfig> {
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            let current: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT version, sha256 FROM tenant_configs WHERE tenant_id = ?1
                     ORDER BY version DESC LIMIT 1",
                )?
                .query_row([tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let current = current.as_ref().map(|(v, sha)| (*v, sha.as_str()));
            let (applied, store_as) = configs::config_to_apply(current, sha256);
            if let Some(version) = store_as {
                tx.prepare_cached(
                    "INSERT INTO tenant_configs (tenant_id, version, toml, sha256, applied_by, applied_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![tenant_id, version, toml, sha256, applied_by, applied_at])?;
            }
            Ok(applied)
        })
    }

    fn configured_tenants(&self) -> Result<Vec<String>> {
        self.with_reader(|conn| {
            let rows = conn
                .prepare_cached("SELECT DISTINCT tenant_id FROM tenant_configs ORDER BY tenant_id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn current_config(&self, tenant_id: &str) -> Result<Option<ConfigVersion>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM tenant_configs WHERE tenant_id = ?1
                     ORDER BY version DESC LIMIT 1"
                ))?
                .query_row([tenant_id], row)
                .optional()?)
        })
    }

    fn config_version(&self, tenant_id: &str, version: u64) -> Result<Option<ConfigVersion>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM tenant_configs WHERE tenant_id = ?1 AND version = ?2"
                ))?
                .query_row(params![tenant_id, sql_seq(version)], row)
                .optional()?)
        })
    }

    fn config_history(&self, tenant_id: &str, limit: usize) -> Result<Vec<ConfigVersion>> {
        self.with_reader(|conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = conn
                .prepare_cached(
                    "SELECT version, '', sha256, applied_by, applied_at FROM tenant_configs
                     WHERE tenant_id = ?1 ORDER BY version DESC LIMIT ?2",
                )?
                .query_map(params![tenant_id, limit], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
