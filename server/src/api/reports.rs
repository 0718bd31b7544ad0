//! Reports (`docs/reports.md`) for dispatchers, supervisors and admins: for whole days in a time
//! zone, grouped by category, channel, team, assignee or day — volume and its trend, backlog,
//! first-response and resolution times (business and wall-clock minutes), SLA breach rate,
//! first-contact resolution, reopens, CSAT and the top categories. JSON, or CSV with `format=csv`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fieldwork_brain::report::metrics::COLUMNS;
use fieldwork_brain::report::{GroupBy, Period, Report};
use fieldwork_core::Role;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::{ApiQuery, Caller, csv};
use crate::state::{AppState, blocking};

/// Who reads reports.
const READERS: &[Role] = &[Role::Dispatcher, Role::Supervisor, Role::Admin];
const NOT_A_READER: &str = "only dispatchers, supervisors and admins read reports";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The first day, `YYYY-MM-DD`.
    #[param(example = "2026-11-01")]
    pub from: String,
    /// The last day, `YYYY-MM-DD`, at most 366 days after `from`.
    #[param(example = "2026-11-30")]
    pub to: String,
    /// The IANA time zone days are counted in; `UTC` when absent.
    #[param(example = "Europe/Berlin")]
    pub tz: Option<String>,
    /// `category`, `channel`, `team`, `assignee` or `day` (the default).
    pub by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The period and grouping asked for, or why they cannot be reported on.
pub fn period_of(
    from: &str,
    to: &str,
    tz: Option<&str>,
    by: Option<&str>,
) -> Result<(Period, GroupBy), String> {
    let period = Period::parse(from, to, tz.unwrap_or("UTC")).map_err(|e| e.to_string())?;
    let by = match by {
        None => GroupBy::Day,
        Some(text) => GroupBy::parse(text)
            .ok_or("by is category, channel, team, assignee or day".to_owned())?,
    };
    Ok((period, by))
}

/// A report on the tenant's tickets.
#[utoipa::path(
    get, path = "/reports", tag = "reports",
    params(ReportParams),
    responses(
        (status = 200, content((Report = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody),
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    caller.require(READERS, NOT_A_READER)?;
    let as_csv = csv::wanted(p.format.as_deref())?;
    let (period, by) = period_of(&p.from, &p.to, p.tz.as_deref(), p.by.as_deref())
        .map_err(ApiError::bad_request)?;
    let (store, cache) = (state.store(), state.tickets().docs());
    let (now, tenant) = (state.now_ms(), caller.user.tenant_id.clone());
    let report =
        blocking(move || crate::reports::run(store.as_ref(), &cache, &tenant, &period, by, now))
            .await?;
    if as_csv {
        let name = format!(
            "report-{}-{}-by-{}.csv",
            report.from,
            report.to,
            by.as_str()
        );
        let rows = report.rows.iter().chain([&report.total]).map(|r| r.cells());
        return Ok(csv::attachment(COLUMNS, rows, &name));
    }
    Ok(Json(report).into_response())
}
