//! The audit log on PostgreSQL: the `changes` table joined to how each change came in (the
//! device, intake channel, browser session or rating link that has its actor) and its ticket's
//! number.

use tokio_postgres::types::ToSql;

use super::PgStore;
use crate::storage::{AuditChange, AuditLog, AuditQuery, Result, audit};

impl AuditLog for PgStore {
    fn audit_changes(&self, q: &AuditQuery) -> Result<Vec<AuditChange>> {
        let before = q.before_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        let limit = audit::audit_limit(q.limit);
        let mut clauses = vec!["c.tenant_id = $1".to_owned()];
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.tenant_id];
        let filters: [(&str, Option<&(dyn ToSql + Sync)>); 5] = [
            ("c.ticket_id =", q.ticket_id.as_ref().map(|v| v as _)),
            ("c.author_id =", q.author_id.as_ref().map(|v| v as _)),
            ("c.received_at >=", q.from.as_ref().map(|v| v as _)),
            ("c.received_at <", q.to.as_ref().map(|v| v as _)),
            ("c.seq <", before.as_ref().map(|v| v as _)),
        ];
        for (clause, value) in filters {
            if let Some(value) = value {
                params.push(value);
                clauses.push(format!("{clause} ${}", params.len()));
            }
        }
        params.push(&limit);
        let sql = format!(
            "SELECT c.seq, c.ticket_id, t.number, c.part, c.hash, c.author_id, c.received_at,
                    c.effective_at, c.bytes, c.actor_id, d.id, d.name,
                    EXISTS (SELECT 1 FROM web_sessions w WHERE w.actor_id = c.actor_id),
                    EXISTS (SELECT 1 FROM csat_links l WHERE l.actor_id = c.actor_id),
                    ch.id, ch.name
             FROM changes c
             LEFT JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
             LEFT JOIN devices d ON d.actor_id = c.actor_id AND d.tenant_id = c.tenant_id
             LEFT JOIN channels ch ON ch.actor_id = c.actor_id AND ch.tenant_id = c.tenant_id
             WHERE {} ORDER BY c.seq DESC LIMIT ${}",
            clauses.join(" AND "),
            params.len()
        );
        let server_actor = self.server_actor.to_hex_string();
        self.with_reader(|db| {
            db.query(&sql, &params)?
                .iter()
                .map(|r| {
                    let actor: String = r.try_get(9)?;
                    let device = (r.try_get(10)?, r.try_get(11)?);
                    let session: bool = r.try_get(12)?;
                    let link: bool = r.try_get(13)?;
                    let channel = (r.try_get(14)?, r.try_get(15)?);
                    let via = audit::via_of(device, channel, session, link, actor == server_actor);
                    let seq: i64 = r.try_get(0)?;
                    Ok(AuditChange {
                        seq: u64::try_from(seq).unwrap_or(0),
                        ticket_id: r.try_get(1)?,
                        number: r.try_get(2)?,
                        part: r.try_get(3)?,
                        hash: r.try_get(4)?,
                        author_id: r.try_get(5)?,
                        via,
                        received_at: r.try_get(6)?,
                        effective_at: r.try_get(7)?,
                        bytes: r.try_get(8)?,
                    })
                })
                .collect()
        })
    }
}
