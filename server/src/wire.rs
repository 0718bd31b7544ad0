//! CBOR bodies in and out (`Content-Type: application/cbor`), with the protocol's size limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_protocol::sync::{self as protocol, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A CBOR message: decoded from a request body, or encoded as a response body.
#[derive(Debug)]
pub struct Cbor<T>(pub T);

/// The raw bytes of a CBOR request body, for messages with their own checked decoding.
#[derive(Debug)]
pub struct CborBytes(pub Bytes);

fn is_cbor(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

impl<S: Send + Sync> FromRequest<S> for CborBytes {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_cbor(&request) {
            return Err(AppError::UnsupportedMediaType);
        }
        // The body arrives decompressed and limited by the layers in `routes::router`.
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
                    _ => AppError::BadRequest(
                        "the body could not be read (a broken upload or bad gzip); send it again"
                            .into(),
                    ),
                })?;
        Ok(CborBytes(bytes))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Cbor<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let CborBytes(bytes) = CborBytes::from_request(request, state).await?;
        Ok(Cbor(protocol::decode(&bytes)?))
    }
}

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            protocol::encode(&self.0),
        )
            .into_response()
    }
}
