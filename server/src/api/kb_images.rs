//! Pictures for knowledge-base articles (`docs/knowledge-base.md`, "Pictures"): staff who write
//! articles send an image; it goes through the photo pipeline (upright, metadata stripped, a
//! 1920 px JPEG and a thumbnail), is stored as the tenant's blobs (charged to its photo quota),
//! and the answer says how an article shows it: `![…](kb-image:SHA256)`. It is downloaded at
//! `GET /api/v1/files/{sha256}` (devices: `/v1/blobs/{sha256}`) by writers, and by whoever reads
//! a published article that shows it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, ErrorCode};
use super::{ApiJson, Caller};
use crate::intake::photos::{self, photo_error};
use crate::state::{AppState, blocking};
use crate::storage::KbImage;

const WRITERS: &[Role] = &[Role::Agent, Role::Dispatcher, Role::Supervisor, Role::Admin];

/// Largest picture accepted, decoded (a request body is at most 8 MiB in all).
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// A picture to show in articles: JPEG, PNG or WebP, base64.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KbImageIn {
    /// The file's name, for messages only (it is not kept).
    #[serde(default)]
    pub name: Option<String>,
    /// The image's bytes, base64 (at most 5 MiB decoded).
    pub data: String,
}

/// A stored picture, and how an article shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KbImageOut {
    pub sha256: String,
    pub thumb: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Where to fetch it (`GET`).
    pub url: String,
    pub thumb_url: String,
    /// What to write in an article's Markdown to show it, e.g. `![](kb-image:…)`.
    pub markdown: String,
}

/// Stores a picture for articles.
#[utoipa::path(
    post, path = "/kb/images", tag = "knowledge",
    request_body = KbImageIn,
    responses(
        (status = 201, body = KbImageOut),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Not an image the photo pipeline reads, or the photo quota is full", body = ErrorBody),
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<KbImageIn>,
) -> Result<(StatusCode, Json<KbImageOut>), ApiError> {
    caller.require(
        WRITERS,
        "agents, dispatchers, supervisors and admins add pictures to articles",
    )?;
    if input.data.len() > MAX_IMAGE_BYTES.div_ceil(3) * 4 + 4 {
        return Err(ApiError::bad_request("a picture is at most 5 MiB"));
    }
    let bytes = STANDARD
        .decode(input.data.trim())
        .map_err(|_| ApiError::bad_request("data is the image's bytes in base64"))?;
    let name = input.name.unwrap_or_else(|| "picture".into());
    let tenant = caller.user.tenant_id.clone();
    let filed = photos::store(&state, &tenant, vec![(name, bytes)])
        .await
        .map_err(photo_error)?;
    let Some(photo) = filed.attachments.into_iter().next() else {
        let why = filed.refused.join("; ");
        return Err(ApiError::new(ErrorCode::Refused, why));
    };
    let image = KbImage {
        tenant_id: tenant,
        thumb: photo.thumb.clone().unwrap_or_else(|| photo.sha256.clone()),
        sha256: photo.sha256,
        width: u32::try_from(photo.width).unwrap_or(0),
        height: u32::try_from(photo.height).unwrap_or(0),
        bytes: u64::try_from(photo.bytes).unwrap_or(0),
        created_at: state.now_ms(),
        created_by: caller.user.id.clone(),
    };
    let store = state.store();
    let kept = image.clone();
    blocking(move || Ok(store.add_kb_image(&kept)?)).await?;
    let url = |sha: &str| format!("{}/files/{sha}", super::BASE);
    Ok((
        StatusCode::CREATED,
        Json(KbImageOut {
            url: url(&image.sha256),
            thumb_url: url(&image.thumb),
            markdown: format!("![](kb-image:{})", image.sha256),
            sha256: image.sha256,
            thumb: image.thumb,
            width: image.width,
            height: image.height,
            bytes: image.bytes,
        }),
    ))
}
