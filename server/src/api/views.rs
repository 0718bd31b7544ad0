//! Saved views (`docs/api.md`, "Saved views"): each person's named queries of the ticket list,
//! kept on the server so they follow the person from browser to browser. A view's query is the
//! console's filters as in its address (`status=open&priority=urgent&q=…`); its shape is checked
//! (at most 20 `key=value` pairs, keys of lowercase letters and `_`, 1,000 bytes in all), and what
//! it finds is decided by the list when it runs, with the caller's sight as always.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, ErrorCode};
use super::{ApiJson, Caller};
use crate::state::{AppState, blocking};
use crate::storage::SavedView;

/// Most views one person keeps.
pub const MAX_VIEWS: usize = 50;
/// Longest name, in characters.
const MAX_NAME: usize = 60;
/// Longest query, in bytes, and most pairs in it.
const MAX_QUERY: usize = 1000;
const MAX_PAIRS: usize = 20;

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewOut {
    pub id: String,
    pub name: String,
    /// The list's filters, URL-encoded (`status=open&priority=urgent`).
    pub query: String,
    pub created_at: i64,
}

impl From<SavedView> for ViewOut {
    fn from(v: SavedView) -> Self {
        ViewOut {
            id: v.id,
            name: v.name,
            query: v.query,
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewList {
    pub items: Vec<ViewOut>,
}

/// A view to save; a view of the same name is replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewIn {
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    #[schema(max_length = 1000)]
    pub query: String,
}

/// Why `query` is not a view's query, if it is not.
fn query_problem(query: &str) -> Option<String> {
    if query.len() > MAX_QUERY {
        return Some(format!("a view's query is at most {MAX_QUERY} bytes"));
    }
    if query.is_empty() {
        return None;
    }
    let pairs: Vec<&str> = query.split('&').collect();
    if pairs.len() > MAX_PAIRS {
        return Some(format!(
            "a view's query has at most {MAX_PAIRS} key=value pairs"
        ));
    }
    for pair in pairs {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key_ok = (1..=20).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !key_ok {
            return Some(
                "a view's query is key=value pairs joined by &, keys of lowercase letters and _"
                    .to_owned(),
            );
        }
    }
    None
}

/// The caller's saved views, by name (agents, dispatchers, supervisors, admins).
#[utoipa::path(
    get, path = "/views", tag = "tickets",
    responses((status = 200, body = ViewList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ViewList>, ApiError> {
    super::dispatch::require_back_office(&caller)?;
    let (store, tenant, user) = (
        state.store(),
        caller.user.tenant_id.clone(),
        caller.user.id.clone(),
    );
    let views = blocking(move || Ok(store.saved_views(&tenant, &user)?)).await?;
    Ok(Json(ViewList {
        items: views.into_iter().map(ViewOut::from).collect(),
    }))
}

/// Saves a view for the caller; one of the same name takes the new query.
#[utoipa::path(
    post, path = "/views", tag = "tickets",
    request_body = ViewIn,
    responses(
        (status = 201, body = ViewOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "already 50 views", body = ErrorBody),
    ),
)]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ViewIn>,
) -> Result<(StatusCode, Json<ViewOut>), ApiError> {
    super::dispatch::require_back_office(&caller)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "a view's name is 1 to {MAX_NAME} characters, no control characters"
        )));
    }
    if let Some(problem) = query_problem(&body.query) {
        return Err(ApiError::bad_request(problem));
    }
    let view = SavedView {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: caller.user.tenant_id.clone(),
        user_id: caller.user.id.clone(),
        name,
        query: body.query,
        created_at: state.now_ms(),
    };
    let store = state.store();
    let saved = blocking(move || Ok(store.save_view(&view, MAX_VIEWS)?))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Conflict,
                format!("you keep {MAX_VIEWS} views already: delete one first"),
            )
        })?;
    Ok((StatusCode::CREATED, Json(ViewOut::from(saved))))
}

/// Deletes one of the caller's views.
#[utoipa::path(
    delete, path = "/views/{id}", tag = "tickets",
    params(("id" = String, Path, description = "The view's id")),
    responses(
        (status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    super::dispatch::require_back_office(&caller)?;
    let (store, tenant, user) = (
        state.store(),
        caller.user.tenant_id.clone(),
        caller.user.id.clone(),
    );
    let gone = blocking(move || Ok(store.delete_view(&tenant, &user, &id)?)).await?;
    if gone {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("view"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_views_query_is_a_bounded_list_of_simple_keys() {
        assert_eq!(query_problem(""), None);
        assert_eq!(
            query_problem("status=open&q=%E5%8E%8B%E7%BC%A9%E6%9C%BA&sort=due"),
            None
        );
        assert_eq!(query_problem("status=&due=breached"), None);
        assert!(query_problem("Status=open").is_some());
        assert!(query_problem("a=1&&b=2").is_some());
        assert!(query_problem("<script>=1").is_some());
        assert!(query_problem(&"a=1&".repeat(21)).is_some());
        assert!(query_problem(&format!("q={}", "x".repeat(1000))).is_some());
    }
}
