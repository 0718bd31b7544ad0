//! [`Page`]: a small self-contained HTML page for people with no account and no app — a rating
//! link (`api/csat.rs`), a status link (`intake/status.rs`). Inline style only; a strict CSP; the
//! token in the address is never sent on (`Referrer-Policy`) nor cached.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An HTML answer: a status, a title and a body of trusted HTML (escape what is not).
pub(crate) struct Page {
    pub status: StatusCode,
    pub title: &'static str,
    pub body: String,
}

impl Page {
    /// A page that says one thing.
    pub fn says(status: StatusCode, title: &'static str, text: &str) -> Page {
        Page {
            status,
            title,
            body: format!("<p>{}</p>", escape(text)),
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} — Fieldwork</title><style>\
             body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
             fieldset{{border:1px solid #ccc;border-radius:6px}}label{{display:block;margin:.4rem 0}}\
             textarea{{width:100%}}button{{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}}\
             .problem{{color:#a00}}.note{{border-left:3px solid #ccc;padding-left:.8rem;margin:1rem 0}}\
             .muted{{color:#666;font-size:.9rem}}</style></head><body><h1>{title}</h1>{body}</body></html>",
            title = self.title,
            body = self.body
        );
        (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The token is in the address: never sent on to another site, never cached.
                (header::REFERRER_POLICY, "no-referrer"),
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                ),
            ],
            html,
        )
            .into_response()
    }
}

/// Text made safe to put in HTML, in an element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
