//! Who is on the device, and sync as a UI sees it: configuration, status, reports and the
//! quarantine of changes the server refused.

use fieldwork_core::model::Actor;
use fieldwork_core::store::QuarantinedChange as CoreQuarantined;
use fieldwork_core::sync::protocol::UserInfo;
use fieldwork_core::sync::{SyncReport as CoreReport, SyncStatus as CoreStatus};

use crate::model::{Role, SyncState};

/// How a client is set up. One app talks to one server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientConfig {
    /// Base address of the Fieldwork server, e.g. `https://fw.example.com`. Needed only to log in.
    #[uniffi(default = None)]
    pub server_url: Option<String>,
    /// How this device is named in the server's device list (e.g. the phone model).
    #[uniffi(default = "Fieldwork app")]
    pub device_name: String,
}

/// The user this device belongs to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserProfile {
    pub tenant: String,
    pub user_id: String,
    pub role: Role,
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub team: Option<String>,
}

/// Sync status for a status line or a badge.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Local changes not yet acknowledged by the server.
    pub pending: u64,
    /// Changes the server refused (see `quarantine()`).
    pub quarantined: u64,
    /// Device time of the last successful round, milliseconds since the Unix epoch.
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub cursor: u64,
    /// Server time minus device time, for SLA countdowns.
    pub clock_offset_ms: i64,
    /// The server this device is logged in to; `None` when it is not logged in.
    pub server: Option<String>,
}

/// What a `sync_now` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub rounds: u64,
    pub pushed: u64,
    pub pulled: u64,
    /// Changes the server refused in this sync (now in the quarantine).
    pub rejected: u64,
    /// Changes still waiting after the sync.
    pub pending: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// A change the server refused, kept so the user can see what did not go through.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuarantinedChange {
    pub hash: String,
    pub ticket_id: String,
    /// Machine-readable reason, e.g. `forbidden`.
    pub code: String,
    pub message: String,
    pub rejected_at: i64,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl From<Actor> for UserProfile {
    fn from(a: Actor) -> Self {
        UserProfile {
            tenant: a.tenant,
            user_id: a.user_id,
            role: a.role.into(),
            name: a.name,
            team: a.team,
        }
    }
}

impl From<UserProfile> for Actor {
    fn from(p: UserProfile) -> Self {
        Actor {
            tenant: p.tenant,
            user_id: p.user_id,
            role: p.role.into(),
            name: p.name,
            team: p.team,
        }
    }
}

impl From<UserInfo> for UserProfile {
    fn from(u: UserInfo) -> Self {
        UserProfile {
            tenant: u.tenant_id,
            user_id: u.user_id,
            role: u.role.into(),
            name: Some(u.name),
            team: u.team,
        }
    }
}

impl From<CoreStatus> for SyncStatus {
    fn from(s: CoreStatus) -> Self {
        SyncStatus {
            state: s.state.into(),
            pending: count(s.pending),
            quarantined: count(s.quarantined),
            last_success: s.last_success,
            last_error: s.last_error,
            cursor: s.cursor,
            clock_offset_ms: s.clock_offset_ms,
            server: s.server,
        }
    }
}

impl From<CoreReport> for SyncReport {
    fn from(r: CoreReport) -> Self {
        SyncReport {
            rounds: count(r.rounds),
            pushed: count(r.pushed),
            pulled: count(r.pulled),
            rejected: count(r.rejected),
            pending: count(r.pending),
            bytes_sent: count(r.bytes_sent),
            bytes_received: count(r.bytes_received),
        }
    }
}

impl From<CoreQuarantined> for QuarantinedChange {
    fn from(q: CoreQuarantined) -> Self {
        QuarantinedChange {
            hash: q.hash,
            ticket_id: q.ticket_id,
            code: q.code,
            message: q.message,
            rejected_at: q.rejected_at,
        }
    }
}
