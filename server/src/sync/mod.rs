//! `POST /v1/sync`: one round trip that pushes the device's outbox (through the one write path,
//! [`crate::service::Tickets::commit`], as [`Author::Device`]) and pulls what is new after its
//! cursor ([`pull`]), then long-polls if there was nothing either way.

mod knowledge;
mod pull;

use std::time::Duration;

use fieldwork_core::knowledge::KbDelta;
use fieldwork_protocol::sync::{MAX_WAIT_MS, PersonName, SyncRequest, SyncResponse};

use crate::auth::DeviceAuth;
use crate::error::Error;
use crate::service::{Author, Committed, ProposedChange};
use crate::state::{AppState, blocking};
use crate::storage::{DeviceRecord, ReadWith, UserRecord};

use pull::{PullOutcome, PullRequest};

/// Answers one sync request.
pub(crate) async fn sync(
    state: &AppState,
    auth: DeviceAuth,
    request: SyncRequest,
) -> Result<SyncResponse, Error> {
    let user = auth.session.user;
    let device = auth.device;
    let tickets = state.tickets();
    // Subscribed before anything is read, so a change stored in between still wakes the wait.
    let mut news = tickets.tenant_news(&user.tenant_id);
    let pushed_nothing = request.changes.is_empty();
    let budget = request.pull_budget();
    let pushed = if pushed_nothing {
        Committed::default()
    } else {
        let changes = request
            .changes
            .into_iter()
            .map(|pushed| ProposedChange {
                ticket_id: pushed.ticket_id,
                part: pushed.part,
                bytes: pushed.change.into_vec(),
            })
            .collect();
        let author = Author::Device {
            user: user.clone(),
            device: device.clone(),
            clock_offset_ms: request.clock_offset_ms,
        };
        tickets.commit(author, &user.tenant_id, changes).await?
    };
    let mut ask = PullRequest {
        cursor: request.cursor,
        budget,
        refresh: pushed.refresh,
        created: pushed.created,
    };
    let (mut pulled, kb) = pull_blocking(state, &user, &device, &ask, request.kb_cursor).await?;
    let kb_news = kb.as_ref().is_some_and(|kb| !kb.is_empty());
    if request.wait_ms > 0 && pushed_nothing && !kb_news {
        let wait = Duration::from_millis(u64::from(request.wait_ms.min(MAX_WAIT_MS)));
        let deadline = tokio::time::Instant::now() + wait;
        let mut stopping = state.stopping();
        // Names alone are news too (the device's own change named someone): answer with them.
        while pulled.items.is_empty()
            && pulled.people.is_empty()
            && !pulled.more
            && !*stopping.borrow_and_update()
        {
            tokio::select! {
                heard = news.changed() => if heard.is_err() { break },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stopping.changed() => break,
            }
            ask.cursor = pulled.cursor;
            (pulled, _) = pull_blocking(state, &user, &device, &ask, None).await?;
        }
    }
    let people = names_blocking(state, &user.tenant_id, std::mem::take(&mut pulled.people)).await?;
    tracing::debug!(
        tenant = %user.tenant_id,
        device = %device.id,
        accepted = pushed.accepted.len(),
        rejected = pushed.rejected.len(),
        items = pulled.items.len(),
        cursor = pulled.cursor,
        more = pulled.more,
        people = people.len(),
        kb_articles = kb.as_ref().map_or(0, |kb| kb.articles.len()),
        "sync answered"
    );
    Ok(SyncResponse {
        server_time: state.now_ms(),
        accepted: pushed.accepted,
        rejected: pushed.rejected,
        items: pulled.items,
        cursor: pulled.cursor,
        more: pulled.more || kb.as_ref().is_some_and(|kb| kb.more),
        people,
        kb,
    })
}

/// A pull and, when the device asks from `kb_cursor` (the round's first pull), what changed in
/// the knowledge base: one read of the store (each read begun after another connection's commit
/// starts cold, `storage::sqlite::schema`); then what the device now holds is recorded.
async fn pull_blocking(
    state: &AppState,
    user: &UserRecord,
    device: &DeviceRecord,
    ask: &PullRequest,
    kb_cursor: Option<u64>,
) -> Result<(PullOutcome, Option<KbDelta>), Error> {
    let (store, user, device, ask) = (state.store(), user.clone(), device.clone(), ask.clone());
    blocking(move || {
        let (pulled, holdings, kb) = store.read_with(|reader| {
            let (pulled, holdings) = pull::read(reader, &user, &device, &ask)?;
            let kb = match kb_cursor {
                Some(cursor) => knowledge::delta(reader, &user, cursor)?,
                None => None,
            };
            Ok::<_, Error>((pulled, holdings, kb))
        })?;
        pull::record(store.as_ref(), &device, &holdings)?;
        Ok((pulled, kb))
    })
    .await
}

/// The names of the people a pull brings, read when the answer is final (after a long-poll).
async fn names_blocking(
    state: &AppState,
    tenant_id: &str,
    ids: Vec<String>,
) -> Result<Vec<PersonName>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (store, tenant_id) = (state.store(), tenant_id.to_owned());
    blocking(move || pull::names(store.as_ref(), &tenant_id, &ids)).await
}
