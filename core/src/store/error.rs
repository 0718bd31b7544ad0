//! The store's one error type. Messages say what went wrong and what to do, and never carry
//! ticket contents, names or positions.

use crate::ErrorKind;
use crate::bundle::BundleError;
use crate::location::LocationError;
use crate::rules::Refusal;
use crate::ticket::DocumentError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database error: {0}")]
    Sqlite(rusqlite::Error),
    /// SQLite found no room to write: nothing of the write was kept.
    #[error("the device's storage is full; nothing was saved: free some space and try again")]
    DiskFull,
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

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sqlite(error),
        }
    }
}

impl StoreError {
    /// What kind of failure this is (the CLI's exit code and the FFI's error follow it).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Refused(refusal) => match refusal {
                Refusal::Invalid { .. } | Refusal::Location(_) => ErrorKind::BadInput,
                Refusal::UnknownNote => ErrorKind::NotFound,
                _ => ErrorKind::Refused,
            },
            StoreError::AlreadyInitialised | StoreError::ImportRefused { .. } => ErrorKind::Refused,
            StoreError::Location(_)
            | StoreError::Bundle(_)
            | StoreError::AmbiguousId(_)
            | StoreError::WrongTenant
            | StoreError::IncompleteBundle(_)
            | StoreError::ImportTooLarge(_)
            | StoreError::PhotoFile(_) => ErrorKind::BadInput,
            StoreError::Photo(_) => ErrorKind::BadPhoto,
            StoreError::UnknownTicket => ErrorKind::NotFound,
            StoreError::NotInitialised => ErrorKind::NotSignedIn,
            StoreError::Document(error) => match error {
                DocumentError::UnknownNote => ErrorKind::NotFound,
                // An edit offered to the other document of the ticket: the caller's mistake.
                DocumentError::WrongPart { .. } => ErrorKind::BadInput,
                // An edit that would take the ticket beyond what a ticket may hold.
                DocumentError::Limit(_) => ErrorKind::Refused,
                // A stored document that cannot be read: the store is damaged.
                DocumentError::Automerge(_)
                | DocumentError::Missing(_)
                | DocumentError::Malformed { .. } => ErrorKind::Storage,
            },
            StoreError::Sqlite(_)
            | StoreError::DiskFull
            | StoreError::SchemaTooNew { .. }
            | StoreError::Files(_)
            | StoreError::Identity(_) => ErrorKind::Storage,
        }
    }

    /// True when the user asked for something the rules or input checks refused (as opposed to a
    /// broken device): [`ErrorKind::is_users_to_fix`].
    pub fn is_refusal(&self) -> bool {
        self.kind().is_users_to_fix()
    }
}
