//! The contract every [`BlobStore`] passes, written once: each function takes a fresh, empty store
//! and checks one behaviour through the trait alone — uploads appended in pieces, resumed where
//! their bytes end (as on another replica), retried at an old offset, refused at the end when the
//! bytes do not hash right; ranged reads at the edges; removing twice; tenants apart. A store
//! runs all of it with one line in its tests:
//!
//! ```ignore
//! fieldwork_server::blob_store_conformance_tests!(my_store_empty());
//! ```
//!
//! where the expression makes a [`TestBlobs`] (evaluated once per test). The filesystem's line is
//! in `server/src/blobs/store.rs`, S3's in `server/tests/blob_store_s3.rs` (on a real
//! S3-compatible server: [`s3::TestBucket`]). Compiled with the `conformance` feature only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod s3;

use std::any::Any;
use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Appended, BlobStore, Finalized, PART_BYTES};

/// A store made for one test, with whatever must live as long as it (a temporary directory, a
/// fresh prefix in a bucket).
pub struct TestBlobs {
    pub store: Arc<dyn BlobStore>,
    _guard: Box<dyn Any>,
}

impl TestBlobs {
    pub fn new(store: Arc<dyn BlobStore>, guard: impl Any) -> Self {
        TestBlobs {
            store,
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for TestBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBlobs")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// One `#[test]` per contract function, each on a fresh store made by `$fresh`.
#[macro_export]
macro_rules! blob_store_conformance_tests {
    ($fresh:expr) => {
        $crate::blob_store_conformance_tests!(@each $fresh;
            an_upload_appended_in_pieces_becomes_the_blob_only_when_verified,
            a_mismatch_or_a_lost_partial_never_becomes_a_blob,
            an_upload_resumes_where_its_bytes_end,
            a_retried_append_at_an_old_offset_replaces_what_followed,
            an_empty_partial_exists_until_discarded,
            ranges_read_exactly_the_bytes_asked_at_the_edges,
            a_blob_larger_than_a_part_is_stored_whole_or_not_at_all,
            tenants_keep_their_blobs_apart,
            names_that_are_not_hashes_or_ids_are_refused,
        );
    };
    (@each $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let blobs: $crate::blobs::conformance::TestBlobs = $fresh;
                $crate::blobs::conformance::$name(&*blobs.store);
            }
        )*
    };
}

const TENANT: &str = "0193a3c1-7d2e-7cc0-9d1e-1234567890ab";
const OTHER_TENANT: &str = "0193a3c1-7d2e-7cc0-9d1e-ba0987654321";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn upload_id(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// Bytes that differ at every offset a test looks at.
fn bytes_of(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
        .collect()
}

/// Appends `bytes` at `offset`, which must take.
fn append(store: &dyn BlobStore, id: &str, offset: usize, bytes: &[u8]) {
    assert_eq!(
        store
            .append_partial(TENANT, id, offset as u64, bytes)
            .expect("append"),
        Appended::To((offset + bytes.len()) as u64),
        "append at {offset}"
    );
}

/// A finished blob of `bytes` (stored through an upload).
fn stored(store: &dyn BlobStore, tenant: &str, n: u8, bytes: &[u8]) -> String {
    let (id, hash) = (upload_id(n), sha(bytes));
    store.create_partial(tenant, &id).expect("create");
    assert_eq!(
        store.append_partial(tenant, &id, 0, bytes).expect("append"),
        Appended::To(bytes.len() as u64)
    );
    let done = store
        .finalize(tenant, &id, &hash, bytes.len() as u64)
        .expect("finalize");
    assert!(
        matches!(done, Finalized::Stored | Finalized::AlreadyStored),
        "{done:?}"
    );
    hash
}

pub fn an_upload_appended_in_pieces_becomes_the_blob_only_when_verified(store: &dyn BlobStore) {
    let bytes = bytes_of(10_000, 1);
    let (id, hash) = (upload_id(1), sha(&bytes));
    store.create_partial(TENANT, &id).expect("create");
    append(store, &id, 0, &bytes[..4000]);
    // A second write at an older offset replaces what was beyond it.
    append(store, &id, 3000, &bytes[3000..]);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(10_000));
    assert_eq!(
        store.partial_sha256(TENANT, &id).expect("hash"),
        Some(hash.clone())
    );
    assert!(!store.exists(TENANT, &hash).expect("exists"));
    assert_eq!(
        store
            .finalize(TENANT, &id, &hash, 10_000)
            .expect("finalize"),
        Finalized::Stored
    );
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    assert_eq!(store.blob_len(TENANT, &hash).expect("len"), Some(10_000));
    assert_eq!(
        store.read_range(TENANT, &hash, 0, 10_000).expect("whole"),
        bytes
    );
    assert_eq!(
        store.read_range(TENANT, &hash, 9990, 10).expect("range"),
        bytes[9990..]
    );
    // Finishing it again finds nothing to finish.
    assert_eq!(
        store
            .finalize(TENANT, &id, &hash, 10_000)
            .expect("finalize"),
        Finalized::Lost
    );

    // The same bytes again: deduplicated, the second partial is gone.
    let again = upload_id(2);
    store.create_partial(TENANT, &again).expect("create");
    append(store, &again, 0, &bytes);
    assert_eq!(
        store
            .finalize(TENANT, &again, &hash, 10_000)
            .expect("finalize"),
        Finalized::AlreadyStored
    );
    assert_eq!(store.partial_len(TENANT, &again).expect("len"), None);
    assert_eq!(
        store.read_range(TENANT, &hash, 0, 10_000).expect("whole"),
        bytes,
        "the stored blob is untouched"
    );

    store.remove_blob(TENANT, &hash).expect("removes");
    assert!(!store.exists(TENANT, &hash).expect("exists"));
    assert_eq!(store.blob_len(TENANT, &hash).expect("len"), None);
    store
        .remove_blob(TENANT, &hash)
        .expect("removing twice is fine");
    assert!(
        store.open_range(TENANT, &hash, 0, 1).is_err(),
        "a removed blob cannot be read"
    );
}

pub fn a_mismatch_or_a_lost_partial_never_becomes_a_blob(store: &dyn BlobStore) {
    let id = upload_id(3);
    store.create_partial(TENANT, &id).expect("create");
    append(store, &id, 0, b"hello");
    let wrong = sha(b"world");
    // The wrong length is not a verdict on the bytes: the upload stays.
    assert_eq!(
        store.finalize(TENANT, &id, &wrong, 6).expect("finalize"),
        Finalized::Lost
    );
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(5));
    assert_eq!(
        store.finalize(TENANT, &id, &wrong, 5).expect("finalize"),
        Finalized::HashMismatch
    );
    assert!(!store.exists(TENANT, &wrong).expect("exists"));
    assert!(!store.exists(TENANT, &sha(b"hello")).expect("exists"));
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    assert_eq!(store.partial_sha256(TENANT, &id).expect("hash"), None);
    assert_eq!(
        store
            .append_partial(TENANT, &id, 5, b"more")
            .expect("append"),
        Appended::Lost
    );
    assert_eq!(
        store.finalize(TENANT, &id, &wrong, 5).expect("finalize"),
        Finalized::Lost
    );
    store
        .discard_partial(TENANT, &id)
        .expect("discarding twice is fine");

    // A corrupt upload of bytes the tenant already has: refused all the same, the blob stays.
    let bytes = bytes_of(3000, 3);
    let hash = stored(store, TENANT, 4, &bytes);
    let id = upload_id(5);
    store.create_partial(TENANT, &id).expect("create");
    let mut corrupt = bytes.clone();
    corrupt[1500] ^= 0xff;
    append(store, &id, 0, &corrupt);
    assert_eq!(
        store.finalize(TENANT, &id, &hash, 3000).expect("finalize"),
        Finalized::HashMismatch
    );
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    assert_eq!(
        store.read_range(TENANT, &hash, 0, 3000).expect("whole"),
        bytes
    );
}

/// What another replica does after a device's connection broke: asks how long the upload is and
/// goes on from there; an append past the end is refused.
pub fn an_upload_resumes_where_its_bytes_end(store: &dyn BlobStore) {
    let bytes = bytes_of(50_000, 6);
    let (id, hash) = (upload_id(6), sha(&bytes));
    store.create_partial(TENANT, &id).expect("create");
    append(store, &id, 0, &bytes[..16_384]);
    append(store, &id, 16_384, &bytes[16_384..20_000]);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(20_000));
    assert_eq!(
        store.partial_sha256(TENANT, &id).expect("hash"),
        Some(sha(&bytes[..20_000])),
        "the bytes so far, in order"
    );
    assert_eq!(
        store
            .append_partial(TENANT, &id, 20_001, &bytes[20_001..])
            .expect("append"),
        Appended::Lost,
        "a gap cannot be filled"
    );
    // Nothing was written by the refused append.
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(20_000));
    let resume_at = store
        .partial_len(TENANT, &id)
        .expect("len")
        .expect("exists") as usize;
    append(store, &id, resume_at, &bytes[resume_at..]);
    assert_eq!(
        store
            .finalize(TENANT, &id, &hash, bytes.len() as u64)
            .expect("finalize"),
        Finalized::Stored
    );
    assert_eq!(
        store
            .read_range(TENANT, &hash, 0, bytes.len() as u64)
            .expect("whole"),
        bytes
    );
    assert_eq!(
        store
            .append_partial(TENANT, &upload_id(7), 0, b"x")
            .expect("append"),
        Appended::Lost,
        "an upload never created cannot be appended to"
    );
}

/// A device re-sends a chunk whose answer it lost, or an append whose bookkeeping never
/// committed left bytes beyond the recorded offset: the new bytes replace everything from there.
pub fn a_retried_append_at_an_old_offset_replaces_what_followed(store: &dyn BlobStore) {
    let bytes = bytes_of(3000, 8);
    let stale = bytes_of(3000, 9);
    let id = upload_id(8);
    store.create_partial(TENANT, &id).expect("create");
    append(store, &id, 0, &stale[..1000]);
    append(store, &id, 1000, &stale[1000..2000]);
    append(store, &id, 2000, &stale[2000..2500]);
    // Again from inside the second piece, shorter than what was there.
    append(store, &id, 1500, &stale[1500..1800]);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(1800));
    assert_eq!(
        store.partial_sha256(TENANT, &id).expect("hash"),
        Some(sha(&stale[..1800]))
    );
    // Again at a piece's first byte, and at the very start.
    append(store, &id, 1000, &stale[1000..1200]);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(1200));
    append(store, &id, 0, &bytes[..700]);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(700));
    assert_eq!(
        store.partial_sha256(TENANT, &id).expect("hash"),
        Some(sha(&bytes[..700]))
    );
    // The same append twice (a retry whose first try did land) changes nothing.
    append(store, &id, 700, &bytes[700..2000]);
    append(store, &id, 700, &bytes[700..2000]);
    append(store, &id, 2000, &bytes[2000..]);
    let hash = sha(&bytes);
    assert_eq!(
        store.finalize(TENANT, &id, &hash, 3000).expect("finalize"),
        Finalized::Stored
    );
    assert_eq!(
        store.read_range(TENANT, &hash, 0, 3000).expect("whole"),
        bytes
    );
}

pub fn an_empty_partial_exists_until_discarded(store: &dyn BlobStore) {
    let id = upload_id(10);
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    assert_eq!(store.partial_sha256(TENANT, &id).expect("hash"), None);
    store.create_partial(TENANT, &id).expect("create");
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), Some(0));
    assert_eq!(
        store.partial_sha256(TENANT, &id).expect("hash"),
        Some(sha(b""))
    );
    append(store, &id, 0, b"some bytes");
    store.discard_partial(TENANT, &id).expect("discard");
    assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    store
        .discard_partial(TENANT, &id)
        .expect("discarding twice is fine");
    assert_eq!(
        store.append_partial(TENANT, &id, 0, b"x").expect("append"),
        Appended::Lost
    );
}

/// Reads `len` bytes from `start` a few bytes at a time, as a slow download would.
fn read_slowly(store: &dyn BlobStore, hash: &str, start: u64, len: u64) -> Vec<u8> {
    let mut reader = store.open_range(TENANT, hash, start, len).expect("open");
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = reader.read(&mut buf).expect("read");
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

pub fn ranges_read_exactly_the_bytes_asked_at_the_edges(store: &dyn BlobStore) {
    let bytes = bytes_of(100_000, 11);
    let hash = stored(store, TENANT, 11, &bytes);
    let n = bytes.len() as u64;
    for (start, len) in [
        (0, 1),
        (0, n),
        (n - 1, 1),
        (1, n - 1),
        (65_535, 2),
        (50_000, 20_000),
        (0, 0),
        (n, 0),
    ] {
        let (s, e) = (start as usize, (start + len) as usize);
        assert_eq!(
            store.read_range(TENANT, &hash, start, len).expect("range"),
            bytes[s..e],
            "{start}+{len}"
        );
    }
    assert_eq!(read_slowly(store, &hash, 99_990, 10), bytes[99_990..]);
    assert_eq!(read_slowly(store, &hash, 3, 1000), bytes[3..1003]);
    // A reader dropped halfway leaves nothing stuck: the blob reads again, whole.
    let mut reader = store.open_range(TENANT, &hash, 0, n).expect("open");
    let mut first = [0u8; 10];
    reader.read_exact(&mut first).expect("read");
    assert_eq!(first, bytes[..10]);
    drop(reader);
    assert_eq!(store.read_range(TENANT, &hash, 0, n).expect("whole"), bytes);
    assert!(
        store.open_range(TENANT, &sha(b"absent"), 0, 1).is_err(),
        "a blob the tenant does not have cannot be opened"
    );
}

/// A blob larger than one multipart part (S3's finishing writes it in parts): whole when the
/// hash matches, nowhere when it does not.
pub fn a_blob_larger_than_a_part_is_stored_whole_or_not_at_all(store: &dyn BlobStore) {
    let bytes = bytes_of(PART_BYTES + 300_000, 12);
    let piece = 1024 * 1024;
    let hash = sha(&bytes);
    for (n, corrupt) in [(13, true), (14, false)] {
        let id = upload_id(n);
        let mut sent = bytes.clone();
        if corrupt {
            let last = sent.len() - 1;
            sent[last] ^= 0xff;
        }
        store.create_partial(TENANT, &id).expect("create");
        for start in (0..sent.len()).step_by(piece) {
            append(
                store,
                &id,
                start,
                &sent[start..(start + piece).min(sent.len())],
            );
        }
        let done = store
            .finalize(TENANT, &id, &hash, bytes.len() as u64)
            .expect("finalize");
        if corrupt {
            assert_eq!(done, Finalized::HashMismatch);
            assert!(!store.exists(TENANT, &hash).expect("exists"));
        } else {
            assert_eq!(done, Finalized::Stored);
        }
        assert_eq!(store.partial_len(TENANT, &id).expect("len"), None);
    }
    let n = bytes.len() as u64;
    assert_eq!(store.blob_len(TENANT, &hash).expect("len"), Some(n));
    let edge = PART_BYTES as u64;
    assert_eq!(
        store
            .read_range(TENANT, &hash, edge - 5, 10)
            .expect("range"),
        bytes[PART_BYTES - 5..PART_BYTES + 5],
        "across the parts' seam"
    );
    assert_eq!(store.read_range(TENANT, &hash, 0, n).expect("whole"), bytes);
}

pub fn tenants_keep_their_blobs_apart(store: &dyn BlobStore) {
    let bytes = bytes_of(2000, 15);
    let hash = stored(store, TENANT, 15, &bytes);
    assert!(!store.exists(OTHER_TENANT, &hash).expect("exists"));
    assert!(store.open_range(OTHER_TENANT, &hash, 0, 1).is_err());
    let theirs = stored(store, OTHER_TENANT, 16, &bytes);
    assert_eq!(theirs, hash);
    store.remove_blob(OTHER_TENANT, &hash).expect("removes");
    assert!(!store.exists(OTHER_TENANT, &hash).expect("exists"));
    assert_eq!(
        store.read_range(TENANT, &hash, 0, 2000).expect("whole"),
        bytes,
        "one tenant's removal leaves the other's blob"
    );
    // An upload id is the tenant's own too.
    let id = upload_id(17);
    store.create_partial(TENANT, &id).expect("create");
    assert_eq!(store.partial_len(OTHER_TENANT, &id).expect("len"), None);
    assert_eq!(
        store
            .append_partial(OTHER_TENANT, &id, 0, b"x")
            .expect("append"),
        Appended::Lost
    );
}

pub fn names_that_are_not_hashes_or_ids_are_refused(store: &dyn BlobStore) {
    let good = "a".repeat(64);
    for bad in [
        "../../etc/passwd",
        "",
        &"A".repeat(64),
        &"a".repeat(63),
        &format!("{}/..", "a".repeat(61)),
    ] {
        assert!(store.blob_len(TENANT, bad).is_err(), "{bad}");
        assert!(store.open_range(TENANT, bad, 0, 1).is_err(), "{bad}");
        assert!(store.remove_blob(TENANT, bad).is_err(), "{bad}");
        assert!(store.create_partial(TENANT, bad).is_err(), "{bad}");
        assert!(store.partial_len(TENANT, bad).is_err(), "{bad}");
        assert!(store.discard_partial(TENANT, bad).is_err(), "{bad}");
        assert!(store.finalize(TENANT, &good, bad, 1).is_err(), "{bad}");
    }
    for tenant in ["..", "a/b", "", &"t".repeat(65), "a b"] {
        assert!(store.blob_len(tenant, &good).is_err(), "{tenant}");
        assert!(store.create_partial(tenant, &good).is_err(), "{tenant}");
        assert!(
            store.append_partial(tenant, &good, 0, b"x").is_err(),
            "{tenant}"
        );
    }
}
