//! What a dispatcher works from (`docs/api.md`, "Dispatch"): the brain's ranked suggestions for a
//! ticket, the people who take tickets with their last position, load and shift, and the SLA
//! board — what breached, what comes due soon, what is paused — per team. Back office only.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::ticket_out::TicketSummary;
use super::{ApiQuery, Caller};
use crate::state::{AppState, blocking};
use crate::storage::{ListScope, ReadWith, TicketQuery, TicketSort};

/// Only the back office dispatches.
pub(super) fn require_back_office(caller: &Caller) -> Result<(), ApiError> {
    if caller.user.role.is_back_office() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only agents, dispatchers, supervisors and admins",
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    /// Null when the tenant file names someone who is no user (yet).
    pub user_id: Option<String>,
    pub name: String,
    /// Great-circle metres from their last known position, else their home.
    pub distance_m: Option<f64>,
    pub eligible: bool,
    pub load: u32,
    pub capacity: u32,
    /// "eligible, 2.8 km, load 1/3", "off shift", "at capacity", …
    pub reason: String,
}

/// Whom the brain would choose, and everyone it considered, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestions {
    /// Whether the tenant applied a configuration (without one there is nothing to suggest).
    pub configured: bool,
    pub team: Option<String>,
    /// The user id it would choose now.
    pub chosen: Option<String>,
    pub reason: String,
    pub candidates: Vec<CandidateOut>,
}

/// The brain's ranked suggestions for assigning a ticket: distance, load, skills, shift.
#[utoipa::path(
    get, path = "/tickets/{id}/suggestions", tag = "dispatch",
    params(("id" = String, Path, description = "The ticket's id")),
    responses((status = 200, body = Suggestions), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn suggestions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Suggestions>, ApiError> {
    require_back_office(&caller)?;
    let ticket = super::tickets::view_for(&state, &caller, &id).await?;
    let (store, host, now) = (state.store(), state.brain().clone(), state.now_ms());
    let tenant = caller.user.tenant_id.clone();
    let suggested = blocking(move || host.suggest(store.as_ref(), &tenant, &ticket, now)).await?;
    Ok(Json(match suggested {
        None => Suggestions {
            configured: false,
            team: None,
            chosen: None,
            reason: "the tenant has no configuration for the brain".to_owned(),
            candidates: Vec::new(),
        },
        Some(s) => Suggestions {
            configured: true,
            team: s.team,
            chosen: s.chosen,
            reason: s.reason,
            candidates: s
                .candidates
                .into_iter()
                .map(|c| CandidateOut {
                    user_id: c.user_id,
                    name: c.name,
                    distance_m: c.distance_m,
                    eligible: c.eligible,
                    load: c.load,
                    capacity: c.capacity,
                    reason: c.reason,
                })
                .collect(),
        },
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionOut {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Device time of the fix.
    pub at: i64,
    /// Server time the report arrived.
    pub received_at: i64,
}

/// Someone who takes tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerOut {
    pub user_id: String,
    pub name: String,
    pub role: String,
    /// Their team in the brain's configuration, else their account's.
    pub team: Option<String>,
    pub position: Option<PositionOut>,
    /// Open tickets assigned to them.
    pub open_tickets: u32,
    /// Open tickets at most (from the configuration).
    pub capacity: Option<u32>,
    /// On shift now by their shift calendar; null when the configuration does not list them.
    pub on_shift: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerList {
    pub items: Vec<WorkerOut>,
}

/// Technicians and operators: last known position, open load, shift state.
#[utoipa::path(
    get, path = "/technicians", tag = "dispatch",
    responses((status = 200, body = WorkerList), (status = 403, body = ErrorBody)),
)]
pub async fn workers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WorkerList>, ApiError> {
    require_back_office(&caller)?;
    let (store, host, now) = (state.store(), state.brain().clone(), state.now_ms());
    let tenant = caller.user.tenant_id.clone();
    let items = blocking(move || {
        let users = store.list_users(&tenant)?;
        let positions: BTreeMap<String, _> = store
            .technician_positions(&tenant)?
            .into_iter()
            .map(|p| (p.user_id.clone(), p))
            .collect();
        let load: BTreeMap<String, u32> = store
            .read_with(|r| r.open_load(&tenant))?
            .into_iter()
            .collect();
        let roster = host.roster(store.as_ref(), &tenant, now)?;
        Ok(users
            .into_iter()
            .filter(|u| {
                !u.disabled && matches!(u.role, Role::Technician | Role::Agent | Role::Dispatcher)
            })
            .map(|u| {
                let rostered = roster.get(&u.name);
                WorkerOut {
                    position: positions.get(&u.id).map(|p| PositionOut {
                        lat: p.lat,
                        lon: p.lon,
                        accuracy_m: p.accuracy_m,
                        at: p.at,
                        received_at: p.received_at,
                    }),
                    open_tickets: load.get(&u.id).copied().unwrap_or(0),
                    capacity: rostered.map(|r| r.capacity),
                    on_shift: rostered.map(|r| r.on_shift),
                    team: rostered.map(|r| r.team.clone()).or(u.team.clone()),
                    role: u.role.as_str().to_owned(),
                    user_id: u.id,
                    name: u.name,
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(WorkerList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// Tickets due within this many minutes count as "due soon" (60 when absent).
    #[param(minimum = 1, maximum = 10080)]
    pub within: Option<i64>,
    /// One team only.
    pub team: Option<String>,
}

/// One team's column of the board (`team` null: tickets in no team).
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumn {
    pub team: Option<String>,
    /// Open tickets that missed a target, most urgent first.
    pub breached: Vec<TicketSummary>,
    /// Open tickets due within the window, soonest first.
    pub due_soon: Vec<TicketSummary>,
    /// Tickets whose clocks are paused (waiting on parts or the customer).
    pub paused: Vec<TicketSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaBoard {
    /// The end of the "due soon" window (ms).
    pub due_before: i64,
    pub columns: Vec<BoardColumn>,
}

/// Most tickets of each kind on the board.
const BOARD_LIMIT: usize = 200;
const OPEN: [&str; 8] = [
    "new",
    "assigned",
    "accepted",
    "en_route",
    "on_site",
    "in_progress",
    "awaiting_parts",
    "awaiting_customer",
];

/// The SLA board: per team, what breached, what comes due soon, what is paused.
#[utoipa::path(
    get, path = "/sla/board", tag = "dispatch",
    params(BoardParams),
    responses((status = 200, body = SlaBoard), (status = 403, body = ErrorBody)),
)]
pub async fn sla_board(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<BoardParams>,
) -> Result<Json<SlaBoard>, ApiError> {
    require_back_office(&caller)?;
    let within = params.within.unwrap_or(60);
    if !(1..=10_080).contains(&within) {
        return Err(ApiError::bad_request("within is 1 to 10080 minutes"));
    }
    let due_before = state.now_ms().saturating_add(within * 60_000);
    let base = TicketQuery {
        tenant_id: caller.user.tenant_id.clone(),
        scope: Some(ListScope::All),
        statuses: OPEN.iter().map(|s| (*s).to_owned()).collect(),
        team: params.team.clone(),
        limit: BOARD_LIMIT,
        // The board shows no totals.
        count_up_to: Some(0),
        ..TicketQuery::default()
    };
    let queries = [
        TicketQuery {
            breached: Some(true),
            sort: TicketSort::Priority,
            descending: true,
            ..base.clone()
        },
        TicketQuery {
            breached: Some(false),
            paused: Some(false),
            due_before: Some(due_before),
            sort: TicketSort::Due,
            ..base.clone()
        },
        TicketQuery {
            paused: Some(true),
            sort: TicketSort::Due,
            ..base
        },
    ];
    let store = state.store();
    let pages = blocking(move || {
        queries
            .iter()
            .map(|q| Ok(store.list_tickets(q)?.tickets))
            .collect::<Result<Vec<_>, crate::error::Error>>()
    })
    .await?;
    let mut columns: BTreeMap<Option<String>, BoardColumn> = BTreeMap::new();
    for (kind, page) in pages.into_iter().enumerate() {
        for row in page {
            let team = row.team.clone();
            let column = columns.entry(team.clone()).or_insert_with(|| BoardColumn {
                team,
                breached: Vec::new(),
                due_soon: Vec::new(),
                paused: Vec::new(),
            });
            let summary = TicketSummary::from_row(row, true);
            match kind {
                0 => column.breached.push(summary),
                1 => column.due_soon.push(summary),
                _ => column.paused.push(summary),
            }
        }
    }
    Ok(Json(SlaBoard {
        due_before,
        columns: columns.into_values().collect(),
    }))
}
