//! HTTP transport to the Fieldwork server (reqwest): CBOR bodies, gzip both ways, bearer tokens,
//! and the error answers of `docs/sync-protocol.md` turned into [`SyncError`].

use std::io::{Read, Write};
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SyncError;
use fieldwork_protocol::sync::{
    self as protocol, CONTENT_TYPE as CBOR, DeviceRegistration, DeviceSession, ErrorBody,
    LoginRequest, SyncRequest, SyncResponse, UserInfo,
};

/// Bodies smaller than this go uncompressed: gzip's header would eat the gain.
const COMPRESS_ABOVE: usize = 1024;
/// Largest response body the device accepts (after decompression).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Bytes on the wire for one request (bodies only, as sent and as received).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    pub sent: usize,
    pub received: usize,
}

/// A connection to one server.
#[derive(Debug, Clone)]
pub struct ServerClient {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
}

impl ServerClient {
    /// A client for the server at `base` (e.g. `https://fw.example.com`).
    pub fn new(base: &str) -> Result<Self, SyncError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(ServerClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The server's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Req>,
        timeout: Duration,
    ) -> Result<(Resp, Transfer), SyncError> {
        let url = format!("{}{path}", self.base);
        let mut request = match body {
            Some(_) => self.http.post(&url),
            None => self.http.get(&url),
        }
        .timeout(timeout)
        .header(ACCEPT_ENCODING, "gzip");
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut sent = 0;
        if let Some(body) = body {
            let mut bytes = protocol::encode(body);
            request = request.header(CONTENT_TYPE, CBOR);
            if bytes.len() > COMPRESS_ABOVE {
                bytes = gzip(&bytes);
                request = request.header(CONTENT_ENCODING, "gzip");
            }
            sent = bytes.len();
            request = request.body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SyncError::Offline(describe(&e)))?;
        let status = response.status();
        let retry_after = retry_after_s(response.headers());
        let gzipped = response
            .headers()
            .get(CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let raw = response
            .bytes()
            .await
            .map_err(|e| SyncError::Offline(describe(&e)))?;
        let transfer = Transfer {
            sent,
            received: raw.len(),
        };
        let bytes = if gzipped { gunzip(&raw)? } else { raw.to_vec() };
        if !status.is_success() {
            return Err(error_answer(status.as_u16(), retry_after, &bytes));
        }
        // An empty answer (204) reads as CBOR null.
        let body: &[u8] = if bytes.is_empty() { &[0xf6] } else { &bytes };
        let decoded = ciborium::from_reader(body)
            .map_err(|e| SyncError::Protocol(format!("unreadable answer: {e}")))?;
        Ok((decoded, transfer))
    }

    /// Exchanges a password for a device token.
    pub async fn login(&self, request: &LoginRequest) -> Result<DeviceSession, SyncError> {
        Ok(self
            .call("/v1/login", None, Some(request), Duration::from_secs(30))
            .await?
            .0)
    }

    /// Registers a device with a user API token.
    pub async fn register_device(
        &self,
        user_token: &str,
        device: &DeviceRegistration,
    ) -> Result<DeviceSession, SyncError> {
        Ok(self
            .call(
                "/v1/devices",
                Some(user_token),
                Some(device),
                Duration::from_secs(30),
            )
            .await?
            .0)
    }

    /// Who a token belongs to.
    pub async fn me(&self, token: &str) -> Result<UserInfo, SyncError> {
        Ok(self
            .call::<(), _>("/v1/me", Some(token), None, Duration::from_secs(30))
            .await?
            .0)
    }

    /// One sync round trip.
    pub async fn sync(
        &self,
        token: &str,
        request: &SyncRequest,
    ) -> Result<(SyncResponse, Transfer), SyncError> {
        let timeout = Duration::from_secs(60) + Duration::from_millis(u64::from(request.wait_ms));
        self.call("/v1/sync", Some(token), Some(request), timeout)
            .await
    }

    /// Revokes the device token on the server.
    pub async fn logout(&self, token: &str) -> Result<(), SyncError> {
        let _: (serde::de::IgnoredAny, Transfer) = self
            .call(
                "/v1/logout",
                Some(token),
                Some(&()),
                Duration::from_secs(30),
            )
            .await?;
        Ok(())
    }
}

/// The whole seconds of a `Retry-After` header (the HTTP-date form is not used by the server).
pub(super) fn retry_after_s(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The error a non-success answer amounts to, from its `ErrorBody` if it has one; `429`, and
/// `503` with a `Retry-After`, ask for a pause.
pub(super) fn error_answer(status: u16, retry_after_s: Option<u64>, body: &[u8]) -> SyncError {
    let body: Option<ErrorBody> = protocol::decode(body).ok();
    let (code, message) = body.map_or_else(
        || {
            (
                "unknown".to_owned(),
                "the server gave no details".to_owned(),
            )
        },
        |b| (b.code, b.message),
    );
    if status == 401 {
        SyncError::Unauthorized(message)
    } else if status == 429 || (status == 503 && retry_after_s.is_some()) {
        SyncError::TryLater {
            status,
            code,
            message,
            retry_after_s,
        }
    } else {
        SyncError::Server {
            status,
            code,
            message,
        }
    }
}

/// Makes ring rustls's process-wide crypto provider, once. If the host app installed another
/// provider first, that one is used.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub(super) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "connection lost".to_owned()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::fast());
    encoder
        .write_all(bytes)
        .expect("writing into a Vec cannot fail");
    encoder
        .finish()
        .expect("finishing a gzip stream into a Vec cannot fail")
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_RESPONSE_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| SyncError::Protocol(format!("bad gzip answer: {e}")))?;
    if out.len() > MAX_RESPONSE_BYTES {
        return Err(SyncError::Protocol("answer too large".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> Vec<u8> {
        protocol::encode(&ErrorBody {
            code: code.into(),
            message: message.into(),
            server_time: 0,
        })
    }

    #[test]
    fn a_429_says_how_long_the_server_asks_to_wait() {
        let error = error_answer(
            429,
            Some(37),
            &body("too_many_requests", "too many sign-in attempts"),
        );
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_secs(37)));
        assert_eq!(
            error.to_string(),
            "the server asks to wait 37 s before trying again (too_many_requests): too many sign-in attempts"
        );
        let long = error_answer(429, Some(600), &body("too_many_requests", "locked"));
        assert!(long.to_string().contains("wait 10 min"), "{long}");
        // A 429 from something in between (a proxy), with no body and no Retry-After.
        let bare = error_answer(429, None, b"<html>");
        assert!(bare.to_string().contains("wait a while"), "{bare}");
    }

    #[test]
    fn a_503_asks_for_a_pause_only_when_it_says_how_long() {
        let busy = error_answer(503, Some(2), &body("server_busy", "busy"));
        assert!(matches!(busy, SyncError::TryLater { status: 503, .. }));
        let stopping = error_answer(503, None, &body("shutting_down", "stopping"));
        assert!(matches!(stopping, SyncError::Server { status: 503, .. }));
        assert!(stopping.is_retryable());
    }
}
