//! The brain's memory in SQLite: `brain_turns` (one row per tenant) and `brain_tickets` (one row
//! per ticket the brain decided about), heads as space-separated hex.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, require_tenant};
use crate::storage::{BrainMemory, RememberedTicket, Result, brain_memory};

impl BrainMemory for SqliteStore {
    fn remember(
        &self,
        tenant_id: &str,
        turns: Option<&str>,
        tickets: &[RememberedTicket],
    ) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            if let Some(turns) = turns {
                tx.prepare_cached(
                    "INSERT INTO brain_turns (tenant_id, turns) VALUES (?1, ?2)
                     ON CONFLICT (tenant_id) DO UPDATE SET turns = excluded.turns",
                )?
                .execute(params![tenant_id, turns])?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO brain_tickets (tenant_id, ticket_id, public_heads, staff_heads)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, ticket_id) DO UPDATE
                 SET public_heads = excluded.public_heads, staff_heads = excluded.staff_heads",
            )?;
            for t in tickets {
                upsert.execute(params![
                    tenant_id,
                    t.ticket_id,
                    brain_memory::heads_text(&t.public_heads),
                    brain_memory::heads_text(&t.staff_heads)
                ])?;
            }
            Ok(())
        })
    }

    fn remembered_turns(&self, tenant_id: &str) -> Result<Option<String>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached("SELECT turns FROM brain_turns WHERE tenant_id = ?1")?
                .query_row([tenant_id], |r| r.get(0))
                .optional()?)
        })
    }

    fn remembered_ticket(
        &self,
        tenant_id: &str,
        ticket_id: &str,
    ) -> Result<Option<RememberedTicket>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT public_heads, staff_heads FROM brain_tickets
                     WHERE tenant_id = ?1 AND ticket_id = ?2",
                )?
                .query_row([tenant_id, ticket_id], |r| {
                    Ok(RememberedTicket {
                        ticket_id: ticket_id.to_owned(),
                        public_heads: brain_memory::heads_of(&r.get::<_, String>(0)?),
                        staff_heads: brain_memory::heads_of(&r.get::<_, String>(1)?),
                    })
                })
                .optional()?)
        })
    }
}
