//! The asset register on PostgreSQL: `assets` (`sql/0004_channels.sql`).
//!
//! Text search keeps SQLite's `LIKE`: case-insensitive for ASCII letters only, whatever the
//! database's locale, with `%`, `_` and `\` in the searched text taken literally.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::db::Param;
use super::{PgStore, require_tenant};
use crate::storage::{AssetRecord, Assets, Result, assets};

/// Most assets stored by one statement.
const CHUNK: usize = 500;

const COLUMNS: &str = "tenant_id, serial, model, site_address, site_lat, site_lon, \
     warranty_until, owner_name, owner_phone, owner_email, updated_at";

fn asset_of(r: &Row) -> Result<AssetRecord> {
    Ok(AssetRecord {
        tenant_id: r.try_get(0)?,
        serial: r.try_get(1)?,
        model: r.try_get(2)?,
        site_address: r.try_get(3)?,
        site_lat: r.try_get(4)?,
        site_lon: r.try_get(5)?,
        warranty_until: r.try_get(6)?,
        owner_name: r.try_get(7)?,
        owner_phone: r.try_get(8)?,
        owner_email: r.try_get(9)?,
        updated_at: r.try_get(10)?,
    })
}

/// SQL for `expr` with its ASCII capitals made small and nothing else changed: with a pattern
/// made small by [`str::to_ascii_lowercase`], `LIKE` matches as SQLite's does.
pub(super) fn ascii_lower(expr: &str) -> String {
    format!("translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// `text` as a LIKE pattern matching it anywhere (ASCII made small), its wildcards escaped.
fn contains(text: &str) -> String {
    assets::like_contains(&text.to_ascii_lowercase())
}

/// The assets to store: of several with one serial, the last (as storing them in turn would
/// leave), in the order given otherwise.
fn last_per_serial(assets: &[AssetRecord]) -> Vec<&AssetRecord> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(assets.len());
    for (i, a) in assets.iter().enumerate() {
        last.insert(a.serial.as_str(), i);
    }
    assets
        .iter()
        .enumerate()
        .filter(|(i, a)| last.get(a.serial.as_str()) == Some(i))
        .map(|(_, a)| a)
        .collect()
}

impl Assets for PgStore {
    /// Stores the assets a chunk per statement (`unnest` of one array per column), each
    /// replacing the tenant's asset of its serial.
    fn put_assets(&self, tenant_id: &str, assets: &[AssetRecord]) -> Result<usize> {
        let unique = last_per_serial(assets);
        self.write(|db| {
            require_tenant(db, tenant_id)?;
            for chunk in unique.chunks(CHUNK) {
                let serial: Vec<&str> = chunk.iter().map(|a| a.serial.as_str()).collect();
                let model: Vec<Option<&str>> = chunk.iter().map(|a| a.model.as_deref()).collect();
                let site: Vec<Option<&str>> =
                    chunk.iter().map(|a| a.site_address.as_deref()).collect();
                let lat: Vec<Option<f64>> = chunk.iter().map(|a| a.site_lat).collect();
                let lon: Vec<Option<f64>> = chunk.iter().map(|a| a.site_lon).collect();
                let warranty: Vec<Option<&str>> =
                    chunk.iter().map(|a| a.warranty_until.as_deref()).collect();
                let name: Vec<Option<&str>> =
                    chunk.iter().map(|a| a.owner_name.as_deref()).collect();
                let phone: Vec<Option<&str>> =
                    chunk.iter().map(|a| a.owner_phone.as_deref()).collect();
                let email: Vec<Option<&str>> =
                    chunk.iter().map(|a| a.owner_email.as_deref()).collect();
                let updated: Vec<i64> = chunk.iter().map(|a| a.updated_at).collect();
                db.execute(
                    &format!(
                        "INSERT INTO assets ({COLUMNS})
                         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[],
                             $5::float8[], $6::float8[], $7::text[], $8::text[], $9::text[],
                             $10::text[], $11::int8[])
                         ON CONFLICT (tenant_id, serial) DO UPDATE SET
                             model = excluded.model, site_address = excluded.site_address,
                             site_lat = excluded.site_lat, site_lon = excluded.site_lon,
                             warranty_until = excluded.warranty_until,
                             owner_name = excluded.owner_name, owner_phone = excluded.owner_phone,
                             owner_email = excluded.owner_email, updated_at = excluded.updated_at"
                    ),
                    &[
                        &tenant_id, &serial, &model, &site, &lat, &lon, &warranty, &name, &phone,
                        &email, &updated,
                    ],
                )?;
            }
            Ok(assets.len())
        })
    }

    fn asset(&self, tenant_id: &str, serial: &str) -> Result<Option<AssetRecord>> {
        self.with_reader(|db| {
            db.query_opt(
                &format!("SELECT {COLUMNS} FROM assets WHERE tenant_id = $1 AND serial = $2"),
                &[&tenant_id, &serial],
            )?
            .as_ref()
            .map(asset_of)
            .transpose()
        })
    }

    fn list_assets(
        &self,
        tenant_id: &str,
        text: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AssetRecord>> {
        let text = text.map(str::trim).filter(|t| !t.is_empty()).map(contains);
        let limit = assets::asset_limit(limit);
        let mut clauses = vec!["tenant_id = $1".to_owned()];
        let mut args: Vec<Param<'_>> = vec![&tenant_id];
        if let Some(after) = &after {
            args.push(after);
            clauses.push(format!("serial > ${}", args.len()));
        }
        if let Some(text) = &text {
            args.push(text);
            let n = args.len();
            let like = ["serial", "model", "site_address", "owner_name"]
                .map(|column| format!("{} LIKE ${n} ESCAPE '\\'", ascii_lower(column)))
                .join(" OR ");
            clauses.push(format!("({like})"));
        }
        args.push(&limit);
        let sql = format!(
            "SELECT {COLUMNS} FROM assets WHERE {} ORDER BY serial LIMIT ${}",
            clauses.join(" AND "),
            args.len()
        );
        self.with_reader(|db| db.query(&sql, &args)?.iter().map(asset_of).collect())
    }
}
