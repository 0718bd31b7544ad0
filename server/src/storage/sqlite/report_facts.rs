//! Report facts in SQLite: `ticket_facts`, one row per ticket, the facts as JSON beside the two
//! columns a period is found by.

use fieldwork_brain::report::TicketFacts;
use rusqlite::params;

use super::{SqliteStore, seq_of, sql_seq};
use crate::storage::{ReportFacts, Result, StaleFacts, StorageError};

impl ReportFacts for SqliteStore {
    fn stale_facts(&self, tenant_id: Option<&str>, limit: usize) -> Result<Vec<StaleFacts>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t.tenant_id, t.id, t.last_seq FROM tickets t
                 LEFT JOIN ticket_facts f ON f.tenant_id = t.tenant_id AND f.ticket_id = t.id
                 WHERE (?1 IS NULL OR t.tenant_id = ?1) AND (f.seq IS NULL OR f.seq < t.last_seq)
                 LIMIT ?2",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![tenant_id, limit], |r| {
                Ok(StaleFacts {
                    tenant_id: r.get(0)?,
                    ticket_id: r.get(1)?,
                    last_seq: seq_of(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn put_facts(
        &self,
        tenant_id: &str,
        ticket_id: &str,
        seq: u64,
        facts: &TicketFacts,
    ) -> Result<bool> {
        let json = serde_json::to_string(facts).map_err(StorageError::backend)?;
        self.write(|tx| {
            let stored = tx
                .prepare_cached(
                    "INSERT INTO ticket_facts (tenant_id, ticket_id, seq, created_at, ended_at, facts)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6
                     WHERE EXISTS (SELECT 1 FROM tickets WHERE tenant_id = ?1 AND id = ?2)
                     ON CONFLICT (tenant_id, ticket_id) DO UPDATE
                     SET seq = excluded.seq, created_at = excluded.created_at,
                         ended_at = excluded.ended_at, facts = excluded.facts
                     WHERE excluded.seq >= ticket_facts.seq",
                )?
                .execute(params![
                    tenant_id,
                    ticket_id,
                    sql_seq(seq),
                    facts.created_at,
                    facts.ended_at(),
                    json
                ])?;
            Ok(stored > 0)
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
                facts.push(serde_json::from_str(&json).map_err(|e| {
                    StorageError::Corrupt(format!("a ticket's report facts do not read: {e}"))
                })?);
            }
            Ok(facts)
        })
    }
}
