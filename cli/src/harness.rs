//! A real Fieldwork server on loopback and devices logged in to it, for whoever drives the
//! binary from outside: the end-to-end tests (`tests/common`), the README walk-through test and
//! `fieldwork bench`. It is the package's library target (`fieldwork_harness`), so the tests
//! and the binary share one copy; nothing in the product depends on it.
//!
//! Everything returns [`HarnessError`]: the tests turn it into a panic with the message, the
//! benches into a failed step.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use fieldwork_core::store::{StoreError, TicketStore};
use fieldwork_core::sync::{self, SyncEngine, SyncError};
use serde_json::Value;

/// How long a starting server may take to say where it listens (a debug build under a loaded
/// machine opens and migrates its database first).
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// How to start a `fieldwork serve`: which binary, which data directory, which extra flags and
/// where its log goes. [`ServerLaunch::start`] picks a free loopback port.
#[derive(Debug, Clone)]
pub struct ServerLaunch {
    binary: PathBuf,
    data: PathBuf,
    database: Option<String>,
    args: Vec<String>,
    log: Option<PathBuf>,
}

impl ServerLaunch {
    /// `binary serve --data DATA`, its log on the caller's stderr until [`Self::log_to`].
    pub fn new(binary: impl Into<PathBuf>, data: impl Into<PathBuf>) -> ServerLaunch {
        ServerLaunch {
            binary: binary.into(),
            data: data.into(),
            database: None,
            args: Vec::new(),
            log: None,
        }
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

    /// Extra arguments for `serve` (limits, quotas).
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> ServerLaunch {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The server's log (stderr) appended to `file`. A test wants this: a server outliving the
    /// test must not hold the test's pipes.
    pub fn log_to(mut self, file: impl Into<PathBuf>) -> ServerLaunch {
        self.log = Some(file.into());
        self
    }

    /// Starts the server on `127.0.0.1:0` and waits until it says where it listens.
    pub fn start(self) -> Result<Server, HarnessError> {
        let (child, url) = self.spawn("127.0.0.1:0")?;
        Ok(Server {
            port: port_of(&url),
            url,
            data: self.data.clone(),
            child: Some(child),
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
            .args(&self.args)
            .env("RUST_LOG", "warn")
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

    fn log_name(&self) -> String {
        self.log
            .as_ref()
            .map_or_else(|| "stderr".to_owned(), |p| p.display().to_string())
    }
}

/// A running `fieldwork serve` child process; killed when dropped.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
    pub port: u16,
    /// The server's data directory (its database and photo files).
    pub data: PathBuf,
    child: Option<Child>,
    launch: ServerLaunch,
}

impl Server {
    /// Stops the server gracefully and starts it again on the same data directory and port with
    /// its records in the PostgreSQL database at `url` (after `admin migrate-store`).
    pub fn restart_on_database(&mut self, url: &str) -> Result<(), HarnessError> {
        self.stop_gracefully();
        self.launch.database = Some(url.to_owned());
        self.start_again()
    }

    /// Starts the server (stopped) again on its port.
    fn start_again(&mut self) -> Result<(), HarnessError> {
        let (child, url) = self.launch.spawn(&format!("127.0.0.1:{}", self.port))?;
        self.child = Some(child);
        self.url = url;
        Ok(())
    }

    /// SIGTERM, then a kill if the server has not stopped after 30 s.
    fn stop_gracefully(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server (no graceful shutdown) and starts it again on the same data and port.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        self.start_again()
    }

    /// Stops the server as an operator would (SIGTERM: it finishes what it holds and writes
    /// what it keeps in memory), then starts it again on the same data and port. A server that
    /// has not stopped after 30 s is killed.
    pub fn restart_gracefully(&mut self) -> Result<(), HarnessError> {
        self.stop_gracefully();
        self.start_again()
    }

    /// Kills the server at once, as a crash or a pulled plug would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The arguments that name this server's records to a command that reads them directly
    /// (`admin`, `report`): `--data DATA`, and `--database URL` when they live in PostgreSQL.
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data".to_owned(), self.data.display().to_string()];
        args.extend(self.launch.database_args().into_iter().map(str::to_owned));
        args
    }

    /// `fieldwork admin --data DATA ARGS --json` on this server's data; its JSON answer.
    pub fn admin_json(&self, args: &[&str]) -> Result<Value, HarnessError> {
        let out = Command::new(&self.launch.binary)
            .args(["admin", "--data"])
            .arg(&self.data)
            .args(self.launch.database_args())
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
