//! `GET /tickets/{id}/sla`: a ticket's SLA as a timeline (`docs/api.md`, "Dispatch"). Each clock
//! (first response, update, resolution) from its anchor to when it was met — or to its due time,
//! or now if later — cut into stretches: running, paused (a pause status; for the resolution
//! clock also the time spent resolved before a reopen) and closed (outside the business
//! calendar's hours), so a supervisor sees why the ticket is due when it is. Back office only,
//! for a ticket the caller sees.

use axum::Json;
use axum::extract::{Path, State};
use fieldwork_brain::sla_timeline::{ClockTimeline, SlaTimeline};
use serde::Serialize;
use utoipa::ToSchema;

use super::Caller;
use super::dispatch::require_back_office;
use super::error::{ApiError, ErrorBody};
use crate::state::{AppState, blocking};

/// `[from, until)`, milliseconds since the Unix epoch.
#[derive(Debug, Serialize, ToSchema)]
pub struct StretchOut {
    pub from: i64,
    pub until: i64,
    /// `running`, `paused` or `closed` (outside business hours).
    pub kind: String,
}

/// One clock of the ticket with its stretches. Stretches after `now` assume the ticket stays
/// as it is, which is how `due` is computed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockOut {
    /// `first_response`, `update` or `resolution`.
    pub target: String,
    /// Where it counts from: the creation, or for updates the last update.
    pub anchor: i64,
    pub target_minutes: i64,
    /// Null when the target does not fit in the calendar's horizon.
    pub due: Option<i64>,
    pub met_at: Option<i64>,
    /// Business minutes it took to meet the target.
    pub taken_min: Option<i64>,
    pub breached: bool,
    /// It still counts towards `due`.
    pub running: bool,
    /// It no longer runs without having been met (the ticket was cancelled or closed).
    pub stopped: bool,
    pub stretches: Vec<StretchOut>,
    /// More stretches than are listed (a clock that ran for months).
    pub truncated: bool,
}

/// A ticket's SLA as a timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaTimelineOut {
    /// The policy that takes the ticket; null when none does (or the tenant has no
    /// configuration), and then there are no clocks.
    pub policy: Option<String>,
    /// The business calendar the clocks run on, and its time zone (IANA).
    pub calendar: Option<String>,
    pub time_zone: Option<String>,
    /// The ticket is in a pause status now.
    pub paused: bool,
    /// The server's time the timeline was computed at.
    pub now: i64,
    pub clocks: Vec<ClockOut>,
}

/// The ticket's SLA as a timeline of running, paused and closed stretches on its calendar.
#[utoipa::path(
    get, path = "/tickets/{id}/sla", tag = "dispatch",
    params(("id" = String, Path, description = "The ticket's id")),
    responses((status = 200, body = SlaTimelineOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn sla_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SlaTimelineOut>, ApiError> {
    require_back_office(&caller)?;
    let ticket = super::tickets::view_for(&state, &caller, &id).await?;
    let (store, host, now) = (state.store(), state.brain().clone(), state.now_ms());
    let tenant = caller.user.tenant_id.clone();
    let timeline =
        blocking(move || host.sla_timeline(store.as_ref(), &tenant, &id, &ticket, now)).await?;
    Ok(Json(match timeline {
        Some(timeline) => out(timeline),
        None => SlaTimelineOut {
            policy: None,
            calendar: None,
            time_zone: None,
            paused: false,
            now,
            clocks: Vec::new(),
        },
    }))
}

fn out(timeline: SlaTimeline) -> SlaTimelineOut {
    SlaTimelineOut {
        policy: Some(timeline.policy),
        calendar: Some(timeline.calendar),
        time_zone: Some(timeline.time_zone),
        paused: timeline.paused,
        now: timeline.now,
        clocks: timeline.clocks.into_iter().map(clock_out).collect(),
    }
}

fn clock_out(timeline: ClockTimeline) -> ClockOut {
    let clock = timeline.clock;
    ClockOut {
        target: clock.target.as_str().to_owned(),
        anchor: clock.anchor,
        target_minutes: clock.target_minutes,
        due: clock.due,
        met_at: clock.met_at,
        taken_min: clock.taken_min,
        breached: clock.breached,
        running: clock.running(),
        stopped: clock.stopped,
        stretches: timeline
            .stretches
            .into_iter()
            .map(|s| StretchOut {
                from: s.from,
                until: s.until,
                kind: s.kind.as_str().to_owned(),
            })
            .collect(),
        truncated: timeline.truncated,
    }
}
