//! The API's one error shape: `{"error": {"code": "...", "message": "..."}}` with the HTTP status
//! that goes with the code, `Retry-After` where waiting helps. The codes are [`ErrorCode`], listed
//! in the OpenAPI document. Messages say what to do; they never carry ticket contents, personal
//! data or internal details (those go to the log, for `internal` only).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, Error, OUT_OF_SPACE_RETRY_S};
use crate::storage::{Conflict, Missing, StorageError};

/// Every code an API error may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or a value is invalid (400).
    BadRequest,
    /// No session or token, or it expired, was revoked, or its user was disabled (401).
    Unauthorized,
    /// Wrong tenant, user name or password (401).
    BadCredentials,
    /// The caller's role may not do this (403).
    Forbidden,
    /// A write with a session cookie came without the session's `X-CSRF-Token` (403).
    CsrfFailed,
    /// No such resource, or one the caller may not see: the same answer (404).
    NotFound,
    /// The endpoint takes another method (405).
    MethodNotAllowed,
    /// The ticket moved while the edit was made; read it again and retry (409).
    Conflict,
    /// The ticket's rules refuse the edit, e.g. a status the workflow does not allow (422).
    Refused,
    /// The body is not JSON (415).
    UnsupportedMediaType,
    /// The body is too large (413).
    BodyTooLarge,
    /// A byte range outside the file (416).
    RangeNotSatisfiable,
    /// Too many attempts; wait `Retry-After` seconds (429).
    TooManyRequests,
    /// The server is busy or stopping; retry after `Retry-After` seconds (503).
    ServerBusy,
    /// The server failed; retry later (500).
    Internal,
}

impl ErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized | ErrorCode::BadCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::CsrfFailed => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Refused => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What went wrong and what to do, in English.
    pub message: String,
}

/// An API call that did not get what it asked for.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    retry_after_s: Option<u64>,
    /// A server fault, logged (never sent).
    fault: Option<Box<Error>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_s: None,
            fault: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// What is missing, or hidden from the caller: the same answer either way.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "sign in: the session or token is missing, expired or revoked",
        )
    }

    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        let (code, retry_after_s) = match &error {
            AppError::TooManyRequests { retry_after_s } => {
                (ErrorCode::TooManyRequests, Some(*retry_after_s))
            }
            AppError::ServerBusy { retry_after_s } => (ErrorCode::ServerBusy, Some(*retry_after_s)),
            AppError::ShuttingDown => (ErrorCode::ServerBusy, Some(1)),
            AppError::OutOfSpace => (ErrorCode::ServerBusy, Some(OUT_OF_SPACE_RETRY_S)),
            AppError::Unauthorized => (ErrorCode::Unauthorized, None),
            AppError::BadCredentials => (ErrorCode::BadCredentials, None),
            AppError::Forbidden(_) | AppError::TooManyDevices { .. } => {
                (ErrorCode::Forbidden, None)
            }
            AppError::NotFound | AppError::Missing(_) => (ErrorCode::NotFound, None),
            AppError::BodyTooLarge => (ErrorCode::BodyTooLarge, None),
            AppError::UnsupportedMediaType => (ErrorCode::UnsupportedMediaType, None),
            AppError::Internal(_) => (ErrorCode::Internal, None),
            _ => (ErrorCode::BadRequest, None),
        };
        let fault = match error {
            AppError::Internal(fault) => Some(Box::new(fault)),
            _ => None,
        };
        ApiError {
            code,
            message,
            retry_after_s,
            fault,
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match &error {
            Error::Storage(StorageError::NotFound(Missing::Ticket)) => Self::not_found("ticket"),
            Error::Storage(StorageError::NotFound(Missing::User)) => Self::not_found("user"),
            Error::Storage(StorageError::Conflict(conflict @ Conflict::Exists(_))) => {
                Self::new(ErrorCode::Conflict, conflict.to_string())
            }
            Error::Invalid { field, reason } => {
                Self::bad_request(format!("invalid {field}: {reason}"))
            }
            Error::Config(config) => Self::bad_request(config.to_string()),
            _ => AppError::from(error).into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            ),
            JsonRejection::BytesRejection(_) => Self::new(
                ErrorCode::BodyTooLarge,
                "the body could not be read; it may be too large",
            ),
            other => Self::bad_request(format!(
                "the JSON body does not read: {}",
                other.body_text()
            )),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(format!(
            "the query does not read: {}",
            rejection.body_text()
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.fault {
            Some(fault) => tracing::error!(error = %fault, "API request failed"),
            None => tracing::debug!(code = ?self.code, "API request refused"),
        }
        let status = self.code.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Turns error answers made outside the handlers (unknown routes, wrong methods, body limits)
/// into the API's error shape.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "this endpoint takes another method; see /api/v1/openapi.json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::BodyTooLarge, "the body is too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            ApiError::new(ErrorCode::TooManyRequests, "too many requests; retry later")
        }
        StatusCode::SERVICE_UNAVAILABLE => ApiError::new(
            ErrorCode::ServerBusy,
            "the server is busy or stopping; retry later",
        ),
        s if s.is_server_error() => {
            ApiError::new(ErrorCode::Internal, "the server failed; retry later")
        }
        _ => ApiError::bad_request("the request could not be read"),
    };
    error.into_response()
}
