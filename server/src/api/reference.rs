//! The API reference page at `/api/v1/docs`: plain HTML rendered on the server from the same
//! OpenAPI document the code generates (no script, nothing fetched from elsewhere), so it can
//! never say something the API does not do.

use std::fmt::Write;

use serde_json::Value;
use utoipa::openapi::OpenApi;

pub(super) use crate::plain_page::escape;

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(escape)
        .unwrap_or_default()
}

/// The name a `$ref` points at, or the schema's type.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_name(items));
    }
    if let Some(all) = schema.get("oneOf").and_then(Value::as_array) {
        return all.iter().map(schema_name).collect::<Vec<_>>().join(" or ");
    }
    match schema.get("type") {
        Some(Value::String(t)) => escape(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(escape)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "object".to_owned(),
    }
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<section class=\"op\"><h3><span class=\"m {m}\">{M}</span> <code>{p}</code></h3>",
        m = escape(method),
        M = escape(&method.to_uppercase()),
        p = escape(path),
    );
    let summary = text(op, "summary");
    let description = text(op, "description");
    if !summary.is_empty() {
        let _ = write!(out, "<p><strong>{summary}</strong></p>");
    }
    if !description.is_empty() {
        let _ = write!(out, "<p>{description}</p>");
    }
    if op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
        })
    {
        out.push_str("<p class=\"open\">No sign-in needed.</p>");
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str(
            "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>",
        );
        for p in params {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(p, "name"),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    " *"
                } else {
                    ""
                },
                text(p, "in"),
                p.get("schema").map(schema_name).unwrap_or_default(),
                text(p, "description"),
            );
        }
        out.push_str("</table>");
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        let _ = write!(out, "<p>Body (JSON): {}</p>", schema_name(schema));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>Status</th><th>Body</th><th>Description</th></tr>");
        for (status, response) in responses {
            let body = response
                .pointer("/content/application~1json/schema")
                .map(schema_name)
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{body}</td><td>{}</td></tr>",
                escape(status),
                text(response, "description"),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

fn schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        out,
        "<section class=\"schema\" id=\"schema-{0}\"><h3>{0}</h3>",
        escape(name)
    );
    let description = text(schema, "description");
    if !description.is_empty() {
        let _ = write!(out, "<p>{description}</p>");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let listed: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("<code>{}</code>", escape(v)))
            .collect();
        let _ = write!(out, "<p>One of: {}</p>", listed.join(", "));
    }
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        out.push_str("<ul>");
        for v in variants {
            let values: Vec<String> = v
                .get("enum")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .filter_map(Value::as_str)
                        .map(|s| format!("<code>{}</code>", escape(s)))
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li>{} {}</li>",
                values.join(", "),
                text(v, "description")
            );
        }
        out.push_str("</ul>");
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str("<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>");
        for (field, property) in properties {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                escape(field),
                if required.contains(&field.as_str()) {
                    " *"
                } else {
                    ""
                },
                schema_name(property),
                text(property, "description"),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// The whole page.
pub fn render(doc: &OpenApi) -> String {
    let doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Fieldwork API reference</title><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
         code{font:13px ui-monospace,monospace}table{border-collapse:collapse;margin:.5rem 0;width:100%}\
         td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
         .m{display:inline-block;min-width:4.5rem;padding:0 .4rem;border-radius:3px;color:#fff;font-size:13px;text-align:center}\
         .get{background:#1f6f43}.post{background:#1d4f91}.put{background:#7a4a00}.patch{background:#6b3fa0}.delete{background:#a32020}\
         section{border-top:1px solid #ddd;padding:.5rem 0}.open{color:#555}\
         </style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p>{}</p><p>Base URL: <code>/api/v1</code>. The machine-readable document: \
         <a href=\"openapi.json\"><code>openapi.json</code></a> (OpenAPI {}).</p><h2>Operations</h2>",
        doc.pointer("/info/title")
            .and_then(Value::as_str)
            .map(escape)
            .unwrap_or_default(),
        doc.pointer("/info/description")
            .and_then(Value::as_str)
            .map(escape)
            .unwrap_or_default(),
        text(&doc, "openapi"),
    );
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    operation(&mut out, method, path, op);
                }
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            schema(&mut out, name, s);
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_document_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_page_lists_every_operation_of_the_document() {
        let doc = super::super::openapi();
        let page = render(doc);
        let doc = serde_json::to_value(doc).expect("serialises");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("item").keys() {
                let heading = format!(
                    "{}</span> <code>{}</code>",
                    method.to_uppercase(),
                    escape(path)
                );
                assert!(page.contains(&heading), "{method} {path} is on the page");
            }
        }
    }
}
