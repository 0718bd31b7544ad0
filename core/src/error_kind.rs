//! [`ErrorKind`]: what kind of failure an error is, decided once, so every surface — the CLI's
//! exit codes, the FFI's `FieldworkError`, an app's message — answers the same way for the same
//! failure. `StoreError::kind` and `SyncError::kind` classify; the surfaces only map kinds.

/// What kind of failure happened, from the point of view of what the user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The rules refused this user this action (role, workflow, tenant); retrying will not help.
    Refused,
    /// A value, an id or a file given is wrong (out of range, ambiguous, not a bundle); the
    /// message names it.
    BadInput,
    /// The photo or screenshot cannot be used (not an image, cut short, too large).
    BadPhoto,
    /// Nothing has that id here (ticket, note, file).
    NotFound,
    /// The device has no user yet, is not logged in, or its credentials were refused.
    NotSignedIn,
    /// The local database, a stored document or the file system is broken or full; or the
    /// database was written by a newer app.
    Storage,
    /// The server cannot be reached; changes stay queued.
    Unreachable,
    /// The server is there but asks to wait (429, 503 with `Retry-After`) or had a fault (5xx);
    /// changes stay queued and a later try may work.
    ServerBusy,
    /// The server answered with an error a retry will not fix (4xx other than a refused login).
    ServerRefused,
    /// A bug or an impossible answer; the message helps a bug report.
    Internal,
}

impl ErrorKind {
    /// Nothing is wrong with the device or the network: the user asked for something that cannot
    /// be (refused, bad input, nothing there).
    pub fn is_users_to_fix(self) -> bool {
        matches!(
            self,
            ErrorKind::Refused | ErrorKind::BadInput | ErrorKind::BadPhoto | ErrorKind::NotFound
        )
    }
}
