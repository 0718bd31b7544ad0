//! Report facts on PostgreSQL: `ticket_facts`, one row per ticket, the facts as JSON beside the
//! two columns a period is found by; `report_progress`, one row per tenant; stale tickets found by
//! `tickets_by_last_seq` among those changed since the progress. Racing refreshes are settled by
//! the upserts themselves (the newer read, the further progress wins), so nothing is locked.

use fieldwork_brain::report::TicketFacts;

use super::{PgStore, require_tenant};
use crate::storage::{FreshFacts, ReportFacts, Result, StaleFacts, report_facts, seq_of, sql_seq};

impl ReportFacts for PgStore {
    fn tenants_behind(&self) -> Result<Vec<String>> {
        self.with_reader(|db| {
            db.query(
                "SELECT t.id FROM tenants t
                 LEFT JOIN report_progress p ON p.tenant_id = t.id
                 WHERE t.last_seq > COALESCE(p.seq, 0)",
                &[],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn facts_progress(&self, tenant_id: &str) -> Result<u64> {
        self.with_reader(|db| {
            let row = db.query_opt(
                "SELECT seq FROM report_progress WHERE tenant_id = $1",
                &[&tenant_id],
            )?;
            match row {
                Some(row) => Ok(seq_of(row.try_get(0)?)),
                None => Ok(0),
            }
        })
    }

    fn stale_facts(
        &self,
        tenant_id: &str,
        after_seq: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<StaleFacts>> {
        self.with_reader(|db| {
            db.query(
                "SELECT t.id, t.last_seq FROM tickets t
                 LEFT JOIN ticket_facts f ON f.tenant_id = t.tenant_id AND f.ticket_id = t.id
                 WHERE t.tenant_id = $1 AND t.last_seq > $2 AND t.last_seq <= $3
                   AND (f.seq IS NULL OR f.seq < t.last_seq)
                 ORDER BY t.last_seq
                 LIMIT $4",
                &[
                    &tenant_id,
                    &sql_seq(after_seq),
                    &sql_seq(up_to),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )?
            .iter()
            .map(|r| {
                Ok(StaleFacts {
                    tenant_id: tenant_id.to_owned(),
                    ticket_id: r.try_get(0)?,
                    last_seq: seq_of(r.try_get(1)?),
                })
            })
            .collect()
        })
    }

    fn put_facts(
        &self,
        tenant_id: &str,
        fresh: &[FreshFacts],
        progress: Option<u64>,
    ) -> Result<usize> {
        let rows = report_facts::facts_text(fresh)?;
        self.write(|db| {
            require_tenant(db, tenant_id)?;
            let mut stored = 0;
            for (f, json) in &rows {
                // Not stored for a ticket the tenant does not have, nor over facts read later.
                stored += db.execute(
                    "INSERT INTO ticket_facts (tenant_id, ticket_id, seq, created_at, ended_at, facts)
                     SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::bigint, $6::text
                     WHERE EXISTS (SELECT 1 FROM tickets WHERE tenant_id = $1 AND id = $2)
                     ON CONFLICT (tenant_id, ticket_id) DO UPDATE
                     SET seq = excluded.seq, created_at = excluded.created_at,
                         ended_at = excluded.ended_at, facts = excluded.facts
                     WHERE excluded.seq >= ticket_facts.seq",
                    &[
                        &tenant_id,
                        &f.ticket_id,
                        &sql_seq(f.seq),
                        &f.facts.created_at,
                        &f.facts.ended_at(),
                        json,
                    ],
                )?;
            }
            if let Some(seq) = progress {
                db.execute(
                    "INSERT INTO report_progress (tenant_id, seq) VALUES ($1, $2)
                     ON CONFLICT (tenant_id) DO UPDATE
                     SET seq = GREATEST(report_progress.seq, excluded.seq)",
                    &[&tenant_id, &sql_seq(seq)],
                )?;
            }
            Ok(usize::try_from(stored).unwrap_or(usize::MAX))
        })
    }

    fn facts_between(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
        created_since: i64,
    ) -> Result<Vec<TicketFacts>> {
        self.with_reader(|db| {
            db.query(
                "SELECT facts FROM ticket_facts
                 WHERE tenant_id = $1 AND created_at < $3
                   AND (ended_at IS NULL OR ended_at >= $2 OR created_at >= $4)",
                &[&tenant_id, &from, &to, &created_since],
            )?
            .iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                report_facts::facts_of(&json)
            })
            .collect()
        })
    }
}
