//! The tenant's settings through the API (`docs/api.md`, "Settings"): its brain configuration —
//! read it and its history (supervisors and admins), check a file without applying it, apply one
//! (admins) — and the webhook delivery log. The same checks as `fieldwork admin configure`: the
//! file as a whole, its user names against the tenant's users; a bad file changes nothing.

use axum::Json;
use axum::extract::State;
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, Caller};
use crate::admin::Admin;
use crate::state::{AppState, blocking};
use crate::storage::ConfigVersion;

/// Largest tenant file taken, in bytes.
const MAX_FILE: usize = 1024 * 1024;
/// Most versions or deliveries listed.
const MAX_LISTED: usize = 200;

fn admin(state: &AppState) -> Admin {
    Admin::new(state.store()).with_clock(state.clock())
}

/// A tenant file, as TOML text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    pub toml: String,
}

/// One version of the configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigOut {
    pub version: u64,
    /// The file as applied (empty in a history list).
    pub toml: String,
    pub sha256: String,
    pub applied_by: String,
    pub applied_at: i64,
}

impl From<ConfigVersion> for ConfigOut {
    fn from(v: ConfigVersion) -> Self {
        ConfigOut {
            version: v.version,
            toml: v.toml,
            sha256: v.sha256,
            applied_by: v.applied_by,
            applied_at: v.applied_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigHistory {
    pub items: Vec<ConfigOut>,
}

/// What checking a file found: valid, or each problem with its line and key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigCheck {
    pub valid: bool,
    /// "line 3, sla_policies.calendar: unknown calendar 'office'", …
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigApplied {
    pub version: u64,
    /// False when the file was the one in force already.
    pub changed: bool,
}

/// The configuration in force (`404` when the tenant never applied one).
#[utoipa::path(
    get, path = "/config", tag = "settings",
    responses((status = 200, body = ConfigOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConfigOut>, ApiError> {
    caller.require(
        &[Role::Supervisor, Role::Admin],
        "only supervisors and admins read the configuration",
    )?;
    let (admin, tenant) = (admin(&state), caller.user.tenant_id.clone());
    let found = blocking(move || admin.config(&tenant, None)).await?;
    found
        .map(|v| Json(v.into()))
        .ok_or_else(|| ApiError::not_found("configuration"))
}

/// Who applied which version and when, newest first.
#[utoipa::path(
    get, path = "/config/history", tag = "settings",
    responses((status = 200, body = ConfigHistory), (status = 403, body = ErrorBody)),
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConfigHistory>, ApiError> {
    caller.require(
        &[Role::Supervisor, Role::Admin],
        "only supervisors and admins read the configuration",
    )?;
    let (admin, tenant) = (admin(&state), caller.user.tenant_id.clone());
    let versions = blocking(move || admin.config_history(&tenant, MAX_LISTED)).await?;
    Ok(Json(ConfigHistory {
        items: versions.into_iter().map(ConfigOut::from).collect(),
    }))
}

fn checked_size(file: &TenantFile) -> Result<(), ApiError> {
    if file.toml.len() > MAX_FILE {
        return Err(ApiError::bad_request(format!(
            "a tenant file is at most {MAX_FILE} bytes"
        )));
    }
    Ok(())
}

/// Checks a file as a whole, against this tenant's users, without applying it.
#[utoipa::path(
    post, path = "/config/check", tag = "settings",
    request_body = TenantFile,
    responses((status = 200, body = ConfigCheck), (status = 403, body = ErrorBody)),
)]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(file): ApiJson<TenantFile>,
) -> Result<Json<ConfigCheck>, ApiError> {
    caller.require(
        &[Role::Supervisor, Role::Admin],
        "only supervisors and admins check configurations",
    )?;
    checked_size(&file)?;
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let problems = blocking(move || {
        let config = match fieldwork_brain::TenantConfig::from_toml(&file.toml) {
            Ok(config) => config,
            Err(error) => return Ok(error.problems.iter().map(ToString::to_string).collect()),
        };
        let known = store
            .list_users(&tenant)?
            .into_iter()
            .map(|u| u.name)
            .collect();
        Ok(match config.check_users(&known) {
            Ok(()) => Vec::new(),
            Err(error) => error.problems.iter().map(ToString::to_string).collect(),
        })
    })
    .await?;
    Ok(Json(ConfigCheck {
        valid: problems.is_empty(),
        problems,
    }))
}

/// Applies a file (admins): checked as a whole first; a bad file changes nothing (`400` with
/// each problem's line and key).
#[utoipa::path(
    put, path = "/config", tag = "settings",
    request_body = TenantFile,
    responses((status = 200, body = ConfigApplied), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(file): ApiJson<TenantFile>,
) -> Result<Json<ConfigApplied>, ApiError> {
    caller.require(&[Role::Admin], "only admins apply configurations")?;
    checked_size(&file)?;
    let (admin, tenant, by) = (
        admin(&state),
        caller.user.tenant_id.clone(),
        caller.user.id.clone(),
    );
    let applied = blocking(move || admin.configure(&tenant, &file.toml, &by)).await?;
    Ok(Json(ConfigApplied {
        version: applied.version,
        changed: applied.changed,
    }))
}

/// One webhook delivery and how its attempts went.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: u64,
    pub url: String,
    /// The rule or policy that asked for it.
    pub source: String,
    /// `pending`, `delivered` or `gave_up`.
    pub state: String,
    pub attempts: u32,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryOut>,
}

/// The webhook delivery log, newest first (admins).
#[utoipa::path(
    get, path = "/webhooks/deliveries", tag = "settings",
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody)),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DeliveryList>, ApiError> {
    caller.require(&[Role::Admin], "only admins read the delivery log")?;
    let (admin, tenant) = (admin(&state), caller.user.tenant_id.clone());
    let found = blocking(move || admin.deliveries(&tenant, MAX_LISTED)).await?;
    Ok(Json(DeliveryList {
        items: found
            .into_iter()
            .map(|d| DeliveryOut {
                id: d.id,
                url: d.url,
                source: d.source,
                state: serde_json::to_value(d.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                attempts: d.attempts,
                created_at: d.created_at,
                next_attempt_at: d.next_attempt_at,
                last_status: d.last_status,
                last_error: d.last_error,
                delivered_at: d.delivered_at,
            })
            .collect(),
    }))
}
