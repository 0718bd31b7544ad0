//! `GET` (and `HEAD`) `/v1/blobs/{sha256}`: a stored blob, whole or one byte range, streamed from
//! the blob store. Only for someone who may see a ticket of their tenant whose attachments name
//! the blob, or who may read a published knowledge-base article that shows it (staff who write
//! the knowledge base: any of its pictures); everyone else gets the same `404` as for a blob that
//! does not exist (uploading it gives no right to read it).

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_core::Actor;
use fieldwork_core::knowledge::reads_article;
use fieldwork_protocol::blobs::{is_sha256_hex, parse_range};

use super::BlobLane;
use crate::auth::DeviceAuth;
use crate::error::{AppError, Error};
use crate::state::{AppState, blocking};
use crate::storage::{BlobRecord, ReadWith};
use crate::visibility::{Sight, sight};

/// Bytes read from the blob store per streamed frame.
const FRAME_BYTES: usize = 64 * 1024;

pub(super) async fn fetch(
    State(state): State<AppState>,
    auth: DeviceAuth,
    method: Method,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    serve(&state, auth.session.user.actor(), &method, sha256, &headers).await
}

/// A stored blob for `actor` (a device's user, or a person through the back-office API): whole
/// or the byte range `headers` ask for, streamed; `404` unless they may see a ticket whose
/// attachments name it.
pub(crate) async fn serve(
    state: &AppState,
    actor: Actor,
    method: &Method,
    sha256: String,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    if !is_sha256_hex(&sha256) {
        return Err(AppError::Missing("blob"));
    }
    let lane = state.blobs().clone();
    let hash = sha256.clone();
    let blob = blocking(move || visible_blob(&lane, &actor, &hash))
        .await?
        .ok_or(AppError::Missing("blob"))?;
    let total = blob.length;
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range =
        parse_range(asked, total).map_err(|_| AppError::RangeNotSatisfiable { length: total })?;
    let (status, start, len) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.len()),
        None => (StatusCode::OK, 0, total),
    };
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        let (lane, tenant, hash) = (
            state.blobs().clone(),
            blob.tenant_id.clone(),
            sha256.clone(),
        );
        let reader = blocking(move || lane.store.open_range(&tenant, &hash, start, len)).await?;
        stream(reader)
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    let mime = HeaderValue::from_str(&blob.mime)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, mime);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A file kept from an email is whatever its sender made it: a browser saves it, never shows
    // it as a page of this origin; nothing served here runs a script.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if blob.mime != fieldwork_protocol::blobs::MIME_JPEG {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    if let Some(r) = range
        && let Ok(value) = HeaderValue::from_str(&r.content_range(total))
    {
        h.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// The blob, if the tenant has it and `actor` may see a ticket whose attachments (as stored
/// now) name it.
fn visible_blob(lane: &BlobLane, actor: &Actor, sha256: &str) -> Result<Option<BlobRecord>, Error> {
    let store = &lane.records;
    let Some(blob) = store.blob(&actor.tenant, sha256)? else {
        return Ok(None);
    };
    let tickets = store.blob_ref_tickets(&actor.tenant, sha256)?;
    let visible = store.read_with(|reader| {
        for id in &tickets {
            if let Sight::Visible(view) = sight(&lane.cache, reader, actor, id)?
                && view
                    .attachments
                    .iter()
                    .any(|a| a.sha256 == sha256 || a.thumb.as_deref() == Some(sha256))
            {
                return Ok(true);
            }
        }
        Ok::<_, Error>(false)
    })?;
    if visible || shown_in_articles(lane, actor, sha256)? {
        return Ok(Some(blob));
    }
    Ok(None)
}

/// Published articles a picture may appear in, looked at for one download.
const MAX_ARTICLES_SHOWING: usize = 50;

/// Whether `sha256` is a knowledge-base picture (or its thumbnail) that `actor` may see: any, for
/// those who write the knowledge base; else one a published article they read shows.
fn shown_in_articles(lane: &BlobLane, actor: &Actor, sha256: &str) -> Result<bool, Error> {
    let store = &lane.records;
    let Some(image) = store.kb_image(&actor.tenant, sha256)? else {
        return Ok(false);
    };
    if actor.role.is_back_office() {
        return Ok(true);
    }
    let articles = store.articles_showing(&actor.tenant, &image.sha256, MAX_ARTICLES_SHOWING)?;
    Ok(articles.iter().any(|a| {
        a.published.is_some()
            && reads_article(
                actor.role,
                actor.team.as_deref(),
                a.meta.audience.wire(),
                a.meta.team.as_deref(),
            )
    }))
}

/// A body that reads `reader` one frame at a time on a blocking thread, each frame once the
/// network took the one before: a slow client holds no thread while it reads
/// ([`crate::config::BLOCKING_THREADS`]).
fn stream(reader: Box<dyn Read + Send>) -> Body {
    Body::from_stream(futures_util::stream::unfold(
        Some(reader),
        |reader| async move {
            let mut reader = reader?;
            let read = tokio::task::spawn_blocking(move || {
                let mut frame = vec![0; FRAME_BYTES];
                loop {
                    match reader.read(&mut frame) {
                        Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                        Ok(n) => {
                            frame.truncate(n);
                            return (reader, Ok(frame));
                        }
                        Err(error) => return (reader, Err(error)),
                    }
                }
            })
            .await;
            match read {
                Ok((_, Ok(frame))) if frame.is_empty() => None,
                Ok((reader, Ok(frame))) => Some((Ok(Bytes::from(frame)), Some(reader))),
                Ok((_, Err(error))) => {
                    tracing::error!(%error, "reading a blob failed mid-stream");
                    Some((Err(error), None))
                }
                Err(error) => Some((Err(std::io::Error::other(error)), None)),
            }
        },
    ))
}
