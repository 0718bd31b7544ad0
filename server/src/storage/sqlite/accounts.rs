//! Accounts in SQLite: `tenants`, `users` (with their password hashes), `tokens` (hashes only)
//! and, in `devices.rs`, the devices under their cap.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{SqliteStore, devices, is_constraint, require_tenant};
use crate::storage::{
    Accounts, Conflict, DeviceInfo, DeviceRecord, Result, StorageError, TenantRecord, TokenHolder,
    TokenRecord, UserRecord, accounts,
};

pub(super) const USER_COLUMNS: &str =
    "u.id, u.tenant_id, u.name, u.role, u.team, u.skills, u.disabled_at IS NOT NULL";

/// Reads the seven [`USER_COLUMNS`] starting at `at`; a role this build does not know is damage.
pub(super) fn user_at(row: &Row, at: usize) -> rusqlite::Result<Result<UserRecord>> {
    let role: String = row.get(at + 3)?;
    let role = match accounts::role_of(&role) {
        Ok(role) => role,
        Err(e) => return Ok(Err(e)),
    };
    let skills: String = row.get(at + 5)?;
    Ok(Ok(UserRecord {
        id: row.get(at)?,
        tenant_id: row.get(at + 1)?,
        name: row.get(at + 2)?,
        role,
        team: row.get(at + 4)?,
        skills: accounts::skills_of(&skills),
        disabled: row.get(at + 6)?,
    }))
}

impl Accounts for SqliteStore {
    fn create_tenant(&self, tenant: &TenantRecord, at: i64) -> Result<()> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![tenant.id, tenant.name, at],
            );
            match inserted {
                Err(e) if is_constraint(&e) => {
                    Err(Conflict::Exists("a tenant with this name").into())
                }
                other => Ok(other.map(drop)?),
            }
        })
    }

    fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRecord>> {
        self.with_reader(|conn| {
            for sql in [
                "SELECT id, name FROM tenants WHERE id = ?1",
                "SELECT id, name FROM tenants WHERE name = ?1",
            ] {
                let found = conn
                    .prepare_cached(sql)?
                    .query_row([id_or_name], |r| {
                        Ok(TenantRecord {
                            id: r.get(0)?,
                            name: r.get(1)?,
                        })
                    })
                    .optional()?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        })
    }

    fn create_user(
        &self,
        user: &UserRecord,
        password_hash: Option<&str>,
        token: Option<&TokenRecord>,
        at: i64,
    ) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &user.tenant_id)?;
            let inserted = tx.execute(
                "INSERT INTO users (id, tenant_id, name, role, team, skills, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    user.id,
                    user.tenant_id,
                    user.name,
                    user.role.as_str(),
                    user.team,
                    accounts::skills_text(&user.skills),
                    password_hash,
                    at
                ],
            );
            match inserted {
                Err(e) if is_constraint(&e) => {
                    return Err(Conflict::Exists("a user with this name in the tenant").into());
                }
                other => other?,
            };
            if let Some(token) = token {
                insert_token(tx, token)?;
            }
            Ok(())
        })
    }

    fn user_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                 WHERE u.tenant_id = ?1 AND u.name = ?2"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([tenant_id, name], |r| Ok((user_at(r, 0)?, r.get(7)?)))
                .optional()?;
            row.map(|(user, hash)| Ok((user?, hash))).transpose()
        })
    }

    fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = ?1 ORDER BY u.name"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([tenant_id], |r| user_at(r, 0))?;
            rows.map(|row| row?).collect()
        })
    }

    fn users_by_ids(&self, tenant_id: &str, ids: &[String]) -> Result<Vec<UserRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement whatever the number of ids (no bound-parameter limit to page around).
        let ids = serde_json::to_string(ids)
            .map_err(|_| StorageError::backend("user ids could not be encoded"))?;
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u
                 WHERE u.tenant_id = ?1 AND u.id IN (SELECT value FROM json_each(?2))
                 ORDER BY u.id"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![tenant_id, ids], |r| user_at(r, 0))?;
            rows.map(|row| row?).collect()
        })
    }

    fn register_device(
        &self,
        device: &DeviceRecord,
        token: &TokenRecord,
        devices_per_user: u32,
    ) -> Result<DeviceRecord> {
        self.write(|tx| devices::register_device(tx, device, token, devices_per_user))
    }

    fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>> {
        self.with_reader(|conn| devices::list_devices(conn, user_id))
    }

    fn remove_device(&self, device_id: &str, at: i64) -> Result<DeviceInfo> {
        self.write(|tx| devices::remove_device(tx, device_id, at))
    }

    fn session(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT t.kind, {USER_COLUMNS}, d.id, d.actor_id, d.name
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 LEFT JOIN devices d ON d.id = t.device_id
                 WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([token_hash], |r| {
                    let kind: String = r.get(0)?;
                    let device_id: Option<String> = r.get(8)?;
                    Ok((kind, user_at(r, 1)?, device_id, r.get(9)?, r.get(10)?))
                })
                .optional()?;
            let Some((kind, user, device_id, actor_id, name)) = row else {
                return Ok(None);
            };
            let user = user?;
            let kind = accounts::token_kind_of(&kind)?;
            let device = accounts::token_device(&user, device_id, actor_id, name);
            Ok(Some(TokenHolder {
                token_hash: token_hash.to_owned(),
                kind,
                user,
                device,
            }))
        })
    }

    fn revoke_token(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|tx| {
            let revoked = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                params![token_hash, at],
            )?;
            Ok(revoked == 1)
        })
    }
}

pub(super) fn insert_token(tx: &Transaction, token: &TokenRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO tokens (hash, kind, user_id, device_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token.hash,
            token.kind.as_str(),
            token.user_id,
            token.device_id,
            token.created_at
        ],
    )?;
    Ok(())
}
