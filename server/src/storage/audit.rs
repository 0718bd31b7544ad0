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
