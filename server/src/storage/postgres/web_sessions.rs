//! Browser sessions on PostgreSQL (`web_sessions`), and the user switches that end them
//! (`account_events` logs them).
//!
//! The switches lock the user's row, and a new session takes a share lock on it: a session
//! cannot be stored for a user whose disabling is committing at the same time.

use super::accounts::{USER_COLUMNS, user_at};
use super::{Db, PgStore};
use crate::storage::web_sessions::{PASSWORD_CHANGED, switch_event};
use crate::storage::{AccountEvent, Missing, Result, UserRecord, WebSession, WebSessions};

const SESSION_COLUMNS: &str = "s.token_hash, s.tenant_id, s.user_id, s.csrf_hash, s.actor_id, \
     s.created_at, s.expires_at, s.ends_at";

/// Fails with [`Missing::User`] unless the tenant has this user; locks the user's row.
fn require_user(db: &Db, tenant_id: &str, user_id: &str) -> Result<()> {
    let found = db.query_opt(
        "SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE",
        &[&user_id, &tenant_id],
    )?;
    found.map(drop).ok_or_else(|| Missing::User.into())
}

impl WebSessions for PgStore {
    fn create_web_session(&self, s: &WebSession) -> Result<()> {
        self.write(|db| {
            let enabled = db.query_opt(
                "SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2 AND disabled_at IS NULL
                 FOR SHARE",
                &[&s.user_id, &s.tenant_id],
            )?;
            if enabled.is_none() {
                return Err(Missing::User.into());
            }
            db.execute(
                "INSERT INTO web_sessions (token_hash, tenant_id, user_id, csrf_hash, actor_id,
                                           created_at, expires_at, ends_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &s.token_hash,
                    &s.tenant_id,
                    &s.user_id,
                    &s.csrf_hash,
                    &s.actor_id,
                    &s.created_at,
                    &s.expires_at,
                    &s.ends_at,
                ],
            )?;
            Ok(())
        })
    }

    fn web_session(&self, token_hash: &str, now: i64) -> Result<Option<(WebSession, UserRecord)>> {
        self.with_reader(|db| {
            let sql = format!(
                "SELECT {SESSION_COLUMNS}, {USER_COLUMNS}
                 FROM web_sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL
                   AND s.expires_at > $2 AND s.ends_at > $2 AND u.disabled_at IS NULL"
            );
            let Some(r) = db.query_opt(&sql, &[&token_hash, &now])? else {
                return Ok(None);
            };
            let session = WebSession {
                token_hash: r.try_get(0)?,
                tenant_id: r.try_get(1)?,
                user_id: r.try_get(2)?,
                csrf_hash: r.try_get(3)?,
                actor_id: r.try_get(4)?,
                created_at: r.try_get(5)?,
                expires_at: r.try_get(6)?,
                ends_at: r.try_get(7)?,
            };
            Ok(Some((session, user_at(&r, 8)?)))
        })
    }

    fn touch_web_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.write(|db| {
            db.execute(
                "UPDATE web_sessions SET expires_at = LEAST($2, ends_at)
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at < $2",
                &[&token_hash, &expires_at],
            )?;
            Ok(())
        })
    }

    fn revoke_web_session(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|db| {
            let revoked = db.execute(
                "UPDATE web_sessions SET revoked_at = $2
                 WHERE token_hash = $1 AND revoked_at IS NULL",
                &[&token_hash, &at],
            )?;
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
        self.write(|db| {
            require_user(db, tenant_id, user_id)?;
            log_event(db, tenant_id, user_id, PASSWORD_CHANGED, by, at)?;
            db.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &password_hash],
            )?;
            db.execute(
                "UPDATE web_sessions SET revoked_at = $2
                 WHERE user_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $3",
                &[&user_id, &at, &keep],
            )?;
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
        self.write(|db| {
            require_user(db, tenant_id, user_id)?;
            let kind = switch_event(disabled);
            log_event(db, tenant_id, user_id, kind, by, at)?;
            if !disabled {
                db.execute(
                    "UPDATE users SET disabled_at = NULL WHERE id = $1",
                    &[&user_id],
                )?;
                return Ok(());
            }
            db.execute(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                &[&user_id, &at],
            )?;
            db.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                &[&user_id, &at],
            )?;
            db.execute(
                "UPDATE web_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                &[&user_id, &at],
            )?;
            Ok(())
        })
    }

    fn account_events(&self, tenant_id: &str, limit: usize) -> Result<Vec<AccountEvent>> {
        self.with_reader(|db| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            db.query(
                "SELECT user_id, kind, done_by, at FROM account_events
                 WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
                &[&tenant_id, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(AccountEvent {
                    user_id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    by: r.try_get(2)?,
                    at: r.try_get(3)?,
                })
            })
            .collect()
        })
    }
}

/// Records what was done to an account, in the same transaction as doing it.
fn log_event(db: &Db, tenant_id: &str, user_id: &str, kind: &str, by: &str, at: i64) -> Result<()> {
    db.execute(
        "INSERT INTO account_events (tenant_id, user_id, kind, done_by, at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&tenant_id, &user_id, &kind, &by, &at],
    )?;
    Ok(())
}
