//! Browser sessions in SQLite (`web_sessions`), and the user switches that end them.

use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::accounts::{USER_COLUMNS, user_at};
use crate::storage::web_sessions::{PASSWORD_CHANGED, switch_event};
use crate::storage::{AccountEvent, Missing, Result, UserRecord, WebSession, WebSessions};

const SESSION_COLUMNS: &str = "s.token_hash, s.tenant_id, s.user_id, s.csrf_hash, s.actor_id, s.created_at, s.expires_at, s.ends_at";

/// Fails with [`Missing::User`] unless the tenant has this user.
fn require_user(tx: &Transaction, tenant_id: &str, user_id: &str) -> Result<()> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2")?
        .query_row([user_id, tenant_id], |r| r.get(0))
        .optional()?;
    found.map(drop).ok_or_else(|| Missing::User.into())
}

impl WebSessions for SqliteStore {
    fn create_web_session(&self, s: &WebSession) -> Result<()> {
        self.write(|tx| {
            let enabled: Option<i64> = tx
                .prepare_cached(
                    "SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND disabled_at IS NULL",
                )?
                .query_row([&s.user_id, &s.tenant_id], |r| r.get(0))
                .optional()?;
            if enabled.is_none() {
                return Err(Missing::User.into());
            }
            tx.prepare_cached(
                "INSERT INTO web_sessions (token_hash, tenant_id, user_id, csrf_hash, actor_id,
                                           created_at, expires_at, ends_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                s.token_hash,
                s.tenant_id,
                s.user_id,
                s.csrf_hash,
                s.actor_id,
                s.created_at,
                s.expires_at,
                s.ends_at
            ])?;
            Ok(())
        })
    }

    fn web_session(&self, token_hash: &str, now: i64) -> Result<Option<(WebSession, UserRecord)>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {SESSION_COLUMNS}, {USER_COLUMNS}
                 FROM web_sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL
                   AND s.expires_at > ?2 AND s.ends_at > ?2 AND u.disabled_at IS NULL"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row(params![token_hash, now], |r| {
                    let session = WebSession {
                        token_hash: r.get(0)?,
                        tenant_id: r.get(1)?,
                        user_id: r.get(2)?,
                        csrf_hash: r.get(3)?,
                        actor_id: r.get(4)?,
                        created_at: r.get(5)?,
                        expires_at: r.get(6)?,
                        ends_at: r.get(7)?,
                    };
                    Ok((session, user_at(r, 8)?))
                })
                .optional()?;
            row.map(|(session, user)| Ok((session, user?))).transpose()
        })
    }

    fn touch_web_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE web_sessions SET expires_at = MIN(?2, ends_at)
                 WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at < ?2",
            )?
            .execute(params![token_hash, expires_at])?;
            Ok(())
        })
    }

    fn revoke_web_session(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|tx| {
            let revoked = tx
                .prepare_cached(
                    "UPDATE web_sessions SET revoked_at = ?2
                     WHERE token_hash = ?1 AND revoked_at IS NULL",
                )?
                .execute(params![token_hash, at])?;
            Ok(revoked == 1)
        })
    }

    fn set_password(
        &self,
        tenant_id: &str,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        by: &str,
        at: i64,
    ) -> Result<()> {
        self.write(|tx| {
            require_user(tx, tenant_id, user_id)?;
            log_event(tx, tenant_id, user_id, PASSWORD_CHANGED, by, at)?;
            tx.prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![user_id, password_hash])?;
            tx.prepare_cached(
                "UPDATE web_sessions SET revoked_at = ?2
                 WHERE user_id = ?1 AND revoked_at IS NULL AND token_hash IS NOT ?3",
            )?
            .execute(params![user_id, at, keep])?;
            Ok(())
        })
    }

    fn set_disabled(
        &self,
        tenant_id: &str,
        user_id: &str,
        disabled: bool,
        by: &str,
        at: i64,
    ) -> Result<()> {
        self.write(|tx| {
            require_user(tx, tenant_id, user_id)?;
            let kind = switch_event(disabled);
            log_event(tx, tenant_id, user_id, kind, by, at)?;
            if !disabled {
                tx.prepare_cached("UPDATE users SET disabled_at = NULL WHERE id = ?1")?
                    .execute([user_id])?;
                return Ok(());
            }
            tx.prepare_cached(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
            )?
            .execute(params![user_id, at])?;
            tx.prepare_cached(
                "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![user_id, at])?;
            tx.prepare_cached(
                "UPDATE web_sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![user_id, at])?;
            Ok(())
        })
    }

    fn account_events(&self, tenant_id: &str, limit: usize) -> Result<Vec<AccountEvent>> {
        self.with_reader(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT user_id, kind, done_by, at FROM account_events
                     WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(
                    params![tenant_id, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| {
                        Ok(AccountEvent {
                            user_id: r.get(0)?,
                            kind: r.get(1)?,
                            by: r.get(2)?,
                            at: r.get(3)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

/// Records what was done to an account, in the same transaction as doing it.
fn log_event(
    tx: &Transaction,
    tenant_id: &str,
    user_id: &str,
    kind: &str,
    by: &str,
    at: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO account_events (tenant_id, user_id, kind, done_by, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![tenant_id, user_id, kind, by, at])?;
    Ok(())
}
