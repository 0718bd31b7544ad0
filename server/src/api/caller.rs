//! Who calls the API (`docs/api.md`, "Signing in"): a person with a browser session (the
//! `fw_session` cookie; writes also carry the session's CSRF token in `X-CSRF-Token`), or a
//! script with a user API token (`Authorization: Bearer fwu_…`; no CSRF, a header is not sent by
//! a browser on its own). Device tokens are for sync only. A session idles out after
//! [`SESSION_IDLE_MS`] and ends after [`SESSION_MAX_MS`] whatever happens; it is kept alive by use.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use fieldwork_core::Role;
use fieldwork_core::ticket::ActorId;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorCode};
use crate::auth::{bearer, token_hash};
use crate::state::{AppState, blocking};
use crate::storage::{TokenKind, UserRecord};

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "fw_session";
/// The CSRF token's cookie, readable by the console's script, which sends it back in
/// [`CSRF_HEADER`] with every write (a page of another site can neither read it nor set the
/// header).
pub const CSRF_COOKIE: &str = "fw_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session not used for this long ends.
pub const SESSION_IDLE_MS: i64 = 8 * 60 * 60 * 1000;
/// A session ends this long after sign-in, used or not.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// A session's idle expiry is moved forward at most this often (a write per request otherwise).
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        token_hash: String,
    },
    Token {
        token_hash: String,
    },
    /// A rating link (`csat`): the reporter, for the one rating the link allows.
    Link {
        token_hash: String,
    },
}

/// The person calling, and the Automerge actor their edits are made with.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
    pub actor: ActorId,
    pub via: Via,
}

impl Caller {
    /// Refuses (`403 forbidden`, saying `who`) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], who: &'static str) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(who))
        }
    }
}

/// The value of cookie `name` in the request, if it has one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The actor a user API token writes with: the same for every call with the token.
fn token_actor(token_hash: &str) -> ActorId {
    let digest = Sha256::digest(format!("fieldwork api token actor {token_hash}").as_bytes());
    ActorId::from(&digest[..16])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let store = state.store();
        let now = state.now_ms();
        if let Some(token) = bearer(parts) {
            let hash = token_hash(token);
            let lookup = hash.clone();
            let holder = blocking(move || Ok(store.session(&lookup)?))
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthorized)?;
            if holder.kind != TokenKind::User {
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "a device token is for sync only; use a user API token or sign in",
                ));
            }
            return Ok(Caller {
                user: holder.user,
                actor: token_actor(&hash),
                via: Via::Token { token_hash: hash },
            });
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(ApiError::unauthorized)?;
        let hash = token_hash(token);
        let lookup = hash.clone();
        let reader = store.clone();
        let (session, user) = blocking(move || Ok(reader.web_session(&lookup, now)?))
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthorized)?;
        let writes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if writes {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(token_hash);
            let ok =
                sent.is_some_and(|h| constant_time_eq(h.as_bytes(), session.csrf_hash.as_bytes()));
            if !ok {
                return Err(ApiError::new(
                    ErrorCode::CsrfFailed,
                    format!(
                        "a write with a session needs its CSRF token in {CSRF_HEADER} (the {CSRF_COOKIE} cookie)"
                    ),
                ));
            }
        }
        let idle_until = now.saturating_add(SESSION_IDLE_MS);
        if session.expires_at < idle_until.saturating_sub(TOUCH_EVERY_MS) {
            let touch = hash.clone();
            blocking(move || Ok(store.touch_web_session(&touch, idle_until)?))
                .await
                .map_err(ApiError::from)?;
        }
        let actor =
            ActorId::try_from(session.actor_id.as_str()).map_err(|_| ApiError::unauthorized())?;
        Ok(Caller {
            user,
            actor,
            via: Via::Session { token_hash: hash },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "fw_session_old=x; fw_session=abc ; fw_csrf=def"
                .parse()
                .expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, CSRF_COOKIE), Some("def"));
        assert_eq!(cookie(&headers, "other"), None);
    }

    #[test]
    fn a_tokens_actor_is_stable_and_its_own() {
        assert_eq!(token_actor("a"), token_actor("a"));
        assert_ne!(token_actor("a"), token_actor("b"));
    }
}
