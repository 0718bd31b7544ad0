//! The `positions` rows on PostgreSQL: each technician's last report.

use fieldwork_core::model::Role;

use super::accounts::lock_user;
use super::{Db, PgStore};
use crate::storage::{PositionLog, PositionRecord, PositionWrite, Result, positions};

/// Stores the report unless the stored one is too recent. The user's row is held meanwhile, so
/// two reports arriving at once cannot both pass the throttle.
fn record_position(db: &Db, p: &PositionRecord, min_interval_ms: i64) -> Result<PositionWrite> {
    // An unknown user fails on the insert's reference to users, as on SQLite.
    lock_user(db, &p.user_id)?;
    let last = db.query_opt(
        "SELECT received_at FROM positions WHERE user_id = $1",
        &[&p.user_id],
    )?;
    let last: Option<i64> = last.map(|row| row.try_get(0)).transpose()?;
    if let Some(refused) = positions::too_soon(last, p, min_interval_ms) {
        return Ok(refused);
    }
    db.execute(
        "INSERT INTO positions (user_id, tenant_id, lat, lon, accuracy_m, at, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id) DO UPDATE SET tenant_id = excluded.tenant_id, lat = excluded.lat,
             lon = excluded.lon, accuracy_m = excluded.accuracy_m, at = excluded.at,
             received_at = excluded.received_at",
        &[
            &p.user_id,
            &p.tenant_id,
            &p.lat,
            &p.lon,
            &p.accuracy_m,
            &p.at,
            &p.received_at,
        ],
    )?;
    Ok(PositionWrite::Stored)
}

fn technician_positions(db: &Db, tenant_id: &str) -> Result<Vec<PositionRecord>> {
    db.query(
        "SELECT p.user_id, p.lat, p.lon, p.accuracy_m, p.at, p.received_at
         FROM positions p JOIN users u ON u.id = p.user_id
         WHERE p.tenant_id = $1 AND u.tenant_id = $1 AND u.role = $2
         ORDER BY p.user_id",
        &[&tenant_id, &Role::Technician.as_str()],
    )?
    .iter()
    .map(|r| {
        Ok(PositionRecord {
            tenant_id: tenant_id.to_owned(),
            user_id: r.try_get(0)?,
            lat: r.try_get(1)?,
            lon: r.try_get(2)?,
            accuracy_m: r.try_get(3)?,
            at: r.try_get(4)?,
            received_at: r.try_get(5)?,
        })
    })
    .collect()
}

impl PositionLog for PgStore {
    fn record_position(
        &self,
        position: &PositionRecord,
        min_interval_ms: i64,
    ) -> Result<PositionWrite> {
        self.write(|db| record_position(db, position, min_interval_ms))
    }

    fn technician_positions(&self, tenant_id: &str) -> Result<Vec<PositionRecord>> {
        self.with_reader(|db| technician_positions(db, tenant_id))
    }
}
