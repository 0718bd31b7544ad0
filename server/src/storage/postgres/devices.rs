//! Devices on PostgreSQL: registration under the per-user device cap, and an admin's listing and
//! removal.

use tokio_postgres::Row;

use super::Db;
use super::accounts::{insert_token, lock_user};
use crate::storage::{
    Conflict, DeviceInfo, DeviceRecord, Missing, Result, StorageError, TokenRecord, accounts,
    quotas,
};

/// The tenant's own device cap, if it set one (`tenant_quotas`, written by the quota ledger).
fn tenant_device_cap(db: &Db, tenant_id: &str) -> Result<Option<u32>> {
    let row = db.query_opt(
        "SELECT devices_per_user FROM tenant_quotas WHERE tenant_id = $1",
        &[&tenant_id],
    )?;
    let Some(row) = row else { return Ok(None) };
    Ok(quotas::device_cap_of(row.try_get(0)?))
}

/// Registers `device` with its first `token` (see [`crate::storage::Accounts::register_device`]).
///
/// The user's row is locked first: registrations of one user run one after the other, so the
/// count of their devices cannot change between the check and the write.
pub(super) fn register_device(
    db: &Db,
    device: &DeviceRecord,
    token: &TokenRecord,
    devices_per_user: u32,
) -> Result<DeviceRecord> {
    // An unknown user fails below, on the devices' reference to users, as on SQLite.
    lock_user(db, &device.user_id)?;
    let existing = db
        .query_opt(
            "SELECT id, user_id, removed_at FROM devices WHERE actor_id = $1",
            &[&device.actor_id],
        )?
        .map(|r| {
            Ok::<_, StorageError>((
                r.try_get::<_, String>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, Option<i64>>(2)?,
            ))
        })
        .transpose()?;
    if accounts::registration_adds_device(existing.as_ref().map(|e| e.2)) {
        let cap = tenant_device_cap(db, &device.tenant_id)?;
        let counted: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM devices WHERE user_id = $1 AND removed_at IS NULL",
                &[&device.user_id],
            )?
            .try_get(0)?;
        accounts::check_device_cap(counted, cap, devices_per_user)?;
    }
    let device = match existing {
        Some((_, user_id, _)) if user_id != device.user_id => {
            return Err(Conflict::ActorTaken.into());
        }
        Some((id, _, _)) => {
            db.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                &[&id, &token.created_at],
            )?;
            db.execute(
                "UPDATE devices SET name = $2, removed_at = NULL WHERE id = $1",
                &[&id, &device.name],
            )?;
            DeviceRecord {
                id,
                ..device.clone()
            }
        }
        None => {
            // Another user's registration of this actor may have committed since the look-up
            // (this one holds only its own user's lock): the actor is then theirs.
            let inserted = db.execute(
                "INSERT INTO devices (id, user_id, tenant_id, actor_id, name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (actor_id) DO NOTHING",
                &[
                    &device.id,
                    &device.user_id,
                    &device.tenant_id,
                    &device.actor_id,
                    &device.name,
                    &token.created_at,
                ],
            )?;
            if inserted == 0 {
                return Err(Conflict::ActorTaken.into());
            }
            device.clone()
        }
    };
    insert_token(db, &accounts::registered_token(token, &device.id))?;
    Ok(device)
}

/// The columns [`device_at`] reads, from `devices d`.
const DEVICE_COLUMNS: &str = "d.id, d.name, d.actor_id, d.created_at, d.removed_at,
    (SELECT COUNT(*) FROM tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL)";

fn device_at(r: &Row) -> Result<DeviceInfo> {
    let live: i64 = r.try_get(5)?;
    Ok(DeviceInfo {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        actor_id: r.try_get(2)?,
        created_at: r.try_get(3)?,
        removed_at: r.try_get(4)?,
        live_tokens: u64::try_from(live).unwrap_or(0),
    })
}

/// The devices of a user, removed ones included, oldest first.
pub(super) fn list_devices(db: &Db, user_id: &str) -> Result<Vec<DeviceInfo>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.user_id = $1 ORDER BY d.created_at, d.id"
    );
    db.query(&sql, &[&user_id])?.iter().map(device_at).collect()
}

/// Revokes a device's tokens and marks it removed; [`Missing::Device`] if there is none.
pub(super) fn remove_device(db: &Db, device_id: &str, at: i64) -> Result<DeviceInfo> {
    db.execute(
        "UPDATE tokens SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
        &[&device_id, &at],
    )?;
    db.execute(
        "UPDATE devices SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL",
        &[&device_id, &at],
    )?;
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = $1");
    match db.query_opt(&sql, &[&device_id])? {
        Some(row) => device_at(&row),
        None => Err(Missing::Device.into()),
    }
}
