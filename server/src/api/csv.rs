//! CSV exports (the audit log, reports): RFC 4180 with CRLF, every cell quoted when it must be,
//! and never read as a formula by a spreadsheet (a leading `=`, `+`, `-`, `@`, tab or CR gets a
//! `'`), since cells hold what people typed.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// One CSV cell.
pub fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A CSV document: the header row, then `rows`.
pub fn document(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = String::new();
    for row in std::iter::once(header_row.iter().map(|h| (*h).to_owned()).collect()).chain(rows) {
        let cells: Vec<String> = row.iter().map(|c: &String| cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A CSV answer to download as `name`.
pub(super) fn attachment(
    header_row: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
    name: &str,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        document(header_row, rows),
    )
        .into_response()
}

/// Whether `format` asks for CSV (`json`, the default, or `csv`).
pub(super) fn wanted(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad_request("format is json or csv")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(
            document(
                &["a", "b"],
                [vec!["1".to_owned(), "x,y".to_owned()]].into_iter()
            ),
            "a,b\r\n1,\"x,y\"\r\n"
        );
    }
}
