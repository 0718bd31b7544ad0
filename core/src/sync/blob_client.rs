//! HTTP calls of the blob lane (tus 1.0 uploads, ranged downloads) and position reports, on the
//! same connection pool and error answers as ticket sync ([`ServerClient`]).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{RequestBuilder, StatusCode};

use super::SyncError;
use super::client::{ServerClient, describe, error_answer, retry_after_s};
use fieldwork_protocol::blobs::{
    BLOBS_PATH, ByteRange, HASH_MISMATCH_STATUS, OFFSET_CONTENT_TYPE, TUS_VERSION, UploadMetadata,
    header,
};
use fieldwork_protocol::sync::{
    self as protocol, CONTENT_TYPE as CBOR, PositionReport, PositionsResponse,
};

/// A chunk has this long to reach the server (256 KiB at 64 kbit/s is ~33 s).
const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an upload stands on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResource {
    /// The upload's address as the server gave it (`Location`).
    pub location: String,
    /// Bytes the server holds.
    pub offset: u64,
}

/// What a ranged download brought.
#[derive(Debug)]
pub enum Download {
    /// The server has no such file for this user (or it is not uploaded yet).
    Missing,
    /// The answer: `partial` if it holds only the asked range.
    Body {
        response: reqwest::Response,
        partial: bool,
        total: Option<u64>,
    },
}

impl ServerClient {
    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn tus(&self, request: RequestBuilder, token: &str, timeout: Duration) -> RequestBuilder {
        request
            .timeout(timeout)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(header::TUS_RESUMABLE, TUS_VERSION)
    }

    async fn send(request: RequestBuilder) -> Result<reqwest::Response, SyncError> {
        request
            .send()
            .await
            .map_err(|e| SyncError::Offline(describe(&e)))
    }

    async fn failure(response: reqwest::Response) -> SyncError {
        let status = response.status().as_u16();
        let retry_after = retry_after_s(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        error_answer(status, retry_after, &body)
    }

    /// `POST /v1/blobs`: starts an upload of `length` bytes (or learns the server already has
    /// the file, when the answered offset equals the length).
    pub async fn create_upload(
        &self,
        token: &str,
        metadata: &UploadMetadata,
        length: u64,
    ) -> Result<UploadResource, SyncError> {
        let request = self
            .tus(self.http.post(self.url(BLOBS_PATH)), token, CALL_TIMEOUT)
            .header(header::UPLOAD_LENGTH, length.to_string())
            .header(header::UPLOAD_METADATA, metadata.encode());
        let response = Self::send(request).await?;
        if response.status() != StatusCode::CREATED {
            return Err(Self::failure(response).await);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SyncError::Protocol("the upload was created without a Location".into()))?
            .to_owned();
        let offset = offset_of(&response).unwrap_or(0);
        Ok(UploadResource { location, offset })
    }

    /// `HEAD` an upload: the bytes the server holds, or `None` if it no longer knows the upload
    /// (expired, or finished and then refused).
    pub async fn upload_offset(
        &self,
        token: &str,
        location: &str,
    ) -> Result<Option<u64>, SyncError> {
        let request = self.tus(self.http.head(self.url(location)), token, CALL_TIMEOUT);
        let response = Self::send(request).await?;
        match response.status() {
            StatusCode::OK | StatusCode::NO_CONTENT => offset_of(&response)
                .map(Some)
                .ok_or_else(|| SyncError::Protocol("HEAD answered without Upload-Offset".into())),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            _ => Err(Self::failure(response).await),
        }
    }

    /// `PATCH` one chunk at `offset`; returns the server's new offset.
    pub async fn patch_upload(
        &self,
        token: &str,
        location: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<u64, SyncError> {
        let request = self
            .tus(self.http.patch(self.url(location)), token, CHUNK_TIMEOUT)
            .header(header::UPLOAD_OFFSET, offset.to_string())
            .header(CONTENT_TYPE, OFFSET_CONTENT_TYPE)
            .body(chunk);
        let response = Self::send(request).await?;
        if response.status() == StatusCode::NO_CONTENT || response.status() == StatusCode::OK {
            return offset_of(&response)
                .ok_or_else(|| SyncError::Protocol("PATCH answered without Upload-Offset".into()));
        }
        if response.status().as_u16() == HASH_MISMATCH_STATUS {
            return Err(SyncError::Server {
                status: HASH_MISMATCH_STATUS,
                code: "blob_hash_mismatch".into(),
                message: "the file's bytes do not match its sha256".into(),
            });
        }
        Err(Self::failure(response).await)
    }

    /// `GET /v1/blobs/{sha256}`, from `range` on if given.
    pub async fn download_blob(
        &self,
        token: &str,
        sha256: &str,
        range: Option<ByteRange>,
    ) -> Result<Download, SyncError> {
        let mut request = self
            .http
            .get(self.url(&format!("{BLOBS_PATH}/{sha256}")))
            .timeout(Duration::from_secs(120))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some(range) = range {
            request = request.header(RANGE, range.header());
        }
        let response = Self::send(request).await?;
        match response.status() {
            StatusCode::OK => {
                let total = response.content_length();
                Ok(Download::Body {
                    response,
                    partial: false,
                    total,
                })
            }
            StatusCode::PARTIAL_CONTENT => {
                let total = response
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit('/').next())
                    .and_then(|t| t.parse().ok());
                Ok(Download::Body {
                    response,
                    partial: true,
                    total,
                })
            }
            StatusCode::NOT_FOUND => Ok(Download::Missing),
            _ => Err(Self::failure(response).await),
        }
    }

    /// `POST /v1/positions`: this technician's latest fix.
    pub async fn report_position(
        &self,
        token: &str,
        report: &PositionReport,
    ) -> Result<(), SyncError> {
        let request = self
            .http
            .post(self.url("/v1/positions"))
            .timeout(CALL_TIMEOUT)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, CBOR)
            .body(protocol::encode(report));
        let response = Self::send(request).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::failure(response).await)
        }
    }
}

impl ServerClient {
    /// `GET /v1/positions`: each technician's last known position (back office only).
    pub async fn positions(&self, token: &str) -> Result<PositionsResponse, SyncError> {
        let request = self
            .http
            .get(self.url("/v1/positions"))
            .timeout(CALL_TIMEOUT)
            .header(AUTHORIZATION, format!("Bearer {token}"));
        let response = Self::send(request).await?;
        if !response.status().is_success() {
            return Err(Self::failure(response).await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| SyncError::Offline(describe(&e)))?;
        protocol::decode(&body).map_err(|e| SyncError::Protocol(e.to_string()))
    }
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(header::UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
