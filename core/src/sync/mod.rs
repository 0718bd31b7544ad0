//! Sync with the Fieldwork server over the wire contract of `fieldwork-protocol`: the HTTP
//! transport ([`client`]), the engine that drives rounds ([`engine`]) and its background runner
//! ([`background`]); photo files travel on their own lane ([`lane`], [`blob_client`]).

pub mod background;
pub mod backoff;
pub mod blob_client;
pub mod client;
pub mod engine;
pub mod lane;

pub use backoff::RetryPolicy;
pub use engine::{RoundReport, SyncEngine, SyncReport, SyncState, SyncStatus};

use crate::ErrorKind;
use crate::store::StoreError;

/// Why a sync did not complete. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this device is not logged in to a server; run `login` first")]
    NotLoggedIn,
    #[error("the server cannot be reached ({0}); changes stay queued on the device")]
    Offline(String),
    #[error("the server refused this device's credentials ({0}); log in again")]
    Unauthorized(String),
    #[error("the server answered {status} {code}: {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// `429`, or a `503` with `Retry-After`: the server asks for a pause (too many sign-in
    /// attempts, too many reports, too busy), for `retry_after_s` seconds if it said.
    #[error(
        "the server asks to wait {} before trying again ({code}): {message}",
        describe_wait(*retry_after_s)
    )]
    TryLater {
        status: u16,
        code: String,
        message: String,
        retry_after_s: Option<u64>,
    },
    #[error("the server's answer could not be read ({0})")]
    Protocol(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// What kind of failure this is (the CLI's exit code and the FFI's error follow it).
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::NotLoggedIn | SyncError::Unauthorized(_) => ErrorKind::NotSignedIn,
            SyncError::Offline(_) => ErrorKind::Unreachable,
            SyncError::TryLater { .. } => ErrorKind::ServerBusy,
            SyncError::Server { status, .. } if *status >= 500 || *status == 429 => {
                ErrorKind::ServerBusy
            }
            SyncError::Server { .. } => ErrorKind::ServerRefused,
            SyncError::Protocol(_) => ErrorKind::Internal,
            SyncError::Store(error) => error.kind(),
        }
    }

    /// Worth retrying after a pause: the network, or the server having a bad moment.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Unreachable | ErrorKind::ServerBusy)
    }

    /// How long the server asked to wait before the next try, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SyncError::TryLater {
                retry_after_s: Some(seconds),
                ..
            } => Some(std::time::Duration::from_secs(*seconds)),
            _ => None,
        }
    }

    /// The server could not be reached at all.
    pub fn is_offline(&self) -> bool {
        self.kind() == ErrorKind::Unreachable
    }
}

/// A wait in words a person reads at a glance ("40 s", "10 min", "2 h").
fn describe_wait(seconds: Option<u64>) -> String {
    match seconds {
        None => "a while".to_owned(),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) if s < 2 * 3600 => format!("{} min", s.div_ceil(60)),
        Some(s) => format!("{} h", s.div_ceil(3600)),
    }
}

/// Runs a sync future to completion on a fresh single-thread runtime: for command-line tools and
/// blocking foreign calls that have no runtime of their own.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, SyncError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SyncError::Protocol(format!("cannot start a runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16) -> SyncError {
        SyncError::Server {
            status,
            code: "x".into(),
            message: "x".into(),
        }
    }

    #[test]
    fn each_failure_has_one_kind_and_retries_follow_it() {
        let cases = [
            (SyncError::NotLoggedIn, ErrorKind::NotSignedIn, false),
            (
                SyncError::Unauthorized("revoked".into()),
                ErrorKind::NotSignedIn,
                false,
            ),
            (
                SyncError::Offline("refused".into()),
                ErrorKind::Unreachable,
                true,
            ),
            (server(503), ErrorKind::ServerBusy, true),
            (server(429), ErrorKind::ServerBusy, true),
            (server(404), ErrorKind::ServerRefused, false),
            (
                SyncError::TryLater {
                    status: 429,
                    code: "too_many_attempts".into(),
                    message: "wait".into(),
                    retry_after_s: Some(40),
                },
                ErrorKind::ServerBusy,
                true,
            ),
            (
                SyncError::Protocol("garbage".into()),
                ErrorKind::Internal,
                false,
            ),
            (
                SyncError::Store(StoreError::SchemaTooNew {
                    found: 9,
                    supported: 5,
                }),
                ErrorKind::Storage,
                false,
            ),
            (
                SyncError::Store(StoreError::UnknownTicket),
                ErrorKind::NotFound,
                false,
            ),
        ];
        for (error, kind, retry) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_retryable(), retry, "{error}");
        }
    }
}
