//! The background task that keeps the search index up with the commits. A backend may leave a
//! commit's search text to be indexed later (`TicketList::index_waiting_text`; SQLite does, ADR
//! 0022) so the commit every push waits for does not take a ticket's whole text apart; this
//! indexes what waits every [`INDEX_EVERY`], a batch a transaction. A search indexes what waits
//! first, so this is what keeps searches quick, not what makes them right.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::Error;
use crate::state::AppState;
use crate::storage::ServerStore;
use crate::tasks::StopToken;

/// How often the index takes in what waits. A ticket noted many times meanwhile is indexed
/// once, so the longer, the less work; the longer, too, the more a search may find waiting.
pub(crate) const INDEX_EVERY: Duration = Duration::from_secs(5);

/// Tickets indexed per transaction: the writer is let go between batches, so commits are not
/// held up behind a long round.
const INDEX_BATCH: usize = 64;

/// Indexes what waits every [`INDEX_EVERY`] until the server stops.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    let mut every = tokio::time::interval(INDEX_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.stopped() => return,
            _ = every.tick() => {}
        }
        let store = state.store();
        let (answer, answered) = oneshot::channel();
        // Its own thread at the normal priority, not a (lowered) request thread: it holds the
        // writer, which every commit waits for (`crate::priority`).
        let spawned = std::thread::Builder::new()
            .name("fieldwork-search-index".into())
            .spawn(move || {
                let _ = answer.send(index_round(store.as_ref()));
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no thread to index search text; the next round tries again");
            continue;
        }
        match answered.await {
            Ok(Ok(0)) => {}
            Ok(Ok(indexed)) => tracing::debug!(indexed, "search text indexed"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "search text could not be indexed; the next round tries again");
            }
            Err(_) => tracing::error!("indexing search text panicked; the next round tries again"),
        }
    }
}

/// One round: batches until none is full, or for at most [`INDEX_EVERY`] (the next round goes
/// on); returns how many tickets were indexed.
pub(crate) fn index_round(store: &dyn ServerStore) -> Result<usize, Error> {
    let began = Instant::now();
    let mut indexed = 0;
    loop {
        let batch = store.index_waiting_text(INDEX_BATCH)?;
        indexed += batch;
        if batch < INDEX_BATCH || began.elapsed() >= INDEX_EVERY {
            return Ok(indexed);
        }
    }
}
