//! Shared harness for end-to-end tests: a real `fieldwork serve` on loopback, device homes
//! driven through the real binary, and a TCP proxy that can cut connections at any byte.
#![allow(dead_code)]

pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldwork");

/// A `fieldwork serve` child process with its own data directory.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    pub data: PathBuf,
    _dir: tempfile::TempDir,
}

fn spawn_server(data: &Path, listen: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", listen])
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        // A log file, not our stderr: a server outliving the test must not hold the test's pipes.
        .stderr(server_log(data))
        .spawn()
        .expect("fieldwork serve starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server says where it listens");
    (child, url)
}

fn server_log(data: &Path) -> Stdio {
    let path = data.with_extension("log");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let (child, url) = spawn_server(&data, "127.0.0.1:0");
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("url has a port");
        Server {
            child: Some(child),
            url,
            port,
            data,
            _dir: dir,
        }
    }

    /// Kills the server (no graceful shutdown) and starts it again on the same data and port.
    pub fn restart(&mut self) {
        self.kill();
        let (child, url) = spawn_server(&self.data, &format!("127.0.0.1:{}", self.port));
        self.child = Some(child);
        self.url = url;
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn admin(&self, args: &[&str]) -> Value {
        let out = Command::new(BIN)
            .args(["admin", "--data"])
            .arg(&self.data)
            .args(args)
            .arg("--json")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("fieldwork admin runs");
        assert!(
            out.status.success(),
            "admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("admin prints JSON")
    }

    pub fn tenant(&self, name: &str) -> String {
        self.admin(&["create-tenant", name])["tenant_id"]
            .as_str()
            .expect("tenant_id")
            .to_owned()
    }

    /// Creates a user; returns (user_id, user API token).
    pub fn user(
        &self,
        tenant: &str,
        role: &str,
        name: &str,
        team: Option<&str>,
    ) -> (String, String) {
        let mut args = vec![
            "create-user",
            "--tenant",
            tenant,
            "--role",
            role,
            "--name",
            name,
            "--password",
            "pw-123456",
        ];
        if let Some(team) = team {
            args.extend(["--team", team]);
        }
        let v = self.admin(&args);
        (
            v["user_id"].as_str().expect("user_id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
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
        let store = fieldwork_core::store::TicketStore::open(&dir.path().join("phone.db"))
            .expect("store opens");
        fieldwork_core::sync::block_on(fieldwork_core::sync::engine::login_with_token(
            &store,
            url,
            token,
            "test phone",
        ))
        .expect("runtime")
        .expect("login succeeds");
        Phone {
            _dir: dir,
            store: std::sync::Arc::new(store),
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
