//! The web console at `/console` (`docs/console.md`, ADR 0015): a single-page app in plain ES
//! modules that only calls `/api/v1`. Here it is only files: the page's shell, and the scripts,
//! styles and vendored libraries under `server/console/`, built into the binary.
//!
//! - `/` sends a browser to the console.
//! - `/console/…` (any path that is not a file) answers the shell, so a reload or a shared link
//!   opens the same view. The shell is never cached.
//! - `/console/static/VERSION/FILE` answers a file, gzipped when the browser takes it, cached for
//!   a year: VERSION is a hash of every file, so a new build has new addresses.
//!
//! Every answer carries a strict Content-Security-Policy: scripts only from here (the import map
//! by its hash), images from here and the map's tile host, no framing.

use std::io::Write;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// Where the console is mounted.
pub const BASE: &str = "/console";

/// One file of the console, as built in.
struct Asset {
    path: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, bytes: include_bytes!(concat!("../console/", $path)) }),*]
    };
}

/// Every file under `server/console/` (a test checks that none is missing).
const ASSETS: &[Asset] = assets![
    "app.js",
    "api.js",
    "i18n.js",
    "format.js",
    "live.js",
    "ui.js",
    "pages/sign_in.js",
    "pages/queue.js",
    "pages/ticket.js",
    "pages/map.js",
    "pages/sla.js",
    "pages/reports.js",
    "pages/settings.js",
    "pages/knowledge.js",
    "markdown.js",
    "style.css",
    "vendor/preact.mjs",
    "vendor/hooks.mjs",
    "vendor/htm.mjs",
    "vendor/leaflet.js",
    "vendor/leaflet.css",
    "vendor/uplot.js",
    "vendor/uplot.css",
    "vendor/LICENSES.md",
];

/// A file ready to serve: its type, both encodings and its hash.
struct Served {
    mime: &'static str,
    plain: &'static [u8],
    gzip: Vec<u8>,
}

struct Built {
    version: String,
    files: Vec<(&'static str, Served)>,
}

fn mime_of(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The files, gzipped once, and the version every address carries.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut hash = Sha256::new();
        let files = ASSETS
            .iter()
            .map(|a| {
                hash.update(a.path.as_bytes());
                hash.update(a.bytes);
                let served = Served {
                    mime: mime_of(a.path),
                    plain: a.bytes,
                    gzip: gzip(a.bytes),
                };
                (a.path, served)
            })
            .collect();
        Built {
            version: hex::encode(&hash.finalize()[..6]),
            files,
        }
    })
}

/// Where the console's files are served from in this build.
fn static_base() -> String {
    format!("{BASE}/static/{}", built().version)
}

/// The import map: bare module names the vendored libraries use.
fn import_map() -> String {
    let base = static_base();
    format!(
        r#"{{"imports":{{"preact":"{base}/vendor/preact.mjs","preact/hooks":"{base}/vendor/hooks.mjs","htm":"{base}/vendor/htm.mjs"}}}}"#
    )
}

/// The map tiles the dispatch map draws: a URL template with `{z}`, `{x}` and `{y}` on an
/// `http(s)` host. Without one the map draws positions on a plain background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileSource {
    template: String,
    origin: String,
    /// Who the tiles are from, as plain text shown on the map (the tile provider's terms
    /// usually require it).
    attribution: String,
}

/// Most characters of a map attribution.
const MAX_ATTRIBUTION_CHARS: usize = 200;

impl TileSource {
    /// Reads a tile URL template; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<TileSource, String> {
        let template = template.trim();
        let rest = template
            .strip_prefix("https://")
            .or_else(|| template.strip_prefix("http://"))
            .ok_or("a tile URL starts with https:// or http://")?;
        let host = rest.split('/').next().unwrap_or_default();
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '{' | '}'));
        if !host_ok {
            return Err("a tile URL names a host (letters, digits, dots, dashes, a port)".into());
        }
        for part in ["{z}", "{x}", "{y}"] {
            if !template.contains(part) {
                return Err(format!(
                    "a tile URL has {{z}}, {{x}} and {{y}}; {part} is missing"
                ));
            }
        }
        if template
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>'))
        {
            return Err("a tile URL has no spaces, quotes or angle brackets".into());
        }
        let scheme_len = template.len() - rest.len();
        // A `{s}` subdomain is allowed by any subdomain of the host's parent in the policy.
        let origin = match host.split_once("{s}.") {
            Some((_, parent)) => format!("{}*.{parent}", &template[..scheme_len]),
            None => format!("{}{host}", &template[..scheme_len]),
        };
        // OpenStreetMap's own tile servers require their credit; others say theirs.
        let attribution = if host.ends_with("openstreetmap.org") {
            "© OpenStreetMap contributors".to_owned()
        } else {
            String::new()
        };
        Ok(TileSource {
            template: template.to_owned(),
            origin,
            attribution,
        })
    }

    /// Reads a map attribution: plain text, one line of at most 200 characters.
    pub fn parse_attribution(text: &str) -> Result<String, String> {
        let text = text.trim();
        if text.chars().count() > MAX_ATTRIBUTION_CHARS || text.chars().any(char::is_control) {
            return Err("a map attribution is one line of at most 200 characters".into());
        }
        Ok(text.to_owned())
    }

    /// The same tiles credited with `attribution` (read by [`Self::parse_attribution`]).
    pub fn with_attribution(mut self, attribution: String) -> TileSource {
        self.attribution = attribution;
        self
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    pub fn attribution(&self) -> &str {
        &self.attribution
    }
}

/// The Content-Security-Policy every console answer carries.
fn policy(tiles: Option<&TileSource>) -> String {
    let map_hash = STANDARD.encode(Sha256::digest(import_map().as_bytes()));
    let tile_host = tiles.map(|t| format!(" {}", t.origin)).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{map_hash}'; style-src 'self'; \
         img-src 'self' data: blob:{tile_host}; connect-src 'self'; font-src 'self'; \
         manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn secure_headers(headers: &mut HeaderMap, tiles: Option<&TileSource>) {
    if let Ok(value) = HeaderValue::from_str(&policy(tiles)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The language the shell starts in: Chinese when the browser prefers it, English otherwise
/// (the console switches by itself later).
fn language(headers: &HeaderMap) -> &'static str {
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let first = accepted
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if first.starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    }
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page every console address answers; the script draws the view the address names.
fn shell(lang: &str, tiles: Option<&TileSource>) -> String {
    let base = static_base();
    let attribution = tiles
        .map(|t| escape_attribute(t.attribution()))
        .unwrap_or_default();
    let tiles = tiles
        .map(|t| escape_attribute(t.template()))
        .unwrap_or_default();
    let title = if lang == "en" {
        "Fieldwork console"
    } else {
        "Fieldwork 控制台"
    };
    let loading = if lang == "en" {
        "Loading…"
    } else {
        "加载中…"
    };
    let noscript = if lang == "en" {
        "The console needs JavaScript."
    } else {
        "控制台需要启用 JavaScript。"
    };
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="fieldwork-static" content="{base}">
<meta name="fieldwork-tiles" content="{tiles}">
<meta name="fieldwork-tiles-attribution" content="{attribution}">
<title>{title}</title>
<link rel="stylesheet" href="{base}/style.css">
<script type="importmap">{map}</script>
<link rel="modulepreload" href="{base}/app.js">
<link rel="modulepreload" href="{base}/vendor/preact.mjs">
<script type="module" src="{base}/app.js"></script>
</head>
<body>
<div id="app"><p class="loading">{loading}</p></div>
<noscript><p>{noscript}</p></noscript>
</body>
</html>
"#,
        map = import_map(),
    )
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let tiles = state.map_tiles();
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        shell(language(&headers), tiles),
    )
        .into_response();
    secure_headers(response.headers_mut(), tiles);
    response
}

fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name == "gzip" || name == "*") && !refused
        })
}

async fn file(
    State(state): State<AppState>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let built = built();
    let found = built.files.iter().find(|(p, _)| *p == path);
    let Some((_, served)) = found.filter(|_| version == built.version) else {
        // An old build's address, or no such file: not cached, so a new build is found.
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such file",
        )
            .into_response();
    };
    let mut response = if takes_gzip(&headers) {
        (
            [
                (header::CONTENT_ENCODING, "gzip"),
                (header::CONTENT_TYPE, served.mime),
            ],
            served.gzip.clone(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, served.mime)], served.plain).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    secure_headers(headers, state.map_tiles());
    response
}

/// The console's routes, and `/` sending a browser to it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route(BASE, get(|| async { Redirect::to("/console/") }))
        .route("/console/static/{version}/{*path}", get(file))
        .route("/console/", get(page))
        .route("/console/{*view}", get(page))
}

/// The compressed size of everything a page may load (script and style), for the budget.
pub fn compressed_bytes() -> usize {
    built()
        .files
        .iter()
        .filter(|(path, _)| {
            path.ends_with(".js") || path.ends_with(".mjs") || path.ends_with(".css")
        })
        .map(|(_, served)| served.gzip.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_the_console_folder_is_built_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read the console folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under the root");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut built: Vec<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        built.sort();
        assert_eq!(on_disk, built, "list every console file in ASSETS");
    }

    #[test]
    fn tile_sources_are_checked_and_their_host_allowed() {
        let osm = TileSource::parse("https://tile.openstreetmap.org/{z}/{x}/{y}.png").expect("ok");
        assert_eq!(osm.origin, "https://tile.openstreetmap.org");
        assert!(
            policy(Some(&osm))
                .contains("img-src 'self' data: blob: https://tile.openstreetmap.org;")
        );
        let sub =
            TileSource::parse("https://{s}.tiles.example.com:8443/{z}/{x}/{y}.png").expect("ok");
        assert_eq!(sub.origin, "https://*.tiles.example.com:8443");
        assert_eq!(osm.attribution(), "© OpenStreetMap contributors");
        assert_eq!(
            sub.attribution(),
            "",
            "no credit is made up for other providers"
        );
        let text = TileSource::parse_attribution("  Tiles © Example <b>Maps</b>  ").expect("ok");
        let credited = sub.with_attribution(text);
        assert_eq!(credited.attribution(), "Tiles © Example <b>Maps</b>");
        let page = shell("en", Some(&credited));
        assert!(
            page.contains("content=\"Tiles © Example &lt;b&gt;Maps&lt;/b&gt;\""),
            "escaped"
        );
        assert!(TileSource::parse_attribution(&"x".repeat(201)).is_err());
        assert!(TileSource::parse_attribution("a\nb").is_err());
        for bad in [
            "ftp://x/{z}/{x}/{y}",
            "https:///{z}/{x}/{y}",
            "https://x.org/{z}/{x}.png",
            "https://x.org/{z}/{x}/{y}.png\" onload=\"",
            "https://x y.org/{z}/{x}/{y}",
        ] {
            assert!(TileSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shell_speaks_the_browsers_language_and_allows_only_its_import_map() {
        let mut headers = HeaderMap::new();
        assert_eq!(language(&headers), "en");
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(language(&headers), "zh-CN");
        let page = shell("zh-CN", None);
        assert!(page.contains(r#"<html lang="zh-CN">"#));
        let map = import_map();
        assert!(page.contains(&format!(r#"<script type="importmap">{map}</script>"#)));
        let hash = STANDARD.encode(Sha256::digest(map.as_bytes()));
        assert!(policy(None).contains(&format!("script-src 'self' 'sha256-{hash}';")));
        assert!(!policy(None).contains("unsafe"));
    }

    #[test]
    fn every_script_and_style_together_stay_within_the_budget() {
        // docs/benchmarks.md, "Console": at most 250 KB compressed, everything a page may load.
        let bytes = compressed_bytes();
        assert!(bytes <= 250 * 1024, "{bytes} bytes compressed");
    }

    #[test]
    fn gzip_is_given_unless_refused() {
        let mut headers = HeaderMap::new();
        assert!(!takes_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(takes_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!takes_gzip(&headers));
    }
}
