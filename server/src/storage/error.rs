//! [`StorageError`]: what a storage backend answers when it cannot do what was asked. Every
//! backend speaks it, so the rest of the server never sees a driver's error type: the SQLite
//! backend converts `rusqlite::Error` at its edge, a PostgreSQL one would do the same.

use std::fmt;

/// A driver's own error, kept as the source of [`StorageError::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a storage call failed. Messages carry no ticket contents or personal data.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The caller named something the store does not have.
    #[error("{0}")]
    NotFound(Missing),
    /// The write collides with what is stored: a name taken, an actor owned by someone else, or
    /// another writer that moved the same row meanwhile.
    #[error("{0}")]
    Conflict(Conflict),
    /// The write would break a cap the store checks in the same transaction.
    #[error("{0}")]
    Quota(OverQuota),
    /// Stored data this build cannot read.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error(
        "the database was written by a newer server (schema {found}, this server knows {supported}); update the server"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    /// The disk under the store is full: nothing was written. Not the caller's fault; the same
    /// write succeeds once an operator frees space.
    #[error("the server's disk is full")]
    OutOfSpace,
    /// The backend itself failed (disk, connection, driver).
    #[error("database error: {0}")]
    Backend(#[source] BoxError),
}

/// What was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Tenant,
    User,
    Device,
    Token,
    Ticket,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::Tenant => "no tenant with that id or name",
            Missing::User => "no user with that name in the tenant",
            Missing::Device => "no device with that id",
            Missing::Token => "no live token like that; it may be revoked already",
            Missing::Ticket => "no ticket with that id in the tenant",
        })
    }
}

/// How a write collided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A unique name is taken (what, e.g. "a tenant with this name").
    Exists(&'static str),
    /// A device's Automerge actor is registered to another user.
    ActorTaken,
    /// Another writer moved the ticket, counter or upload that this write expected unchanged.
    Moved,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Exists(what) => write!(f, "{what} already exists"),
            Conflict::ActorTaken => {
                f.write_str("this device's actor id is registered to another user")
            }
            Conflict::Moved => {
                f.write_str("another writer changed the same ticket or counter meanwhile; retry")
            }
        }
    }
}

/// Which cap a write would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverQuota {
    /// The user has this many devices registered already (not removed by an admin).
    Devices { limit: u32 },
    /// The tenant's photo storage is full (`used` of `limit` bytes held).
    TenantBlobs { limit: u64, used: u64 },
}

impl fmt::Display for OverQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverQuota::Devices { limit } => write!(
                f,
                "the user already has the most devices allowed ({limit}); remove one they no longer use (fieldwork admin list-devices / remove-device) or raise the cap (fieldwork admin set-quota --devices-per-user)"
            ),
            OverQuota::TenantBlobs { limit, used } => write!(
                f,
                "the tenant's photo storage is full ({used} of {limit} bytes); an admin raises it with fieldwork admin set-quota --blob-bytes"
            ),
        }
    }
}

impl StorageError {
    /// True when the caller asked for something the store refuses (as opposed to a fault of the
    /// store): unknown ids, taken names, caps. A write that lost a race ([`Conflict::Moved`]) is
    /// not a refusal: the same request succeeds when retried.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StorageError::NotFound(_)
                | StorageError::Conflict(Conflict::Exists(_) | Conflict::ActorTaken)
                | StorageError::Quota(_)
        )
    }

    /// A backend failure from any driver error.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        StorageError::Backend(source.into())
    }

    /// This failure told again to another caller that shared the write it broke (each commit of
    /// a group commit hears it). A full disk stays a full disk, so the caller is told to wait;
    /// anything else becomes a backend failure naming `context` and this one.
    pub fn told_again(&self, context: &str) -> StorageError {
        match self {
            StorageError::OutOfSpace => StorageError::OutOfSpace,
            other => StorageError::backend(format!("{context}: {other}")),
        }
    }
}

impl From<Missing> for StorageError {
    fn from(missing: Missing) -> Self {
        StorageError::NotFound(missing)
    }
}

impl From<Conflict> for StorageError {
    fn from(conflict: Conflict) -> Self {
        StorageError::Conflict(conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_what_a_caller_can_fix_and_races_are_not() {
        assert!(StorageError::from(Missing::Tenant).is_refusal());
        assert!(StorageError::from(Conflict::Exists("a tenant with this name")).is_refusal());
        assert!(StorageError::from(Conflict::ActorTaken).is_refusal());
        assert!(StorageError::Quota(OverQuota::Devices { limit: 2 }).is_refusal());
        assert!(!StorageError::from(Conflict::Moved).is_refusal());
        assert!(!StorageError::Corrupt("x".into()).is_refusal());
        assert!(!StorageError::backend("disk full").is_refusal());
        assert!(!StorageError::OutOfSpace.is_refusal());
        assert_eq!(
            StorageError::from(Missing::Token).to_string(),
            "no live token like that; it may be revoked already"
        );
    }
}
