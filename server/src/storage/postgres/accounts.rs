//! Accounts on PostgreSQL: `tenants`, `users` (with their password hashes), `tokens` (hashes
//! only) and, in `devices.rs`, the devices under their cap.

use tokio_postgres::Row;

use super::{Db, PgStore, devices, require_tenant};
use crate::storage::{
    Accounts, Conflict, DeviceInfo, DeviceRecord, Missing, Result, TenantRecord, TokenHolder,
    TokenRecord, UserRecord, accounts,
};

/// The seven columns [`user_at`] reads, from `users u`.
pub(super) const USER_COLUMNS: &str =
    "u.id, u.tenant_id, u.name, u.role, u.team, u.skills, u.disabled_at IS NOT NULL";

/// Reads the seven [`USER_COLUMNS`] starting at `at`; a role this build does not know is damage.
pub(super) fn user_at(row: &Row, at: usize) -> Result<UserRecord> {
    let role: String = row.try_get(at + 3)?;
    let role = accounts::role_of(&role)?;
    let skills: String = row.try_get(at + 5)?;
    Ok(UserRecord {
        id: row.try_get(at)?,
        tenant_id: row.try_get(at + 1)?,
        name: row.try_get(at + 2)?,
        role,
        team: row.try_get(at + 4)?,
        skills: accounts::skills_of(&skills),
        disabled: row.try_get(at + 6)?,
    })
}

impl Accounts for PgStore {
    fn create_tenant(&self, tenant: &TenantRecord, at: i64) -> Result<()> {
        self.write(|db| {
            // Either key taken (id or name) is the same answer, as on SQLite.
            let inserted = db.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&tenant.id, &tenant.name, &at],
            )?;
            if inserted == 0 {
                return Err(Conflict::Exists("a tenant with this name").into());
            }
            Ok(())
        })
    }

    fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRecord>> {
        self.with_reader(|db| {
            for sql in [
                "SELECT id, name FROM tenants WHERE id = $1",
                "SELECT id, name FROM tenants WHERE name = $1",
            ] {
                if let Some(row) = db.query_opt(sql, &[&id_or_name])? {
                    return Ok(Some(TenantRecord {
                        id: row.try_get(0)?,
                        name: row.try_get(1)?,
                    }));
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
        self.write(|db| {
            require_tenant(db, &user.tenant_id)?;
            let inserted = db.execute(
                "INSERT INTO users (id, tenant_id, name, role, team, skills, password_hash,
                     created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
                &[
                    &user.id,
                    &user.tenant_id,
                    &user.name,
                    &user.role.as_str(),
                    &user.team,
                    &accounts::skills_text(&user.skills),
                    &password_hash,
                    &at,
                ],
            )?;
            if inserted == 0 {
                return Err(Conflict::Exists("a user with this name in the tenant").into());
            }
            if let Some(token) = token {
                insert_token(db, token)?;
            }
            Ok(())
        })
    }

    fn user_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>> {
        self.with_reader(|db| {
            let sql = format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                 WHERE u.tenant_id = $1 AND u.name = $2"
            );
            db.query_opt(&sql, &[&tenant_id, &name])?
                .map(|row| Ok((user_at(&row, 0)?, row.try_get(7)?)))
                .transpose()
        })
    }

    fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>> {
        self.with_reader(|db| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 ORDER BY u.name"
            );
            db.query(&sql, &[&tenant_id])?
                .iter()
                .map(|row| user_at(row, 0))
                .collect()
        })
    }

    fn users_by_ids(&self, tenant_id: &str, ids: &[String]) -> Result<Vec<UserRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.with_reader(|db| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u
                 WHERE u.tenant_id = $1 AND u.id = ANY($2)
                 ORDER BY u.id"
            );
            db.query(&sql, &[&tenant_id, &ids])?
                .iter()
                .map(|row| user_at(row, 0))
                .collect()
        })
    }

    fn register_device(
        &self,
        device: &DeviceRecord,
        token: &TokenRecord,
        devices_per_user: u32,
    ) -> Result<DeviceRecord> {
        self.write(|db| devices::register_device(db, device, token, devices_per_user))
    }

    fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>> {
        self.with_reader(|db| devices::list_devices(db, user_id))
    }

    fn remove_device(&self, device_id: &str, at: i64) -> Result<DeviceInfo> {
        self.write(|db| devices::remove_device(db, device_id, at))
    }

    fn session(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.with_reader(|db| {
            let sql = format!(
                "SELECT t.kind, {USER_COLUMNS}, d.id, d.actor_id, d.name
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 LEFT JOIN devices d ON d.id = t.device_id
                 WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
            );
            let Some(row) = db.query_opt(&sql, &[&token_hash])? else {
                return Ok(None);
            };
            let kind: String = row.try_get(0)?;
            let user = user_at(&row, 1)?;
            let kind = accounts::token_kind_of(&kind)?;
            let device_id: Option<String> = row.try_get(8)?;
            let actor_id: Option<String> = row.try_get(9)?;
            let name: Option<String> = row.try_get(10)?;
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
        self.write(|db| {
            let revoked = db.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                &[&token_hash, &at],
            )?;
            Ok(revoked == 1)
        })
    }
}

/// Fails with [`Missing::Tenant`] unless the tenant exists, and locks its row until the caller's
/// transaction ends (`FOR NO KEY UPDATE`: rows referring to the tenant may still be written).
/// For check-then-write work over a tenant's rows that other replicas may do at the same time.
pub(super) fn lock_tenant(db: &Db, tenant_id: &str) -> Result<()> {
    match db.query_opt(
        "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
        &[&tenant_id],
    )? {
        Some(_) => Ok(()),
        None => Err(Missing::Tenant.into()),
    }
}

/// Locks the user's row until the caller's transaction ends, as [`lock_tenant`] does the
/// tenant's; false if there is no such user.
pub(super) fn lock_user(db: &Db, user_id: &str) -> Result<bool> {
    let row = db.query_opt(
        "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE",
        &[&user_id],
    )?;
    Ok(row.is_some())
}

/// Stores a token (its hash) in the caller's transaction.
pub(super) fn insert_token(db: &Db, token: &TokenRecord) -> Result<()> {
    db.execute(
        "INSERT INTO tokens (hash, kind, user_id, device_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &token.hash,
            &token.kind.as_str(),
            &token.user_id,
            &token.device_id,
            &token.created_at,
        ],
    )?;
    Ok(())
}
