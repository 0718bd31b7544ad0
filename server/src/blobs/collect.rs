//! Collecting stored blobs no ticket names. An honest device pushes the ticket change that files
//! an attachment before its lane uploads the file, so a blob still unnamed a grace period after
//! its last upload (`Quotas::unnamed_blob_grace_ms`, 24 h by default) is junk: its row and file
//! are deleted and its bytes leave the tenant's and the uploader's usage.
//!
//! Runs in bounded batches: a few with every upload created (like the sweep of expired uploads,
//! so space is freed before a quota is checked), and in rounds on a background task.
//!
//! Order and races:
//! - Rows first, files second. A crash in between leaves a file no row names (an orphan: wasted
//!   disk, not counted in usage, adopted again by the next upload of the same bytes), never a
//!   row naming a missing file, which the server would answer "already stored" for and so never
//!   get the bytes again.
//! - The check "no `blob_refs` row names it, nobody claimed it since the cutoff" and the delete
//!   are one transaction. A push writes its `blob_refs` in its own transaction, so it commits
//!   either before (the blob stays) or after (the ticket names a blob that is gone, as if never
//!   uploaded). A `POST` finding the blob stored claims it in one transaction, which restarts
//!   its grace period, so a blob is never collected right after a device was told "already
//!   stored".
//! - An upload finishing the same bytes holds the blob's lock from its hash check until its row
//!   is written; the collector holds it from its delete until the file is gone. So a finished
//!   upload never finds the file present, then loses it to a collector that deleted the row a
//!   moment before.

use std::time::Duration;

use serde::Serialize;

use super::{BlobLane, COLLECT_BATCH, SWEEP_BATCH, upload};
use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::tasks::StopToken;

/// How often the background collector runs a round.
const ROUND_EVERY: Duration = Duration::from_secs(10 * 60);
/// Batches one round may take before waiting for the next (bounded work per round).
const BATCHES_PER_ROUND: usize = 64;

/// What a collection removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    pub blobs: u64,
    pub bytes: u64,
    /// Expired uploads swept in the same run.
    pub uploads: u64,
}

/// Collects at most `limit` unnamed blobs last claimed at or before `now - grace_ms`.
pub(super) fn collect_unnamed(
    lane: &BlobLane,
    grace_ms: i64,
    now: i64,
    limit: usize,
) -> Result<Collected, Error> {
    // Claimed at or before `now - grace_ms`: strictly before this.
    let before = now.saturating_sub(grace_ms).saturating_add(1);
    let candidates = lane.records.unnamed_blobs(before, limit)?;
    let mut collected = Collected::default();
    if candidates.is_empty() {
        return Ok(collected);
    }
    let _turns = lane.lock_blobs(
        candidates
            .iter()
            .map(|b| (b.tenant_id.as_str(), b.sha256.as_str())),
    );
    let deleted = lane.records.delete_unnamed_blobs(&candidates, before)?;
    for blob in &deleted {
        collected.blobs += 1;
        collected.bytes += blob.length;
        if let Err(error) = lane.store.remove_blob(&blob.tenant_id, &blob.sha256) {
            // The row is gone; a file left behind is an orphan, never a broken blob.
            tracing::warn!(%error, tenant = %blob.tenant_id, "an unnamed blob's file stays behind");
            continue;
        }
        tracing::info!(tenant = %blob.tenant_id, bytes = blob.length, "unnamed blob collected");
    }
    Ok(collected)
}

/// Sweeps expired uploads and collects unnamed blobs in batches until none are left or
/// `max_batches` were taken.
fn collect_batches(
    lane: &BlobLane,
    grace_ms: i64,
    now: i64,
    max_batches: usize,
) -> Result<Collected, Error> {
    let mut total = Collected::default();
    for _ in 0..max_batches {
        let swept = upload::sweep(lane, now)?;
        let round = collect_unnamed(lane, grace_ms, now, COLLECT_BATCH)?;
        total.uploads += swept as u64;
        total.blobs += round.blobs;
        total.bytes += round.bytes;
        if swept < SWEEP_BATCH && round.blobs < COLLECT_BATCH as u64 {
            break;
        }
    }
    Ok(total)
}

/// Runs one full collection now, at the state's clock: what the background task does every
/// round (admin tools and tests).
pub async fn collect_now(state: &AppState) -> Result<Collected, Error> {
    let (lane, grace, now) = (
        state.blobs().clone(),
        state.quotas().unnamed_blob_grace_ms,
        state.now_ms(),
    );
    blocking(move || collect_batches(&lane, grace, now, usize::MAX)).await
}

/// The background collector: a round every [`ROUND_EVERY`] until the tasks are told to stop
/// (a background task of `Server::run`).
pub(crate) async fn collect_in_background(state: AppState, mut stop: StopToken) {
    let start = tokio::time::Instant::now() + ROUND_EVERY;
    let mut rounds = tokio::time::interval_at(start, ROUND_EVERY);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = rounds.tick() => {}
            () = stop.stopped() => return,
        }
        let (lane, grace, now) = (
            state.blobs().clone(),
            state.quotas().unnamed_blob_grace_ms,
            state.now_ms(),
        );
        let round = blocking(move || collect_batches(&lane, grace, now, BATCHES_PER_ROUND)).await;
        match round {
            Ok(c) if c.blobs > 0 || c.uploads > 0 => {
                tracing::info!(
                    blobs = c.blobs,
                    bytes = c.bytes,
                    uploads = c.uploads,
                    "blob collection round"
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "blob collection round failed; next round retries")
            }
        }
    }
}
