//! The brain's background task and its on-demand forms: each notice of a commit by a person or
//! a device asks the brain about the tickets it touched (the notices of a tenth of a second
//! together, each ticket once); a tick every 30 s asks about what is due;
//! a rescan schedules every live ticket (at start, and after missed notices). Decisions are
//! stored through `Tickets::commit(Author::Server, …)`, their webhooks queued first.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::Trigger;
use super::schedule::MAX_WATCHED;
use crate::error::Error;
use crate::service::{Author, Notice, Writer};
use crate::state::{AppState, blocking};
use crate::storage::{ReadWith, StorageError};
use crate::tasks::StopToken;

/// How often the scheduler asks about the tickets it watches.
const TICK: Duration = Duration::from_secs(30);

/// How often what the brain remembers is written to the store (and when the server stops).
const SAVE_EVERY: Duration = Duration::from_secs(5);

/// Most tickets asked about per batch of notices (those that arrived within [`GATHER`] of the
/// first).
const MAX_BATCH: usize = 1000;

/// How long the task gathers notices after one arrives before it asks about their tickets. Each
/// batch reads each tenant's configuration once; taking only the notices already waiting made a
/// batch of nearly every group commit under 1,000 devices, and reading the configuration that
/// often was 3% of the server's time (`docs/benchmarks.md`). A ticket changed twice meanwhile is
/// asked about once. Far below what the brain's decisions are waited for (minutes of SLA, a
/// person's reply), and far from filling [`crate::service::NOTICE_BUFFER`].
const GATHER: Duration = Duration::from_millis(100);

/// The tickets a batch of notices names, each once, in the order first named; the server's own
/// commits (the brain's decisions) name none.
#[derive(Default)]
struct Changed {
    tickets: Vec<(String, String)>,
    seen: HashSet<(String, String)>,
}

impl Changed {
    fn add(&mut self, notice: &Notice) {
        if notice.writer == Writer::Server {
            return;
        }
        for id in &notice.tickets {
            let key = (notice.tenant.clone(), id.clone());
            if self.seen.insert(key.clone()) {
                self.tickets.push(key);
            }
        }
    }

    fn len(&self) -> usize {
        self.tickets.len()
    }

    /// Asks the brain about each ticket, in order. A tenant that applied no configuration has
    /// no brain: it is looked up once per batch, not once per ticket, so that a tenant without
    /// one costs a read a batch however many of its tickets change (under 1,000 devices the
    /// brain fell behind the notices asking about each).
    async fn handle(self, state: &AppState) {
        let mut configured: HashMap<String, bool> = HashMap::new();
        for (tenant, id) in self.tickets {
            let has_brain = match configured.get(&tenant) {
                Some(&has) => has,
                None => {
                    let has = has_brain(state, &tenant).await;
                    configured.insert(tenant.clone(), has);
                    has
                }
            };
            if has_brain {
                handle(state, &tenant, &id, Trigger::Changed).await;
            }
        }
    }
}

/// Whether `tenant` has a brain; when that cannot be read, its tickets are asked about (and the
/// error logged there).
async fn has_brain(state: &AppState, tenant: &str) -> bool {
    let (host, store, tenant) = (state.brain().clone(), state.store(), tenant.to_owned());
    blocking(move || host.has_brain(store.as_ref(), &tenant))
        .await
        .unwrap_or(true)
}

/// Notices were missed: every live ticket is watched again and the next tick asks about it.
async fn fell_behind(state: &AppState, missed: u64) {
    tracing::warn!(
        missed,
        "the brain fell behind the notices; the tick catches up"
    );
    rescan(state).await;
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
        state.brain().took_turn(tenant, turn);
    }
    // Queued before the decision is stored: if the store fails, or the server stops, in
    // between, the decision is made again and its webhooks and notifications go at least once.
    if !decided.deliveries.is_empty() {
        let deliveries = decided.deliveries;
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

/// Writes what the brain remembers to the store (tests, tools; the task does it every few
/// seconds and when it stops).
pub async fn save_memory(state: &AppState) {
    let (host, store) = (state.brain().clone(), state.store());
    let _ = blocking(move || {
        host.save_memory(store.as_ref());
        Ok::<_, Error>(())
    })
    .await;
}

/// The brain's background task: every commit by a person or a device wakes it for the tickets
/// the commit touched; a tick asks again about the tickets it watches. It starts by watching
/// every live ticket, so a restart or a burst of notices it missed loses nothing but time, and
/// writes what it remembers every few seconds and when it stops.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    let mut notices = state.tickets().subscribe();
    // Notices from the other servers of the store that may have been lost (replicas).
    let mut peers_missed = state.tickets().missed_notices();
    rescan(&state).await;
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saves = tokio::time::interval(SAVE_EVERY);
    saves.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(notice) => {
                    // With whatever else arrives within `GATHER`: each ticket asked about once.
                    let mut changed = Changed::default();
                    changed.add(&notice);
                    tokio::time::sleep(GATHER).await;
                    let mut missed = None;
                    while changed.len() < MAX_BATCH {
                        match notices.try_recv() {
                            Ok(notice) => changed.add(&notice),
                            Err(TryRecvError::Lagged(n)) => {
                                missed = Some(n);
                                break;
                            }
                            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                        }
                    }
                    changed.handle(&state).await;
                    if let Some(missed) = missed {
                        fell_behind(&state, missed).await;
                    }
                }
                Err(RecvError::Lagged(missed)) => fell_behind(&state, missed).await,
                Err(RecvError::Closed) => break,
            },
            // Said once each time this server starts hearing its peers (at start too): not a
            // fall behind, but what they did meanwhile is looked at again.
            Ok(()) = peers_missed.changed() => rescan(&state).await,
            _ = ticks.tick() => tick(&state).await,
            _ = saves.tick() => save_memory(&state).await,
            () = stop.stopped() => break,
        }
    }
    save_memory(&state).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(writer: Writer, tickets: &[&str]) -> Notice {
        Notice {
            tenant: "acme".into(),
            tickets: tickets.iter().map(|t| (*t).to_owned()).collect(),
            created: Vec::new(),
            assets: Vec::new(),
            max_seq: 1,
            writer,
        }
    }

    #[test]
    fn people_devices_and_channels_ask_the_brain_its_own_decisions_do_not() {
        let mut changed = Changed::default();
        changed.add(&notice(Writer::Server, &["t0"]));
        assert_eq!(changed.len(), 0, "the brain's own decisions ask nothing");
        changed.add(&notice(
            Writer::Channel {
                channel_id: "c".into(),
            },
            &["t1"],
        ));
        changed.add(&notice(
            Writer::Person {
                user_id: "u".into(),
            },
            &["t2", "t1"],
        ));
        changed.add(&notice(
            Writer::Device {
                user_id: "u".into(),
                device_id: "d".into(),
            },
            &["t3"],
        ));
        let asked: Vec<&str> = changed.tickets.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(asked, ["t1", "t2", "t3"], "each once, in order");
    }
}
