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
//! The task starts by watching every live ticket of the configured tenants, and again when it
//! missed notices, so a restart or a burst loses nothing but time.
//!
//! Changes by people are timed by their effective times (`ChangeTimes`, stored with each change:
//! the device's clock corrected by the offset it sent, clamped).
//!
//! A reporter's recent tickets come from the index rows (category, creation time), read only
//! for tenants whose rules ask about them.
//!
//! Webhooks are queued before the decision is stored and sent by `crate::webhooks`.
//!
//! What this wiring does not do yet (docs/brain.md, "Wiring: where it stands"): notifications
//! to people (logged, not delivered), and a
//! restart forgets the round-robin turns and the remembered tickets (a changed ticket is then
//! looked at as on a tick).

mod names;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldwork_brain::routing::Position;
use fieldwork_brain::rules::PastTicket;
use fieldwork_brain::write::write;
use fieldwork_brain::{
    BRAIN_ACTOR, Brain, Context, Decisions, EffectiveTimes, RoundRobinState, RoutingState,
    TenantConfig,
};
use fieldwork_core::model::Status;
use fieldwork_core::ticket::{ChangeHash, Part, Ticket, TicketDocument};
use tokio::sync::broadcast::error::RecvError;

use crate::error::Error;
use crate::service::{Author, ProposedChange, Writer};
use crate::state::{AppState, blocking};
use crate::storage::{NewDelivery, ReadWith, ServerStore, StorageError};
use crate::tasks::StopToken;
use names::Directory;

/// How often the scheduler asks about the tickets it watches.
const TICK: Duration = Duration::from_secs(30);
/// Most tickets one tenant's watch list keeps (the oldest seen are dropped first).
const MAX_WATCHED: usize = 100_000;

/// The brain of each tenant that applied a configuration, and what it remembers between calls.
#[derive(Debug, Default)]
pub(crate) struct BrainHost {
    /// Per tenant: the configuration version the brain was built from, and the brain.
    brains: Mutex<HashMap<String, (u64, Arc<Brain>)>>,
    /// Per tenant: round-robin turns.
    turns: Mutex<HashMap<String, RoundRobinState>>,
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

/// How long a tenant's people, positions and loads are used before they are read again: a
/// decision per push would otherwise read the whole tenant each time.
const PEOPLE_FRESH_MS: i64 = 1_000;

/// What routing needs of a tenant's people, as read at `read_at`.
#[derive(Debug)]
struct People {
    directory: Directory,
    positions: std::collections::BTreeMap<String, Position>,
    /// Open tickets per login name.
    load: std::collections::BTreeMap<String, u32>,
    read_at: i64,
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
    /// When the brain should ask about the ticket again (`None`: not until it changes).
    next: Option<i64>,
}

/// How long a ticket waiting in a team's queue waits before it is routed again (someone's load
/// or shift may have changed meanwhile).
const QUEUE_RETRY_MS: i64 = 5 * 60 * 1000;

/// The tickets the tick asks about, by when they are due: what `Brain::next_check_at` says (a
/// warning, a breach, an escalation level, a time rule), or a queued ticket's next try.
#[derive(Debug, Default)]
struct Schedule {
    due: BTreeSet<(i64, String, String)>,
    at: HashMap<(String, String), i64>,
}

impl Schedule {
    /// Asks about the ticket at `next` (or no more, with `None`).
    fn set(&mut self, tenant: &str, id: &str, next: Option<i64>) {
        let key = (tenant.to_owned(), id.to_owned());
        if let Some(at) = self.at.remove(&key) {
            self.due.remove(&(at, key.0.clone(), key.1.clone()));
        }
        if let Some(next) = next {
            self.due.insert((next, key.0.clone(), key.1.clone()));
            self.at.insert(key, next);
            while self.due.len() > MAX_WATCHED {
                // The latest due go first: the soonest are what the brain must not miss.
                if let Some((_, tenant, id)) = self.due.pop_last() {
                    self.at.remove(&(tenant, id));
                }
            }
        }
    }

    /// Takes the tickets due at or before `now`.
    fn take_due(&mut self, now: i64) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        while let Some((at, _, _)) = self.due.first() {
            if *at > now {
                break;
            }
            if let Some((_, tenant, id)) = self.due.pop_first() {
                self.at.remove(&(tenant.clone(), id.clone()));
                taken.push((tenant, id));
            }
        }
        taken
    }
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
            round_robin: lock(&self.turns).get(tenant).cloned().unwrap_or_default(),
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
                let last = lock(&self.last).get(&key).cloned();
                last.and_then(|last| as_it_was(&mut public, &mut staff, &last))
            }
            _ => None,
        };
        let decisions = match before {
            _ if !decided_before(&view) => brain.on_new_ticket(&view, &ctx, now),
            Some(before) => brain.on_update(&before, &view, &ctx, now),
            None => brain.on_timer(&view, &ctx, now),
        };
        let decisions = directory.identified(decisions);
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
        let mut last = lock(&self.last);
        if last.len() >= MAX_REMEMBERED
            && !last.contains_key(&key)
            && let Some(evicted) = last.keys().next().cloned()
        {
            last.remove(&evicted);
        }
        last.insert(key, Last { heads, view: after });
        drop(last);
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
            next,
        }))
    }

    /// The tenant's people, positions and loads, read again when older than [`PEOPLE_FRESH_MS`].
    fn people(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        now: i64,
    ) -> Result<Arc<People>, Error> {
        if let Some(people) = lock(&self.people).get(tenant)
            && now.saturating_sub(people.read_at) < PEOPLE_FRESH_MS
            && people.read_at <= now
        {
            return Ok(people.clone());
        }
        let directory = Directory::new(store.list_users(tenant)?);
        let positions = store
            .technician_positions(tenant)?
            .into_iter()
            .map(|p| {
                let position = Position {
                    lat: p.lat,
                    lon: p.lon,
                    at: p.received_at,
                };
                (directory.name(&p.user_id).to_owned(), position)
            })
            .collect();
        let load = store
            .read_with(|r| r.open_load(tenant))?
            .into_iter()
            .map(|(user, n)| (directory.name(&user).to_owned(), n))
            .collect();
        let people = Arc::new(People {
            directory,
            positions,
            load,
            read_at: now,
        });
        lock(&self.people).insert(tenant.to_owned(), people.clone());
        lock(&self.assigned_since).remove(tenant);
        Ok(people)
    }

    /// Counts one more open ticket for `name` on top of the loads read (until they are read
    /// again), so a burst of new tickets does not all go to whoever was least loaded.
    fn took_one(&self, tenant: &str, name: &str) {
        *lock(&self.assigned_since)
            .entry(tenant.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_default() += 1;
    }

    /// The loads routing weighs: as read, plus what the brain assigned since.
    fn load(&self, tenant: &str, people: &People) -> std::collections::BTreeMap<String, u32> {
        let mut load = people.load.clone();
        if let Some(since) = lock(&self.assigned_since).get(tenant) {
            for (name, n) in since {
                *load.entry(name.clone()).or_default() += n;
            }
        }
        load
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

/// The ticket as the brain last left it, if the documents still build on that point; `None`
/// when the store no longer has it (the brain's last change was not stored, or an erase rewrote
/// the ticket): the change is then looked at as on a tick.
fn as_it_was(
    public: &mut TicketDocument,
    staff: &mut TicketDocument,
    last: &Last,
) -> Option<Ticket> {
    let known =
        |doc: &mut TicketDocument, heads: &[ChangeHash]| heads.iter().all(|h| doc.has_change(h));
    if !known(public, &last.heads.public) || !known(staff, &last.heads.staff) {
        return None;
    }
    Some(Ticket::clone(&last.view))
}

/// Whether the brain already decided about this ticket (any entry of its history is its own).
fn decided_before(ticket: &Ticket) -> bool {
    ticket.events.iter().any(|e| e.by == BRAIN_ACTOR)
}

/// Asks the brain about one ticket and stores what it decided; failures are logged, never
/// fatal (the next notice or tick asks again).
async fn handle(state: &AppState, tenant: &str, id: &str, trigger: Trigger) {
    let (host, store, now) = (state.brain().clone(), state.store(), state.now_ms());
    let (t, i) = (tenant.to_owned(), id.to_owned());
    let decided = blocking(move || host.decide(store.as_ref(), &t, &i, trigger, now)).await;
    let decided = match decided {
        Ok(Some(decided)) => decided,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(tenant, %error, "the brain could not decide about a ticket; it asks again later");
            return;
        }
    };
    state.brain().schedule(tenant, id, decided.next);
    if let Some(turn) = &decided.decisions.turn {
        lock(&state.brain().turns)
            .entry(tenant.to_owned())
            .or_default()
            .record(turn);
    }
    for notification in &decided.decisions.notifications {
        tracing::info!(tenant, source = %notification.source, "brain notification (delivery comes with webhooks)");
    }
    // Queued before the decision is stored: if the store fails, or the server stops, in
    // between, the decision is made again and its webhooks go at least once.
    if !decided.decisions.webhooks.is_empty() {
        let deliveries: Vec<NewDelivery> = decided
            .decisions
            .webhooks
            .iter()
            .map(|w| NewDelivery {
                tenant_id: tenant.to_owned(),
                url: w.url.clone(),
                source: w.source.clone(),
                payload: w.payload.to_string(),
                created_at: now,
            })
            .collect();
        let store = state.store();
        let queued = blocking(move || Ok::<_, Error>(store.enqueue_deliveries(&deliveries)?)).await;
        if let Err(error) = queued {
            tracing::warn!(tenant, %error, "the brain's webhooks could not be queued; it decides again later");
            return;
        }
    }
    if decided.changes.is_empty() {
        return;
    }
    match state
        .tickets()
        .commit(Author::Server, tenant, decided.changes)
        .await
    {
        Ok(committed) if committed.rejected.is_empty() => {}
        Ok(committed) => tracing::error!(
            tenant,
            rejected = committed.rejected.len(),
            "the store refused the brain's own change"
        ),
        Err(Error::Storage(StorageError::Conflict(_))) => {
            tracing::debug!(
                tenant,
                "the ticket moved while the brain decided; it asks again later"
            );
        }
        Err(error) => tracing::warn!(tenant, %error, "the brain's decision could not be stored"),
    }
}

/// Asks the brain about one ticket now, as a change to it by a person would (tests, tools).
pub async fn decide_now(state: &AppState, tenant: &str, ticket_id: &str) {
    handle(state, tenant, ticket_id, Trigger::Changed).await;
}

/// One scheduler tick now: every ticket something is due for, as the background task does every
/// 30 s (tests, tools).
pub async fn tick(state: &AppState) {
    for (tenant, id) in state.brain().due(state.now_ms()) {
        handle(state, &tenant, &id, Trigger::Tick).await;
    }
}

/// Watches every ticket not closed or cancelled of every tenant with a configuration: what the
/// task does when it starts (the watch list lives in memory) and when it missed notices.
pub async fn rescan(state: &AppState) {
    let (store, host, now) = (state.store(), state.brain().clone(), state.now_ms());
    let scanned = blocking(move || {
        let mut count = 0;
        for tenant in store.configured_tenants()? {
            let live = store.read_with(|r| r.live_tickets(&tenant, MAX_WATCHED))?;
            count += live.len();
            for id in live {
                host.schedule(&tenant, &id, Some(now));
            }
        }
        Ok::<_, Error>(count)
    })
    .await;
    match scanned {
        Ok(count) => tracing::info!(tickets = count, "the brain watches the live tickets"),
        Err(error) => tracing::warn!(%error, "the brain could not list the live tickets"),
    }
}

/// The brain's background task: every commit by a person or a device wakes it for the tickets
/// the commit touched; a tick asks again about the tickets it watches. It starts by watching
/// every live ticket, so a restart or a burst of notices it missed loses nothing but time.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    let mut notices = state.tickets().subscribe();
    rescan(&state).await;
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(notice) if notice.writer != Writer::Server => {
                    for id in &notice.tickets {
                        handle(&state, &notice.tenant, id, Trigger::Changed).await;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the brain fell behind the notices; the tick catches up");
                    rescan(&state).await;
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => tick(&state).await,
            () = stop.stopped() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_gives_what_is_due_soonest_first_and_each_ticket_once() {
        let mut schedule = Schedule::default();
        schedule.set("acme", "t1", Some(300));
        schedule.set("acme", "t2", Some(100));
        schedule.set("globex", "t1", Some(200));
        schedule.set("acme", "t3", Some(900));
        schedule.set("acme", "t3", None);
        // Moved later: it is due once, at its new time.
        schedule.set("acme", "t2", Some(250));
        assert!(schedule.take_due(99).is_empty());
        let due = schedule.take_due(300);
        assert_eq!(
            due,
            [
                ("globex".to_owned(), "t1".to_owned()),
                ("acme".to_owned(), "t2".to_owned()),
                ("acme".to_owned(), "t1".to_owned())
            ]
        );
        assert!(
            schedule.take_due(10_000).is_empty(),
            "taken off, and t3 was dropped"
        );
        assert!(schedule.at.is_empty());
    }
}
