//! Accounts and tokens: tenants, their users, the devices users register (each with the one
//! Automerge actor its changes carry) and the tokens that stand for a user or a device.

use fieldwork_core::model::{Actor, Role};
use fieldwork_protocol::sync::UserInfo;
use serde::Serialize;

use super::{OverQuota, Result, StorageError};

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

/// The kind of a stored token (`tokens.kind`, written by [`TokenKind::as_str`]); any other is
/// damage.
pub(crate) fn token_kind_of(kind: &str) -> Result<TokenKind> {
    match kind {
        "user" => Ok(TokenKind::User),
        "device" => Ok(TokenKind::Device),
        other => Err(StorageError::Corrupt(format!("token kind {other:?}"))),
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

/// A stored role (`users.role`); one this build does not know is damage.
pub(crate) fn role_of(role: &str) -> Result<Role> {
    role.parse::<Role>()
        .map_err(|e| StorageError::Corrupt(format!("user role: {e}")))
}

/// A user's skills as stored (`users.skills`): comma-separated.
pub(crate) fn skills_text(skills: &[String]) -> String {
    skills.join(",")
}

/// The skills in `users.skills` ([`skills_text`]).
pub(crate) fn skills_of(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The device a live token of `user` names, from its (outer-joined) row: `None` for a user
/// token, or unless all of its id, actor and name are there.
pub(crate) fn token_device(
    user: &UserRecord,
    id: Option<String>,
    actor_id: Option<String>,
    name: Option<String>,
) -> Option<DeviceRecord> {
    match (id, actor_id, name) {
        (Some(id), Some(actor_id), Some(name)) => Some(DeviceRecord {
            id,
            user_id: user.id.clone(),
            tenant_id: user.tenant_id.clone(),
            actor_id,
            name,
        }),
        _ => None,
    }
}

/// The token a registration stores: `token`, naming the device it registered (`device_id`: a
/// new device's id, or the one the actor had).
pub(crate) fn registered_token(token: &TokenRecord, device_id: &str) -> TokenRecord {
    TokenRecord {
        device_id: Some(device_id.to_owned()),
        ..token.clone()
    }
}

/// Whether registering a device adds one to its user's count of devices, given how its actor is
/// registered already (`existing_removed_at`: `None` for a new actor, else when an admin removed
/// its device, if one did): a device counts unless an admin removed it, so re-registering one
/// that counts already adds nothing.
pub(crate) fn registration_adds_device(existing_removed_at: Option<Option<i64>>) -> bool {
    !matches!(existing_removed_at, Some(None))
}

/// Refuses a device that would take its user past the device cap ([`OverQuota::Devices`]): the
/// tenant's own (`tenant_cap`) where it set one, else the server's (`default_cap`), with
/// `counted` devices counting already.
pub(crate) fn check_device_cap(
    counted: i64,
    tenant_cap: Option<u32>,
    default_cap: u32,
) -> Result<()> {
    let limit = tenant_cap.unwrap_or(default_cap);
    if u64::try_from(counted).unwrap_or(0) >= u64::from(limit) {
        return Err(StorageError::Quota(OverQuota::Devices { limit }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_counts_against_the_cap_unless_it_counts_already() {
        assert!(registration_adds_device(None));
        assert!(registration_adds_device(Some(Some(5))));
        assert!(!registration_adds_device(Some(None)));
    }

    #[test]
    fn the_tenants_device_cap_replaces_the_servers() {
        assert!(check_device_cap(2, None, 3).is_ok());
        assert!(matches!(
            check_device_cap(3, None, 3),
            Err(StorageError::Quota(OverQuota::Devices { limit: 3 }))
        ));
        assert!(matches!(
            check_device_cap(1, Some(1), 3),
            Err(StorageError::Quota(OverQuota::Devices { limit: 1 }))
        ));
        assert!(check_device_cap(-1, Some(1), 0).is_ok());
        assert!(check_device_cap(0, Some(0), 3).is_err());
    }

    #[test]
    fn stored_values_read_back_and_damage_is_told() {
        let skills = vec!["electrical".to_owned(), "hvac".to_owned()];
        assert_eq!(skills_of(&skills_text(&skills)), skills);
        assert!(skills_of("").is_empty());
        assert_eq!(token_kind_of("device").ok(), Some(TokenKind::Device));
        assert!(matches!(token_kind_of("x"), Err(StorageError::Corrupt(_))));
        assert!(matches!(role_of("x"), Err(StorageError::Corrupt(_))));
    }

    #[test]
    fn a_token_names_a_device_only_with_its_whole_row() {
        let user = UserRecord {
            id: "u".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            role: Role::Technician,
            team: None,
            skills: Vec::new(),
            disabled: false,
        };
        let some = |s: &str| Some(s.to_owned());
        let device = token_device(&user, some("d"), some("ab"), some("phone")).expect("a device");
        assert_eq!(
            (device.user_id.as_str(), device.tenant_id.as_str()),
            ("u", "t")
        );
        assert_eq!(token_device(&user, some("d"), None, some("phone")), None);
        let token = TokenRecord {
            hash: "h".into(),
            kind: TokenKind::Device,
            user_id: "u".into(),
            device_id: None,
            created_at: 1,
        };
        assert_eq!(
            registered_token(&token, "d").device_id.as_deref(),
            Some("d")
        );
    }
}
