//! Who is on the device, and sync as a UI sees it: configuration, status (with the photo files
//! waiting to go up), reports and the quarantine of changes the server refused.

use fieldwork_core::model::Actor;
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::store::{PendingUpload as CorePending, QuarantinedChange as CoreQuarantined};
use fieldwork_core::sync::lane::LaneReport;
use fieldwork_core::sync::{SyncReport as CoreReport, SyncStatus as CoreStatus};
use fieldwork_protocol::sync::UserInfo;

use crate::model::{BlobKind, Role, SyncState};

/// How a client is set up. One app talks to one server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientConfig {
    /// Base address of the Fieldwork server, e.g. `https://fw.example.com`. Needed only to log in.
    #[uniffi(default = None)]
    pub server_url: Option<String>,
    /// How this device is named in the server's device list (e.g. the phone model).
    #[uniffi(default = "Fieldwork app")]
    pub device_name: String,
    /// Long edge, in pixels, of the photos this device stores and uploads (smaller photos are
    /// never enlarged). `None` keeps the core's default (1920 px); the thumbnail stays 320 px.
    #[uniffi(default = None)]
    pub max_photo_edge: Option<u32>,
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
    /// Photo files waiting to go to the server, thumbnails first, with their progress.
    pub uploads: Vec<PendingUpload>,
}

/// One photo file waiting to go to the server (files travel apart from tickets, each with its own
/// retries, and resume where they stopped).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingUpload {
    pub sha256: String,
    pub kind: BlobKind,
    /// The ticket whose attachment names the file.
    pub ticket_id: String,
    /// Size of the file.
    pub bytes: u64,
    /// How much of it the server is known to hold (progress: `sent_bytes / bytes`).
    pub sent_bytes: u64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Device time of the next attempt, milliseconds since the Unix epoch (0 = as soon as possible).
    pub next_try_at: i64,
    pub last_error: Option<String>,
}

/// What a sync moved of the photo files, after the tickets were in sync.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BlobReport {
    /// Files the server now holds.
    pub uploaded: u64,
    /// Thumbnails fetched for attachments that arrived with tickets.
    pub downloaded: u64,
    /// Files that failed this time (each retries later on its own; see `SyncStatus.uploads`).
    pub failed: u64,
    pub bytes_sent: u64,
}

/// What a `sync_now` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub rounds: u64,
    pub pushed: u64,
    pub pulled: u64,
    /// Knowledge-base articles stored or replaced on the device, and taken away.
    pub articles: u64,
    pub articles_removed: u64,
    /// Changes the server refused in this sync (now in the quarantine).
    pub rejected: u64,
    /// Changes still waiting after the sync.
    pub pending: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Photo files moved after the tickets were in sync. Their failures do not fail the sync.
    pub blobs: BlobReport,
    /// This technician's position was sent to the server (see `report_location`).
    pub position_reported: bool,
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
            uploads: s.uploads.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<CorePending> for PendingUpload {
    fn from(p: CorePending) -> Self {
        PendingUpload {
            sha256: p.sha256,
            kind: p.kind.into(),
            ticket_id: p.ticket_id,
            bytes: p.bytes,
            sent_bytes: p.sent_bytes,
            attempts: p.attempts,
            next_try_at: p.next_try_at,
            last_error: p.last_error,
        }
    }
}

impl From<LaneReport> for BlobReport {
    fn from(r: LaneReport) -> Self {
        BlobReport {
            uploaded: count(r.uploaded),
            downloaded: count(r.downloaded),
            failed: count(r.failed),
            bytes_sent: r.bytes_sent,
        }
    }
}

impl From<CoreReport> for SyncReport {
    fn from(r: CoreReport) -> Self {
        SyncReport {
            rounds: count(r.rounds),
            pushed: count(r.pushed),
            pulled: count(r.pulled),
            articles: count(r.articles),
            articles_removed: count(r.articles_removed),
            rejected: count(r.rejected),
            pending: count(r.pending),
            bytes_sent: count(r.bytes_sent),
            bytes_received: count(r.bytes_received),
            blobs: r.blobs.into(),
            position_reported: r.position_reported,
        }
    }
}

impl ClientConfig {
    /// The photo pipeline's options for this configuration: the core's defaults, with the
    /// configured long edge.
    pub(crate) fn photo_options(&self) -> PhotoOptions {
        let defaults = PhotoOptions::default();
        PhotoOptions {
            max_edge: self.max_photo_edge.unwrap_or(defaults.max_edge),
            ..defaults
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
