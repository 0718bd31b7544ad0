//! The asset register in SQLite: `assets` (migration 26).

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::{SqliteStore, require_tenant};
use crate::storage::{AssetRecord, Assets, Result, assets};

const COLUMNS: &str = "tenant_id, serial, model, site_address, site_lat, site_lon, \
     warranty_until, owner_name, owner_phone, owner_email, updated_at";

fn asset_of(r: &Row<'_>) -> rusqlite::Result<AssetRecord> {
    Ok(AssetRecord {
        tenant_id: r.get(0)?,
        serial: r.get(1)?,
        model: r.get(2)?,
        site_address: r.get(3)?,
        site_lat: r.get(4)?,
        site_lon: r.get(5)?,
        warranty_until: r.get(6)?,
        owner_name: r.get(7)?,
        owner_phone: r.get(8)?,
        owner_email: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

impl Assets for SqliteStore {
    fn put_assets(&self, tenant_id: &str, assets: &[AssetRecord]) -> Result<usize> {
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO assets ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?;
            for a in assets {
                stmt.execute(params![
                    tenant_id,
                    a.serial,
                    a.model,
                    a.site_address,
                    a.site_lat,
                    a.site_lon,
                    a.warranty_until,
                    a.owner_name,
                    a.owner_phone,
                    a.owner_email,
                    a.updated_at
                ])?;
            }
            Ok(assets.len())
        })
    }

    fn asset(&self, tenant_id: &str, serial: &str) -> Result<Option<AssetRecord>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM assets WHERE tenant_id = ?1 AND serial = ?2"
                ))?
                .query_row(params![tenant_id, serial], asset_of)
                .optional()?)
        })
    }

    fn list_assets(
        &self,
        tenant_id: &str,
        text: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AssetRecord>> {
        let mut clauses = vec!["tenant_id = ?".to_owned()];
        let mut args = vec![Sql::Text(tenant_id.to_owned())];
        if let Some(after) = after {
            clauses.push("serial > ?".to_owned());
            args.push(Sql::Text(after.to_owned()));
        }
        if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
            clauses.push(
                "(serial LIKE ?1x ESCAPE '\\' OR model LIKE ?1x ESCAPE '\\' \
                 OR site_address LIKE ?1x ESCAPE '\\' OR owner_name LIKE ?1x ESCAPE '\\')"
                    .replace("?1x", "?"),
            );
            for _ in 0..4 {
                args.push(Sql::Text(assets::like_contains(text)));
            }
        }
        args.push(Sql::Integer(assets::asset_limit(limit)));
        let sql = format!(
            "SELECT {COLUMNS} FROM assets WHERE {} ORDER BY serial LIMIT ?",
            clauses.join(" AND ")
        );
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), asset_of)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
