//! The background duties that must run on exactly one server of a store: the brain's decisions
//! and timers, asset histories, alert folds left from before a restart, report facts, webhook
//! deliveries and the blob collector. Every server tries to lead them (`storage::Peers::lead`);
//! the one that does runs them until it stops or loses the lease, then another takes over within
//! [`LEASE_EVERY`]. With SQLite the one server always leads.
//!
//! A lease lives as long as its holder's connection to the database: a server that dies, or is
//! cut off from the database, loses it at once on the database's side. The holder itself notices
//! at its next check, so for at most [`LEASE_EVERY`] plus one check two servers may run the
//! duties; each duty is safe with that — the brain's commits are checked against the ticket's
//! version like any other, report facts keep the newer read, and webhook deliveries are at least
//! once by contract (receivers drop repeats by `Fieldwork-Delivery`).

use std::sync::Arc;
use std::time::Duration;

use crate::state::{AppState, blocking};
use crate::storage::Lead;
use crate::tasks::{BackgroundTasks, StopToken};
use crate::{asset_history, blobs, brain, intake, reports, webhooks};

/// How often a server that does not lead asks to, and a leader checks it still leads.
pub const LEASE_EVERY: Duration = Duration::from_secs(2);

/// How long the duties get to finish when the server stops or loses the lease.
const DUTIES_GRACE: Duration = Duration::from_secs(20);

/// The lease every server of a store asks for.
const DUTIES: &str = "background duties";

/// Leads the duties whenever this server holds the lease, until the server stops.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    loop {
        let store = state.store();
        match blocking(move || Ok(store.lead(DUTIES)?)).await {
            Ok(Some(lead)) => {
                let lost = lead_until_lost(&state, Arc::from(lead), &mut stop).await;
                if !lost {
                    return;
                }
                tracing::warn!("this server lost the lease of the background duties");
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "could not ask for the lease of the background duties");
            }
        }
        tokio::select! {
            () = stop.stopped() => return,
            () = tokio::time::sleep(LEASE_EVERY) => {}
        }
    }
}

/// Runs the duties while `lead` holds; `true` if the lease was lost, `false` if the server
/// stops.
async fn lead_until_lost(state: &AppState, lead: Arc<dyn Lead>, stop: &mut StopToken) -> bool {
    tracing::info!("this server leads the background duties");
    let duties = start(state);
    let lost = loop {
        tokio::select! {
            () = stop.stopped() => break false,
            () = tokio::time::sleep(LEASE_EVERY) => {
                let lead = lead.clone();
                let holds = blocking(move || Ok(lead.still_leads())).await.unwrap_or(false);
                if !holds {
                    break true;
                }
            }
        }
    };
    duties.stop(DUTIES_GRACE).await;
    // The lease goes with the last reference (its connection closes).
    drop(lead);
    lost
}

/// Starts every duty.
fn start(state: &AppState) -> BackgroundTasks {
    let mut tasks = BackgroundTasks::new();
    let collector = state.clone();
    // Sweeps expired uploads and collects blobs no ticket names.
    tasks.spawn("blob collection", move |stop| {
        blobs::collect_in_background(collector, stop)
    });
    // Classification, routing, SLA clocks and rules for tenants with a configuration.
    let brain = state.clone();
    tasks.spawn("service brain", move |stop| brain::run(brain, stop));
    // A new ticket about a machine gets the machine's earlier tickets in its staff data.
    let histories = state.clone();
    tasks.spawn("asset histories", move |stop| {
        asset_history::run(histories, stop)
    });
    // Alerts folded before a restart whose tickets do not show them yet.
    let folds = state.clone();
    tasks.spawn("alert folds", move |_stop| async move {
        intake::resume(&folds).await
    });
    // What the reports count about each ticket, kept up with every commit.
    let reports = state.clone();
    tasks.spawn("report facts", move |stop| {
        reports::run_in_background(reports, stop)
    });
    // Webhooks the brain queued, signed and retried.
    let deliveries = state.clone();
    tasks.spawn("webhook deliveries", move |stop| {
        webhooks::run(deliveries, stop)
    });
    tasks
}
