//! The blob store contract (`fieldwork_server::blobs::conformance`, the same checks the
//! filesystem store runs) on `S3BlobStore` against a real S3-compatible server: s3s-fs, started
//! by `scripts/s3.sh` for this test process, or the bucket `FIELDWORK_TEST_S3` names. Each test
//! on a new prefix. Then what only S3 has: two stores (two replicas) sharing one upload, nothing
//! left in the bucket after an upload, calls from inside an async runtime, and clear errors for
//! a missing bucket, refused credentials and a bad address.

use std::sync::Arc;

use fieldwork_server::blobs::conformance::s3::{TestBucket, fresh};
use fieldwork_server::blobs::{Appended, BlobStore, Finalized, S3BlobStore};
use sha2::{Digest, Sha256};

fieldwork_server::blob_store_conformance_tests!(fresh());

const TENANT: &str = "0193a3c1-7d2e-7cc0-9d1e-1234567890ab";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn photo(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn an_upload_begun_on_one_replica_resumes_and_finishes_on_another() {
    let bucket = TestBucket::create();
    let (one, two) = (bucket.store(), bucket.store());
    let bytes = photo(700_000);
    let (id, hash) = ("7".repeat(64), sha(&bytes));
    one.create_partial(TENANT, &id).expect("create");
    assert_eq!(
        one.append_partial(TENANT, &id, 0, &bytes[..262_144])
            .expect("append"),
        Appended::To(262_144)
    );
    // The device's connection breaks; its next one lands on the other replica, which has no
    // local copy of anything: it finds the upload's length in the bucket and goes on.
    assert_eq!(two.partial_len(TENANT, &id).expect("len"), Some(262_144));
    assert_eq!(
        two.append_partial(TENANT, &id, 262_144, &bytes[262_144..524_288])
            .expect("append"),
        Appended::To(524_288)
    );
    // A retry of the first chunk's answer lost, back on the first replica: replaces from there.
    assert_eq!(
        one.append_partial(TENANT, &id, 262_144, &bytes[262_144..524_288])
            .expect("append"),
        Appended::To(524_288)
    );
    assert_eq!(
        two.append_partial(TENANT, &id, 524_288, &bytes[524_288..])
            .expect("append"),
        Appended::To(700_000)
    );
    assert_eq!(
        one.finalize(TENANT, &id, &hash, 700_000).expect("finalize"),
        Finalized::Stored
    );
    assert_eq!(
        two.read_range(TENANT, &hash, 0, 700_000).expect("read"),
        bytes,
        "the other replica serves it"
    );
    assert_eq!(
        bucket.object_count(),
        1,
        "only the blob is left: every chunk of the upload is gone"
    );
    two.remove_blob(TENANT, &hash).expect("remove");
    assert_eq!(bucket.object_count(), 0);
}

#[test]
fn a_discarded_or_refused_upload_leaves_nothing_in_the_bucket() {
    let bucket = TestBucket::create();
    let store = bucket.store();
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    for id in [&a, &b] {
        store.create_partial(TENANT, id).expect("create");
        for i in 0..5u64 {
            store
                .append_partial(TENANT, id, i * 1000, &photo(1000))
                .expect("append");
        }
    }
    assert_eq!(bucket.object_count(), 10, "one object per chunk");
    store.discard_partial(TENANT, &a).expect("discard");
    assert_eq!(
        store
            .finalize(TENANT, &b, &sha(b"something else"), 5000)
            .expect("finalize"),
        Finalized::HashMismatch
    );
    assert_eq!(bucket.object_count(), 0);
}

/// The server calls the store from blocking tasks, but some calls (as with SQLite) run on an
/// async worker: they must neither panic nor deadlock there, even on a one-thread runtime.
#[tokio::test(flavor = "current_thread")]
async fn calls_work_on_an_async_runtimes_own_thread() {
    let bucket = TestBucket::create();
    let store: Arc<dyn BlobStore> = Arc::new(bucket.store());
    let bytes = photo(300_000);
    let (id, hash) = ("c".repeat(64), sha(&bytes));
    store.create_partial(TENANT, &id).expect("create");
    store
        .append_partial(TENANT, &id, 0, &bytes)
        .expect("append");
    assert_eq!(
        store
            .finalize(TENANT, &id, &hash, 300_000)
            .expect("finalize"),
        Finalized::Stored
    );
    assert_eq!(
        store.read_range(TENANT, &hash, 1000, 5).expect("read"),
        bytes[1000..1005]
    );
    // Dropped on the runtime's thread: the store's own runtime shuts down without blocking.
    drop(store);
}

#[test]
fn a_bucket_that_does_not_exist_is_named_at_start() {
    let bucket = TestBucket::create();
    let error = S3BlobStore::open_with("s3://no-such-bucket-here/photos", bucket.env.clone())
        .expect_err("a missing bucket is refused at start")
        .to_string();
    assert!(
        error.contains("the bucket `no-such-bucket-here` does not exist"),
        "{error}"
    );
    assert!(
        error.contains("http://127.0.0.1") || !error.is_empty(),
        "{error}"
    );
}

#[test]
fn refused_credentials_are_named_and_the_secret_is_never_shown() {
    let bucket = TestBucket::create();
    let secret = bucket
        .env
        .iter()
        .find(|(k, _)| k == "AWS_SECRET_ACCESS_KEY")
        .map(|(_, v)| v.clone())
        .expect("the test bucket has a secret");
    for (key, value) in [
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret-1234"),
        ("AWS_ACCESS_KEY_ID", "nobody-we-know"),
    ] {
        let error = bucket
            .store_with(key, value)
            .expect_err("wrong credentials are refused at start");
        assert!(
            error.is_refusal(),
            "a setting to fix, not a server fault: {error}"
        );
        let text = error.to_string();
        assert!(text.contains("refused the credentials"), "{text}");
        assert!(text.contains("AWS_SECRET_ACCESS_KEY"), "{text}");
        assert!(!text.contains("not-the-secret-1234"), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }
}

#[test]
fn an_endpoint_that_does_not_answer_is_named() {
    let bucket = TestBucket::create();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let error = bucket
        .store_with("AWS_ENDPOINT_URL", &format!("http://{closed}"))
        .expect_err("nobody listens there")
        .to_string();
    assert!(error.contains("cannot reach the bucket"), "{error}");
    assert!(error.contains(&closed.to_string()), "{error}");
}

#[test]
fn addresses_that_are_not_buckets_are_refused_before_any_request() {
    for bad in [
        "s3://",
        "s3://A_Bucket",
        "s3://ab",
        "s3://bucket/../other",
        "s3://bucket//photos",
        "s3://bucket/ph otos",
        "https://bucket.s3.amazonaws.com",
        "/var/photos",
    ] {
        let error = S3BlobStore::open_with(bad, Vec::new())
            .expect_err(bad)
            .to_string();
        assert!(error.starts_with("invalid blobs:"), "{bad}: {error}");
    }
}
