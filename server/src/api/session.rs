//! Signing in and out at a browser, and changing one's password (`docs/api.md`, "Signing in").
//! A sign-in passes the same rate limits and password gate as a device's (`login::sign_in`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_core::ticket::ActorId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{CSRF_COOKIE, Caller, SESSION_COOKIE, SESSION_IDLE_MS, SESSION_MAX_MS, Via};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::{ApiJson, UserOut};
use crate::admin::MIN_PASSWORD;
use crate::auth::{self, token_hash};
use crate::connections::ClientAddress;
use crate::state::{AppState, blocking};
use crate::storage::WebSession;

/// Longest tenant or user name a sign-in may carry, in bytes.
const MAX_NAME: usize = 256;
/// Longest password, in bytes: argon2's work grows with it.
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The tenant's name or id.
    pub tenant: String,
    /// The user's login name.
    pub name: String,
    pub password: String,
}

/// A session just opened. The session token itself is only in the `fw_session` cookie
/// (HttpOnly); the CSRF token is here and in the `fw_csrf` cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOpened {
    pub user: UserOut,
    /// Send it in `X-CSRF-Token` with every write made with the session.
    pub csrf_token: String,
    /// When the session ends if it is not used (ms since the epoch); use moves it forward.
    pub expires_at: i64,
    /// When the session ends whatever happens (ms since the epoch).
    pub ends_at: i64,
}

/// Who is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub user: UserOut,
    /// `session` (a browser) or `token` (a user API token).
    pub via: String,
    /// The IANA time zone to show the tenant's times in: the calendar of its first SLA policy
    /// (else its first calendar) in the applied configuration; `UTC` without one.
    pub time_zone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

fn cookie_header(
    name: &str,
    value: &str,
    max_age_s: i64,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; Max-Age={max_age_s}; SameSite=Strict");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn set_cookies(headers: &mut HeaderMap, session: &str, csrf: &str, max_age_s: i64, secure: bool) {
    for value in [
        cookie_header(SESSION_COOKIE, session, max_age_s, true, secure),
        cookie_header(CSRF_COOKIE, csrf, max_age_s, false, secure),
    ] {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Signs in with a name and password: opens a session (cookies) and returns the CSRF token.
#[utoipa::path(
    post, path = "/session", tag = "session",
    request_body = SignIn,
    responses(
        (status = 201, description = "Signed in; the session is in the cookies", body = SessionOpened),
        (status = 400, body = ErrorBody), (status = 401, description = "bad_credentials", body = ErrorBody),
        (status = 429, description = "too_many_requests, with Retry-After", body = ErrorBody),
        (status = 503, description = "server_busy, with Retry-After", body = ErrorBody),
    ),
    security(()),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    if body.tenant.len() > MAX_NAME
        || body.name.len() > MAX_NAME
        || body.password.len() > MAX_PASSWORD
    {
        return Err(ApiError::bad_request(format!(
            "a tenant or user name is at most {MAX_NAME} bytes, a password at most {MAX_PASSWORD}"
        )));
    }
    let user =
        crate::login::sign_in(&state, address, body.tenant, body.name, body.password).await?;
    let token = format!("fws_{}", hex::encode(rand::random::<[u8; 32]>()));
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let now = state.now_ms();
    let session = WebSession {
        token_hash: token_hash(&token),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_hash: token_hash(&csrf),
        actor_id: ActorId::from(&rand::random::<[u8; 16]>()[..]).to_hex_string(),
        created_at: now,
        expires_at: now + SESSION_IDLE_MS,
        ends_at: now + SESSION_MAX_MS,
    };
    let opened = SessionOpened {
        user: UserOut::from(&user),
        csrf_token: csrf.clone(),
        expires_at: session.expires_at,
        ends_at: session.ends_at,
    };
    let store = state.store();
    blocking(move || Ok(store.create_web_session(&session)?)).await?;
    tracing::info!(tenant = %user.tenant_id, user = %user.id, "signed in at a browser");
    let mut response = (StatusCode::CREATED, Json(opened)).into_response();
    set_cookies(
        response.headers_mut(),
        &token,
        &csrf,
        SESSION_MAX_MS / 1000,
        state.secure_cookies(),
    );
    Ok(response)
}

/// Who is signed in, by session or token.
#[utoipa::path(
    get, path = "/session", tag = "session",
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody)),
)]
pub async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SignedIn>, ApiError> {
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let applied = blocking(move || Ok(store.current_config(&tenant)?)).await?;
    let time_zone = applied
        .and_then(|a| fieldwork_brain::TenantConfig::from_toml(&a.toml).ok())
        .and_then(|config| tenant_zone(&config))
        .unwrap_or_else(|| "UTC".to_owned());
    let via = match caller.via {
        Via::Session { .. } => "session",
        Via::Token { .. } => "token",
        Via::Link { .. } => "link",
    };
    Ok(Json(SignedIn {
        user: UserOut::from(&caller.user),
        via: via.to_owned(),
        time_zone,
    }))
}

/// The zone a tenant's times are shown in (see [`SignedIn::time_zone`]).
fn tenant_zone(config: &fieldwork_brain::TenantConfig) -> Option<String> {
    let name = config
        .policies()
        .first()
        .map(|p| p.calendar.clone())
        .or_else(|| config.calendar_names().next().map(str::to_owned))?;
    let zone = config.calendar(&name)?.time_zone().iana_name()?;
    Some(zone.to_owned())
}

/// Signs out: ends the session and clears its cookies.
#[utoipa::path(
    delete, path = "/session", tag = "session",
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "not signed in with a session", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "csrf_failed", body = ErrorBody),
    ),
)]
pub async fn sign_out(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Via::Session { token_hash } = caller.via else {
        return Err(ApiError::bad_request(
            "a user API token has no session to end; an admin revokes tokens",
        ));
    };
    let (store, now) = (state.store(), state.now_ms());
    blocking(move || Ok(store.revoke_web_session(&token_hash, now)?)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookies(response.headers_mut(), "", "", 0, state.secure_cookies());
    Ok(response)
}

/// Changes one's own password: the current one is checked like a sign-in (same limits), and
/// every other session of the person ends.
#[utoipa::path(
    put, path = "/session/password", tag = "session",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "csrf_failed", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
)]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    if body.new_password.chars().count() < MIN_PASSWORD || body.new_password.len() > MAX_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "a password is {MIN_PASSWORD} characters to {MAX_PASSWORD} bytes"
        )));
    }
    if body.current_password.len() > MAX_PASSWORD {
        return Err(ApiError::new(ErrorCode::BadCredentials, "wrong password"));
    }
    let user = caller.user;
    crate::login::sign_in(
        &state,
        address,
        user.tenant_id.clone(),
        user.name.clone(),
        body.current_password,
    )
    .await?;
    let keep = match caller.via {
        Via::Session { token_hash } => Some(token_hash),
        Via::Token { .. } | Via::Link { .. } => None,
    };
    let (store, now) = (state.store(), state.now_ms());
    let new = body.new_password;
    blocking(move || {
        let hash = auth::hash_password(&new)?;
        Ok(store.set_password(
            &user.tenant_id,
            &user.id,
            &hash,
            keep.as_deref(),
            &user.id,
            now,
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
