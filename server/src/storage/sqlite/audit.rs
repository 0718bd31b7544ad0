//! The audit log in SQLite: the `changes` table joined to how each change came in (the device
//! or browser session that has its actor) and its ticket's number.

use rusqlite::params_from_iter;
use rusqlite::types::Value as Sql;

use super::{SqliteStore, seq_of, sql_seq};
use crate::storage::{AuditChange, AuditLog, AuditQuery, Result, TicketLog, audit};

impl AuditLog for SqliteStore {
    fn audit_changes(&self, q: &AuditQuery) -> Result<Vec<AuditChange>> {
        let mut clauses = vec!["c.tenant_id = ?".to_owned()];
        let mut args = vec![Sql::Text(q.tenant_id.clone())];
        let mut text = |clause: &str, value: &Option<String>| {
            if let Some(v) = value {
                clauses.push(clause.to_owned());
                args.push(Sql::Text(v.clone()));
            }
        };
        text("c.ticket_id = ?", &q.ticket_id);
        text("c.author_id = ?", &q.author_id);
        for (clause, value) in [("c.received_at >= ?", q.from), ("c.received_at < ?", q.to)] {
            if let Some(v) = value {
                clauses.push(clause.to_owned());
                args.push(Sql::Integer(v));
            }
        }
        if let Some(before) = q.before_seq {
            clauses.push("c.seq < ?".to_owned());
            args.push(Sql::Integer(sql_seq(before)));
        }
        args.push(Sql::Integer(audit::audit_limit(q.limit)));
        let server_actor = self.server_actor().to_hex_string();
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
             WHERE {} ORDER BY c.seq DESC LIMIT ?",
            clauses.join(" AND ")
        );
        self.with_reader(|conn| {
            let rows = conn
                .prepare(&sql)?
                .query_map(params_from_iter(args.iter()), |r| {
                    let actor: String = r.get(9)?;
                    let device = (r.get(10)?, r.get(11)?);
                    let session: bool = r.get(12)?;
                    let link: bool = r.get(13)?;
                    let channel = (r.get(14)?, r.get(15)?);
                    let via = audit::via_of(device, channel, session, link, actor == server_actor);
                    Ok(AuditChange {
                        seq: seq_of(r.get(0)?),
                        ticket_id: r.get(1)?,
                        number: r.get(2)?,
                        part: r.get(3)?,
                        hash: r.get(4)?,
                        author_id: r.get(5)?,
                        via,
                        received_at: r.get(6)?,
                        effective_at: r.get(7)?,
                        bytes: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
