//! The blob lane's wire contract: photos and screenshots travel apart from ticket sync, over the
//! tus 1.0 core protocol with its `creation` extension (`docs/sync-protocol.md`, "Blob lane").
//!
//! - `POST /v1/blobs` with `Upload-Length` and `Upload-Metadata` creates an upload and answers
//!   `201 Created` with its `Location` (`/v1/blobs/uploads/{id}`) and `Upload-Offset`. If the
//!   tenant already holds a blob with that sha256, the answer says so at once:
//!   `Upload-Offset` equals `Upload-Length` and nothing needs sending.
//! - `HEAD {location}` answers the `Upload-Offset` the server has safely stored.
//! - `PATCH {location}` with `Upload-Offset` and `Content-Type: application/offset+octet-stream`
//!   appends bytes and answers `204` with the new `Upload-Offset`. When the last byte arrives the
//!   server hashes the whole file: a match stores the blob (once per tenant and hash), a mismatch
//!   answers [`HASH_MISMATCH_STATUS`] and discards the upload.
//! - `GET /v1/blobs/{sha256}` downloads, with `Range: bytes=…` support (`206`). Someone who may
//!   not see any ticket referencing the blob gets the same `404` as for a blob that does not exist.
//!
//! Plain values and functions with no I/O, shared by the server and the device.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The only tus version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// tus extensions the server supports.
pub const TUS_EXTENSIONS: &str = "creation";
/// Where uploads are created, and under which blobs are downloaded by hash.
pub const BLOBS_PATH: &str = "/v1/blobs";
/// Prefix of the upload resources the server hands out in `Location`.
pub const UPLOADS_PATH: &str = "/v1/blobs/uploads";
/// Largest blob accepted (`Tus-Max-Size`). The pipeline's output is far smaller.
pub const MAX_BLOB_BYTES: u64 = 16 * 1024 * 1024;
/// Bytes a device sends per `PATCH`: a cut connection re-sends at most this much.
pub const UPLOAD_CHUNK_BYTES: usize = 256 * 1024;
/// Largest `PATCH` body the server reads.
pub const MAX_PATCH_BYTES: usize = 4 * 1024 * 1024;
/// Media type of a `PATCH` body.
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Status of the final `PATCH` when the bytes do not hash to the declared sha256 (the tus
/// checksum extension's "Checksum Mismatch").
pub const HASH_MISMATCH_STATUS: u16 = 460;
/// The media type of a photo: every file the photo pipeline writes.
pub const MIME_JPEG: &str = "image/jpeg";
/// Media types a device's blob may declare (devices upload photos only; the server also keeps
/// files that came with an email, `docs/channels.md`).
pub const ALLOWED_MIME: [&str; 1] = [MIME_JPEG];

/// Header names (tus and ours), lower case as `http` spells them.
pub mod header {
    pub const TUS_RESUMABLE: &str = "tus-resumable";
    pub const TUS_VERSION: &str = "tus-version";
    pub const TUS_EXTENSION: &str = "tus-extension";
    pub const TUS_MAX_SIZE: &str = "tus-max-size";
    pub const UPLOAD_LENGTH: &str = "upload-length";
    pub const UPLOAD_OFFSET: &str = "upload-offset";
    pub const UPLOAD_METADATA: &str = "upload-metadata";
}

/// Which of an attachment's two files a blob is. Thumbnails go up first and come down eagerly;
/// full images go up after and come down on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobKind {
    Thumb,
    Full,
}

impl BlobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlobKind::Thumb => "thumb",
            BlobKind::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<BlobKind> {
        match s {
            "thumb" => Some(BlobKind::Thumb),
            "full" => Some(BlobKind::Full),
            _ => None,
        }
    }
}

/// What `Upload-Metadata` carries: `sha256` (64 lower-case hex digits), `mime`, `kind` and the
/// ticket the blob belongs to. Values are base64 on the wire, as tus requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMetadata {
    pub sha256: String,
    pub mime: String,
    pub kind: BlobKind,
    pub ticket_id: String,
}

/// Why a header of the blob lane could not be read. Messages never echo the header's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobWireError {
    #[error("Upload-Metadata is malformed: {0}")]
    Metadata(&'static str),
    #[error("the sha256 must be 64 lower-case hex digits")]
    Sha256,
    #[error("the media type is not one the blob lane stores")]
    Mime,
    #[error("the Range header is malformed or asks for bytes outside the blob")]
    Range,
}

impl UploadMetadata {
    /// The `Upload-Metadata` header value.
    pub fn encode(&self) -> String {
        [
            ("sha256", self.sha256.as_str()),
            ("mime", self.mime.as_str()),
            ("kind", self.kind.as_str()),
            ("ticket", self.ticket_id.as_str()),
        ]
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
    }

    /// Reads an `Upload-Metadata` header; unknown keys are ignored, as tus allows.
    pub fn parse(header: &str) -> Result<UploadMetadata, BlobWireError> {
        let (mut sha256, mut mime, mut kind, mut ticket) = (None, None, None, None);
        for pair in header.split(',') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (key, value) = match pair.split_once(' ') {
                Some((k, v)) => (k, v.trim()),
                None => (pair, ""),
            };
            let bytes = STANDARD
                .decode(value)
                .map_err(|_| BlobWireError::Metadata("a value is not base64"))?;
            let value = String::from_utf8(bytes)
                .map_err(|_| BlobWireError::Metadata("a value is not UTF-8"))?;
            let slot = match key {
                "sha256" => &mut sha256,
                "mime" => &mut mime,
                "kind" => &mut kind,
                "ticket" => &mut ticket,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(BlobWireError::Metadata("a key appears twice"));
            }
        }
        let sha256 = sha256.ok_or(BlobWireError::Metadata("sha256 is missing"))?;
        if !is_sha256_hex(&sha256) {
            return Err(BlobWireError::Sha256);
        }
        let mime = mime.ok_or(BlobWireError::Metadata("mime is missing"))?;
        if !ALLOWED_MIME.contains(&mime.as_str()) {
            return Err(BlobWireError::Mime);
        }
        let kind = kind
            .as_deref()
            .and_then(BlobKind::parse)
            .ok_or(BlobWireError::Metadata("kind must be thumb or full"))?;
        let ticket_id = ticket.ok_or(BlobWireError::Metadata("ticket is missing"))?;
        if ticket_id.is_empty() || ticket_id.len() > 64 {
            return Err(BlobWireError::Metadata("ticket is not a ticket id"));
        }
        Ok(UploadMetadata {
            sha256,
            mime,
            kind,
            ticket_id,
        })
    }
}

/// A blob's name: the lower-case hex sha256 of its bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    Sha256::digest(bytes)
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xF)]])
        .map(char::from)
        .collect()
}

/// 64 lower-case hex digits: the only form a blob's name takes, on the wire and on disk.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An inclusive byte range of a blob, as asked for by `Range: bytes=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive.
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` value of a `206` answer.
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{total}", self.start, self.end)
    }

    /// The `Range` value that asks for these bytes.
    pub fn header(&self) -> String {
        format!("bytes={}-{}", self.start, self.end)
    }
}

/// Reads a `Range` header for a blob of `total` bytes: `Ok(None)` means "send it all" (no header,
/// or a unit we do not serve); `Err` means `416 Range Not Satisfiable`. One range only; a request
/// for several is served whole, which RFC 9110 allows.
pub fn parse_range(header: Option<&str>, total: u64) -> Result<Option<ByteRange>, BlobWireError> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(BlobWireError::Range)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| BlobWireError::Range);
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => {
            let n = number(last)?;
            if n == 0 || total == 0 {
                return Err(BlobWireError::Range);
            }
            ByteRange {
                start: total.saturating_sub(n),
                end: total - 1,
            }
        }
        // `bytes=N-`: from N to the end.
        (false, true) => ByteRange {
            start: number(first)?,
            end: total.saturating_sub(1),
        },
        (false, false) => ByteRange {
            start: number(first)?,
            end: number(last)?.min(total.saturating_sub(1)),
        },
        (true, true) => return Err(BlobWireError::Range),
    };
    if total == 0 || range.start >= total || range.start > range.end {
        return Err(BlobWireError::Range);
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> UploadMetadata {
        UploadMetadata {
            sha256: "a".repeat(64),
            mime: "image/jpeg".into(),
            kind: BlobKind::Thumb,
            ticket_id: "0193a3c1-7d2e-7cc0-9d1e-1234567890ab".into(),
        }
    }

    #[test]
    fn metadata_round_trips_through_the_header() {
        let m = meta();
        assert_eq!(UploadMetadata::parse(&m.encode()), Ok(m));
    }

    #[test]
    fn metadata_ignores_unknown_keys_and_refuses_bad_values() {
        let m = meta();
        let with_extra = format!("{},filename {}", m.encode(), STANDARD.encode("x.jpg"));
        assert_eq!(UploadMetadata::parse(&with_extra), Ok(m.clone()));
        let bad_sha = UploadMetadata {
            sha256: "A".repeat(64),
            ..m.clone()
        };
        assert_eq!(
            UploadMetadata::parse(&bad_sha.encode()),
            Err(BlobWireError::Sha256)
        );
        let bad_mime = UploadMetadata {
            mime: "text/html".into(),
            ..m.clone()
        };
        assert_eq!(
            UploadMetadata::parse(&bad_mime.encode()),
            Err(BlobWireError::Mime)
        );
        assert!(UploadMetadata::parse("sha256 !!!").is_err());
        assert!(UploadMetadata::parse("").is_err());
        let twice = format!("{},sha256 {}", m.encode(), STANDARD.encode("b".repeat(64)));
        assert!(UploadMetadata::parse(&twice).is_err());
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |h: &str| parse_range(Some(h), 1000);
        assert_eq!(r("bytes=0-99"), Ok(Some(ByteRange { start: 0, end: 99 })));
        assert_eq!(
            r("bytes=900-"),
            Ok(Some(ByteRange {
                start: 900,
                end: 999
            }))
        );
        assert_eq!(
            r("bytes=-100"),
            Ok(Some(ByteRange {
                start: 900,
                end: 999
            }))
        );
        assert_eq!(r("bytes=-5000"), Ok(Some(ByteRange { start: 0, end: 999 })));
        assert_eq!(
            r("bytes=990-5000"),
            Ok(Some(ByteRange {
                start: 990,
                end: 999
            }))
        );
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        assert_eq!(parse_range(None, 1000), Ok(None));
        for bad in [
            "bytes=1000-",
            "bytes=5-2",
            "bytes=-0",
            "bytes=-",
            "bytes=a-b",
        ] {
            assert_eq!(r(bad), Err(BlobWireError::Range), "{bad}");
        }
        assert_eq!(parse_range(Some("bytes=0-"), 0), Err(BlobWireError::Range));
        let range = ByteRange { start: 10, end: 19 };
        assert_eq!(range.len(), 10);
        assert_eq!(range.content_range(1000), "bytes 10-19/1000");
        assert_eq!(range.header(), "bytes=10-19");
    }

    #[test]
    fn only_lower_case_sha256_names_are_blob_names() {
        assert!(is_sha256_hex(&"0f".repeat(32)));
        assert!(!is_sha256_hex(&"0F".repeat(32)));
        assert!(!is_sha256_hex("../../etc/passwd"));
        assert!(!is_sha256_hex(&"0".repeat(63)));
    }
}
