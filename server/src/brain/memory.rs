//! What the brain remembers between decisions, and keeping it across restarts: each tenant's
//! round-robin turns, and each ticket as the brain last left it (the heads of its documents, and
//! in memory the view there). Both live in memory and are written to the store in batches
//! ([`BrainHost::save_memory`], every few seconds and when the server stops); a tenant's turns are
//! read back the first time it routes, and a ticket's heads when a person changes a ticket the
//! brain no longer holds in memory, whose view is then read from the documents at those heads.

use std::collections::HashMap;
use std::str::FromStr;

use fieldwork_brain::{RoundRobinState, TurnTaken};
use fieldwork_core::ticket::{ChangeHash, Ticket, TicketDocument};

use super::names::Directory;
use super::{BrainHost, Heads, Last, MAX_REMEMBERED, lock};
use crate::error::Error;
use crate::storage::{RememberedTicket, ServerStore};

/// What changed since the memory was last written: per tenant, whether its turns did, and the
/// tickets decided about.
#[derive(Debug, Default)]
pub(super) struct Unsaved {
    tenants: HashMap<String, UnsavedTenant>,
}

#[derive(Debug, Default)]
struct UnsavedTenant {
    turns: bool,
    tickets: HashMap<String, Heads>,
}

fn hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ChangeHash::to_string).collect()
}

/// Heads as stored; `None` if any of them does not read as a hash.
fn parsed(heads: &[String]) -> Option<Vec<ChangeHash>> {
    heads.iter().map(|h| ChangeHash::from_str(h).ok()).collect()
}

impl BrainHost {
    /// The tenant's round-robin turns, read from the store the first time.
    pub(super) fn turns(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
    ) -> Result<RoundRobinState, Error> {
        if let Some(turns) = lock(&self.turns).get(tenant) {
            return Ok(turns.clone());
        }
        let stored = match store.remembered_turns(tenant)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|error| {
                tracing::warn!(tenant, %error, "the stored round-robin turns do not read; starting over");
                RoundRobinState::default()
            }),
            None => RoundRobinState::default(),
        };
        Ok(lock(&self.turns)
            .entry(tenant.to_owned())
            .or_insert(stored)
            .clone())
    }

    /// Counts a ticket given to someone in the tenant's turns.
    pub(super) fn took_turn(&self, tenant: &str, turn: &TurnTaken) {
        lock(&self.turns)
            .entry(tenant.to_owned())
            .or_default()
            .record(turn);
        lock(&self.unsaved)
            .tenants
            .entry(tenant.to_owned())
            .or_default()
            .turns = true;
    }

    /// Remembers `key`'s ticket as the brain left it: at `heads`, seen as `view`.
    pub(super) fn left_at(
        &self,
        key: (String, String),
        heads: Heads,
        view: std::sync::Arc<Ticket>,
    ) {
        lock(&self.unsaved)
            .tenants
            .entry(key.0.clone())
            .or_default()
            .tickets
            .insert(key.1.clone(), heads.clone());
        let mut last = lock(&self.last);
        if last.len() >= MAX_REMEMBERED
            && !last.contains_key(&key)
            && let Some(evicted) = last.keys().next().cloned()
        {
            last.remove(&evicted);
        }
        last.insert(key, Last { heads, view });
    }

    /// The ticket as the brain last left it, if the documents still build on that point: from
    /// memory, or read at the heads the store remembers. `None` when neither has it, or the
    /// documents no longer hold those heads (an erase rewrote the ticket): the change is then
    /// looked at as on a tick.
    pub(super) fn before(
        &self,
        store: &dyn ServerStore,
        key: &(String, String),
        public: &mut TicketDocument,
        staff: &mut TicketDocument,
        directory: &Directory,
    ) -> Result<Option<Ticket>, Error> {
        let known = |doc: &mut TicketDocument, heads: &[ChangeHash]| {
            heads.iter().all(|h| doc.has_change(h))
        };
        if let Some(last) = lock(&self.last).get(key).cloned() {
            let still = known(public, &last.heads.public) && known(staff, &last.heads.staff);
            return Ok(still.then(|| Ticket::clone(&last.view)));
        }
        let Some(remembered) = store.remembered_ticket(&key.0, &key.1)? else {
            return Ok(None);
        };
        let (Some(public_heads), Some(staff_heads)) = (
            parsed(&remembered.public_heads),
            parsed(&remembered.staff_heads),
        ) else {
            return Ok(None);
        };
        if !known(public, &public_heads) || !known(staff, &staff_heads) {
            return Ok(None);
        }
        let then = public
            .fork_at(&public_heads)?
            .view()?
            .with_staff(staff.fork_at(&staff_heads)?.staff_view()?);
        Ok(Some(directory.named(then)))
    }

    /// Writes what changed in the memory since the last time, one transaction per tenant. A
    /// tenant whose write fails keeps its changes for the next time.
    pub fn save_memory(&self, store: &dyn ServerStore) {
        let unsaved = std::mem::take(&mut lock(&self.unsaved).tenants);
        for (tenant, changed) in unsaved {
            let turns = if changed.turns {
                lock(&self.turns)
                    .get(&tenant)
                    .and_then(|t| serde_json::to_string(t).ok())
            } else {
                None
            };
            let tickets: Vec<RememberedTicket> = changed
                .tickets
                .iter()
                .map(|(id, heads)| RememberedTicket {
                    ticket_id: id.clone(),
                    public_heads: hex(&heads.public),
                    staff_heads: hex(&heads.staff),
                })
                .collect();
            if let Err(error) = store.remember(&tenant, turns.as_deref(), &tickets) {
                tracing::warn!(tenant, %error, "the brain's memory could not be saved; it tries again");
                let mut unsaved = lock(&self.unsaved);
                let entry = unsaved.tenants.entry(tenant).or_default();
                entry.turns |= changed.turns;
                for (id, heads) in changed.tickets {
                    entry.tickets.entry(id).or_insert(heads);
                }
            }
        }
    }
}
