//! Photos and screenshots through the API (`docs/api.md`, "Files"): the stored JPEG or its
//! thumbnail by SHA-256, as a ticket's attachments name them, whole or by byte range, for
//! whoever may see such a ticket — the same rule and the same streaming as the devices' blob lane.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};

use super::Caller;
use super::error::{ApiError, ErrorBody, ErrorCode};
use crate::blobs::download;
use crate::error::AppError;
use crate::state::AppState;

/// A photo, screenshot or thumbnail by its SHA-256 (an attachment's `sha256` or `thumb`).
#[utoipa::path(
    get, path = "/files/{sha256}", tag = "tickets",
    params(
        ("sha256" = String, Path, description = "The file's SHA-256, lowercase hex"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. bytes=0-65535"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "image/jpeg"),
        (status = 206, description = "The byte range asked for", content_type = "image/jpeg"),
        (status = 404, description = "No such file, or none the caller may see", body = ErrorBody),
        (status = 416, description = "range_not_satisfiable", body = ErrorBody),
    ),
)]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match download::serve(&state, caller.user.actor(), &method, sha256, &headers).await {
        Ok(response) => Ok(response),
        Err(AppError::RangeNotSatisfiable { .. }) => Err(ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            "the range asks for bytes outside the file",
        )),
        Err(AppError::Missing(_)) => Err(ApiError::not_found("file")),
        Err(other) => Err(other.into()),
    }
    .map(IntoResponse::into_response)
}
