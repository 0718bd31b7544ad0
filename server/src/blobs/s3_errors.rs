//! How [`super::S3BlobStore`] tells what went wrong: object_store's errors as an S3 code, a
//! message for the operator that names no secret, and the `io::Error` kind a download reports.

use std::io;

/// The S3 error code in an error's text (`<Code>NoSuchBucket</Code>`), if any.
pub(super) fn s3_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(&text[start..start + len])
}

/// An object_store error as a message: the request and status, and S3's error code rather than
/// its whole answer (which may echo the request's signature details).
pub(super) fn describe(error: &object_store::Error) -> String {
    let text = error.to_string();
    let code = s3_code(&text).map(str::to_owned);
    let cut = ["<?xml", "<Error>"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    let head = text[..cut].trim_end().trim_end_matches(':').to_owned();
    match code {
        Some(code) => format!("{head} (S3 error {code})"),
        None => head,
    }
}

pub(super) fn io_kind(error: &object_store::Error) -> io::ErrorKind {
    match error {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    }
}

pub(super) fn to_io(error: &object_store::Error) -> io::Error {
    io::Error::new(io_kind(error), describe(error))
}

pub(super) fn is_not_found(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotFound { .. })
}
