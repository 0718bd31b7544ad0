//! Devices: registration under the per-user device cap, and an admin's listing and removal.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::accounts::insert_token;
use super::{quotas, seq_of};
use crate::storage::{Conflict, DeviceInfo, DeviceRecord, Missing, Result, TokenRecord, accounts};

pub(super) fn register_device(
    tx: &Transaction,
    device: &DeviceRecord,
    token: &TokenRecord,
    devices_per_user: u32,
) -> Result<DeviceRecord> {
    let existing: Option<(String, String, Option<i64>)> = tx
        .prepare_cached("SELECT id, user_id, removed_at FROM devices WHERE actor_id = ?1")?
        .query_row([&device.actor_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if accounts::registration_adds_device(existing.as_ref().map(|e| e.2)) {
        let cap = quotas::tenant_quotas(tx, &device.tenant_id)?.devices_per_user;
        let counted: i64 = tx
            .prepare_cached(
                "SELECT COUNT(*) FROM devices WHERE user_id = ?1 AND removed_at IS NULL",
            )?
            .query_row([&device.user_id], |r| r.get(0))?;
        accounts::check_device_cap(counted, cap, devices_per_user)?;
    }
    let device = match existing {
        Some((_, user_id, _)) if user_id != device.user_id => {
            return Err(Conflict::ActorTaken.into());
        }
        Some((id, _, _)) => {
            tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
                params![id, token.created_at],
            )?;
            tx.execute(
                "UPDATE devices SET name = ?2, removed_at = NULL WHERE id = ?1",
                params![id, device.name],
            )?;
            DeviceRecord {
                id,
                ..device.clone()
            }
        }
        None => {
            tx.execute(
                "INSERT INTO devices (id, user_id, tenant_id, actor_id, name, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    device.id,
                    device.user_id,
                    device.tenant_id,
                    device.actor_id,
                    device.name,
                    token.created_at
                ],
            )?;
            device.clone()
        }
    };
    insert_token(tx, &accounts::registered_token(token, &device.id))?;
    Ok(device)
}

const DEVICE_COLUMNS: &str = "d.id, d.name, d.actor_id, d.created_at, d.removed_at,
    (SELECT COUNT(*) FROM tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL)";

fn device_at(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        actor_id: r.get(2)?,
        created_at: r.get(3)?,
        removed_at: r.get(4)?,
        live_tokens: seq_of(r.get(5)?),
    })
}

pub(super) fn list_devices(conn: &Connection, user_id: &str) -> Result<Vec<DeviceInfo>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.user_id = ?1 ORDER BY d.created_at, d.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], device_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn remove_device(tx: &Transaction, device_id: &str, at: i64) -> Result<DeviceInfo> {
    tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        params![device_id, at],
    )?;
    tx.execute(
        "UPDATE devices SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
        params![device_id, at],
    )?;
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = ?1");
    tx.prepare_cached(&sql)?
        .query_row([device_id], device_at)
        .optional()?
        .ok_or(Missing::Device.into())
}
