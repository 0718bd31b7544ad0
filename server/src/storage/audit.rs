//! The audit log (`docs/api.md`, "Audit log"): every stored change of a tenant's tickets with who
//! made it and how it came in, newest first, read from the change log itself (nothing is written
//! twice). Settings changes are read from their own logs (`ConfigLog`, the erasure log).

use super::Result;

/// How a change came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A registered device (its id and name).
    Device { id: String, name: String },
    /// An intake channel (its id and name).
    Channel { id: String, name: String },
    /// A browser session of the back-office API.
    Session,
    /// The server itself (the brain, numbering, erasure rewrites).
    Server,
    /// A rating link (`CsatLinks`): the reporter rated through a link, without the app.
    Link,
    /// Anything else: a user API token through the back-office API.
    Token,
}

/// One stored change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChange {
    pub seq: u64,
    pub ticket_id: String,
    pub number: Option<String>,
    /// `public` or `staff`.
    pub part: String,
    pub hash: String,
    /// The person it was made by; `None` for the server's own.
    pub author_id: Option<String>,
    pub via: Via,
    /// Server time it was stored.
    pub received_at: i64,
    /// When it happened (the device's clock, corrected), for a change by a person.
    pub effective_at: Option<i64>,
    /// The encoded change (its message names the edit).
    pub bytes: Vec<u8>,
}

/// Which changes, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub tenant_id: String,
    pub ticket_id: Option<String>,
    pub author_id: Option<String>,
    /// Stored at or after (server time).
    pub from: Option<i64>,
    /// Stored before (server time).
    pub to: Option<i64>,
    /// Only changes with a seq below this (the page before ended there).
    pub before_seq: Option<u64>,
    pub limit: usize,
}

/// Reading the audit log. One read transaction per call.
pub trait AuditLog {
    fn audit_changes(&self, query: &AuditQuery) -> Result<Vec<AuditChange>>;
}

/// Most changes one call returns.
const MAX_PAGE: usize = 1_000;

/// A query's `limit` as a `LIMIT`: 1 to [`MAX_PAGE`].
pub(crate) fn audit_limit(limit: usize) -> i64 {
    i64::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(100)
}

/// How a change came in, from what its actor is (each pair outer-joined: an id and a name, both
/// there or not): a device's, else an intake channel's, else a browser session's (`session`),
/// else a rating link's (`link`), else the server's own (`by_server`), else a user API token's.
pub(crate) fn via_of(
    device: (Option<String>, Option<String>),
    channel: (Option<String>, Option<String>),
    session: bool,
    link: bool,
    by_server: bool,
) -> Via {
    if let (Some(id), Some(name)) = device {
        Via::Device { id, name }
    } else if let (Some(id), Some(name)) = channel {
        Via::Channel { id, name }
    } else if session {
        Via::Session
    } else if link {
        Via::Link
    } else if by_server {
        Via::Server
    } else {
        Via::Token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_tells_first_then_a_channel_a_session_a_link_the_server() {
        let pair = |id: &str| (Some(id.to_owned()), Some(format!("{id} name")));
        let none = || (None, None);
        assert_eq!(
            via_of(pair("d"), pair("c"), true, true, true),
            Via::Device {
                id: "d".into(),
                name: "d name".into()
            }
        );
        assert_eq!(
            via_of((Some("d".into()), None), pair("c"), true, true, true),
            Via::Channel {
                id: "c".into(),
                name: "c name".into()
            }
        );
        assert_eq!(via_of(none(), none(), true, true, true), Via::Session);
        assert_eq!(via_of(none(), none(), false, true, true), Via::Link);
        assert_eq!(via_of(none(), none(), false, false, true), Via::Server);
        assert_eq!(via_of(none(), none(), false, false, false), Via::Token);
    }

    #[test]
    fn a_page_holds_one_to_a_thousand_changes() {
        assert_eq!(audit_limit(0), 1);
        assert_eq!(audit_limit(usize::MAX), 1_000);
    }
}
