//! The asset register through the API (`docs/api.md`, "Assets"; `docs/channels.md`): list and
//! search the tenant's machines, read one, and import a CSV file (all rows or none). Staff read it
//! (technicians and the back office); dispatchers, supervisors and admins import. A machine's
//! tickets are `GET /tickets?asset=SERIAL`.

use axum::Json;
use axum::extract::{Path, State};
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, ApiQuery, Caller};
use crate::asset_register::{MAX_CSV_BYTES, read_csv};
use crate::state::{AppState, blocking};
use crate::storage::AssetRecord;

/// Default page.
const DEFAULT_LIMIT: usize = 50;

const READERS: &[Role] = &[
    Role::Technician,
    Role::Agent,
    Role::Dispatcher,
    Role::Supervisor,
    Role::Admin,
];

/// One machine.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredAsset {
    pub serial: String,
    pub model: Option<String>,
    pub site_address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// `YYYY-MM-DD`.
    pub warranty_until: Option<String>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub owner_email: Option<String>,
    pub updated_at: i64,
}

impl From<AssetRecord> for RegisteredAsset {
    fn from(a: AssetRecord) -> Self {
        RegisteredAsset {
            serial: a.serial,
            model: a.model,
            site_address: a.site_address,
            lat: a.site_lat,
            lon: a.site_lon,
            warranty_until: a.warranty_until,
            owner_name: a.owner_name,
            owner_phone: a.owner_phone,
            owner_email: a.owner_email,
            updated_at: a.updated_at,
        }
    }
}

/// A page of machines, by serial.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetPage {
    pub items: Vec<RegisteredAsset>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetParams {
    /// Text in the serial, model, site address or owner's name.
    pub q: Option<String>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// 1 to 500; 50 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// The tenant's machines by serial.
#[utoipa::path(
    get, path = "/assets", tag = "assets",
    params(AssetParams),
    responses((status = 200, body = AssetPage), (status = 403, body = ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<AssetParams>,
) -> Result<Json<AssetPage>, ApiError> {
    caller.require(READERS, "only staff read the asset register")?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 500"));
    }
    if p.q.as_ref().is_some_and(|q| q.chars().count() > 100)
        || p.cursor.as_ref().is_some_and(|c| c.len() > 400)
    {
        return Err(ApiError::bad_request("q is at most 100 characters"));
    }
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let found = blocking(move || {
        Ok(store.list_assets(&tenant, p.q.as_deref(), p.cursor.as_deref(), limit)?)
    })
    .await?;
    let next_cursor = (found.len() == limit)
        .then(|| found.last().map(|a| a.serial.clone()))
        .flatten();
    Ok(Json(AssetPage {
        items: found.into_iter().map(RegisteredAsset::from).collect(),
        next_cursor,
    }))
}

/// One machine.
#[utoipa::path(
    get, path = "/assets/{serial}", tag = "assets",
    params(("serial" = String, Path, description = "The machine's serial number")),
    responses((status = 200, body = RegisteredAsset), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
) -> Result<Json<RegisteredAsset>, ApiError> {
    caller.require(READERS, "only staff read the asset register")?;
    if serial.len() > 400 {
        return Err(ApiError::not_found("asset"));
    }
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let found = blocking(move || Ok(store.asset(&tenant, &serial)?)).await?;
    found
        .map(|a| Json(a.into()))
        .ok_or_else(|| ApiError::not_found("asset"))
}

/// A register file, as CSV text: a header row (`serial` required; `model`, `site_address`,
/// `lat`, `lon`, `warranty_until`, `owner_name`, `owner_phone`, `owner_email`), one machine a row.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetFile {
    pub csv: String,
}

/// What an import did: every row stored, or the problems by line and nothing stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetImport {
    pub imported: usize,
    /// "line 4: warranty_until is a date, YYYY-MM-DD", …
    pub problems: Vec<String>,
}

/// Adds or replaces machines from a CSV file, all rows or none.
#[utoipa::path(
    post, path = "/assets/import", tag = "assets",
    request_body = AssetFile,
    responses((status = 200, body = AssetImport), (status = 403, body = ErrorBody)),
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(file): ApiJson<AssetFile>,
) -> Result<Json<AssetImport>, ApiError> {
    caller.require(
        &[Role::Dispatcher, Role::Supervisor, Role::Admin],
        "only dispatchers, supervisors and admins import assets",
    )?;
    if file.csv.len() > MAX_CSV_BYTES {
        return Err(ApiError::bad_request(format!(
            "a register file is at most {} MiB",
            MAX_CSV_BYTES / 1024 / 1024
        )));
    }
    let (store, tenant, now) = (state.store(), caller.user.tenant_id.clone(), state.now_ms());
    let done = blocking(move || match read_csv(file.csv.as_bytes(), &tenant, now) {
        Ok(assets) => Ok(Ok(store.put_assets(&tenant, &assets)?)),
        Err(problems) => Ok(Err(problems)),
    })
    .await?;
    Ok(Json(match done {
        Ok(imported) => AssetImport {
            imported,
            problems: Vec::new(),
        },
        Err(problems) => AssetImport {
            imported: 0,
            problems,
        },
    }))
}
