//! A real Fieldwork server on loopback and devices logged in to it, for whoever drives the
//! binary from outside: the end-to-end tests (`tests/common`), the README walk-through test and
//! `fieldwork bench`. It is the package's library target (`fieldwork_harness`), so the tests
//! and the binary share one copy; nothing in the product depends on it.
//!
//! Everything returns [`HarnessError`]: the tests turn it into a panic with the message, the
//! benches into a failed step.
//!
//! A server can also be several replicas on one PostgreSQL database behind a round-robin TCP
//! proxy ([`ServerLaunch::replicas`]), as a deployment behind a load balancer would be.

// The crate root is this file, so the proxy's file is named by path to keep it beside it.
#[path = "harness/proxy.rs"]
mod proxy;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use fieldwork_core::store::{StoreError, TicketStore};
use fieldwork_core::sync::{self, SyncEngine, SyncError};
use serde_json::Value;

/// How long a starting server may take to say where it listens (a debug build under a loaded
/// machine opens and migrates its database first).
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);
/// How many of its log's last lines a failure to start quotes.
const LOG_TAIL_LINES: usize = 20;

/// How long a server stopped with SIGTERM may take before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// What went wrong while setting up or driving a server.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the server exited before it said where it listens (its log: {log})")]
    ServerExited { log: String },
    #[error("the server did not say where it listens within {LISTEN_DEADLINE:?} (its log: {log})")]
    ServerSilent { log: String },
    #[error("`fieldwork admin {args}` failed: {stderr}")]
    Admin { args: String, stderr: String },
    #[error("`fieldwork admin {args}` printed no {field}")]
    AdminOutput { args: String, field: &'static str },
    #[error(
        "{replicas} server replicas need one PostgreSQL database to share (ServerLaunch::database)"
    )]
    ReplicasWithoutDatabase { replicas: usize },
    #[error("cannot start the proxy in front of the server replicas: {0}")]
    Proxy(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// How to start a `fieldwork serve`: which binary, which data directory, which extra flags,
/// where its log goes and how many replicas. [`ServerLaunch::start`] picks free loopback ports.
#[derive(Debug, Clone)]
pub struct ServerLaunch {
    binary: PathBuf,
    data: PathBuf,
    database: Option<String>,
    /// `serve --blobs`: the photo files in an S3 bucket rather than the data directory.
    blobs: Option<String>,
    /// Environment variables for the server and the admin commands (the bucket's `AWS_*`).
    env: Vec<(String, String)>,
    args: Vec<String>,
    log: Option<PathBuf>,
    replicas: usize,
}

impl ServerLaunch {
    /// `binary serve --data DATA`, its log on the caller's stderr until [`Self::log_to`].
    pub fn new(binary: impl Into<PathBuf>, data: impl Into<PathBuf>) -> ServerLaunch {
        ServerLaunch {
            binary: binary.into(),
            data: data.into(),
            database: None,
            blobs: None,
            env: Vec::new(),
            args: Vec::new(),
            log: None,
            replicas: 1,
        }
    }

    /// The photo files in the S3 bucket at `url` (`serve --blobs s3://bucket/prefix`, and the
    /// same for [`Server::admin_json`]) instead of the data directory; [`Self::env`] says how to
    /// reach it.
    pub fn blobs(mut self, url: impl Into<String>) -> ServerLaunch {
        self.blobs = Some(url.into());
        self
    }

    /// Environment variables for the server (every replica) and the admin commands: the
    /// bucket's endpoint and credentials (`AWS_*`).
    pub fn env<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> ServerLaunch {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The records in the PostgreSQL database at `url` (`serve --database`, and the same for
    /// [`Server::admin_json`]) instead of SQLite in the data directory.
    pub fn database(mut self, url: impl Into<String>) -> ServerLaunch {
        self.database = Some(url.into());
        self
    }

    fn database_args(&self) -> Vec<&str> {
        match &self.database {
            Some(url) => vec!["--database", url],
            None => Vec::new(),
        }
    }

    fn blobs_args(&self) -> Vec<&str> {
        match &self.blobs {
            Some(url) => vec!["--blobs", url],
            None => Vec::new(),
        }
    }

    /// Extra arguments for `serve` (limits, quotas).
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> ServerLaunch {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The server's log (stderr) appended to `file`. A test wants this: a server outliving the
    /// test must not hold the test's pipes. Replicas all append to the same file.
    pub fn log_to(mut self, file: impl Into<PathBuf>) -> ServerLaunch {
        self.log = Some(file.into());
        self
    }

    /// `n` servers (1 by default; 0 counts as 1) on the same data directory, whose photo files
    /// they share as on a shared filesystem (or the same [`Self::blobs`] bucket), and the same
    /// [`Self::database`], which more than one needs. With more than one, clients reach them through a round-robin TCP proxy: each
    /// new connection goes to the next replica in turn, or past it to the next one up if it is
    /// down.
    pub fn replicas(mut self, n: usize) -> ServerLaunch {
        self.replicas = n.max(1);
        self
    }

    /// Starts the server, or each replica in turn, on `127.0.0.1:0` and waits until it says
    /// where it listens; then, for replicas, the proxy on `127.0.0.1:0`.
    pub fn start(self) -> Result<Server, HarnessError> {
        if self.replicas > 1 && self.database.is_none() {
            return Err(HarnessError::ReplicasWithoutDatabase {
                replicas: self.replicas,
            });
        }
        let mut replicas = Vec::with_capacity(self.replicas);
        for _ in 0..self.replicas {
            // One after the other: the first has set up the database before the next opens it.
            // Should one fail, those started are killed as the vector drops.
            let (child, url) = self.spawn("127.0.0.1:0")?;
            replicas.push(Replica {
                port: port_of(&url),
                url,
                child: Some(child),
            });
        }
        let proxy = if replicas.len() > 1 {
            let backends = replicas
                .iter()
                .map(|r| SocketAddr::from((Ipv4Addr::LOCALHOST, r.port)))
                .collect();
            Some(proxy::RoundRobin::start(backends).map_err(HarnessError::Proxy)?)
        } else {
            None
        };
        let (url, port) = match &proxy {
            Some(proxy) => (format!("http://{}", proxy.addr()), proxy.addr().port()),
            None => (replicas[0].url.clone(), replicas[0].port),
        };
        Ok(Server {
            url,
            port,
            data: self.data.clone(),
            replicas,
            proxy,
            launch: self,
        })
    }

    fn spawn(&self, listen: &str) -> Result<(Child, String), HarnessError> {
        let stderr = match &self.log {
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_or_else(|_| Stdio::null(), Stdio::from),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(&self.binary)
            .args(["serve", "--data"])
            .arg(&self.data)
            .args(["--listen", listen])
            .args(self.database_args())
            .args(self.blobs_args())
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // Warnings only, unless FIELDWORK_SERVER_LOG asks for more (a filter like RUST_LOG's).
            .env(
                "RUST_LOG",
                std::env::var("FIELDWORK_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: format!("{} serve", self.binary.display()),
                source,
            })?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(self.exited());
        };
        // A thread reads the server's stdout for as long as it runs, so the pipe never fills,
        // and hands over the address from the `listening on URL` line.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(LISTEN_DEADLINE) {
            Ok(url) => Ok((child, url)),
            Err(waited) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(match waited {
                    mpsc::RecvTimeoutError::Timeout => HarnessError::ServerSilent {
                        log: self.log_name(),
                    },
                    mpsc::RecvTimeoutError::Disconnected => self.exited(),
                })
            }
        }
    }

    fn exited(&self) -> HarnessError {
        HarnessError::ServerExited {
            log: self.log_name(),
        }
    }

    /// Where the server's log goes, and its last lines when it is a file: a test's temp folder
    /// (and the log in it) is gone by the time anyone reads the failure.
    fn log_name(&self) -> String {
        let Some(path) = &self.log else {
            return "stderr".to_owned();
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        if tail.is_empty() {
            format!("{}, empty", path.display())
        } else {
            format!("{}, ending:\n{tail}", path.display())
        }
    }
}

/// A running `fieldwork serve` child process, or several replicas behind a proxy; killed when
/// dropped.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT`, as the server printed it, or the proxy's with replicas.
    pub url: String,
    pub port: u16,
    /// The server's data directory (its database and photo files).
    pub data: PathBuf,
    /// Dropped before the proxy: the replicas die first, so no connection outlives the test.
    replicas: Vec<Replica>,
    /// In front of the replicas when there is more than one.
    proxy: Option<proxy::RoundRobin>,
    launch: ServerLaunch,
}

impl Server {
    /// Stops the server gracefully and starts it again on the same data directory and port with
    /// its records in the PostgreSQL database at `url` (after `admin migrate-store`). Replicas
    /// all stop, then each starts again on its port.
    pub fn restart_on_database(&mut self, url: &str) -> Result<(), HarnessError> {
        self.stop_gracefully();
        self.launch.database = Some(url.to_owned());
        self.start_again()
    }

    /// Starts every replica (all stopped) again, each on its port.
    fn start_again(&mut self) -> Result<(), HarnessError> {
        (0..self.replicas.len()).try_for_each(|i| self.start_replica(i))
    }

    /// Starts replica `i` (stopped) again on its port.
    fn start_replica(&mut self, i: usize) -> Result<(), HarnessError> {
        let replica = &mut self.replicas[i];
        let (child, url) = self.launch.spawn(&format!("127.0.0.1:{}", replica.port))?;
        replica.child = Some(child);
        replica.url = url;
        if self.proxy.is_none() {
            self.url = replica.url.clone();
        }
        Ok(())
    }

    /// SIGTERM to every replica, then a kill for any that has not stopped after 30 s.
    fn stop_gracefully(&mut self) {
        self.replicas.iter().for_each(Replica::terminate);
        let deadline = Instant::now() + STOP_DEADLINE;
        for replica in &mut self.replicas {
            replica.reap(deadline);
        }
    }

    /// Kills the server (no graceful shutdown) and starts it again on the same data and port;
    /// every replica, each on its port.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        self.start_again()
    }

    /// Stops the server as an operator would (SIGTERM: it finishes what it holds and writes
    /// what it keeps in memory), then starts it again on the same data and port. A server that
    /// has not stopped after 30 s is killed. Replicas all stop, then each starts again.
    pub fn restart_gracefully(&mut self) -> Result<(), HarnessError> {
        self.stop_gracefully();
        self.start_again()
    }

    /// Kills the server (every replica) at once, as a crash or a pulled plug would.
    pub fn kill(&mut self) {
        self.replicas.iter_mut().for_each(Replica::kill);
    }

    /// How many replicas serve (1 for a plain server).
    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Kills replica `i` (from 0) at once; the proxy passes over it while it is down.
    ///
    /// # Panics
    /// If there is no replica `i`.
    pub fn kill_replica(&mut self, i: usize) {
        self.replicas[i].kill();
    }

    /// Kills replica `i` (from 0) if it runs, and starts it again on its port.
    ///
    /// # Panics
    /// If there is no replica `i`.
    pub fn restart_replica(&mut self, i: usize) -> Result<(), HarnessError> {
        self.replicas[i].kill();
        self.start_replica(i)
    }

    /// Each replica's own `http://127.0.0.1:PORT`, past the proxy.
    pub fn replica_urls(&self) -> Vec<&str> {
        self.replicas.iter().map(|r| r.url.as_str()).collect()
    }

    /// The server's process id while it runs (the first replica's).
    pub fn pid(&self) -> Option<u32> {
        self.replicas[0].pid()
    }

    /// Each replica's process id while it runs.
    pub fn replica_pids(&self) -> Vec<Option<u32>> {
        self.replicas.iter().map(Replica::pid).collect()
    }

    /// The arguments that name this server's records to a command that reads them directly
    /// (`admin`, `report`): `--data DATA`, and `--database URL` when they live in PostgreSQL.
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data".to_owned(), self.data.display().to_string()];
        args.extend(self.launch.database_args().into_iter().map(str::to_owned));
        args
    }

    /// `fieldwork admin --data DATA ARGS --json` on this server's data (and database and
    /// bucket); its JSON answer.
    pub fn admin_json(&self, args: &[&str]) -> Result<Value, HarnessError> {
        let out = Command::new(&self.launch.binary)
            .args(["admin", "--data"])
            .arg(&self.data)
            .args(self.launch.database_args())
            .args(self.launch.blobs_args())
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .arg("--json")
            .env_remove("RUST_BACKTRACE")
            .output()
            .map_err(|source| HarnessError::Spawn {
                program: format!("{} admin", self.launch.binary.display()),
                source,
            })?;
        if !out.status.success() {
            return Err(HarnessError::Admin {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        serde_json::from_slice(&out.stdout).map_err(|_| HarnessError::AdminOutput {
            args: args.join(" "),
            field: "JSON",
        })
    }

    /// Creates a tenant; returns its id.
    pub fn create_tenant(&self, name: &str) -> Result<String, HarnessError> {
        let args = ["create-tenant", name];
        field(&self.admin_json(&args)?, &args, "tenant_id")
    }

    /// Creates a user; returns `(user id, user API token)`.
    pub fn create_user(
        &self,
        tenant: &str,
        user: &NewUser<'_>,
    ) -> Result<(String, String), HarnessError> {
        let mut args = vec![
            "create-user",
            "--tenant",
            tenant,
            "--role",
            user.role,
            "--name",
            user.name,
        ];
        if let Some(team) = user.team {
            args.extend(["--team", team]);
        }
        if let Some(password) = user.password {
            args.extend(["--password", password]);
        }
        let answer = self.admin_json(&args)?;
        Ok((
            field(&answer, &args, "user_id")?,
            field(&answer, &args, "token")?,
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `fieldwork serve` child process and where it listens (kept while it is down, to start it
/// again there); killed when dropped.
#[derive(Debug)]
struct Replica {
    url: String,
    port: u16,
    child: Option<Child>,
}

impl Replica {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks it to stop, as an operator would (SIGTERM); [`Self::reap`] waits.
    fn terminate(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Waits for it to exit until `deadline`, then kills it.
    fn reap(&mut self, deadline: Instant) {
        if let Some(child) = &mut self.child {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.kill();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A user for [`Server::create_user`].
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub role: &'a str,
    pub name: &'a str,
    pub team: Option<&'a str>,
    /// For logins by password; every user gets an API token either way.
    pub password: Option<&'a str>,
}

impl<'a> NewUser<'a> {
    /// A user with no team and no password.
    pub fn new(role: &'a str, name: &'a str) -> NewUser<'a> {
        NewUser {
            role,
            name,
            team: None,
            password: None,
        }
    }
}

/// A device driven in-process through the core library: its store, logged in to a server.
#[derive(Debug)]
pub struct Phone {
    pub store: Arc<TicketStore>,
}

impl Phone {
    /// Opens (or creates) the store at `db` and logs it in to `url` with a user API token.
    pub fn login(
        db: &Path,
        url: &str,
        token: &str,
        device_name: &str,
    ) -> Result<Phone, HarnessError> {
        let store = TicketStore::open(db)?;
        sync::block_on(sync::engine::login_with_token(
            &store,
            url,
            token,
            device_name,
        ))??;
        Ok(Phone {
            store: Arc::new(store),
        })
    }

    /// A sync engine over this phone's store, with the default retry policies.
    pub fn engine(&self) -> Result<SyncEngine, HarnessError> {
        Ok(SyncEngine::new(self.store.clone())?)
    }
}

/// The port of `http://HOST:PORT` (0 if there is none, which a server never prints).
fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn field(answer: &Value, args: &[&str], name: &'static str) -> Result<String, HarnessError> {
    answer[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| HarnessError::AdminOutput {
            args: args.join(" "),
            field: name,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_dies_at_start_is_reported_with_its_logs_last_lines() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("fake-fieldwork");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor n in $(seq 1 30); do echo \"line $n\" >&2; done\n\
             echo 'error: the database refused the password' >&2\nexit 3\n",
        )
        .expect("writes");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let log = dir.path().join("server.log");
        let err = ServerLaunch::new(&fake, dir.path().join("data"))
            .log_to(&log)
            .start()
            .expect_err("the server dies");
        let text = err.to_string();
        assert!(matches!(err, HarnessError::ServerExited { .. }), "{text}");
        assert!(text.contains("the database refused the password"), "{text}");
        assert!(
            text.contains("line 30") && !text.contains("line 5\n"),
            "the tail only: {text}"
        );
    }

    #[test]
    fn replicas_without_a_database_are_refused_before_anything_starts() {
        let err = ServerLaunch::new("/nonexistent/fieldwork", "/nonexistent/data")
            .replicas(2)
            .start()
            .expect_err("refused");
        assert!(
            matches!(err, HarnessError::ReplicasWithoutDatabase { replicas: 2 }),
            "{err}"
        );
    }
}
