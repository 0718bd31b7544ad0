//! The tenant's people and teams (`docs/api.md`, "Users and teams"): admins list, make, disable
//! and enable users (disabling stops every session and device token of theirs at once); the back
//! office reads the teams.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, Caller, UserOut};
use crate::admin::{Admin, NewUser};
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

/// A new user, as an admin makes one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    /// The login name, unique in the tenant.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// rider, merchant, technician, agent, dispatcher, supervisor or admin.
    pub role: String,
    pub team: Option<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// At least 8 characters; without one the user signs in with their API token only.
    pub password: Option<String>,
}

/// A user just made, with their API token: shown this once, stored only hashed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUserOut {
    pub user: UserOut,
    pub api_token: String,
}

/// Most skills a user may be given.
const MAX_SKILLS: usize = 50;

/// Makes a user of the caller's tenant (admins).
#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = NewUserIn,
    responses(
        (status = 201, body = CreatedUserOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "the name is taken in the tenant", body = ErrorBody),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUserIn>,
) -> Result<(StatusCode, Json<CreatedUserOut>), ApiError> {
    caller.require(&[Role::Admin], "only an admin manages users")?;
    let role: Role = body.role.parse().map_err(|_| {
        ApiError::bad_request(
            "role is rider, merchant, technician, agent, dispatcher, supervisor or admin",
        )
    })?;
    if body.skills.len() > MAX_SKILLS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_SKILLS} skills"
        )));
    }
    let new = NewUser {
        tenant: caller.user.tenant_id.clone(),
        name: body.name,
        role,
        team: body.team,
        skills: body.skills,
        password: body.password,
    };
    let (store, clock) = (state.store(), state.clock());
    let (created, users) = blocking(move || {
        let admin = Admin::new(store.clone()).with_clock(clock);
        let created = admin.create_user(&new)?;
        let users = store.users_by_ids(&new.tenant, std::slice::from_ref(&created.user_id))?;
        Ok((created, users))
    })
    .await?;
    let user = users.first().ok_or_else(|| ApiError::not_found("user"))?;
    tracing::info!(tenant = %user.tenant_id, user = %user.id, role = %user.role.as_str(), by = %caller.user.id, "user created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedUserOut {
            user: UserOut::from(user),
            api_token: created.token,
        }),
    ))
}

/// One team: from the tenant's configuration when it names the team, and its members from the
/// users whose team it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub name: String,
    /// Whether the tenant's configuration defines it (what it takes, its lead, how it chooses).
    pub configured: bool,
    /// The lead's login name.
    pub lead: Option<String>,
    pub categories: Vec<String>,
    pub kinds: Vec<String>,
    /// `nearest`, `least_loaded` or `round_robin` (configured teams).
    pub chooser: Option<String>,
    pub members: Vec<UserOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub items: Vec<TeamOut>,
}

/// The tenant's teams by name, with what they take and who is in them (the back office).
#[utoipa::path(
    get, path = "/teams", tag = "users",
    responses((status = 200, body = TeamList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn teams(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TeamList>, ApiError> {
    super::dispatch::require_back_office(&caller)?;
    let store = state.store();
    let tenant = caller.user.tenant_id.clone();
    let (users, config) = blocking(move || {
        let users = store.list_users(&tenant)?;
        let config = match store.current_config(&tenant)? {
            Some(applied) => fieldwork_brain::TenantConfig::from_toml(&applied.toml).ok(),
            None => None,
        };
        Ok((users, config))
    })
    .await?;
    let mut teams: std::collections::BTreeMap<String, TeamOut> = std::collections::BTreeMap::new();
    let blank = |name: &str| TeamOut {
        name: name.to_owned(),
        configured: false,
        lead: None,
        categories: Vec::new(),
        kinds: Vec::new(),
        chooser: None,
        members: Vec::new(),
    };
    for team in config.iter().flat_map(|c| c.teams()) {
        teams.insert(
            team.name.clone(),
            TeamOut {
                configured: true,
                lead: team.lead.clone(),
                categories: team.categories.clone(),
                kinds: team.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
                chooser: Some(team.chooser.as_str().to_owned()),
                ..blank(&team.name)
            },
        );
    }
    for user in &users {
        if let Some(team) = &user.team {
            teams
                .entry(team.clone())
                .or_insert_with(|| blank(team))
                .members
                .push(UserOut::from(user));
        }
    }
    Ok(Json(TeamList {
        items: teams.into_values().collect(),
    }))
}
