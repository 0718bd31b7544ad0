//! The store's one error type. Messages say what went wrong and what to do, and never carry
//! ticket contents, names or positions.

use crate::bundle::BundleError;
use crate::location::LocationError;
use crate::rules::Refusal;
use crate::ticket::DocumentError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("not allowed: {0}")]
    Refused(#[from] Refusal),
    #[error("invalid location: {0}")]
    Location(#[from] LocationError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("this device has no user yet; run `init` (offline) or `login` first")]
    NotInitialised,
    #[error("this device already belongs to another user; use a new home directory")]
    AlreadyInitialised,
    #[error("no ticket matches that id")]
    UnknownTicket,
    #[error("that id prefix matches {0} tickets; give more characters")]
    AmbiguousId(usize),
    #[error(
        "the local database was written by a newer app (schema {found}, this app knows {supported}); update the app"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("the bundle belongs to another tenant; nothing was imported")]
    WrongTenant,
    #[error(
        "the bundle is missing {0} earlier change(s) of a ticket; export the whole ticket again"
    )]
    IncompleteBundle(usize),
    #[error(
        "the bundle was refused and nothing was imported: {refused} of its {of} new change(s) break the rules ({reasons}); ask the sender to sync with the server instead"
    )]
    ImportRefused {
        refused: usize,
        of: usize,
        reasons: String,
    },
    #[error(
        "the bundle is too large to check ({0}); nothing was imported: export fewer tickets, or sync with the server instead"
    )]
    ImportTooLarge(super::replay::ImportLimit),
    #[error("{0}")]
    Files(String),
    #[error(transparent)]
    Photo(#[from] crate::photo::PhotoError),
    /// The photo file the caller named cannot be read (missing, a directory, no permission).
    #[error("cannot read the photo file ({0}); check the path")]
    PhotoFile(std::io::ErrorKind),
    #[error("stored device identity is damaged: {0}")]
    Identity(String),
}

impl StoreError {
    /// True when the user asked for something the rules or input checks refused (as opposed to a
    /// broken device), so callers can pick a fitting exit code or UI message.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Refused(_)
                | StoreError::Location(_)
                | StoreError::Photo(_)
                | StoreError::PhotoFile(_)
                | StoreError::UnknownTicket
                | StoreError::AmbiguousId(_)
                | StoreError::WrongTenant
                | StoreError::ImportRefused { .. }
                | StoreError::ImportTooLarge(_)
        )
    }
}
