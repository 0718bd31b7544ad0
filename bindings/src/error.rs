//! The one error type apps see, and the one place core errors become it.
//!
//! Variants are few and each tells the app what to do (show the refusal, ask for a login, wait for
//! the network, report a bug). Messages are the core's, which name the rule or the problem and
//! never carry ticket contents, names or positions.

use fieldwork_core::ErrorKind;
use fieldwork_core::location::LocationError;
use fieldwork_core::rules::Refusal;
use fieldwork_core::store::StoreError;
use fieldwork_core::sync::SyncError;

/// Why a call failed. In Kotlin each variant is a `FieldworkException.…` subclass, in Swift a case
/// of `FieldworkError`, in Python a `FieldworkError.…` exception; the message is for people.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum FieldworkError {
    /// The rules refused this user this action (role, workflow, tenant). Show the message; retrying
    /// will not help.
    #[error("{0}")]
    NotAllowed(String),
    /// No ticket or note has that id (on this device), or a photo file cannot be had: no ticket
    /// here names it, or the server does not hold it yet (its device has not uploaded it).
    #[error("{0}")]
    NotFound(String),
    /// A value is out of range, empty, too long or of the wrong form; the message names the field.
    #[error("{0}")]
    InvalidInput(String),
    /// The photo or screenshot cannot be used: not an image, cut short, or too large. Ask the
    /// user for another; nothing was stored.
    #[error("{0}")]
    InvalidPhoto(String),
    /// The server cannot be reached, or the OS reports no network. Changes stay queued.
    #[error("{0}")]
    Offline(String),
    /// The device has no user yet, is not logged in to a server, or the server refused its
    /// credentials: log in (again).
    #[error("{0}")]
    NotLoggedIn(String),
    /// The server answered with an error other than a refused login; retry later.
    #[error("{0}")]
    Server(String),
    /// The local database or a stored document is damaged, or the disk failed.
    #[error("{0}")]
    Storage(String),
    /// A bug or an unexpected state in the library; the message helps a bug report.
    #[error("{0}")]
    Internal(String),
}

impl From<Refusal> for FieldworkError {
    fn from(refusal: Refusal) -> Self {
        StoreError::Refused(refusal).into()
    }
}

impl From<LocationError> for FieldworkError {
    fn from(error: LocationError) -> Self {
        FieldworkError::InvalidInput(format!("invalid location: {error}"))
    }
}

impl FieldworkError {
    /// The variant for a failure of `kind`, with the error's own message.
    fn of_kind(kind: ErrorKind, message: String) -> Self {
        match kind {
            ErrorKind::Refused => FieldworkError::NotAllowed(message),
            ErrorKind::BadInput => FieldworkError::InvalidInput(message),
            ErrorKind::BadPhoto => FieldworkError::InvalidPhoto(message),
            ErrorKind::NotFound => FieldworkError::NotFound(message),
            ErrorKind::NotSignedIn => FieldworkError::NotLoggedIn(message),
            ErrorKind::Storage => FieldworkError::Storage(message),
            ErrorKind::Unreachable => FieldworkError::Offline(message),
            ErrorKind::ServerBusy | ErrorKind::ServerRefused => FieldworkError::Server(message),
            ErrorKind::Internal => FieldworkError::Internal(message),
        }
    }
}

impl From<StoreError> for FieldworkError {
    fn from(error: StoreError) -> Self {
        let message = match &error {
            // The rule's own words, without the store's "not allowed:" in front.
            StoreError::Refused(refusal) => refusal.to_string(),
            other => other.to_string(),
        };
        FieldworkError::of_kind(error.kind(), message)
    }
}

impl From<SyncError> for FieldworkError {
    fn from(error: SyncError) -> Self {
        FieldworkError::of_kind(error.kind(), error.to_string())
    }
}

impl FieldworkError {
    /// A failed download of a photo file (`fetch_photo`): there, a 404 means the file cannot be
    /// had — no ticket on this device names it, or the server does not hold it yet — which the
    /// app shows as "not available", not as a server fault. Elsewhere a 404 stays `Server` (a
    /// mistyped server address answers 404 to everything).
    pub(crate) fn from_photo_fetch(error: SyncError) -> Self {
        match error {
            SyncError::Server { status: 404, .. } => FieldworkError::NotFound(error.to_string()),
            other => other.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldwork_core::model::{Role, Status, TicketKind};
    use fieldwork_core::photo::PhotoError;

    #[test]
    fn refusals_become_not_allowed_with_the_rules_message() {
        let error: FieldworkError = StoreError::Refused(Refusal::CreateForbidden {
            role: Role::Rider,
            kind: TicketKind::Repair,
        })
        .into();
        assert!(
            matches!(&error, FieldworkError::NotAllowed(m) if m == "a rider may not create a repair ticket"),
            "{error:?}"
        );
        let error: FieldworkError = Refusal::Transition {
            from: Status::New,
            to: Status::Resolved,
            allowed: "cancelled".into(),
            hint: "",
        }
        .into();
        assert!(matches!(error, FieldworkError::NotAllowed(_)));
    }

    #[test]
    fn each_kind_of_failure_has_its_variant() {
        assert!(matches!(
            FieldworkError::from(StoreError::UnknownTicket),
            FieldworkError::NotFound(_)
        ));
        assert!(matches!(
            FieldworkError::from(StoreError::Location(LocationError::Latitude)),
            FieldworkError::InvalidInput(_)
        ));
        assert!(matches!(
            FieldworkError::from(SyncError::Offline("cannot connect".into())),
            FieldworkError::Offline(_)
        ));
        assert!(matches!(
            FieldworkError::from(SyncError::Unauthorized("revoked".into())),
            FieldworkError::NotLoggedIn(_)
        ));
        assert!(matches!(
            FieldworkError::from(SyncError::Store(StoreError::NotInitialised)),
            FieldworkError::NotLoggedIn(_)
        ));
        let missing = || SyncError::Server {
            status: 404,
            code: "not_found".into(),
            message: "the server does not have this file (yet)".into(),
        };
        assert!(matches!(
            FieldworkError::from_photo_fetch(missing()),
            FieldworkError::NotFound(_)
        ));
        assert!(matches!(
            FieldworkError::from(missing()),
            FieldworkError::Server(_)
        ));
        assert!(matches!(
            FieldworkError::from_photo_fetch(SyncError::Offline("cannot connect".into())),
            FieldworkError::Offline(_)
        ));
    }

    #[test]
    fn unusable_photos_are_invalid_photo_and_disk_trouble_is_storage() {
        let error = FieldworkError::from(StoreError::Photo(PhotoError::Empty));
        assert!(
            matches!(&error, FieldworkError::InvalidPhoto(m) if m.contains("empty")),
            "{error:?}"
        );
        assert!(matches!(
            FieldworkError::from(StoreError::Files("out of space".into())),
            FieldworkError::Storage(_)
        ));
    }
}
