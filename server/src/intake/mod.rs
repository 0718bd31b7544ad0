//! Intake channels (`docs/channels.md`): tickets that come in from outside the apps — machine
//! alerts (`iot`), and more channels to come — each through a per-tenant channel credential
//! (`credential`), rate limited per channel (`limiter`), idempotent (a delivery's key is recorded
//! with what it did, and a retry gets the same answer and makes nothing twice), and written as
//! ordinary Automerge changes through `Tickets::commit(Author::Channel, …)` (`write`), so the
//! brain classifies and routes them like an app ticket and phones merge them like any edit.
//!
//! Every answer is JSON: [`Delivered`] (`ticket_id`, `number`, `outcome`: `created`, `noted`,
//! `folded` or `ignored`), or the back-office API's error shape.

pub mod credential;
mod email;
mod folds;
mod iot;
pub mod limiter;
mod phone;
pub(crate) mod photos;
mod take;
mod web;
mod write;

use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::routing::post;
use serde::Serialize;

pub use credential::{CHANNEL_TOKEN_PREFIX, Issued, issue, sign};
pub(crate) use folds::resume;
pub use limiter::IntakeLimits;
pub use write::CHANNEL_AUTHOR_PREFIX;

use crate::api::error::{ApiError, ErrorCode};
use crate::auth::token_hash;
use crate::state::{AppState, blocking};
use crate::storage::{ChannelKind, ChannelRecord};
use limiter::DeliveryLimiter;

/// What the intake endpoints share: the per-channel limits and the alert folds waiting to be
/// written into their tickets.
#[derive(Debug)]
pub(crate) struct Intake {
    limiter: Mutex<DeliveryLimiter>,
    folds: folds::FoldWriter,
    photo_slots: photos::PhotoSlots,
}

impl Intake {
    pub fn new(limits: IntakeLimits) -> Self {
        Intake {
            limiter: Mutex::new(DeliveryLimiter::new(limits)),
            folds: folds::FoldWriter::default(),
            photo_slots: photos::PhotoSlots::default(),
        }
    }
}

/// The intake routes (each with its own body limit).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/intake/iot",
            post(iot::deliver).layer(DefaultBodyLimit::max(iot::MAX_ALERT_BYTES)),
        )
        .route(
            "/intake/email",
            post(email::deliver).layer(DefaultBodyLimit::max(email::MAX_EMAIL_BYTES)),
        )
        .route(
            "/intake/phone",
            post(phone::deliver).layer(DefaultBodyLimit::max(phone::MAX_CALL_BYTES)),
        )
        .merge(web::routes())
}

/// The intake decoders alone, for the fuzz targets (`fuzz/`): each reads untrusted bytes and
/// must answer `Ok` or a clear error, never panic, in time linear in the input.
pub mod decoders {
    /// Reads an email as `POST /intake/email` does (with its reply trimming).
    pub fn email(raw: &[u8]) -> Result<(), String> {
        super::email::parse(raw).map(drop)
    }

    /// Reads an IoT alert as `POST /intake/iot` does, at server time `now_ms`.
    pub fn alert(raw: &[u8], now_ms: i64) -> Result<(), String> {
        super::iot::decode(raw, now_ms).map(drop)
    }

    /// Trims a reply's quoted history and signature; the result is never longer.
    pub fn trim_reply(text: &str) -> String {
        super::email::trim_reply(text)
    }
}

/// What a delivery did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivered {
    /// The ticket it made or went to (absent when ignored).
    pub ticket_id: Option<String>,
    /// The ticket's number, once the server gave it one.
    pub number: Option<String>,
    /// `created`, `noted`, `folded` or `ignored`.
    pub outcome: String,
    /// This delivery came before (same idempotency key): the answer is the first one's, and
    /// nothing was done again.
    pub repeated: bool,
}

/// The idempotency key a client sent (`Idempotency-Key`, 1 to 200 visible ASCII characters).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "Idempotency-Key is 1 to 200 visible ASCII characters",
        )),
    }
}

/// A delivery's body, or `413` naming `what` and its limit.
fn whole(body: Result<Bytes, BytesRejection>, what: &str, max: usize) -> Result<Bytes, ApiError> {
    body.map_err(|_| {
        let limit = if max >= 1024 * 1024 {
            format!("{} MiB", max / 1024 / 1024)
        } else {
            format!("{} KiB", max / 1024)
        };
        ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("{what} is at most {limit}"),
        )
    })
}

/// A JSON body of `shape` read into `T`; the error says where and what kind of problem, never
/// echoing the body.
fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8], shape: &str) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        let problem = match e.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            serde_json::error::Category::Eof => "the body ends too early",
            _ => "not JSON",
        };
        format!(
            "the body does not read as JSON {shape} (line {}, column {}: {problem})",
            e.line(),
            e.column()
        )
    })
}

fn unauthorized() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "send the channel's token as `Authorization: Bearer TOKEN`, or sign the delivery (docs/channels.md); the credential is missing, wrong or revoked",
    )
}

/// The channel a delivery comes from: by its bearer token, or by its signature over the body;
/// it must be live and of `kind`, and within its rate.
async fn channel_of(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    kind: ChannelKind,
) -> Result<ChannelRecord, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = state.now_ms();
    let store = state.store();
    let channel = if let Some(auth) = header("authorization") {
        let token = auth
            .strip_prefix("Bearer ")
            .map(str::trim)
            .ok_or_else(unauthorized)?;
        let hash = token_hash(token);
        blocking(move || Ok(store.channel_by_token(&hash)?)).await?
    } else if let Some(signature) = header("x-fieldwork-signature") {
        let (Some(id), Some(timestamp)) = (
            header("x-fieldwork-channel"),
            header("x-fieldwork-timestamp"),
        ) else {
            return Err(ApiError::bad_request(
                "a signed delivery carries X-Fieldwork-Channel and X-Fieldwork-Timestamp",
            ));
        };
        if id.len() > 64 {
            return Err(unauthorized());
        }
        let id = id.to_owned();
        let found = blocking(move || Ok(store.channel(&id)?)).await?;
        found.filter(|c| {
            credential::check_signature(&c.signing_key, timestamp, body, signature, now).is_ok()
        })
    } else {
        None
    };
    let channel = channel
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(unauthorized)?;
    if channel.kind != kind {
        return Err(ApiError::forbidden(format!(
            "this channel takes {} deliveries; make a channel of kind {kind} for this endpoint",
            channel.kind
        )));
    }
    let taken = state
        .intake()
        .limiter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take(&channel.id, now);
    if let Err(retry_after_s) = taken {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!("this channel sent more deliveries than its rate allows; try again in {retry_after_s} s"),
        )
        .retry_after(retry_after_s));
    }
    Ok(channel)
}
