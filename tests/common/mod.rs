//! What the end-to-end tests share: a real `fieldwork serve` on loopback and in-process phones
//! (over the package's harness, `cli/src/harness.rs`, which `fieldwork bench` uses too), device
//! homes driven through the real binary, and a TCP proxy that can cut connections at any byte.
#![allow(dead_code)]

pub mod chaos;
pub mod proxy;
pub mod receiver;
pub mod rng;
pub mod search;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fieldwork_harness as harness;
use fieldwork_server::blobs::conformance::s3::TestBucket;
use fieldwork_server::storage::conformance::postgres::TestDatabase;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldwork");

/// A `fieldwork serve` child process with its own data directory: the shared harness's
/// [`harness::Server`] (its `url`, `port` and `data` read through), in a temp dir the test owns,
/// with every failure a panic that says what failed.
///
/// With `FIELDWORK_TEST_BACKEND=postgres` its records live in a new PostgreSQL database of its
/// own (`TestDatabase`, on the server `FIELDWORK_TEST_POSTGRES` names or one the test starts),
/// so the same scenarios prove the PostgreSQL backend. With `FIELDWORK_TEST_BACKEND=replicas` it
/// is two servers on such a database behind the harness's round-robin proxy (its `url` and
/// `port` are the proxy's), so they prove that replicas agree.
///
/// With `FIELDWORK_TEST_BLOBS=s3` its photo files live in a new prefix of an S3 bucket of its own
/// (`TestBucket`: the bucket `FIELDWORK_TEST_S3` names, or an s3s-fs server the test starts),
/// shared by its replicas; nothing is written to the data directory's blob folder.
pub struct Server {
    server: harness::Server,
    _database: Option<TestDatabase>,
    bucket: Option<TestBucket>,
    _dir: tempfile::TempDir,
}

/// The backend this run's servers use (`FIELDWORK_TEST_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    /// Two replicas on one PostgreSQL database.
    Replicas,
}

fn backend() -> Backend {
    match std::env::var("FIELDWORK_TEST_BACKEND").as_deref() {
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok("replicas") => Backend::Replicas,
        Ok(other) => {
            panic!("FIELDWORK_TEST_BACKEND must be sqlite, postgres or replicas, not {other}")
        }
    }
}

/// Whether this run's servers keep their records in PostgreSQL (one server or replicas).
pub fn on_postgres() -> bool {
    backend() != Backend::Sqlite
}

/// Whether this run's servers are two replicas behind a round-robin proxy.
pub fn on_replicas() -> bool {
    backend() == Backend::Replicas
}

/// Whether this run's servers keep photo files in an S3 bucket (`FIELDWORK_TEST_BLOBS=s3`)
/// rather than their data directory (`local`, the default).
pub fn on_s3() -> bool {
    match std::env::var("FIELDWORK_TEST_BLOBS").as_deref() {
        Ok("local") | Err(_) => false,
        Ok("s3") => true,
        Ok(other) => panic!("FIELDWORK_TEST_BLOBS must be local or s3, not {other}"),
    }
}

impl std::ops::Deref for Server {
    type Target = harness::Server;

    fn deref(&self) -> &harness::Server {
        &self.server
    }
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// A server started with these extra `serve` arguments.
    pub fn start_with(args: &[&str]) -> Server {
        Self::start_on(backend(), args)
    }

    /// `replicas` servers on one new PostgreSQL database behind the round-robin proxy, whatever
    /// this run's backend (the replica tests).
    pub fn start_replicas(args: &[&str]) -> Server {
        Self::start_on(Backend::Replicas, args)
    }

    /// Two replicas on one new PostgreSQL database and one new S3 prefix, whatever this run's
    /// backends (the tests of photos shared through a bucket).
    pub fn start_replicas_on_s3(args: &[&str]) -> Server {
        Self::start_with_blobs(Backend::Replicas, true, args)
    }

    fn start_on(backend: Backend, args: &[&str]) -> Server {
        Self::start_with_blobs(backend, on_s3(), args)
    }

    fn start_with_blobs(backend: Backend, s3: bool, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut launch = harness::ServerLaunch::new(BIN, &data)
            .args(args)
            .log_to(data.with_extension("log"));
        let database = (backend != Backend::Sqlite).then(TestDatabase::create);
        if let Some(database) = &database {
            launch = launch.database(&database.url);
        }
        if backend == Backend::Replicas {
            launch = launch.replicas(2);
        }
        let bucket = s3.then(TestBucket::create);
        if let Some(bucket) = &bucket {
            launch = launch.blobs(&bucket.url).env(bucket.env.clone());
        }
        let server = launch
            .start()
            .unwrap_or_else(|e| panic!("fieldwork serve starts: {e}"));
        assert_eq!(
            data.join("fieldwork-server.db").exists(),
            database.is_none(),
            "the server keeps its records where this run asked"
        );
        Server {
            server,
            _database: database,
            bucket,
            _dir: dir,
        }
    }

    /// The S3 prefix holding this server's photo files, when they are in a bucket.
    pub fn bucket(&self) -> Option<&TestBucket> {
        self.bucket.as_ref()
    }

    /// Kills the server (no graceful shutdown) and starts it again on the same data and port.
    pub fn restart(&mut self) {
        self.server
            .restart()
            .unwrap_or_else(|e| panic!("fieldwork serve restarts: {e}"));
    }

    /// Stops the server with SIGTERM, as an operator would, and starts it again.
    pub fn restart_gracefully(&mut self) {
        self.server
            .restart_gracefully()
            .unwrap_or_else(|e| panic!("fieldwork serve restarts: {e}"));
    }

    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Kills replica `i` at once (a crash); the proxy skips it from then on.
    pub fn kill_replica(&mut self, i: usize) {
        self.server.kill_replica(i);
    }

    /// Starts replica `i` again on its port.
    pub fn restart_replica(&mut self, i: usize) {
        self.server
            .restart_replica(i)
            .unwrap_or_else(|e| panic!("replica {i} restarts: {e}"));
    }

    /// Stops the server gracefully and starts it again on the same data and port with its
    /// records in `database` (kept as long as the server).
    pub fn restart_on_database(&mut self, database: TestDatabase) {
        self.server
            .restart_on_database(&database.url)
            .unwrap_or_else(|e| panic!("fieldwork serve restarts on PostgreSQL: {e}"));
        self._database = Some(database);
    }

    pub fn admin(&self, args: &[&str]) -> Value {
        self.server
            .admin_json(args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs an admin command that must fail; returns its error output.
    pub fn admin_fails(&self, args: &[&str]) -> String {
        match self.server.admin_json(args) {
            Ok(out) => panic!("admin {} succeeded: {out}", args.join(" ")),
            Err(e) => e.to_string(),
        }
    }

    pub fn tenant(&self, name: &str) -> String {
        self.server
            .create_tenant(name)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a user with the password `pw-123456`; returns (user_id, user API token).
    pub fn user(
        &self,
        tenant: &str,
        role: &str,
        name: &str,
        team: Option<&str>,
    ) -> (String, String) {
        let user = harness::NewUser {
            team,
            password: Some("pw-123456"),
            ..harness::NewUser::new(role, name)
        };
        self.server
            .create_user(tenant, &user)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // With the photos in a bucket, the data directory never holds one (the proof that
        // every replica read and wrote them there).
        if self.bucket.is_some() && !std::thread::panicking() {
            let local = self.server.data.join(fieldwork_server::config::BLOB_DIR);
            assert!(
                !local.exists(),
                "photo files were written to {} although the server runs with --blobs s3://",
                local.display()
            );
        }
    }
}

/// A server with one tenant (`acme`) whose members log in from device homes.
pub struct Org {
    pub server: Server,
    pub tenant: String,
}

impl Org {
    pub fn new() -> Org {
        let server = Server::start();
        let tenant = server.tenant("acme");
        Org { server, tenant }
    }

    /// A user and a device logged in as them; returns (user id, device).
    pub fn member(&self, role: &str, name: &str, team: Option<&str>) -> (String, Device) {
        let (user_id, token) = self.server.user(&self.tenant, role, name, team);
        (user_id, Device::login(&self.server.url, &token))
    }
}

/// A device home driven through `fieldwork device`.
pub struct Device {
    _dir: tempfile::TempDir,
    pub home: PathBuf,
}

impl Device {
    pub fn new() -> Device {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("device");
        Device { _dir: dir, home }
    }

    /// A device whose home is `home` (on a disk the test chose).
    pub fn in_folder(home: PathBuf) -> Device {
        Device {
            _dir: tempfile::tempdir().expect("temp dir"),
            home,
        }
    }

    /// A device logged in to `url` with a user API token.
    pub fn login(url: &str, token: &str) -> Device {
        let d = Device::new();
        d.json(&["login", "--server", url, "--token", token]);
        d
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("device")
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("fieldwork device runs")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(
            out.status.success(),
            "device {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("device prints JSON")
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "device {args:?} should have failed");
        assert_ne!(out.status.code(), Some(101), "a panic is not a clear error");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn sync(&self) -> Value {
        self.json(&["sync"])
    }

    pub fn show(&self, id: &str) -> Value {
        self.json(&["show", id])
    }

    pub fn ids(&self) -> Vec<String> {
        self.json(&["list", "--limit", "500"])
            .as_array()
            .expect("list is an array")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

pub fn id_of(ticket: &Value) -> String {
    ticket["id"].as_str().expect("ticket has an id").to_owned()
}

pub fn note_texts(ticket: &Value) -> Vec<String> {
    ticket["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n["text"].as_str().expect("text").to_owned())
        .collect()
}

/// Waits for `check` to hold, polling, up to a generous deadline.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// A dispatcher, a technician of team north and an agent of `tenant`, each an in-process phone
/// reaching the server through a proxy of its own (for faults on one device's line).
pub fn staff_behind_proxies(server: &Server, tenant: &str) -> Vec<(Phone, proxy::Proxy)> {
    let roles = [
        ("dispatcher", None),
        ("technician", Some("north")),
        ("agent", None),
    ];
    roles
        .iter()
        .enumerate()
        .map(|(i, (role, team))| {
            let (_, token) = server.user(tenant, role, &format!("{role}-{i}"), *team);
            let proxy = proxy::Proxy::start(server.port);
            (Phone::login(&proxy.url, &token), proxy)
        })
        .collect()
}

/// Repair tickets made on `desk`, one per title, each assigned to the user `to`; their ids.
pub fn tickets_assigned(desk: &Phone, to: &str, titles: &[String]) -> Vec<String> {
    use fieldwork_core::TicketKind;
    use fieldwork_core::ticket::{Edit, NewTicket};
    titles
        .iter()
        .map(|title| {
            let id = desk
                .store
                .create(NewTicket::titled(TicketKind::Repair, title.clone()))
                .expect("create")
                .id;
            let assign = Edit::Assign {
                assignee: Some(to.to_owned()),
            };
            desk.store.edit(&id, &[assign]).expect("assign");
            id
        })
        .collect()
}

/// A device driven in-process through the core library (for fault and property tests that need
/// to steer individual rounds).
pub struct Phone {
    _dir: tempfile::TempDir,
    pub store: std::sync::Arc<fieldwork_core::store::TicketStore>,
}

impl Phone {
    /// Logs in to `url` (often a proxy) with a user API token.
    pub fn login(url: &str, token: &str) -> Phone {
        let dir = tempfile::tempdir().expect("temp dir");
        let phone = harness::Phone::login(&dir.path().join("phone.db"), url, token, "test phone")
            .unwrap_or_else(|e| panic!("login succeeds: {e}"));
        Phone {
            _dir: dir,
            store: phone.store,
        }
    }

    /// One full sync with quick retries.
    pub fn sync(
        &self,
        attempts: u32,
    ) -> Result<fieldwork_core::sync::SyncReport, fieldwork_core::sync::SyncError> {
        let policy = fieldwork_core::sync::RetryPolicy {
            base: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
            max_attempts: attempts,
        };
        let engine = self.engine();
        fieldwork_core::sync::block_on(engine.sync(policy))?
    }

    /// An engine whose failed photo files retry within milliseconds (tests do not wait minutes).
    pub fn engine(&self) -> fieldwork_core::sync::SyncEngine {
        fieldwork_core::sync::SyncEngine::new(self.store.clone())
            .expect("logged in")
            .with_blob_retry(fieldwork_core::sync::RetryPolicy {
                base: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_attempts: u32::MAX,
            })
    }

    pub fn user_id(&self) -> String {
        self.store.identity().expect("logged in").actor.user_id
    }
}

/// How a back-office API call signs in.
pub enum ApiAuth<'a> {
    None,
    /// A browser session: its cookie and CSRF token.
    Session(&'a str, &'a str),
    /// A user API token, as a script sends it.
    Bearer(&'a str),
}

/// One JSON call to the back-office API over real HTTP; returns the status, the body and the
/// cookies set.
pub fn api_call(
    method: reqwest::Method,
    url: &str,
    auth: ApiAuth<'_>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value, Vec<String>) {
    fieldwork_core::sync::client::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method, url);
        match auth {
            ApiAuth::None => {}
            ApiAuth::Session(session, csrf) => {
                request = request
                    .header("cookie", format!("fw_session={session}; fw_csrf={csrf}"))
                    .header("x-csrf-token", csrf);
            }
            ApiAuth::Bearer(token) => {
                request = request.header("authorization", format!("Bearer {token}"));
            }
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            cookies,
        )
    })
}
