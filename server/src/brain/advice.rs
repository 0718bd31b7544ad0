//! What the brain tells people without deciding anything: whom it would choose for a ticket and
//! why (the dispatcher's ranked suggestions), a ticket's SLA as a timeline, and who is on shift
//! with what capacity. Read-only:
//! nothing is stored.

use std::collections::HashMap;

use fieldwork_brain::RoutingState;
use fieldwork_brain::sla_timeline::SlaTimeline;
use fieldwork_core::ticket::Ticket;

use super::BrainHost;
use crate::error::Error;
use crate::storage::{ReadWith, ServerStore};

/// One person the brain would consider for a ticket, best first (`suggest`).
#[derive(Debug, Clone)]
pub(crate) struct Suggestion {
    pub user_id: Option<String>,
    pub name: String,
    pub distance_m: Option<f64>,
    pub eligible: bool,
    pub load: u32,
    pub capacity: u32,
    pub reason: String,
}

/// The brain's routing dry run for a ticket as it stands.
#[derive(Debug, Clone)]
pub(crate) struct Suggested {
    pub team: Option<String>,
    /// The user id of whom it would choose.
    pub chosen: Option<String>,
    pub reason: String,
    pub candidates: Vec<Suggestion>,
}

/// Where a person is in the brain's configuration: their team, capacity, and whether they are
/// on shift now.
#[derive(Debug, Clone)]
pub(crate) struct Rostered {
    pub team: String,
    pub capacity: u32,
    pub on_shift: bool,
}

impl BrainHost {
    /// Ticket `id`'s SLA as a timeline of running, paused and closed stretches on its business
    /// calendar, read from `ticket` (the view the caller sees) and its changes' effective times;
    /// `None` when the tenant has no configuration or no policy takes the ticket.
    pub(crate) fn sla_timeline(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        id: &str,
        ticket: &Ticket,
        now: i64,
    ) -> Result<Option<SlaTimeline>, Error> {
        let Some(brain) = self.brain(store, tenant)? else {
            return Ok(None);
        };
        let change_times = store.read_with(|r| Ok::<_, Error>(r.ticket_times(tenant, id)?))?;
        let times = super::times_by_user_id(&change_times);
        Ok(brain.sla_timeline(ticket, &times, now))
    }

    /// Whom the brain would choose for ticket `id` now, and everyone it would consider, with
    /// distances, loads and reasons; `None` when the tenant has no configuration.
    pub(crate) fn suggest(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        ticket: &Ticket,
        now: i64,
    ) -> Result<Option<Suggested>, Error> {
        let Some(brain) = self.brain(store, tenant)? else {
            return Ok(None);
        };
        let people = self.people(store, tenant, now)?;
        let directory = &people.directory;
        let state = RoutingState {
            positions: people.positions.clone(),
            open_tickets: self.load(tenant, &people),
            round_robin: self.turns(store, tenant)?,
        };
        let outcome = brain.route(&directory.named(ticket.clone()), &state, now);
        let id = |name: &str| directory.id(name).map(str::to_owned);
        Ok(Some(Suggested {
            team: outcome.team.clone(),
            chosen: outcome.chosen.as_deref().and_then(id),
            reason: outcome.reason.clone(),
            candidates: outcome
                .candidates
                .iter()
                .map(|c| Suggestion {
                    user_id: id(&c.user),
                    name: c.user.clone(),
                    distance_m: c.distance_m,
                    eligible: c.eligible,
                    load: c.load,
                    capacity: c.capacity,
                    reason: c.reason(),
                })
                .collect(),
        }))
    }

    /// The people of the tenant's configuration by login name: team, capacity, on shift now.
    pub(crate) fn roster(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        now: i64,
    ) -> Result<HashMap<String, Rostered>, Error> {
        let Some(brain) = self.brain(store, tenant)? else {
            return Ok(HashMap::new());
        };
        let config = brain.config();
        Ok(config
            .technicians()
            .iter()
            .map(|t| {
                let on_shift = t
                    .shift
                    .as_deref()
                    .and_then(|shift| config.calendar(shift))
                    .is_none_or(|calendar| calendar.is_open_at(now));
                (
                    t.user.clone(),
                    Rostered {
                        team: t.team.clone(),
                        capacity: t.capacity,
                        on_shift,
                    },
                )
            })
            .collect())
    }
}
