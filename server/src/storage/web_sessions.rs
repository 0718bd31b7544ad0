//! Sessions of people at a browser (the back-office API, `docs/api.md`), and the account
//! switches that end them: a password change and disabling a user. A session's token and CSRF
//! token are stored only as SHA-256, like every token.

use super::{Result, UserRecord};

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub token_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    pub csrf_hash: String,
    /// The Automerge actor (hex) the server writes this person's edits with in this session.
    pub actor_id: String,
    pub created_at: i64,
    /// Idle expiry: moved forward while the session is used, never past `ends_at`.
    pub expires_at: i64,
    /// Absolute end.
    pub ends_at: i64,
}

/// Something done to a person's account, for the settings audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    pub user_id: String,
    /// `disabled`, `enabled` or `password_changed`.
    pub kind: String,
    /// Who did it (a user id, or the operator of an admin command).
    pub by: String,
    pub at: i64,
}

/// Sessions and the switches that end them. Every method is one transaction.
pub trait WebSessions {
    /// Stores a new session. Fails with [`super::Missing::User`] when the user does not exist
    /// in the session's tenant or is disabled.
    fn create_web_session(&self, session: &WebSession) -> Result<()>;
    /// The session with this token hash and its user, if it is live at `now`: not expired, not
    /// revoked, its user not disabled.
    fn web_session(&self, token_hash: &str, now: i64) -> Result<Option<(WebSession, UserRecord)>>;
    /// Moves a live session's idle expiry to `expires_at` (capped at its end).
    fn touch_web_session(&self, token_hash: &str, expires_at: i64) -> Result<()>;
    /// Ends a session; false if there was no live one with this hash.
    fn revoke_web_session(&self, token_hash: &str, at: i64) -> Result<bool>;
    /// Replaces a user's password hash and ends their other sessions (all but `keep`, the
    /// session the change was made in), logged as done `by`. [`super::Missing::User`] for no
    /// such user in the tenant.
    fn set_password(
        &self,
        tenant_id: &str,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        by: &str,
        at: i64,
    ) -> Result<()>;
    /// Disables (`true`) or enables a user of the tenant, logged as done `by`. Disabling revokes
    /// every token and session of theirs in the same transaction. [`super::Missing::User`] for
    /// no such user.
    fn set_disabled(
        &self,
        tenant_id: &str,
        user_id: &str,
        disabled: bool,
        by: &str,
        at: i64,
    ) -> Result<()>;
    /// What was done to the tenant's accounts, newest first, at most `limit`.
    fn account_events(&self, tenant_id: &str, limit: usize) -> Result<Vec<AccountEvent>>;
}

/// The [`AccountEvent::kind`] of a password change.
pub(crate) const PASSWORD_CHANGED: &str = "password_changed";

/// The [`AccountEvent::kind`] of disabling (`true`) or enabling a user.
pub(crate) fn switch_event(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "enabled" }
}
