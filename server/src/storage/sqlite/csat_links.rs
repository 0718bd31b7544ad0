//! Rating links in SQLite: `csat_links`, keyed by the token's hash.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, require_tenant};
use crate::storage::{CsatLink, CsatLinks, Result};

impl CsatLinks for SqliteStore {
    fn create_csat_link(&self, link: &CsatLink) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &link.tenant_id)?;
            tx.prepare_cached(
                "UPDATE csat_links SET expires_at = MIN(expires_at, ?3)
                 WHERE tenant_id = ?1 AND ticket_id = ?2 AND used_at IS NULL",
            )?
            .execute(params![link.tenant_id, link.ticket_id, link.created_at])?;
            tx.prepare_cached(
                "INSERT INTO csat_links (token_hash, tenant_id, ticket_id, reporter_id, actor_id,
                     created_by, created_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                link.token_hash,
                link.tenant_id,
                link.ticket_id,
                link.reporter_id,
                link.actor_id,
                link.created_by,
                link.created_at,
                link.expires_at,
                link.used_at
            ])?;
            Ok(())
        })
    }

    fn csat_link(&self, token_hash: &str) -> Result<Option<CsatLink>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT tenant_id, ticket_id, reporter_id, actor_id, created_by, created_at,
                            expires_at, used_at
                     FROM csat_links WHERE token_hash = ?1",
                )?
                .query_row([token_hash], |r| {
                    Ok(CsatLink {
                        token_hash: token_hash.to_owned(),
                        tenant_id: r.get(0)?,
                        ticket_id: r.get(1)?,
                        reporter_id: r.get(2)?,
                        actor_id: r.get(3)?,
                        created_by: r.get(4)?,
                        created_at: r.get(5)?,
                        expires_at: r.get(6)?,
                        used_at: r.get(7)?,
                    })
                })
                .optional()?)
        })
    }

    fn use_csat_link(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|tx| {
            let used = tx
                .prepare_cached(
                    "UPDATE csat_links SET used_at = ?2
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                )?
                .execute(params![token_hash, at])?;
            Ok(used == 1)
        })
    }

    fn release_csat_link(&self, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE csat_links SET used_at = NULL WHERE token_hash = ?1")?
                .execute([token_hash])?;
            Ok(())
        })
    }
}
