//! Writing folded alerts into their tickets, at most once per [`WRITE_EVERY`] per ticket. The
//! store's `alert_folds` row is the truth (each alert updates it in the transaction that records
//! its receipt); the ticket's `alert` map is a copy written from it, so a storm of alerts costs
//! one small SQL write each and one ticket change a second, and the sync path never queues
//! behind it. When the machine says the condition cleared, the same write adds a note.
//!
//! A ticket has at most one writer: alerts arriving while it writes mark it to write again. After
//! a restart, [`resume`] writes the folds whose tickets show fewer alerts than were taken.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use fieldwork_core::ticket::{AlertFold, Edit};

use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::storage::{AlertFoldRow, OPENING_GRACE_MS};

/// How long alerts for one ticket gather before they are written into it.
pub(super) const WRITE_EVERY: Duration = Duration::from_secs(1);

/// Folds read back per call of [`resume`].
const RESUME_BATCH: usize = 1_000;

/// Tries of one write whose ticket moved meanwhile.
const TRIES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// A write is scheduled and has not begun.
    Waiting,
    /// A write is running; `again`: alerts came meanwhile, write once more after it.
    Writing { again: bool },
}

/// The tickets with a write scheduled or running, by (tenant, ticket).
#[derive(Debug, Default)]
pub(crate) struct FoldWriter {
    pending: Mutex<HashMap<(String, String), Pending>>,
}

impl FoldWriter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Schedules a write of the ticket's fold (a no-op if one is waiting already).
pub(super) fn schedule(state: &AppState, tenant: &str, ticket_id: &str) {
    let key = (tenant.to_owned(), ticket_id.to_owned());
    {
        let mut pending = state.intake().folds.lock();
        match pending.get_mut(&key) {
            Some(Pending::Waiting) => return,
            Some(Pending::Writing { again }) => {
                *again = true;
                return;
            }
            None => {
                pending.insert(key.clone(), Pending::Waiting);
            }
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(WRITE_EVERY).await;
            state
                .intake()
                .folds
                .lock()
                .insert(key.clone(), Pending::Writing { again: false });
            let written = write(&state, &key.0, &key.1).await;
            if let Err(error) = &written {
                tracing::warn!(%error, "folded alerts could not be written into their ticket; the next alert or a restart tries again");
            }
            let mut pending = state.intake().folds.lock();
            let again = matches!(pending.get(&key), Some(Pending::Writing { again: true }))
                || matches!(written, Ok(Written::NotYet));
            if again && !state.is_stopping() {
                pending.insert(key.clone(), Pending::Waiting);
            } else {
                pending.remove(&key);
                return;
            }
        }
    });
}

/// What a write came to.
enum Written {
    Done,
    /// The ticket is still being created: try again later.
    NotYet,
}

/// The ticket's `alert` map for a fold row.
pub(super) fn alert_of(fold: &AlertFoldRow) -> AlertFold {
    AlertFold {
        metric: fold.metric.clone(),
        count: fold.count,
        first_at: fold.first_at,
        last_at: fold.last_at,
        threshold: fold.threshold,
        last_value: fold.last_value,
        worst_value: fold.worst_value,
        severity: fold.severity.clone(),
        resolved_at: fold.resolved_at,
    }
}

/// The note a clear adds.
fn cleared_note(fold: &AlertFoldRow, at: i64) -> String {
    let when = jiff::Timestamp::from_millisecond(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| at.to_string());
    format!(
        "The machine reports that the alarm cleared ({}, last value {}, threshold {}) at {when}.",
        fold.metric, fold.last_value, fold.threshold
    )
}

/// Writes the ticket's fold into it, if the document shows less.
async fn write(state: &AppState, tenant: &str, ticket_id: &str) -> Result<Written, Error> {
    for _ in 0..TRIES {
        let (store, t, id) = (state.store(), tenant.to_owned(), ticket_id.to_owned());
        let Some(fold) = blocking(move || Ok(store.alert_fold(&t, &id)?)).await? else {
            return Ok(Written::Done);
        };
        let store = state.store();
        let channel_id = fold.channel_id.clone();
        let Some(channel) = blocking(move || Ok(store.channel(&channel_id)?)).await? else {
            return Ok(Written::Done);
        };
        let alert = alert_of(&fold);
        let stored = super::write::edit(state, &channel, ticket_id, |current, batch| {
            if current.alert.as_ref() == Some(&alert) {
                return Ok(());
            }
            let newly_cleared = alert.resolved_at.is_some()
                && current.alert.as_ref().and_then(|a| a.resolved_at) != alert.resolved_at;
            batch.alert(&alert)?;
            if let (true, Some(at)) = (newly_cleared, alert.resolved_at) {
                batch.edit(&Edit::AddNote {
                    text: cleared_note(&fold, at),
                    internal: false,
                })?;
            }
            Ok(())
        })
        .await;
        match stored {
            Ok(true) => {
                let (store, t, id, count) = (
                    state.store(),
                    tenant.to_owned(),
                    ticket_id.to_owned(),
                    fold.count,
                );
                blocking(move || Ok(store.alert_fold_written(&t, &id, count)?)).await?;
                return Ok(Written::Done);
            }
            Ok(false) if state.now_ms() - fold.opened_at < OPENING_GRACE_MS => {
                return Ok(Written::NotYet);
            }
            Ok(false) => return Ok(Written::Done),
            // Another write reached the ticket first: read it again.
            Err(Error::Storage(crate::storage::StorageError::Conflict(_))) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(Written::NotYet)
}

/// Schedules the folds whose tickets show fewer alerts than were taken (at start).
pub(crate) async fn resume(state: &AppState) {
    let store = state.store();
    match blocking(move || Ok(store.unwritten_alert_folds(RESUME_BATCH)?)).await {
        Ok(folds) => {
            for fold in folds {
                schedule(state, &fold.tenant_id, &fold.ticket_id);
            }
        }
        Err(error) => tracing::warn!(%error, "folded alerts could not be read back at start"),
    }
}
