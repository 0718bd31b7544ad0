//! The blob lane as a device speaks it, for tests: tus requests (create, PATCH, HEAD), downloads,
//! test photos, and reading the server's upload bookkeeping.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::ticket::{Edit, NewAttachment, NewTicket};
use fieldwork_protocol::blobs::{
    BlobKind, OFFSET_CONTENT_TYPE, UPLOAD_CHUNK_BYTES, UploadMetadata,
};
use fieldwork_server::config::DATABASE_FILE;
use sha2::{Digest, Sha256};

use super::{Device, Harness, Reply};

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `len` bytes that do not repeat in any way that matters.
pub fn photo(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn metadata(sha256: &str, ticket_id: &str) -> String {
    UploadMetadata {
        sha256: sha256.to_owned(),
        mime: "image/jpeg".into(),
        kind: BlobKind::Full,
        ticket_id: ticket_id.to_owned(),
    }
    .encode()
}

pub fn tus(method: &str, uri: &str, token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
}

pub async fn create(h: &Harness, token: &str, length: u64, meta: &str) -> Reply {
    let request = tus("POST", "/v1/blobs", token)
        .header("upload-length", length.to_string())
        .header("upload-metadata", meta)
        .body(Body::empty())
        .expect("request");
    h.request(request).await
}

pub async fn patch(h: &Harness, token: &str, location: &str, offset: u64, bytes: &[u8]) -> Reply {
    let request = tus("PATCH", location, token)
        .header("upload-offset", offset.to_string())
        .header("content-type", OFFSET_CONTENT_TYPE)
        .body(Body::from(bytes.to_vec()))
        .expect("request");
    h.request(request).await
}

pub async fn head(h: &Harness, token: &str, location: &str) -> Reply {
    h.request(
        tus("HEAD", location, token)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

pub async fn download(h: &Harness, token: &str, sha256: &str, range: Option<&str>) -> Reply {
    let mut request = Request::builder()
        .uri(format!("/v1/blobs/{sha256}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(range) = range {
        request = request.header("range", range);
    }
    h.request(request.body(Body::empty()).expect("request"))
        .await
}

pub fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
}

pub fn offset_of(reply: &Reply) -> u64 {
    header(reply, "upload-offset").parse().expect("a number")
}

/// Creates an upload; returns its location and the offset to go on from.
pub async fn start(h: &Harness, token: &str, bytes: &[u8], ticket_id: &str) -> (String, u64) {
    let created = create(
        h,
        token,
        bytes.len() as u64,
        &metadata(&sha256(bytes), ticket_id),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(header(&created, "tus-resumable"), "1.0.0");
    (header(&created, "location").to_owned(), offset_of(&created))
}

/// Uploads `bytes` whole in chunks of the device's size; returns the upload's location.
pub async fn upload(h: &Harness, token: &str, bytes: &[u8], ticket_id: &str) -> String {
    let (location, mut offset) = start(h, token, bytes, ticket_id).await;
    while offset < bytes.len() as u64 {
        let end = (offset as usize + UPLOAD_CHUNK_BYTES).min(bytes.len());
        let reply = patch(h, token, &location, offset, &bytes[offset as usize..end]).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
        assert_eq!(offset_of(&reply), end as u64);
        offset = end as u64;
    }
    location
}

/// `(patch_requests, bytes_received, state)` of an upload, read from the server's database.
pub fn counters(h: &Harness, location: &str) -> (i64, i64, String) {
    let id = location.rsplit('/').next().expect("an id");
    let db = rusqlite::Connection::open(h.data_dir().join(DATABASE_FILE)).expect("db");
    db.query_row(
        "SELECT patch_requests, bytes_received, state FROM blob_uploads WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("the upload's row")
}

pub fn blob_rows(h: &Harness, sha256: &str) -> i64 {
    let db = rusqlite::Connection::open(h.data_dir().join(DATABASE_FILE)).expect("db");
    db.query_row(
        "SELECT COUNT(*) FROM blobs WHERE sha256 = ?1",
        [sha256],
        |r| r.get(0),
    )
    .expect("count")
}

/// A help request by `device`, pushed; returns its id.
pub async fn help_request(h: &Harness, device: &mut Device) -> String {
    let (id, change) = device.create(NewTicket::help_request(None, None, Some("flat".into())));
    let pushed = device.sync(h, &[(&id, &change)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    id
}

/// Files `full` (with `thumb`) on ticket `id` through `device`, and pushes it.
pub async fn attach(h: &Harness, device: &mut Device, id: &str, full: &str, thumb: Option<&str>) {
    let change = device.edit(
        id,
        Edit::Attach {
            attachment: NewAttachment {
                sha256: full.to_owned(),
                thumb: thumb.map(str::to_owned),
                mime: "image/jpeg".into(),
                name: None,
                bytes: 1000,
                width: 1920,
                height: 1080,
                captured_at: None,
                location: None,
            },
        },
    );
    let pushed = device.sync(h, &[(id, &change)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
}
