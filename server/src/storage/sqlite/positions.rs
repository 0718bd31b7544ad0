//! The `positions` rows: each technician's last report.

use fieldwork_core::model::Role;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::storage::{PositionLog, PositionRecord, PositionWrite, Result, positions};

fn record_position(
    conn: &Connection,
    p: &PositionRecord,
    min_interval_ms: i64,
) -> Result<PositionWrite> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT received_at FROM positions WHERE user_id = ?1")?
        .query_row([&p.user_id], |r| r.get(0))
        .optional()?;
    if let Some(refused) = positions::too_soon(last, p, min_interval_ms) {
        return Ok(refused);
    }
    conn.prepare_cached(
        "INSERT INTO positions (user_id, tenant_id, lat, lon, accuracy_m, at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (user_id) DO UPDATE SET tenant_id = excluded.tenant_id, lat = excluded.lat,
             lon = excluded.lon, accuracy_m = excluded.accuracy_m, at = excluded.at,
             received_at = excluded.received_at",
    )?
    .execute(params![
        p.user_id,
        p.tenant_id,
        p.lat,
        p.lon,
        p.accuracy_m,
        p.at,
        p.received_at
    ])?;
    Ok(PositionWrite::Stored)
}

fn technician_positions(conn: &Connection, tenant_id: &str) -> Result<Vec<PositionRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.user_id, p.lat, p.lon, p.accuracy_m, p.at, p.received_at
         FROM positions p JOIN users u ON u.id = p.user_id
         WHERE p.tenant_id = ?1 AND u.tenant_id = ?1 AND u.role = ?2
         ORDER BY p.user_id",
    )?;
    let rows = stmt.query_map(params![tenant_id, Role::Technician.as_str()], |r| {
        Ok(PositionRecord {
            tenant_id: tenant_id.to_owned(),
            user_id: r.get(0)?,
            lat: r.get(1)?,
            lon: r.get(2)?,
            accuracy_m: r.get(3)?,
            at: r.get(4)?,
            received_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl PositionLog for SqliteStore {
    fn record_position(
        &self,
        position: &PositionRecord,
        min_interval_ms: i64,
    ) -> Result<PositionWrite> {
        self.write(|tx| record_position(tx, position, min_interval_ms))
    }

    fn technician_positions(&self, tenant_id: &str) -> Result<Vec<PositionRecord>> {
        self.with_reader(|conn| technician_positions(conn, tenant_id))
    }
}
