//! Accounts and tokens: tenants, their users, the devices users register (each with the one
//! Automerge actor its changes carry) and the tokens that stand for a user or a device.

use fieldwork_core::model::{Actor, Role};
use fieldwork_protocol::sync::UserInfo;
use serde::Serialize;

use super::Result;

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
    /// Disabled by an admin: every token and session of theirs stopped, sign-ins refused.
    pub disabled: bool,
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
pub struct TokenHolder {
    pub token_hash: String,
    pub kind: TokenKind,
    pub user: UserRecord,
    /// Set for device tokens.
    pub device: Option<DeviceRecord>,
}

/// Tenants, users, devices and tokens. Every method is one transaction.
pub trait Accounts {
    /// Fails with [`super::Conflict::Exists`] if the name is taken.
    fn create_tenant(&self, tenant: &TenantRecord, at: i64) -> Result<()>;
    /// A tenant by id, or else by name.
    fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRecord>>;
    /// Stores a user with an optional password hash and an optional first token. Fails with
    /// [`super::Missing::Tenant`] for an unknown tenant and [`super::Conflict::Exists`] for a
    /// name the tenant has already.
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
    /// The users of a tenant, by name.
    fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>>;
    /// The users of a tenant among `ids`, each once, ordered by id. Ids of other tenants' users
    /// and ids of nobody are left out, exactly alike.
    fn users_by_ids(&self, tenant_id: &str, ids: &[String]) -> Result<Vec<UserRecord>>;
    /// Registers a device with its first token. A device that registers again with the same
    /// actor (same user) keeps its id and gets the new token; its older tokens are revoked.
    /// An actor registered to another user fails with [`super::Conflict::ActorTaken`]. A device
    /// that would take the user over `devices_per_user` devices (the server's default; the
    /// tenant's own cap replaces it) fails with [`super::OverQuota::Devices`]: a new actor, or
    /// one an admin removed. Checked and written in one transaction, so parallel registrations
    /// cannot overshoot.
    fn register_device(
        &self,
        device: &DeviceRecord,
        token: &TokenRecord,
        devices_per_user: u32,
    ) -> Result<DeviceRecord>;
    /// The devices of a user, removed ones included, oldest first.
    fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>>;
    /// Removes a device: revokes its tokens and stops counting it against the device cap
    /// ([`super::Missing::Device`] if there is no such device). It may sign in again later, as
    /// a device that counts again.
    fn remove_device(&self, device_id: &str, at: i64) -> Result<DeviceInfo>;
    /// The live (not revoked) token with this hash.
    fn session(&self, token_hash: &str) -> Result<Option<TokenHolder>>;
    /// Revokes a token; false if there is no live token with this hash.
    fn revoke_token(&self, token_hash: &str, at: i64) -> Result<bool>;
}
