//! The server's two error types: [`Error`] for everything that can go wrong inside, and
//! [`AppError`], the few answers a client may see (`docs/sync-protocol.md`, "Errors"). Internal
//! details are logged where an `Error` becomes an `AppError`, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_core::clock::{Clock, SystemClock};
use fieldwork_core::location::LocationError;
use fieldwork_core::ticket::DocumentError;
use fieldwork_protocol::blobs::{
    self as blob, HASH_MISMATCH_STATUS, MAX_BLOB_BYTES, MAX_PATCH_BYTES, OFFSET_CONTENT_TYPE,
    TUS_VERSION,
};
use fieldwork_protocol::sync::{self as protocol, CONTENT_TYPE, ErrorBody, WireError};

use crate::blobs::{MAX_OPEN_BYTES_PER_USER, MAX_OPEN_UPLOADS_PER_DEVICE};
use crate::storage::{Conflict, Missing, OverQuota, QuotaRefusal, QuotaScope, StorageError};

/// Something the server could not do. Messages carry no ticket contents or personal data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What the store refused or failed at (not found, conflict, quota, damage, backend): one
    /// classification for every backend ([`StorageError::is_refusal`]).
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A tenant configuration with problems (each with its line and key); nothing was applied.
    #[error(transparent)]
    Config(#[from] fieldwork_brain::ConfigError),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("a background task failed: {0}")]
    Task(String),
    /// The store refused what an intake channel wrote (a server bug, not the sender's fault).
    #[error("an intake write failed: {0}")]
    Intake(String),
}

impl Error {
    /// True when the caller asked for something invalid (as opposed to a server fault).
    pub fn is_refusal(&self) -> bool {
        match self {
            Error::Storage(e) => e.is_refusal(),
            Error::Invalid { .. } | Error::Config(_) => true,
            _ => false,
        }
    }
}

impl From<Missing> for Error {
    fn from(missing: Missing) -> Self {
        Error::Storage(missing.into())
    }
}

/// An answer to a client that did not get what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedProtocol(String),
    #[error("sign in again: the token is missing, unknown or revoked")]
    Unauthorized,
    #[error("wrong tenant, user or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(
        "the body is over {} bytes; send fewer changes per request",
        protocol::MAX_REQUEST_BYTES
    )]
    BodyTooLarge,
    #[error("send the body as {CONTENT_TYPE}")]
    UnsupportedMediaType,
    #[error("no such endpoint")]
    NotFound,
    /// A blob or upload that does not exist, or that this user may not have: the same answer.
    #[error("no such {0}")]
    Missing(&'static str),
    #[error("send Tus-Resumable: {TUS_VERSION}; it is the only tus version spoken here")]
    TusVersion,
    #[error("a blob is at most {MAX_BLOB_BYTES} bytes")]
    BlobTooLarge,
    #[error("a PATCH body is at most {MAX_PATCH_BYTES} bytes; send smaller chunks")]
    PatchTooLarge,
    #[error("send PATCH bodies as {OFFSET_CONTENT_TYPE}")]
    NotOffsetStream,
    #[error("Upload-Offset is not where the upload stands; ask with HEAD and resume from there")]
    OffsetMismatch,
    #[error("the upload expired or failed; start again with POST /v1/blobs")]
    UploadGone,
    #[error(
        "too many unfinished uploads (at most {MAX_OPEN_UPLOADS_PER_DEVICE} per device and {MAX_OPEN_BYTES_PER_USER} bytes per user); finish them or let them expire first"
    )]
    TooManyUploads,
    /// Storing an upload of `needed` bytes would break a quota (`docs/sync-protocol.md`).
    #[error("{}", quota_message(*.needed, .refusal))]
    QuotaExceeded { needed: u64, refusal: QuotaRefusal },
    /// A PATCH body sent with a `Content-Encoding` (it would be inflated past what was sent).
    #[error("send PATCH bodies as raw bytes, without Content-Encoding (photos do not compress)")]
    EncodedUpload,
    #[error(
        "this user already has the most devices allowed ({limit}); sign in on one of them, or ask an admin to remove a device no longer used"
    )]
    TooManyDevices { limit: u32 },
    #[error("the bytes do not hash to the declared sha256; the upload is discarded, start again")]
    HashMismatch,
    #[error("the Range asks for bytes outside the blob")]
    RangeNotSatisfiable { length: u64 },
    #[error("{0}")]
    BadLocation(LocationError),
    #[error("a position was reported less than the minimum interval ago; retry later")]
    TooManyReports { retry_after_s: u64 },
    /// Sign-ins from this address, or to this account, must pause (`Retry-After`).
    #[error(
        "too many sign-in attempts for this account or from this address; try again in {retry_after_s} s"
    )]
    TooManyRequests { retry_after_s: u64 },
    /// The password checks are all taken and the queue behind them is full (`Retry-After`).
    #[error("the server is busy checking other sign-ins; try again in {retry_after_s} s")]
    ServerBusy { retry_after_s: u64 },
    #[error("the server is stopping; retry with backoff")]
    ShuttingDown,
    /// The server's disk is full; nothing of the request was kept (`Retry-After`).
    #[error(
        "the server is out of disk space and kept nothing of this request; retry later (an operator must free space)"
    )]
    OutOfSpace,
    #[error("the server failed; retry later")]
    Internal(#[source] Error),
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::UnsupportedProtocol(_) => (StatusCode::BAD_REQUEST, "unsupported_protocol"),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            AppError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::NotFound | AppError::Missing(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::TusVersion => (StatusCode::PRECONDITION_FAILED, "unsupported_tus_version"),
            AppError::BlobTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "blob_too_large"),
            AppError::PatchTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            AppError::NotOffsetStream => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::OffsetMismatch => (StatusCode::CONFLICT, "offset_mismatch"),
            AppError::UploadGone => (StatusCode::GONE, "upload_gone"),
            AppError::TooManyUploads => (StatusCode::TOO_MANY_REQUESTS, "too_many_uploads"),
            AppError::QuotaExceeded { .. } => (StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded"),
            AppError::EncodedUpload => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::TooManyDevices { .. } => (StatusCode::FORBIDDEN, "too_many_devices"),
            AppError::HashMismatch => (
                StatusCode::from_u16(HASH_MISMATCH_STATUS).unwrap_or(StatusCode::BAD_REQUEST),
                "blob_hash_mismatch",
            ),
            AppError::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            AppError::BadLocation(_) => (StatusCode::BAD_REQUEST, "bad_location"),
            AppError::TooManyReports { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_reports"),
            AppError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            AppError::ServerBusy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
            AppError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            AppError::OutOfSpace => (StatusCode::INSUFFICIENT_STORAGE, "server_storage_full"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        match error {
            Error::Storage(StorageError::Conflict(Conflict::ActorTaken)) => AppError::Forbidden(
                "this device's actor id belongs to another user; reset the app's data and sign in again",
            ),
            Error::Storage(StorageError::Quota(OverQuota::Devices { limit })) => {
                AppError::TooManyDevices { limit }
            }
            Error::Invalid { field, reason } => {
                AppError::BadRequest(format!("invalid {field}: {reason}"))
            }
            Error::Storage(StorageError::OutOfSpace) => AppError::OutOfSpace,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                AppError::OutOfSpace
            }
            other => AppError::Internal(other),
        }
    }
}

impl From<WireError> for AppError {
    fn from(error: WireError) -> Self {
        match error {
            WireError::TooLarge(_) => AppError::BodyTooLarge,
            WireError::Version(_) => AppError::UnsupportedProtocol(error.to_string()),
            WireError::Malformed(_) => AppError::BadRequest(error.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            AppError::Internal(error) => tracing::error!(%error, "request failed"),
            AppError::OutOfSpace => tracing::error!("a request failed: the disk is full"),
            _ => tracing::debug!(code, "request refused"),
        }
        let mut response = error_response(status, code, self.to_string());
        let extra = match &self {
            AppError::TusVersion => Some((blob::header::TUS_VERSION, TUS_VERSION.to_owned())),
            AppError::RangeNotSatisfiable { length } => {
                Some((header::CONTENT_RANGE.as_str(), format!("bytes */{length}")))
            }
            AppError::TooManyReports { retry_after_s }
            | AppError::TooManyRequests { retry_after_s }
            | AppError::ServerBusy { retry_after_s } => {
                Some((header::RETRY_AFTER.as_str(), retry_after_s.to_string()))
            }
            AppError::OutOfSpace => Some((
                header::RETRY_AFTER.as_str(),
                OUT_OF_SPACE_RETRY_S.to_string(),
            )),
            _ => None,
        };
        if let Some((name, value)) = extra
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// How long a client waits before trying again on a full disk.
pub(crate) const OUT_OF_SPACE_RETRY_S: u64 = 60;

fn quota_message(needed: u64, refusal: &QuotaRefusal) -> String {
    let whose = match refusal.scope {
        QuotaScope::Tenant => "the organisation's",
        QuotaScope::User => "this user's",
    };
    let free = refusal.limit.saturating_sub(refusal.used);
    format!(
        "this upload needs {needed} bytes but {whose} photo storage quota has {free} of {} bytes \
         free (unfinished uploads count too); ask an admin to raise the quota, or retry once \
         uploads finish or photos no ticket uses are collected",
        refusal.limit
    )
}

/// A CBOR [`ErrorBody`] answer.
pub(crate) fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        code: code.to_owned(),
        message,
        server_time: SystemClock.now_ms(),
    };
    let mut response = (status, protocol::encode(&body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// Turns error answers made outside the handlers (body limits, unknown routes, decompression
/// failures) into the same CBOR [`ErrorBody`] every other error answer has.
pub(crate) async fn cbor_errors(response: Response) -> Response {
    let status = response.status();
    let is_cbor = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == CONTENT_TYPE.as_bytes());
    if is_cbor || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => {
            return error_response(
                status,
                "method_not_allowed",
                "this endpoint takes another method; see docs/sync-protocol.md".into(),
            );
        }
        s if s.is_server_error() => {
            AppError::Internal(Error::Task(format!("a layer answered {s}")))
        }
        _ => AppError::BadRequest("the request could not be read".into()),
    };
    error.into_response()
}
