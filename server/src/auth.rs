//! Tokens, passwords and the extractors that turn a bearer token into a [`TokenHolder`].
//!
//! Tokens are 32 random bytes in hex behind a prefix that says what they are for (`fwu_` user API
//! tokens, `fwd_` device tokens); the server stores only their SHA-256. Passwords are hashed
//! with argon2.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::error::{AppError, Error};
use crate::state::{AppState, blocking};
use crate::storage::{DeviceRecord, TokenHolder, TokenKind};

/// Prefix of user API tokens (made by an admin).
pub const USER_TOKEN_PREFIX: &str = "fwu_";
/// Prefix of device tokens (made by a login or a device registration).
pub const DEVICE_TOKEN_PREFIX: &str = "fwd_";

/// A new random token of `kind`, to be shown once.
pub fn new_token(kind: TokenKind) -> String {
    let prefix = match kind {
        TokenKind::User => USER_TOKEN_PREFIX,
        TokenKind::Device => DEVICE_TOKEN_PREFIX,
    };
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// What the server stores of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2 PHC string for `password`. Slow on purpose: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| Error::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::PasswordHash(e.to_string()))
}

/// Whether `password` matches `stored`. Without a stored hash (unknown user, or a user with no
/// password) it still does the same work, so timing does not tell the cases apart.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("no user has this password").ok());
    let Some(hash) = stored.or(dummy.as_deref()) else {
        return false;
    };
    let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    matches && stored.is_some()
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for TokenHolder {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let hash = token_hash(bearer(parts).ok_or(AppError::Unauthorized)?);
        let store = state.store();
        let session = blocking(move || Ok(store.session(&hash)?))
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(session)
    }
}

/// A request made with a device token: sync and logout.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub session: TokenHolder,
    pub device: DeviceRecord,
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = TokenHolder::from_request_parts(parts, state).await?;
        match (&session.kind, session.device.clone()) {
            (TokenKind::Device, Some(device)) => Ok(DeviceAuth { session, device }),
            _ => Err(AppError::Forbidden(
                "this needs a device token; sign in on the device (POST /v1/login) first",
            )),
        }
    }
}

/// A request made with a user API token: registering a device.
#[derive(Debug, Clone)]
pub struct UserTokenAuth(pub TokenHolder);

impl FromRequestParts<AppState> for UserTokenAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = TokenHolder::from_request_parts(parts, state).await?;
        match session.kind {
            TokenKind::User => Ok(UserTokenAuth(session)),
            TokenKind::Device => Err(AppError::Forbidden(
                "registering a device needs a user API token, not a device token",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_only_as_a_hash() {
        let a = new_token(TokenKind::User);
        let b = new_token(TokenKind::Device);
        assert!(a.starts_with("fwu_") && b.starts_with("fwd_"));
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a[4..], b[4..]);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(!token_hash(&a).contains(&a[4..]));
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(verify_password("correct horse", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(!verify_password("correct horse", None));
        assert!(!verify_password("x", Some("not a phc string")));
    }
}
