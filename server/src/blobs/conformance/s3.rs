//! Throwaway S3 locations for tests: each [`TestBucket`] is a new, empty prefix in a test bucket
//! on a real S3-compatible server, its objects removed when the value goes. The bucket is the one
//! `FIELDWORK_TEST_S3` names (`s3://bucket` or `s3://bucket/prefix`, with the endpoint and
//! credentials in the usual `AWS_*` variables), or else one on an s3s-fs server this test process
//! starts for itself with `scripts/s3.sh` (built once and cached; it stops once the process ends).

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::blobs::{BlobStore, S3BlobStore};

/// A test bucket and how to reach it.
#[derive(Debug)]
struct Server {
    /// `s3://bucket` (or with a prefix).
    url: String,
    /// The `AWS_*` variables a client needs.
    env: Vec<(String, String)>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("FIELDWORK_TEST_S3") {
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with("AWS_"))
                .collect();
            return Server { url, env };
        }
        let dir = std::env::temp_dir().join(format!("fieldwork-test-s3-{}", std::process::id()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/s3.sh");
        let out = Command::new(script)
            .arg("start")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .output()
            .expect("scripts/s3.sh runs");
        assert!(
            out.status.success(),
            "starting a throwaway S3 server failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("KEY=VALUE lines");
        let mut url = None;
        let mut env = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key == "FIELDWORK_TEST_S3" {
                url = Some(value.to_owned());
            } else if key.starts_with("AWS_") {
                env.push((key.to_owned(), value.to_owned()));
            }
        }
        Server {
            url: url.expect("scripts/s3.sh prints FIELDWORK_TEST_S3"),
            env,
        }
    })
}

/// A new, empty prefix in the test bucket.
#[derive(Debug)]
pub struct TestBucket {
    /// Its address, for `S3BlobStore::open_with` or `fieldwork serve --blobs`.
    pub url: String,
    /// The `AWS_*` variables (endpoint, credentials, region) a client of it needs.
    pub env: Vec<(String, String)>,
}

impl TestBucket {
    /// Makes a new prefix (nothing is written until a store writes).
    pub fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server();
        // Short: s3s-fs fails keys over about 150 bytes, and a partial upload's chunk takes 130
        // after the prefix (`scripts/s3.sh`).
        let prefix = format!(
            "t{}-{}-{:06x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>() & 0xff_ffff
        );
        TestBucket {
            url: format!("{}/{prefix}", server.url.trim_end_matches('/')),
            env: server.env.clone(),
        }
    }

    /// A store on it.
    pub fn store(&self) -> S3BlobStore {
        S3BlobStore::open_with(&self.url, self.env.iter().cloned()).expect("the test bucket opens")
    }

    /// A store on it with one variable changed (or added): a wrong secret, another endpoint.
    pub fn store_with(&self, key: &str, value: &str) -> Result<S3BlobStore, crate::Error> {
        let env = self
            .env
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .chain([(key.to_owned(), value.to_owned())]);
        S3BlobStore::open_with(&self.url, env)
    }

    /// How many objects are under the prefix (partial chunks included).
    pub fn object_count(&self) -> usize {
        self.store().object_count().expect("the test bucket lists")
    }
}

impl Drop for TestBucket {
    fn drop(&mut self) {
        if let Ok(store) = S3BlobStore::open_with(&self.url, self.env.iter().cloned()) {
            let _ = store.remove_everything();
        }
    }
}

/// The same contract as the other stores run, from a test's line (see [`super`]).
pub fn fresh() -> super::TestBlobs {
    let bucket = TestBucket::create();
    let store: std::sync::Arc<dyn BlobStore> = std::sync::Arc::new(bucket.store());
    super::TestBlobs::new(store, bucket)
}
