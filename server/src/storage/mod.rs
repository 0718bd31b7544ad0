//! Storage behind one trait, [`ServerStore`], so the embedded SQLite backend ([`SqliteStore`]) can
//! be joined by PostgreSQL for several server replicas. Sync logic never sees SQL: it reads through
//! [`StoreRead`] (one consistent snapshot per call) and writes one push as one [`PushCommit`].
//! The blob lane's bookkeeping ([`blobs`]) and technicians' positions ([`positions`]) live in the
//! same store.

mod blobs;
mod positions;
mod schema;
mod sqlite;

use std::fmt;

use fieldwork_core::model::{Actor, Role};
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::sync::UserInfo;
use serde::Serialize;

use crate::error::Error;

pub use blobs::{
    Admission, BlobRecord, BlobRef, BlobUsage, Claim, PatchRecord, QuotaRefusal, QuotaScope,
    TenantQuotas, TenantUsage, UploadFinish, UploadLimits, UploadRecord, UploadState, UserUsage,
};
pub use positions::{PositionRecord, PositionWrite};
pub use sqlite::SqliteStore;

pub type Result<T> = std::result::Result<T, Error>;

/// One tenant: an organisation whose data never mixes with another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
}

/// A user of a tenant. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub skills: Vec<String>,
}

impl UserRecord {
    /// The user as the rules see them.
    pub fn actor(&self) -> Actor {
        Actor {
            tenant: self.tenant_id.clone(),
            user_id: self.id.clone(),
            role: self.role,
            name: Some(self.name.clone()),
            team: self.team.clone(),
        }
    }

    /// The user as the protocol shows them.
    pub fn info(&self) -> UserInfo {
        UserInfo {
            tenant_id: self.tenant_id.clone(),
            user_id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            team: self.team.clone(),
        }
    }
}

/// A registered device and the one Automerge actor its changes carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    /// Lowercase hex.
    pub actor_id: String,
    pub name: String,
}

/// A device as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    /// Lowercase hex.
    pub actor_id: String,
    /// Server time of its first registration.
    pub created_at: i64,
    /// Set once an admin removed it; it no longer counts against the device cap.
    pub removed_at: Option<i64>,
    /// Tokens of this device that still work.
    pub live_tokens: u64,
}

/// What a token may be used for (`docs/sync-protocol.md`, "Tokens and devices").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Made by an admin; registers devices.
    User,
    /// Made by a login or a device registration; syncs.
    Device,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Device => "device",
        }
    }
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub hash: String,
    pub kind: TokenKind,
    pub user_id: String,
    pub device_id: Option<String>,
    pub created_at: i64,
}

/// Who a live token belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub kind: TokenKind,
    pub user: UserRecord,
    /// Set for device tokens.
    pub device: Option<DeviceRecord>,
}

/// The version of a ticket the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHead {
    pub tenant_id: String,
    /// Seq (within the tenant) of the ticket's newest change; identifies the stored snapshot.
    pub last_seq: u64,
    /// Who sees it, as of `last_seq` (written in the same transaction as the document).
    pub reporter_id: String,
    pub assignee: Option<String>,
    pub team: Option<String>,
}

impl TicketHead {
    /// The fields visibility is judged on (`core::rules::sees`).
    pub fn audience(&self) -> fieldwork_core::rules::Audience<'_> {
        fieldwork_core::rules::Audience {
            tenant: &self.tenant_id,
            reporter: &self.reporter_id,
            assignee: self.assignee.as_deref(),
            team: self.team.as_deref(),
        }
    }
}

/// Narrows a pull's walk for a user who sees only some tickets (not the back office): tickets
/// they reported, are assigned, whose team queue they work, or that the device holds (so it
/// hears of evictions). The walk still judges each ticket exactly (`core::rules::sees`); this
/// only spares it the tenant's other tickets, which would otherwise cost every device a walk
/// over everyone's changes.
#[derive(Debug, Clone, Copy)]
pub struct PullScope<'a> {
    pub user_id: &'a str,
    pub team: Option<&'a str>,
    pub device_id: &'a str,
}

/// One stored change, as the pull walks them.
#[derive(Debug, Clone)]
pub struct StoredChange {
    pub seq: u64,
    pub ticket_id: String,
    /// Lowercase hex.
    pub actor_id: String,
    pub bytes: Vec<u8>,
}

/// A device's recorded relation to a ticket (see `device_tickets` in the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub covered_seq: u64,
    pub evicted: bool,
    pub since_cursor: u64,
}

/// A new state of a device's relation to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingUpdate {
    pub ticket_id: String,
    pub holding: Holding,
}

/// A change accepted by a push, in the order it is to be numbered.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub ticket_id: String,
    pub hash: String,
    pub actor_id: String,
    pub bytes: Vec<u8>,
}

/// The new state of a ticket touched by a push: its index row and compacted document.
#[derive(Debug, Clone)]
pub struct TicketWrite {
    pub id: String,
    /// The `last_seq` the push read; `None` for a ticket the store has never had. The commit fails
    /// with [`Error::Conflict`] if another writer moved the ticket meanwhile.
    pub expected_last_seq: Option<u64>,
    pub number: Option<String>,
    pub reporter_id: String,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub status: String,
    pub snapshot: Vec<u8>,
}

/// Everything one push stores, committed in one transaction.
#[derive(Debug, Clone)]
pub struct PushCommit {
    pub tenant_id: String,
    pub device_id: String,
    pub received_at: i64,
    pub changes: Vec<NewChange>,
    pub tickets: Vec<TicketWrite>,
    /// The tenant's ticket counter moves from `.0` to `.1` (checked like `expected_last_seq`).
    pub numbers: Option<(u64, u64)>,
    /// Tickets the pushing device holds from now on (the ones it created).
    pub held_by_device: Vec<String>,
    /// Blobs named by the attachments of the touched tickets as written (kept if already there).
    pub blob_refs: Vec<BlobRef>,
}

/// Reads inside one consistent snapshot of the store. Everything is asked within one tenant:
/// tickets, changes and seqs of other tenants do not exist for the caller (a ticket id used in
/// another tenant is unknown here, exactly like one never used).
pub trait StoreRead {
    /// The ticket of an already stored change of the tenant, by hash (hex).
    fn change_ticket(&self, tenant_id: &str, hash: &str) -> Result<Option<String>>;
    fn ticket_head(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<TicketHead>>;
    /// The compacted document at [`TicketHead::last_seq`].
    fn ticket_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>>;
    /// The next ticket number of a tenant.
    fn next_number(&self, tenant_id: &str) -> Result<u64>;
    /// At most `limit` changes of a tenant with `seq > after`, in seq order; with a `scope`, only
    /// changes of tickets that scope might concern (a superset of what the user sees).
    fn changes_after(
        &self,
        tenant_id: &str,
        after: u64,
        limit: usize,
        scope: Option<&PullScope<'_>>,
    ) -> Result<Vec<StoredChange>>;
    fn holding(&self, device_id: &str, ticket_id: &str) -> Result<Option<Holding>>;
    /// The highest seq stored in the tenant (0 when it has no changes).
    fn max_seq(&self, tenant_id: &str) -> Result<u64>;
}

/// A storage backend. Every method is one transaction; implementations must be safe to call
/// from many threads (the server calls them from blocking tasks).
pub trait ServerStore: Send + Sync + fmt::Debug {
    /// The Automerge actor of server-authored changes, made once when the store is created.
    fn server_actor(&self) -> &ActorId;

    /// Runs `work` against one consistent read snapshot.
    fn read(&self, work: &mut dyn FnMut(&dyn StoreRead) -> Result<()>) -> Result<()>;
    /// Stores one push; returns the seq given to each of `commit.changes`, in order: the
    /// tenant's next seqs, so seq order is commit order within a tenant.
    fn commit_push(&self, commit: &PushCommit) -> Result<Vec<u64>>;
    /// Records what a device was sent.
    fn record_holdings(&self, device_id: &str, updates: &[HoldingUpdate]) -> Result<()>;

    /// Fails with [`Error::Duplicate`] if the name is taken.
    fn create_tenant(&self, tenant: &TenantRecord, at: i64) -> Result<()>;
    /// A tenant by id, or else by name.
    fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRecord>>;
    /// Stores a user with an optional password hash and an optional first token.
    fn create_user(
        &self,
        user: &UserRecord,
        password_hash: Option<&str>,
        token: Option<&TokenRecord>,
        at: i64,
    ) -> Result<()>;
    /// A user by login name, with their password hash if they have one.
    fn user_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>>;
    fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>>;
    /// Registers a device with its first token. A device that registers again with the same
    /// actor (same user) keeps its id and gets the new token; its older tokens are revoked.
    /// An actor registered to another user fails with [`Error::ActorTaken`]. A device that
    /// would take the user over `devices_per_user` devices (the server's default; the tenant's
    /// own cap replaces it) fails with [`Error::TooManyDevices`]: a new actor, or one an admin
    /// removed. Checked and written in one transaction, so parallel registrations cannot
    /// overshoot.
    fn register_device(
        &self,
        device: &DeviceRecord,
        token: &TokenRecord,
        devices_per_user: u32,
    ) -> Result<DeviceRecord>;
    /// The devices of a user, removed ones included, oldest first.
    fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>>;
    /// Removes a device: revokes its tokens and stops counting it against the device cap
    /// ([`Error::UnknownDevice`] if there is no such device). It may sign in again later, as
    /// a device that counts again.
    fn remove_device(&self, device_id: &str, at: i64) -> Result<DeviceInfo>;
    /// The live (not revoked) token with this hash.
    fn session(&self, token_hash: &str) -> Result<Option<Session>>;
    /// Revokes a token; false if there is no live token with this hash.
    fn revoke_token(&self, token_hash: &str, at: i64) -> Result<bool>;

    /// Stores a new upload in state [`UploadState::Uploading`], unless its device already has
    /// `max_open_per_device` of them, its user's open uploads would declare more than
    /// `max_open_bytes_per_user`, or its declared length would take the tenant or the user over
    /// their quota: stored bytes plus the declared lengths of open, unexpired uploads.
    /// Checked and written in one transaction, so parallel uploads cannot overshoot a quota.
    fn create_upload(&self, upload: &UploadRecord, limits: &UploadLimits) -> Result<Admission>;
    /// If the tenant already stores the blob `upload` names (same hash and length), records
    /// `upload` as finished and starts the blob's grace period again, in one transaction.
    fn claim_stored_blob(&self, upload: &UploadRecord) -> Result<Claim>;
    /// An upload by id, in any tenant: callers check it is theirs.
    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>>;
    /// The newest upload of this device still in progress for the same blob and length.
    fn open_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Option<UploadRecord>>;
    /// Records one PATCH in one transaction: its counters always, the offset and the end of the
    /// upload (with the stored blob) when it has them. Fails with [`Error::Conflict`] if the
    /// upload is gone or its offset moved meanwhile.
    fn record_patch(&self, patch: &PatchRecord) -> Result<()>;
    /// At most `limit` uploads (any tenant, any state) created before `before`, oldest first.
    fn uploads_created_before(&self, before: i64, limit: usize) -> Result<Vec<UploadRecord>>;
    fn delete_uploads(&self, upload_ids: &[String]) -> Result<()>;
    /// A stored blob of a tenant.
    fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>>;
    /// The tickets of a tenant whose attachments name the blob.
    fn blob_ref_tickets(&self, tenant_id: &str, sha256: &str) -> Result<Vec<String>>;
    /// At most `limit` stored blobs (any tenant) no ticket names, last claimed before `before`,
    /// oldest claim first.
    fn unnamed_blobs(&self, before: i64, limit: usize) -> Result<Vec<BlobRecord>>;
    /// Deletes the rows of those `blobs` that are still unnamed and unclaimed since `before`,
    /// checked and deleted in one transaction (a push naming one commits before or after, never
    /// in between), and takes their bytes off the usage counters. Returns the deleted ones: the
    /// caller removes their files afterwards.
    fn delete_unnamed_blobs(&self, blobs: &[BlobRecord], before: i64) -> Result<Vec<BlobRecord>>;

    /// A tenant's overrides of the server's quotas.
    fn tenant_quotas(&self, tenant_id: &str) -> Result<TenantQuotas>;
    fn set_tenant_quotas(&self, tenant_id: &str, quotas: &TenantQuotas) -> Result<()>;
    /// What a tenant and its users hold; open uploads count when created after `open_after`.
    fn tenant_usage(&self, tenant_id: &str, open_after: i64) -> Result<TenantUsage>;

    /// Makes `position` its user's last known one, unless the stored one arrived less than
    /// `min_interval_ms` before it (by `received_at`, server time).
    fn record_position(
        &self,
        position: &PositionRecord,
        min_interval_ms: i64,
    ) -> Result<PositionWrite>;
    /// The last known position of each user of the tenant whose role is technician.
    fn technician_positions(&self, tenant_id: &str) -> Result<Vec<PositionRecord>>;
}

impl dyn ServerStore {
    /// [`ServerStore::read`] for work that returns a value.
    pub fn read_with<T>(&self, work: impl FnOnce(&dyn StoreRead) -> Result<T>) -> Result<T> {
        let mut work = Some(work);
        let mut out = None;
        self.read(&mut |reader| {
            if let Some(work) = work.take() {
                out = Some(work(reader)?);
            }
            Ok(())
        })?;
        out.ok_or(Error::Task(
            "a storage backend did not run the read it was given".into(),
        ))
    }
}
