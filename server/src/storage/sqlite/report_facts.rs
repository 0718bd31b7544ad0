//! Report facts in SQLite: `ticket_facts`, one row per ticket, the facts as JSON beside the two
//! columns a period is found by; `report_progress`, one row per tenant; stale tickets found by
//! `tickets_by_last_seq` among those changed since the progress.

use fieldwork_brain::report::TicketFacts;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, require_tenant, seq_of, sql_seq};
use crate::storage::{FreshFacts, ReportFacts, Result, StaleFacts, report_facts};

impl ReportFacts for SqliteStore {
    fn tenants_behind(&self) -> Result<Vec<String>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t.id FROM tenants t
                 LEFT JOIN report_progress p ON p.tenant_id = t.id
                 WHERE t.last_seq > COALESCE(p.seq, 0)",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn facts_progress(&self, tenant_id: &str) -> Result<u64> {
        self.with_reader(|conn| {
            let seq: Option<i64> = conn
                .prepare_cached("SELECT seq FROM report_progress WHERE tenant_id = ?1")?
                .query_row([tenant_id], |r| r.get(0))
                .optional()?;
            Ok(seq.map_or(0, seq_of))
        })
    }

    fn stale_facts(
        &self,
        tenant_id: &str,
        after_seq: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<StaleFacts>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t.id, t.last_seq FROM tickets t
                 LEFT JOIN ticket_facts f ON f.tenant_id = t.tenant_id AND f.ticket_id = t.id
                 WHERE t.tenant_id = ?1 AND t.last_seq > ?2 AND t.last_seq <= ?3
                   AND (f.seq IS NULL OR f.seq < t.last_seq)
                 ORDER BY t.last_seq
                 LIMIT ?4",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(
                params![tenant_id, sql_seq(after_seq), sql_seq(up_to), limit],
                |r| {
                    Ok(StaleFacts {
                        tenant_id: tenant_id.to_owned(),
                        ticket_id: r.get(0)?,
                        last_seq: seq_of(r.get(1)?),
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn put_facts(
        &self,
        tenant_id: &str,
        fresh: &[FreshFacts],
        progress: Option<u64>,
    ) -> Result<usize> {
        let rows = report_facts::facts_text(fresh)?;
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO ticket_facts (tenant_id, ticket_id, seq, created_at, ended_at, facts)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM tickets WHERE tenant_id = ?1 AND id = ?2)
                 ON CONFLICT (tenant_id, ticket_id) DO UPDATE
                 SET seq = excluded.seq, created_at = excluded.created_at,
                     ended_at = excluded.ended_at, facts = excluded.facts
                 WHERE excluded.seq >= ticket_facts.seq",
            )?;
            let mut stored = 0;
            for (f, json) in &rows {
                stored += upsert.execute(params![
                    tenant_id,
                    f.ticket_id,
                    sql_seq(f.seq),
                    f.facts.created_at,
                    f.facts.ended_at(),
                    json
                ])?;
            }
            if let Some(seq) = progress {
                tx.prepare_cached(
                    "INSERT INTO report_progress (tenant_id, seq) VALUES (?1, ?2)
                     ON CONFLICT (tenant_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                )?
                .execute(params![tenant_id, sql_seq(seq)])?;
            }
            Ok(stored)
        })
    }

    fn facts_between(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
        created_since: i64,
    ) -> Result<Vec<TicketFacts>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT facts FROM ticket_facts
                 WHERE tenant_id = ?1 AND created_at < ?3
                   AND (ended_at IS NULL OR ended_at >= ?2 OR created_at >= ?4)",
            )?;
            let mut rows = stmt.query(params![tenant_id, from, to, created_since])?;
            let mut facts = Vec::new();
            while let Some(row) = rows.next()? {
                let json: String = row.get(0)?;
                facts.push(report_facts::facts_of(&json)?);
            }
            Ok(facts)
        })
    }
}
