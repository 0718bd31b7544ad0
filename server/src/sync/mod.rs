//! `POST /v1/sync`: one round trip that pushes the device's outbox ([`push`]) and pulls what is
//! new after its cursor ([`pull`]), then long-polls if there was nothing either way.

mod pull;
mod push;

use std::time::Duration;

use fieldwork_protocol::sync::{MAX_WAIT_MS, SyncRequest, SyncResponse};

use crate::auth::DeviceAuth;
use crate::error::Error;
use crate::state::AppState;
use crate::storage::{DeviceRecord, UserRecord};

use pull::{PullOutcome, PullRequest};
use push::PushOutcome;

/// Answers one sync request.
pub(crate) async fn sync(
    state: &AppState,
    auth: DeviceAuth,
    request: SyncRequest,
) -> Result<SyncResponse, Error> {
    let user = auth.session.user;
    let device = auth.device;
    let hub = state.hub(&user.tenant_id);
    // Subscribed before anything is read, so a change stored in between still wakes the wait.
    let mut news = hub.subscribe();
    let pushed_nothing = request.changes.is_empty();
    let budget = request.pull_budget();
    let pushed = if pushed_nothing {
        PushOutcome::default()
    } else {
        let _turn = hub.push_turn.lock().await;
        let (shared, user, device, now) =
            (state.shared(), user.clone(), device.clone(), state.now_ms());
        let changes = request.changes;
        let outcome = state
            .blocking(move || push::push(&shared, &user, &device, changes, now))
            .await?;
        if let Some(seq) = outcome.stored_up_to {
            hub.announce(seq);
        }
        outcome
    };
    let mut ask = PullRequest {
        cursor: request.cursor,
        budget,
        refresh: pushed.refresh,
        created: pushed.created,
    };
    let mut pulled = pull_blocking(state, &user, &device, &ask).await?;
    if request.wait_ms > 0 && pushed_nothing {
        let wait = Duration::from_millis(u64::from(request.wait_ms.min(MAX_WAIT_MS)));
        let deadline = tokio::time::Instant::now() + wait;
        let mut stopping = state.stopping();
        while pulled.items.is_empty() && !pulled.more && !*stopping.borrow_and_update() {
            tokio::select! {
                heard = news.changed() => if heard.is_err() { break },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stopping.changed() => break,
            }
            ask.cursor = pulled.cursor;
            pulled = pull_blocking(state, &user, &device, &ask).await?;
        }
    }
    tracing::debug!(
        tenant = %user.tenant_id,
        device = %device.id,
        accepted = pushed.accepted.len(),
        rejected = pushed.rejected.len(),
        items = pulled.items.len(),
        cursor = pulled.cursor,
        more = pulled.more,
        "sync answered"
    );
    Ok(SyncResponse {
        server_time: state.now_ms(),
        accepted: pushed.accepted,
        rejected: pushed.rejected,
        items: pulled.items,
        cursor: pulled.cursor,
        more: pulled.more,
    })
}

async fn pull_blocking(
    state: &AppState,
    user: &UserRecord,
    device: &DeviceRecord,
    ask: &PullRequest,
) -> Result<PullOutcome, Error> {
    let (shared, user, device, ask) = (state.shared(), user.clone(), device.clone(), ask.clone());
    state
        .blocking(move || pull::pull(&shared, &user, &device, &ask))
        .await
}
