//! `GET /events`: the tenant's news as server-sent events, for live views (the console's queue,
//! SLA board and ticket page). It never carries ticket content. An event names the tickets that
//! changed and the seq they are known up to; the client reads what it shows through the API as
//! usual, so every rule still applies.
//!
//! - One `ready` event first, with the tenant's newest seq.
//! - Then, after each commit (gathered for [`GATHER`] so a burst makes one event), a `tickets`
//!   event: the seq, the ids of the tickets whose newest change came since the last event (at
//!   most [`MAX_IDS`]; `more` says there were others), as its `id:` the seq. A client that
//!   reconnects sends it back as `Last-Event-ID` and misses nothing.
//! - The stream ends after `seconds`, when the server stops, or when the caller's session or token no longer
//!   holds (checked before every event and every [`RECHECK`]): a last `signed_out` event says
//!   so.
//!
//! Each stream is one connection, so the server's connection limits bound how many there are.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::{IntoParams, ToSchema};

use super::caller::Via;
use super::error::{ApiError, ErrorBody};
use super::{ApiQuery, Caller};
use crate::state::{AppState, blocking};
use crate::storage::TokenKind;

/// How long news is gathered before it is sent: a burst of commits makes one event.
const GATHER: Duration = Duration::from_millis(200);
/// How often an idle stream checks that its caller may still listen.
const RECHECK: Duration = Duration::from_secs(30);
/// Most ticket ids in one event.
pub const MAX_IDS: usize = 100;
/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a stream lasts when the client does not say (`seconds`), and at most.
const DEFAULT_SECONDS: u64 = 300;
const MAX_SECONDS: u64 = 3600;
/// How soon a browser reconnects after a stream ends (the `retry` field).
const RECONNECT: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Start after this seq (what an earlier event's `id` said); `Last-Event-ID` does the same.
    /// Absent: from now.
    pub after: Option<u64>,
    /// End the stream after this many seconds (0 to 3600; 300 when absent). A browser's
    /// `EventSource` reconnects by itself and resumes after the last event.
    #[param(minimum = 0, maximum = 3600)]
    pub seconds: Option<u64>,
}

/// The data of a `tickets` event (a `ready` event has only `seq`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketsChanged {
    /// Every change of the tenant up to this seq is stored and readable.
    pub seq: u64,
    /// The tickets whose newest change came since the last event, oldest first.
    pub tickets: Vec<String>,
    /// More tickets changed than are named: reread the whole view.
    pub more: bool,
}

/// Where a stream stands.
struct Listener {
    state: AppState,
    caller: Caller,
    seen: u64,
    /// The tenant's newest seq in the store when the stream began (the watch only knows
    /// commits since the server started).
    newest_at_start: u64,
    news: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    until: tokio::time::Instant,
    ready_sent: bool,
    ended: bool,
}

enum Wake {
    News,
    Stop,
    Recheck,
}

impl Listener {
    /// Whether the caller's session or token still holds.
    async fn may_listen(&self) -> bool {
        let (store, now) = (self.state.store(), self.state.now_ms());
        let via = self.caller.via.clone();
        blocking(move || {
            Ok(match via {
                Via::Session { token_hash } => store.web_session(&token_hash, now)?.is_some(),
                Via::Token { token_hash } => store
                    .session(&token_hash)?
                    .is_some_and(|holder| holder.kind == TokenKind::User),
                Via::Link { .. } => false,
            })
        })
        .await
        .unwrap_or(false)
    }

    async fn wait(&mut self) -> Wake {
        tokio::select! {
            changed = self.news.changed() => match changed {
                Ok(()) => Wake::News,
                Err(_) => Wake::Stop,
            },
            _ = self.stopping.wait_for(|stop| *stop) => Wake::Stop,
            () = tokio::time::sleep_until(self.until) => Wake::Stop,
            () = tokio::time::sleep(RECHECK) => Wake::Recheck,
        }
    }

    /// The next event, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        if !self.ready_sent {
            self.ready_sent = true;
            let newest = (*self.news.borrow_and_update()).max(self.newest_at_start);
            if newest > self.seen {
                // News came between the client's last event and this stream: send it first.
                return self.changes(newest).await.map(|e| e.retry(RECONNECT));
            }
            let ready = data_event("ready", self.seen, &serde_json::json!({ "seq": self.seen }));
            return Some(ready.retry(RECONNECT));
        }
        loop {
            match self.wait().await {
                Wake::Stop => return None,
                Wake::Recheck => {
                    if !self.may_listen().await {
                        return self.signed_out();
                    }
                }
                Wake::News => {
                    tokio::time::sleep(GATHER).await;
                    let newest = *self.news.borrow_and_update();
                    if newest > self.seen {
                        return self.changes(newest).await;
                    }
                }
            }
        }
    }

    async fn changes(&mut self, newest: u64) -> Option<Event> {
        if !self.may_listen().await {
            return self.signed_out();
        }
        let (store, tenant, after) = (
            self.state.store(),
            self.caller.user.tenant_id.clone(),
            self.seen,
        );
        let found =
            blocking(move || Ok(store.changed_tickets(&tenant, after, newest, MAX_IDS + 1)?)).await;
        // A failed read is said to the client as "reread everything".
        let (mut tickets, failed) = match found {
            Ok(ids) => (ids, false),
            Err(_) => (Vec::new(), true),
        };
        let more = failed || tickets.len() > MAX_IDS;
        tickets.truncate(MAX_IDS);
        self.seen = newest;
        let data = TicketsChanged {
            seq: newest,
            tickets,
            more,
        };
        Some(data_event("tickets", newest, &data))
    }

    fn signed_out(&mut self) -> Option<Event> {
        self.ended = true;
        Some(Event::default().event("signed_out").data("{}"))
    }
}

fn data_event(name: &str, seq: u64, data: &impl Serialize) -> Event {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event(name).id(seq.to_string()).data(json)
}

/// The seq a reconnecting client names (`Last-Event-ID`), if it reads as one.
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The tenant's news as server-sent events (`text/event-stream`): `ready`, then `tickets`
/// events naming the tickets that changed (never their content), each with the seq as its id;
/// `signed_out` when the session ends. Agents, dispatchers, supervisors and admins.
#[utoipa::path(
    get, path = "/events", tag = "tickets",
    params(EventParams, ("Last-Event-ID" = Option<String>, Header, description = "The last event's id, to resume after it")),
    responses(
        (status = 200, description = "A stream of events; each `tickets` event's data is a TicketsChanged", content_type = "text/event-stream", body = TicketsChanged),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    super::dispatch::require_back_office(&caller)?;
    let seconds = params.seconds.unwrap_or(DEFAULT_SECONDS);
    if seconds > MAX_SECONDS {
        return Err(ApiError::bad_request(format!(
            "seconds is at most {MAX_SECONDS}"
        )));
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
    // Subscribe before reading the newest seq, so a commit in between still wakes the stream.
    let news = state.tickets().tenant_news(&caller.user.tenant_id);
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let newest = blocking(move || {
        let mut newest = 0;
        store.read(&mut |r| {
            newest = r.max_seq(&tenant)?;
            Ok(())
        })?;
        Ok(newest)
    })
    .await?;
    // A seq from the client is never trusted past what is stored.
    let seen = params
        .after
        .or_else(|| last_event_id(&headers))
        .map_or(newest, |after| after.min(newest));
    let stopping = state.stopping();
    let listener = Listener {
        state,
        caller,
        seen,
        newest_at_start: newest,
        news,
        stopping,
        until,
        ready_sent: false,
        ended: false,
    };
    let stream = futures_util::stream::unfold(listener, |mut listener| async move {
        let event = listener.next().await?;
        Some((Ok(event), listener))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_event_id_is_read_as_a_seq_or_ignored() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers), None);
        headers.insert("last-event-id", " 42 ".parse().expect("header"));
        assert_eq!(last_event_id(&headers), Some(42));
        headers.insert("last-event-id", "forty".parse().expect("header"));
        assert_eq!(last_event_id(&headers), None);
    }
}
