//! The service brain, wired to the server (`docs/brain.md`; the decisions themselves are
//! `fieldwork_brain`'s pure functions). A background task listens to the notices of every
//! commit. For each ticket a person or a device changed, in a tenant that applied a configuration
//! (`fieldwork admin configure`), it asks the brain and stores what it decided as ordinary
//! server-authored changes through `Tickets::commit(Author::Server, …)`. Fields and the SLA go
//! into the public document; the brain's reasons, internal notes and tags go into the staff
//! document, all in the name of `fieldwork:brain`. Every phone then sees the decisions after its
//! next sync, offline too. After each decision the ticket is scheduled for when something comes
//! due (a warning, a breach, an escalation, a time rule) or, while it waits in a queue, for
//! another try at routing; a tick every 30 s asks about what is due.
//!
//! A change to a ticket the brain decided about before runs the update triggers with what
//! changed since: the brain remembers the ticket as it left it after each decision (the view and
//! the heads of both documents), and uses it as "before" while the documents still build on it.
//!
//! The parts: `task` (the background task, `decide_now`, `tick`, `rescan`), `schedule` (what is
//! due when), `people` (names, positions and loads, read at most once a second), `names` (login
//! names to ids and back). The task starts by scheduling every live ticket of the configured
//! tenants, and again when it missed notices, so a restart or a burst loses nothing but time.
//!
//! Changes by people are timed by their effective times (`ChangeTimes`, stored with each change:
//! the device's clock corrected by the offset it sent, clamped). A reporter's recent tickets come
//! from the index rows (category, creation time), read only for tenants whose rules ask. Webhooks
//! are queued before the decision is stored and sent by `crate::webhooks`.
//!
//! What it remembers between decisions (`memory`: the round-robin turns, and each ticket's heads
//! after its last decision) is written to the store in batches, so a restart loses none of it.
//! What a decision sends (`outbox`: webhooks, and notifications to the tenant's push gateway) is
//! queued as deliveries before its changes are stored.

mod advice;
mod memory;
mod names;
mod outbox;
mod people;
mod schedule;
mod task;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fieldwork_brain::rules::PastTicket;
use fieldwork_brain::write::write;
use fieldwork_brain::{
    BRAIN_ACTOR, Brain, Context, Decisions, EffectiveTimes, RoundRobinState, RoutingState,
    TenantConfig,
};
use fieldwork_core::model::Status;
use fieldwork_core::ticket::{ChangeHash, Part, Ticket, TicketDocument};

use crate::error::Error;
use crate::service::ProposedChange;
use crate::storage::{NewDelivery, ReadWith, ServerStore};
use people::People;
use schedule::QUEUE_RETRY_MS;
use schedule::Schedule;
pub(crate) use task::run;
pub use task::{decide_now, rescan, save_memory, tick};

/// A ticket's changes' effective times keyed by their authors' user ids, for a ticket read by
/// user id (report facts, the SLA timeline; the brain's own decisions key them by login name).
pub(crate) fn times_by_user_id(change_times: &[crate::storage::ChangeTimes]) -> EffectiveTimes {
    let mut times = EffectiveTimes::device_clocks();
    for t in change_times {
        times.insert(&t.author_id, t.device_time, t.effective_at);
    }
    times
}

/// The brain of each tenant that applied a configuration, and what it remembers between calls.
#[derive(Debug, Default)]
pub(crate) struct BrainHost {
    /// Per tenant: the configuration version the brain was built from, and the brain.
    brains: Mutex<HashMap<String, (u64, Arc<Brain>)>>,
    /// Per tenant: round-robin turns (read from the store the first time a tenant routes).
    turns: Mutex<HashMap<String, RoundRobinState>>,
    /// What changed in `turns` and `last` since it was last written to the store.
    unsaved: Mutex<memory::Unsaved>,
    /// When to ask about which ticket next: (due, tenant, ticket), soonest first.
    schedule: Mutex<Schedule>,
    /// Per tenant and ticket: the ticket after the brain's last decision, where the next change
    /// is compared from (at most [`MAX_REMEMBERED`] tickets; a change to one forgotten is looked
    /// at as on a tick).
    last: Mutex<HashMap<(String, String), Last>>,
    /// Per tenant: its people, their positions and loads, read at most every [`PEOPLE_FRESH_MS`].
    people: Mutex<HashMap<String, Arc<People>>>,
    /// Per tenant: tickets the brain assigned since its people were read, by login name.
    assigned_since: Mutex<HashMap<String, std::collections::BTreeMap<String, u32>>>,
}

/// Most of a reporter's recent tickets a rule is shown.
const MAX_HISTORY: usize = 1_000;

/// Tickets whose view after the brain's last decision is kept in memory.
const MAX_REMEMBERED: usize = 20_000;

/// The heads of a ticket's two documents.
#[derive(Debug, Clone)]
struct Heads {
    public: Vec<ChangeHash>,
    staff: Vec<ChangeHash>,
}

/// A ticket as the brain last left it: its heads, and the view it read there (with names).
#[derive(Debug, Clone)]
struct Last {
    heads: Heads,
    view: Arc<Ticket>,
}

/// Why the brain is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// A person or a device changed the ticket.
    Changed,
    /// The scheduler's tick.
    Tick,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one call decided, ready to commit.
struct Decided {
    changes: Vec<ProposedChange>,
    decisions: Decisions,
    /// The webhooks and notifications it sends, to queue before the changes are stored.
    deliveries: Vec<NewDelivery>,
    /// When the brain should ask about the ticket again (`None`: not until it changes).
    next: Option<i64>,
}

impl BrainHost {
    /// The tenant's brain, built again when its configuration changed; `None` when the tenant
    /// never applied one. A stored file that no longer checks (it cannot, unless the brain's rules
    /// changed under it) is logged and the tenant gets no decisions until it is applied again.
    fn brain(&self, store: &dyn ServerStore, tenant: &str) -> Result<Option<Arc<Brain>>, Error> {
        let Some(config) = store.current_config(tenant)? else {
            return Ok(None);
        };
        if let Some((version, brain)) = lock(&self.brains).get(tenant)
            && *version == config.version
        {
            return Ok(Some(brain.clone()));
        }
        let brain = match TenantConfig::from_toml(&config.toml) {
            Ok(parsed) => Arc::new(Brain::new(parsed)),
            Err(error) => {
                tracing::error!(tenant, version = config.version, %error, "the tenant's configuration does not check; the brain decides nothing");
                return Ok(None);
            }
        };
        lock(&self.brains).insert(tenant.to_owned(), (config.version, brain.clone()));
        Ok(Some(brain))
    }

    /// Whether `tenant` applied a configuration, so that the brain has anything to decide there
    /// (`decide` answers nothing otherwise).
    fn has_brain(&self, store: &dyn ServerStore, tenant: &str) -> Result<bool, Error> {
        Ok(self.brain(store, tenant)?.is_some())
    }

    /// Asks the brain about ticket `id` of `tenant` at `now`: a ticket it never decided about is
    /// new to it; a change to one it did runs the update triggers with what changed since its
    /// last decision (when it remembers where that was); a tick looks at it again (what is due,
    /// the SLA as it stands, a queue).
    fn decide(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        id: &str,
        trigger: Trigger,
        now: i64,
    ) -> Result<Option<Decided>, Error> {
        let Some(brain) = self.brain(store, tenant)? else {
            return Ok(None);
        };
        let window = brain.config().history_window_ms();
        let loaded = store.read_with(|reader| {
            let Some(public) = reader.ticket_snapshot(tenant, id)? else {
                return Ok::<_, Error>(None);
            };
            let staff = reader.ticket_staff_snapshot(tenant, id)?;
            let times = reader.ticket_times(tenant, id)?;
            // The reporter's other tickets of the window before this one was created (its
            // creation's effective time), only when a rule asks about them.
            let created = times.first().map_or(now, |t| t.effective_at);
            let history = match reader.ticket_head(tenant, id)? {
                Some(head) if window > 0 => reader
                    .reported_since(
                        tenant,
                        &head.reporter_id,
                        created.saturating_sub(window),
                        MAX_HISTORY,
                    )?
                    .into_iter()
                    .filter(|t| t.id != id)
                    .map(|t| PastTicket {
                        id: t.id,
                        category: t.category,
                        created: t.created_at,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Ok(Some((public, staff, times, history)))
        })?;
        let Some((public, staff, change_times, history)) = loaded else {
            return Ok(None);
        };
        let people = self.people(store, tenant, now)?;
        let server_actor = store.server_actor().clone();
        let mut public = TicketDocument::load(&public)?;
        let mut staff = match staff {
            Some(bytes) => TicketDocument::load_part(Part::Staff, &bytes)?,
            None => TicketDocument::staff(server_actor.clone()),
        };
        let directory = &people.directory;
        let view = directory.named(public.view()?.with_staff(staff.staff_view()?));
        let routing = RoutingState {
            positions: people.positions.clone(),
            open_tickets: self.load(tenant, &people),
            round_robin: self.turns(store, tenant)?,
        };
        // Each change by a person at its effective time (its device's clock, corrected).
        let mut times = EffectiveTimes::device_clocks();
        for t in &change_times {
            times.insert(directory.name(&t.author_id), t.device_time, t.effective_at);
        }
        let ctx = Context {
            times: &times,
            routing: &routing,
            reporter_history: &history,
        };
        let key = (tenant.to_owned(), id.to_owned());
        let before = match trigger {
            Trigger::Changed if decided_before(&view) => {
                self.before(store, &key, &mut public, &mut staff, directory)?
            }
            _ => None,
        };
        let decisions = match before {
            _ if !decided_before(&view) => brain.on_new_ticket(&view, &ctx, now),
            Some(before) => brain.on_update(&before, &view, &ctx, now),
            None => brain.on_timer(&view, &ctx, now),
        };
        let decisions = directory.identified(decisions);
        let deliveries = outbox::deliveries(
            &decisions,
            brain.config().notifications().webhook.as_deref(),
            directory,
            outbox::About {
                tenant,
                ticket_id: id,
                number: view.number.as_deref(),
                now,
            },
        );
        if let Some(Some(assignee)) = &decisions.fields.assignee {
            // Until the next refresh, the person just chosen carries one more ticket.
            self.took_one(tenant, directory.name(assignee));
        }
        let written = write(
            &decisions,
            &view,
            &mut public,
            &mut staff,
            &server_actor,
            tenant,
            now,
        )?;
        let after = if written.public.is_some() || written.staff.is_some() {
            Arc::new(directory.named(public.view()?.with_staff(staff.staff_view()?)))
        } else {
            Arc::new(view)
        };
        // When to look again: what comes due next, and a waiting ticket's next try at routing.
        // A closed or cancelled ticket has nothing more to come.
        let next = if matches!(after.status, Status::Closed | Status::Cancelled) {
            None
        } else {
            let due = brain.next_check_at(&after, &times, now);
            let queued = after.assignee.is_none() && after.team.is_some();
            let retry = queued.then(|| now.saturating_add(QUEUE_RETRY_MS));
            match (due, retry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let heads = Heads {
            public: public.heads(),
            staff: staff.heads(),
        };
        self.left_at(key, heads, after);
        let changes = [(Part::Public, written.public), (Part::Staff, written.staff)]
            .into_iter()
            .filter_map(|(part, change)| {
                change.map(|c| ProposedChange {
                    ticket_id: id.to_owned(),
                    part,
                    bytes: c.raw_bytes().to_vec(),
                })
            })
            .collect();
        Ok(Some(Decided {
            changes,
            decisions,
            deliveries,
            next,
        }))
    }

    /// Asks about ticket `id` of `tenant` at `next` (or not until it changes, with `None`).
    fn schedule(&self, tenant: &str, id: &str, next: Option<i64>) {
        lock(&self.schedule).set(tenant, id, next);
    }

    /// The tickets due at or before `now`, taken off the schedule.
    fn due(&self, now: i64) -> Vec<(String, String)> {
        lock(&self.schedule).take_due(now)
    }
}

/// Whether the brain already decided about this ticket (any entry of its history is its own).
fn decided_before(ticket: &Ticket) -> bool {
    ticket.events.iter().any(|e| e.by == BRAIN_ACTOR)
}
