//! Rating links on PostgreSQL: `csat_links`, keyed by the token's hash.

use tokio_postgres::Row;

use super::PgStore;
use super::accounts::lock_tenant;
use crate::storage::{CsatLink, CsatLinks, Result};

fn link_of(r: &Row) -> Result<CsatLink> {
    Ok(CsatLink {
        token_hash: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        ticket_id: r.try_get(2)?,
        reporter_id: r.try_get(3)?,
        actor_id: r.try_get(4)?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        used_at: r.try_get(8)?,
    })
}

impl CsatLinks for PgStore {
    /// Holds the tenant's row while it ends the ticket's unused links and stores the new one:
    /// of two links made for a ticket at once, the later ends the earlier, as on SQLite.
    fn create_csat_link(&self, link: &CsatLink) -> Result<()> {
        self.write(|db| {
            lock_tenant(db, &link.tenant_id)?;
            db.execute(
                "UPDATE csat_links SET expires_at = LEAST(expires_at, $3)
                 WHERE tenant_id = $1 AND ticket_id = $2 AND used_at IS NULL",
                &[&link.tenant_id, &link.ticket_id, &link.created_at],
            )?;
            db.execute(
                "INSERT INTO csat_links (token_hash, tenant_id, ticket_id, reporter_id, actor_id,
                     created_by, created_at, expires_at, used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &link.token_hash,
                    &link.tenant_id,
                    &link.ticket_id,
                    &link.reporter_id,
                    &link.actor_id,
                    &link.created_by,
                    &link.created_at,
                    &link.expires_at,
                    &link.used_at,
                ],
            )?;
            Ok(())
        })
    }

    fn csat_link(&self, token_hash: &str) -> Result<Option<CsatLink>> {
        self.with_reader(|db| {
            db.query_opt(
                "SELECT token_hash, tenant_id, ticket_id, reporter_id, actor_id, created_by,
                        created_at, expires_at, used_at
                 FROM csat_links WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| link_of(&r))
            .transpose()
        })
    }

    /// One conditional update: of two callers racing, the second waits for the first's row lock
    /// and then finds the link used.
    fn use_csat_link(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|db| {
            let used = db.execute(
                "UPDATE csat_links SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                &[&token_hash, &at],
            )?;
            Ok(used == 1)
        })
    }

    fn release_csat_link(&self, token_hash: &str) -> Result<()> {
        self.write(|db| {
            db.execute(
                "UPDATE csat_links SET used_at = NULL WHERE token_hash = $1",
                &[&token_hash],
            )?;
            Ok(())
        })
    }
}
