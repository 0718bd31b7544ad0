//! Reports (`docs/reports.md`), wired to the server: each ticket's report facts
//! (`fieldwork_brain::report::TicketFacts`) are read from its document and its changes' effective
//! times and kept in the store (`storage::ReportFacts`); a report reads the facts of a period and
//! works out its numbers with `fieldwork_brain::report::report`.
//!
//! Facts follow the tickets: a background task refreshes the tickets each commit touched (within
//! [`GATHER`] after, in batches), and catches up every stale ticket when it starts and when it missed
//! notices. A report first refreshes what is still stale in its tenant (the tickets changed
//! since the tenant's progress, at most [`MAX_REFRESH_PER_REPORT`]), so it counts every change
//! stored before it was asked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use fieldwork_brain::report::{GroupBy, Period, Report, TicketFacts, report};
use fieldwork_brain::{Brain, TenantConfig, Timeline};
use fieldwork_core::ticket::TicketDocument;
use tokio::sync::broadcast::error::RecvError;

use crate::cache::DocCache;
use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::storage::{FreshFacts, ReadWith, ServerStore, StoreRead};
use crate::tasks::StopToken;

/// Stale tickets read per round of a catch-up.
const BATCH: usize = 500;
/// Tickets read in one read transaction. A transaction begun after another connection's commit
/// starts cold (SQLite empties the connection's page cache), so a transaction a ticket was most
/// of the report task's cost under load; a long one holds back the WAL's checkpoint, so not the
/// whole batch either.
const PER_READ: usize = 64;
/// Most tickets one report refreshes before it answers (the background task does the rest).
pub const MAX_REFRESH_PER_REPORT: usize = 50_000;
/// How long the task gathers notices before it refreshes the tickets they name. A ticket that
/// changes every second is read once per gathering, not once per change: at a gathering of one
/// second, refreshing facts was a tenth of the server's CPU under 1,000 devices, and at five
/// seconds again an eighth once those tickets had ~500 changes each (each refresh reads the
/// ticket and its change times whole; `docs/benchmarks.md`). A report is exact whatever this is:
/// it refreshes what is stale first, and what is stale is at most the tickets changed since the
/// last gathering.
const GATHER: Duration = Duration::from_secs(15);

/// Each tenant's brain (for its SLA policies and calendars), built once per batch of work.
#[derive(Default)]
struct Brains(HashMap<String, Option<Brain>>);

impl Brains {
    fn of(&mut self, store: &dyn ServerStore, tenant: &str) -> Result<Option<&Brain>, Error> {
        if !self.0.contains_key(tenant) {
            let brain = match store.current_config(tenant)? {
                Some(config) => TenantConfig::from_toml(&config.toml).ok().map(Brain::new),
                None => None,
            };
            self.0.insert(tenant.to_owned(), brain);
        }
        Ok(self.0.get(tenant).and_then(Option::as_ref))
    }
}

/// Reads ticket `id`'s facts as of its newest change; `None` when the ticket is unknown. The
/// ticket is read from the document cache when it holds that version (the commit that changed
/// it just put it there), else loaded from its snapshot.
fn read_facts(
    reader: &dyn StoreRead,
    cache: &DocCache,
    brain: Option<&Brain>,
    tenant: &str,
    id: &str,
    now: i64,
) -> Result<Option<FreshFacts>, Error> {
    let Some(head) = reader.ticket_head(tenant, id)? else {
        return Ok(None);
    };
    let view = match cache.view(tenant, id, head.last_seq) {
        Some(view) => view,
        None => match reader.ticket_snapshot(tenant, id)? {
            Some(snapshot) => Arc::new(TicketDocument::load(&snapshot)?.view()?),
            None => return Ok(None),
        },
    };
    let times = crate::brain::times_by_user_id(&reader.ticket_times(tenant, id)?);
    let timeline = Timeline::of(&view, &times, now);
    let sla = brain.and_then(|b| b.sla(&view, &times, now));
    Ok(Some(FreshFacts {
        ticket_id: id.to_owned(),
        seq: head.last_seq,
        facts: TicketFacts::of(&view, &timeline, sla.as_ref()),
    }))
}

/// The facts of `ids` of `tenant`, read [`PER_READ`] tickets to a read transaction; a ticket
/// whose document does not read is logged and passed (its next change tries again).
fn read_all<'a>(
    store: &dyn ServerStore,
    cache: &DocCache,
    brains: &mut Brains,
    tenant: &str,
    ids: impl Iterator<Item = &'a str>,
    now: i64,
) -> Result<Vec<FreshFacts>, Error> {
    let brain = brains.of(store, tenant)?;
    let ids: Vec<&str> = ids.collect();
    let mut fresh = Vec::with_capacity(ids.len());
    for some in ids.chunks(PER_READ) {
        store.read_with(|reader| {
            for id in some {
                match read_facts(reader, cache, brain, tenant, id, now) {
                    Ok(facts) => fresh.extend(facts),
                    Err(error) => tracing::warn!(
                        %error,
                        "a ticket's report facts could not be read; its next change tries again"
                    ),
                }
            }
            Ok::<_, Error>(())
        })?;
    }
    Ok(fresh)
}

/// Refreshes the facts of the tenant's tickets changed since its progress and up to its newest
/// change now, at most `max`; then, unless it stopped at `max`, moves the progress there.
/// Returns how many it refreshed. A ticket that changes again meanwhile is beyond the range and
/// left to the next catch-up, so one ends even while the tenant keeps writing. A ticket whose
/// document does not read is logged and passed (its next change tries again).
pub fn catch_up(
    store: &dyn ServerStore,
    cache: &DocCache,
    tenant: &str,
    max: usize,
    now: i64,
) -> Result<usize, Error> {
    catch_up_noting(store, cache, tenant, max, now, &mut HashSet::new())
}

/// [`catch_up`], adding the ids of the tickets it refreshed to `refreshed_ids`.
fn catch_up_noting(
    store: &dyn ServerStore,
    cache: &DocCache,
    tenant: &str,
    max: usize,
    now: i64,
    refreshed_ids: &mut HashSet<String>,
) -> Result<usize, Error> {
    let up_to = store.read_with(|r| r.max_seq(tenant))?;
    let mut after = store.facts_progress(tenant)?;
    if after >= up_to {
        return Ok(0);
    }
    let mut brains = Brains::default();
    let mut refreshed = 0;
    loop {
        let want = BATCH.min(max.saturating_sub(refreshed));
        if want == 0 {
            return Ok(refreshed);
        }
        let batch = store.stale_facts(tenant, after, up_to, want)?;
        let fresh = read_all(
            store,
            cache,
            &mut brains,
            tenant,
            batch.iter().map(|s| s.ticket_id.as_str()),
            now,
        )?;
        let last_page = batch.len() < want;
        refreshed_ids.extend(fresh.iter().map(|f| f.ticket_id.clone()));
        // One transaction per page, the progress with the last.
        refreshed += store.put_facts(tenant, &fresh, last_page.then_some(up_to))?;
        match batch.last() {
            Some(last) if !last_page => after = last.last_seq,
            _ => return Ok(refreshed),
        }
    }
}

/// The report on `period` of `tenant`, grouped `by`, after refreshing what is stale. Assignees
/// are shown by login name, in name order.
pub fn run(
    store: &dyn ServerStore,
    cache: &DocCache,
    tenant: &str,
    period: &Period,
    by: GroupBy,
    now: i64,
) -> Result<Report, Error> {
    catch_up(store, cache, tenant, MAX_REFRESH_PER_REPORT, now)?;
    let facts = store.facts_between(
        tenant,
        period.start(),
        period.end(),
        period.start() - period.length(),
    )?;
    let mut report = report(&facts, period, by);
    if by == GroupBy::Assignee {
        let ids: Vec<String> = report.rows.iter().map(|r| r.key.clone()).collect();
        let names: HashMap<String, String> = store
            .users_by_ids(tenant, &ids)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        for row in &mut report.rows {
            if let Some(name) = names.get(&row.key) {
                row.key.clone_from(name);
            }
        }
        report.rows.sort_by(|a, b| a.key.cmp(&b.key));
    }
    Ok(report)
}

/// One gathering of the background task: for each tenant of `touched` (tenant and ticket id
/// pairs) — and, with `all`, each tenant whose facts are behind — refreshes whatever is stale,
/// which moves its progress on; then the touched tickets that catch-up did not read (changed since
/// it began, or, on a store whose commits may land out of order, with a change below its
/// progress). Read the other way round, a ticket noted every second was read twice a gathering.
pub fn refresh(
    store: &dyn ServerStore,
    cache: &DocCache,
    touched: BTreeSet<(String, String)>,
    all: bool,
    now: i64,
) -> Result<(), Error> {
    let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tenant, id) in touched {
        by_tenant.entry(tenant).or_default().push(id);
    }
    if all {
        for tenant in store.tenants_behind()? {
            by_tenant.entry(tenant).or_default();
        }
    }
    let mut brains = Brains::default();
    for (tenant, ids) in &by_tenant {
        let mut done = HashSet::new();
        let refreshed = catch_up_noting(store, cache, tenant, usize::MAX, now, &mut done)?;
        if all && refreshed > 0 {
            tracing::info!(refreshed, "report facts caught up");
        }
        let rest = ids
            .iter()
            .filter(|id| !done.contains(*id))
            .map(String::as_str);
        let fresh = read_all(store, cache, &mut brains, tenant, rest, now)?;
        store.put_facts(tenant, &fresh, None)?;
    }
    Ok(())
}

/// The background task: refreshes the tickets each commit touched, a batch every [`GATHER`], and
/// every stale ticket when it starts and after it missed notices.
pub(crate) async fn run_in_background(state: AppState, mut stop: StopToken) {
    let mut notices = state.tickets().subscribe();
    // Notices from the other servers of the store that may have been lost (replicas).
    let mut peers_missed = state.tickets().missed_notices();
    let mut catch_up_all = true;
    let mut dirty: BTreeSet<(String, String)> = BTreeSet::new();
    let mut gather = tokio::time::interval(GATHER);
    gather.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(notice) => dirty.extend(
                    notice.tickets.iter().map(|id| (notice.tenant.clone(), id.clone())),
                ),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "report facts missed notices; catching up");
                    catch_up_all = true;
                }
                Err(RecvError::Closed) => break,
            },
            Ok(()) = peers_missed.changed() => catch_up_all = true,
            _ = gather.tick() => {
                let batch = std::mem::take(&mut dirty);
                let all = std::mem::take(&mut catch_up_all);
                if batch.is_empty() && !all {
                    continue;
                }
                let (store, cache, now) = (state.store(), state.tickets().docs(), state.now_ms());
                let done = blocking(move || refresh(store.as_ref(), &cache, batch, all, now))
                .await;
                if let Err(error) = done {
                    tracing::warn!(%error, "report facts could not be refreshed; the next report catches up");
                }
            }
            () = stop.stopped() => break,
        }
    }
}
