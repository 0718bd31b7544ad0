//! The tenant's people, for admins (`docs/api.md`, "Users"): list them, and disable or enable
//! one. Disabling stops every session and device token of theirs at once.

use axum::Json;
use axum::extract::{Path, State};
use fieldwork_core::Role;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{Caller, UserOut};
use crate::state::{AppState, blocking};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserOut>,
}

/// The tenant's users, by name (admins and supervisors).
#[utoipa::path(
    get, path = "/users", tag = "users",
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<UserList>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Supervisor],
        "only admins and supervisors list users",
    )?;
    let store = state.store();
    let tenant = caller.user.tenant_id.clone();
    let users = blocking(move || Ok(store.list_users(&tenant)?)).await?;
    Ok(Json(UserList {
        items: users.iter().map(UserOut::from).collect(),
    }))
}

async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    user_id: String,
    disabled: bool,
) -> Result<Json<UserOut>, ApiError> {
    caller.require(&[Role::Admin], "only an admin manages users")?;
    if disabled && user_id == caller.user.id {
        return Err(ApiError::bad_request("an admin cannot disable themselves"));
    }
    let (store, now) = (state.store(), state.now_ms());
    let (tenant, by) = (caller.user.tenant_id.clone(), caller.user.id.clone());
    let user = blocking(move || {
        store.set_disabled(&tenant, &user_id, disabled, &by, now)?;
        let users = store.users_by_ids(&tenant, &[user_id])?;
        Ok(users.into_iter().next())
    })
    .await?
    .ok_or_else(|| ApiError::not_found("user"))?;
    tracing::info!(tenant = %user.tenant_id, user = %user.id, disabled, by = %caller.user.id, "user switched");
    Ok(Json(UserOut::from(&user)))
}

/// Disables a user: their sessions and device tokens stop at once, and sign-ins are refused.
#[utoipa::path(
    post, path = "/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = UserOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
)]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserOut>, ApiError> {
    set_disabled(&state, &caller, id, true).await
}

/// Enables a disabled user again: they may sign in; what was stopped stays stopped.
#[utoipa::path(
    post, path = "/users/{id}/enable", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = UserOut), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
)]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserOut>, ApiError> {
    set_disabled(&state, &caller, id, false).await
}
