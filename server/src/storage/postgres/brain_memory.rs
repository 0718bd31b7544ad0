//! The brain's memory on PostgreSQL: `brain_turns` (one row per tenant) and `brain_tickets` (one
//! row per ticket the brain decided about), heads as space-separated hex. Every write is an
//! upsert, so replicas remembering the same tenant at once only replace each other's rows.

use super::db::Db;
use super::{PgStore, require_tenant};
use crate::storage::{BrainMemory, RememberedTicket, Result, brain_memory};

fn remember(
    db: &Db,
    tenant_id: &str,
    turns: Option<&str>,
    tickets: &[RememberedTicket],
) -> Result<()> {
    require_tenant(db, tenant_id)?;
    if let Some(turns) = turns {
        db.execute(
            "INSERT INTO brain_turns (tenant_id, turns) VALUES ($1, $2)
             ON CONFLICT (tenant_id) DO UPDATE SET turns = excluded.turns",
            &[&tenant_id, &turns],
        )?;
    }
    // In ticket order (a stable sort: of two entries for one ticket the last still wins), so
    // two writers of the same tickets lock their rows in one order and never deadlock.
    let mut ordered: Vec<&RememberedTicket> = tickets.iter().collect();
    ordered.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
    for t in ordered {
        db.execute(
            "INSERT INTO brain_tickets (tenant_id, ticket_id, public_heads, staff_heads)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, ticket_id) DO UPDATE
             SET public_heads = excluded.public_heads, staff_heads = excluded.staff_heads",
            &[
                &tenant_id,
                &t.ticket_id,
                &brain_memory::heads_text(&t.public_heads),
                &brain_memory::heads_text(&t.staff_heads),
            ],
        )?;
    }
    Ok(())
}

fn remembered_turns(db: &Db, tenant_id: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT turns FROM brain_turns WHERE tenant_id = $1",
        &[&tenant_id],
    )?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}

fn remembered_ticket(
    db: &Db,
    tenant_id: &str,
    ticket_id: &str,
) -> Result<Option<RememberedTicket>> {
    db.query_opt(
        "SELECT public_heads, staff_heads FROM brain_tickets
         WHERE tenant_id = $1 AND ticket_id = $2",
        &[&tenant_id, &ticket_id],
    )?
    .map(|r| {
        Ok(RememberedTicket {
            ticket_id: ticket_id.to_owned(),
            public_heads: brain_memory::heads_of(&r.try_get::<_, String>(0)?),
            staff_heads: brain_memory::heads_of(&r.try_get::<_, String>(1)?),
        })
    })
    .transpose()
}

impl BrainMemory for PgStore {
    fn remember(
        &self,
        tenant_id: &str,
        turns: Option<&str>,
        tickets: &[RememberedTicket],
    ) -> Result<()> {
        self.write(|db| remember(db, tenant_id, turns, tickets))
    }

    fn remembered_turns(&self, tenant_id: &str) -> Result<Option<String>> {
        self.with_reader(|db| remembered_turns(db, tenant_id))
    }

    fn remembered_ticket(
        &self,
        tenant_id: &str,
        ticket_id: &str,
    ) -> Result<Option<RememberedTicket>> {
        self.with_reader(|db| remembered_ticket(db, tenant_id, ticket_id))
    }
}
