//! Storage behind traits, one per concern, so the embedded SQLite backend ([`SqliteStore`]) can be
//! joined by PostgreSQL for several server replicas:
//!
//! - [`TicketLog`] — the tenant's numbered changes, ticket documents and index rows, the ticket
//!   counter, what each device holds; read through [`StoreRead`] snapshots, written one
//!   [`TicketCommit`] at a time.
//! - [`Accounts`] — tenants, users, devices, tokens and sessions.
//! - [`BlobRecords`] — the blob lane's uploads, stored blobs and which tickets name them.
//! - [`QuotaLedger`] — a tenant's own quotas and what is used.
//! - [`PositionLog`] — technicians' last known positions.
//! - [`ConfigLog`] — each tenant's configuration of the service brain, every version kept.
//! - [`WebhookLog`] — webhook deliveries, every attempt recorded, and each tenant's secret.
//! - [`BrainMemory`] — what the service brain remembers between decisions (turns, heads).
//! - [`WebSessions`] — people's browser sessions, password changes, disabled users.
//! - [`TicketList`] — tickets listed, filtered, sorted and searched (the back-office API).
//! - [`AuditLog`] — who changed which ticket when, and how it came in.
//! - [`ReportFacts`] — what the reports count about each ticket.
//! - [`CsatLinks`] — the links reporters without the app rate resolved tickets through.
//! - [`Peers`] — messages between the servers sharing a store, and which of them leads a duty.
//!
//! [`ServerStore`] is their sum: the server holds one `Arc<dyn ServerStore>`. Every backend
//! answers with [`StorageError`], runs migrations by the contract of [`migrate`], and passes the
//! conformance suite ([`conformance`], behind the `conformance` feature; see
//! `server/tests/storage_conformance.rs`).

mod accounts;
mod assets;
mod audit;
mod blobs;
mod brain_memory;
mod channels;
mod configs;
#[cfg(feature = "conformance")]
pub mod conformance;
mod csat_links;
mod error;
mod knowledge;
pub mod migrate;
mod move_tenant;
mod peers;
mod positions;
mod postgres;
mod quotas;
mod report_facts;
mod saved_views;
mod sqlite;
mod ticket_list;
mod ticket_log;
mod web_sessions;
mod webhooks;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use accounts::{
    Accounts, DeviceInfo, DeviceRecord, TenantRecord, TokenHolder, TokenKind, TokenRecord,
    UserRecord,
};
pub use assets::{AssetRecord, Assets};
pub use audit::{AuditChange, AuditLog, AuditQuery, Via};
pub use blobs::{
    Admission, BlobRecord, BlobRecords, BlobRef, Claim, PatchRecord, QuotaRefusal, QuotaScope,
    UploadFinish, UploadLimits, UploadRecord, UploadState,
};
pub use brain_memory::{BrainMemory, RememberedTicket};
pub use channels::{
    AlertFoldRow, AlertIn, AlertOutcome, ChannelKind, ChannelRecord, Channels, IntakeReceipt,
    OPENING_GRACE_MS, StatusLink,
};
pub use configs::{AppliedConfig, ConfigLog, ConfigVersion};
pub use csat_links::{CsatLink, CsatLinks};
pub use error::{BoxError, Conflict, Missing, OverQuota, StorageError};
pub use knowledge::{Article, ArticleMeta, ArticleVersion, Audience, KbImage, KnowledgeBase};
pub use move_tenant::{MovedTenant, move_tenant};
pub use peers::{Lead, MAX_PEER_MESSAGE, PeerEvent, Peers, SoleServer};
pub use positions::{PositionLog, PositionRecord, PositionWrite};
pub use postgres::{PgOptions, PgStore};
pub use quotas::{BlobUsage, QuotaLedger, TenantQuotas, TenantUsage, UserUsage};
pub use report_facts::{FreshFacts, ReportFacts, StaleFacts};
pub use saved_views::{SavedView, SavedViews};
pub use sqlite::SqliteStore;
pub use ticket_list::{
    AssigneeFilter, COUNT_UP_TO, ListCursor, ListScope, ListedTicket, StaffListing, Terms,
    TicketList, TicketListing, TicketPage, TicketQuery, TicketSort,
};
pub use ticket_log::{
    ChangeTimes, ErasureRecord, Holding, HoldingUpdate, NewChange, PullScope, ReadWith,
    ReportedTicket, StoreRead, StoredChange, SummaryFill, TicketCommit, TicketHead, TicketLog,
    TicketRewrite, TicketWrite,
};
pub use web_sessions::{AccountEvent, WebSession, WebSessions};
pub use webhooks::{Attempt, AttemptNext, Delivery, DeliveryState, NewDelivery, WebhookLog};

/// Sequence numbers and cursors are u64 on the wire and i64 in the databases; a cursor beyond any
/// stored seq simply finds nothing.
fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// What every storage call returns.
pub type Result<T> = std::result::Result<T, StorageError>;

/// A whole storage backend: every concern, safe to call from many threads (the server calls it
/// from blocking tasks). Implemented for any type that implements the parts.
pub trait ServerStore:
    TicketLog
    + Accounts
    + BlobRecords
    + QuotaLedger
    + PositionLog
    + ConfigLog
    + WebhookLog
    + BrainMemory
    + WebSessions
    + TicketList
    + AuditLog
    + ReportFacts
    + CsatLinks
    + SavedViews
    + Channels
    + Assets
    + KnowledgeBase
    + Peers
    + Send
    + Sync
    + fmt::Debug
{
}

impl<T> ServerStore for T where
    T: TicketLog
        + Accounts
        + BlobRecords
        + QuotaLedger
        + PositionLog
        + ConfigLog
        + WebhookLog
        + BrainMemory
        + WebSessions
        + TicketList
        + AuditLog
        + ReportFacts
        + CsatLinks
        + SavedViews
        + Channels
        + Assets
        + KnowledgeBase
        + Peers
        + Send
        + Sync
        + fmt::Debug
{
}

/// Connects to the PostgreSQL backend at `url`, creating or migrating its schema as needed.
pub fn open_postgres(url: &str) -> Result<Arc<dyn ServerStore>> {
    Ok(Arc::new(PgStore::open(url, &PgOptions::default())?))
}

/// Opens the SQLite backend in `path`, creating and migrating the database as needed.
pub fn open_sqlite(path: &Path) -> Result<Arc<dyn ServerStore>> {
    Ok(Arc::new(SqliteStore::open(path)?))
}
