//! `fieldwork bench sync`: measures sync against a real `fieldwork serve` on loopback — one
//! status change, a fresh device bootstrapping N tickets, a resync with 1% changed, and the
//! server's memory — and prints the figures for `docs/benchmarks.md`. `bench load` and
//! `bench login-flood` live in their own files and share the helpers here.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use fieldwork_core::store::{ListQuery, TicketStore};
use fieldwork_core::sync::{self, RetryPolicy, SyncEngine, SyncReport};
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Priority, Status, TicketKind};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Sync round trips, bytes and times against a local server.
    Sync {
        /// Tickets for the bootstrap and resync measurements.
        #[arg(long, default_value_t = 10_000)]
        tickets: usize,
    },
    /// Many devices each editing and syncing at a fixed rate; round-trip latency and server RSS.
    Load {
        /// Technician devices, each with its own store, engine and assigned ticket.
        #[arg(long, default_value_t = 1_000)]
        devices: usize,
        /// Changes per second per device (each followed by one sync round).
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Length of the measured window.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Wrong-password logins hammering the server while devices sync: server memory during and
    /// after, the devices' round-trip latency, and when the real user gets in again.
    LoginFlood(crate::bench_flood::FloodArgs),
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark step failed: {0}")]
    Step(String),
}

pub(crate) fn step<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> BenchError + '_ {
    move |e| BenchError::Step(format!("{what}: {e}"))
}

pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    pub(crate) fn start(data: &Path) -> Result<Self, BenchError> {
        Self::start_with(data, None, &[])
    }

    /// A server from `binary` (this one if `None`), with `extra` arguments to `serve`.
    pub(crate) fn start_with(
        data: &Path,
        binary: Option<&Path>,
        extra: &[&str],
    ) -> Result<Self, BenchError> {
        let exe = match binary {
            Some(path) => path.to_owned(),
            None => std::env::current_exe().map_err(step("find own binary"))?,
        };
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(step("start server"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Step("no server stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => return Err(BenchError::Step("server exited before listening".into())),
            }
        };
        Ok(ServerProcess { child, url })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in MiB (Linux).
    pub(crate) fn rss_mib(&self) -> Option<f64> {
        rss_mib(self.pid())
    }
}

/// Resident memory of a process, in MiB (Linux `/proc/<pid>/status` VmRSS).
pub(crate) fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Creates a tenant through `fieldwork admin` and returns its id.
pub(crate) fn create_tenant(data: &Path, name: &str) -> Result<String, BenchError> {
    Ok(admin(data, &["create-tenant", name])?["tenant_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Creates a user through `fieldwork admin` and returns `(user id, API token)`.
pub(crate) fn create_user(
    data: &Path,
    tenant: &str,
    role: &str,
    name: &str,
    team: Option<&str>,
) -> Result<(String, String), BenchError> {
    let mut a = vec![
        "create-user",
        "--tenant",
        tenant,
        "--role",
        role,
        "--name",
        name,
    ];
    if let Some(team) = team {
        a.extend(["--team", team]);
    }
    let v = admin(data, &a)?;
    Ok((
        v["user_id"].as_str().unwrap_or_default().to_owned(),
        v["token"].as_str().unwrap_or_default().to_owned(),
    ))
}

pub(crate) fn admin(data: &Path, args: &[&str]) -> Result<serde_json::Value, BenchError> {
    let exe = std::env::current_exe().map_err(step("find own binary"))?;
    let out = Command::new(exe)
        .args(["admin", "--data"])
        .arg(data)
        .args(args)
        .arg("--json")
        .output()
        .map_err(step("admin"))?;
    if !out.status.success() {
        return Err(BenchError::Step(format!(
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(step("admin output"))
}

pub(crate) struct Phone {
    pub(crate) store: Arc<TicketStore>,
}

impl Phone {
    pub(crate) fn login(
        dir: &Path,
        name: &str,
        url: &str,
        token: &str,
    ) -> Result<Phone, BenchError> {
        let store =
            TicketStore::open(&dir.join(format!("{name}.db"))).map_err(step("open store"))?;
        sync::block_on(sync::engine::login_with_token(&store, url, token, name))
            .map_err(step("runtime"))?
            .map_err(step("login"))?;
        Ok(Phone {
            store: Arc::new(store),
        })
    }

    pub(crate) fn sync(&self) -> Result<SyncReport, BenchError> {
        let engine = SyncEngine::new(self.store.clone()).map_err(step("engine"))?;
        sync::block_on(engine.sync(RetryPolicy::default()))
            .map_err(step("runtime"))?
            .map_err(step("sync"))
    }
}

pub fn run(args: BenchArgs) -> Result<(), BenchError> {
    match args.what {
        BenchCommand::Sync { tickets } => bench_sync(tickets),
        BenchCommand::Load {
            devices,
            rate,
            seconds,
        } => crate::bench_load::bench_load(devices, rate, seconds),
        BenchCommand::LoginFlood(args) => crate::bench_flood::bench_login_flood(&args),
    }
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn bench_sync(n: usize) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data: PathBuf = dir.path().join("server");
    let server = ServerProcess::start(&data)?;
    let tenant = create_tenant(&data, "bench")?;
    let user =
        |role: &str, name: &str, team: Option<&str>| create_user(&data, &tenant, role, name, team);
    let (_, disp_token) = user("dispatcher", "ops", None)?;
    let (tech_id, tech_token) = user("technician", "tech", Some("north"))?;
    let (_, agent_token) = user("agent", "agent", None)?;
    let dispatcher = Phone::login(dir.path(), "dispatcher", &server.url, &disp_token)?;
    let tech = Phone::login(dir.path(), "tech", &server.url, &tech_token)?;
    println!(
        "server {} (RSS at start {:.1} MiB)",
        server.url,
        server.rss_mib().unwrap_or(0.0)
    );

    // 1. One status change, incremental.
    let id = dispatcher
        .store
        .create(NewTicket::titled(TicketKind::Repair, "Compressor noise"))
        .map_err(step("create"))?
        .id;
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some(tech_id.clone()),
            }],
        )
        .map_err(step("assign"))?;
    dispatcher.sync()?;
    tech.sync()?;
    tech.store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: Status::Accepted,
            }],
        )
        .map_err(step("accept"))?;
    let r = tech.sync()?;
    println!(
        "| 1 status change, incremental sync | {} round trip(s), {} B up, {} B down |",
        r.rounds, r.bytes_sent, r.bytes_received
    );

    // 2. A fresh device bootstraps n tickets.
    let start = Instant::now();
    for i in 0..n {
        let mut new = NewTicket::titled(
            TicketKind::Repair,
            format!("Ticket {i}: freezer alarm at store {}", i % 97),
        );
        new.priority = Priority::ALL[i % 4];
        new.description = "Temperature above −12 °C for 20 minutes; customer moved stock.".into();
        dispatcher.store.create(new).map_err(step("create"))?;
    }
    let created = start.elapsed();
    let start = Instant::now();
    let push = dispatcher.sync()?;
    println!(
        "(setup: created {n} tickets in {:.1} s, pushed in {:.1} s, {} rounds, {} up)",
        created.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        push.rounds,
        kib(push.bytes_sent)
    );
    let agent = Phone::login(dir.path(), "agent", &server.url, &agent_token)?;
    let start = Instant::now();
    let boot = agent.sync()?;
    let took = start.elapsed();
    let count = agent.store.ticket_count().map_err(step("count"))?;
    println!(
        "| fresh device, {count} visible tickets | {:.2} s ({:.2} s server + transfer, {:.2} s applying), {} rounds, {} down, {} up |",
        took.as_secs_f64(),
        boot.wait_ms as f64 / 1e3,
        boot.apply_ms as f64 / 1e3,
        boot.rounds,
        kib(boot.bytes_received),
        kib(boot.bytes_sent)
    );
    println!(
        "server RSS after bootstrap: {:.1} MiB",
        server.rss_mib().unwrap_or(0.0)
    );

    // 3. Resync with 1% changed.
    let page = dispatcher
        .store
        .list(&ListQuery {
            limit: (n / 100).max(1) as u32,
            ..Default::default()
        })
        .map_err(step("list"))?;
    for row in &page {
        let title = format!("{} (rechecked)", row.title);
        dispatcher
            .store
            .edit(&row.id, &[Edit::SetTitle { title }])
            .map_err(step("edit"))?;
    }
    let change_bytes: usize = dispatcher
        .store
        .outbox_batch(100_000)
        .map_err(step("outbox"))?
        .iter()
        .map(|c| c.change.len())
        .sum();
    dispatcher.sync()?;
    let start = Instant::now();
    let resync = agent.sync()?;
    println!(
        "| resync, {} of {count} changed | {} round trip(s), {} down for {} of changes ({:.2}×), {:.0} ms |",
        page.len(),
        resync.rounds,
        kib(resync.bytes_received),
        kib(change_bytes),
        resync.bytes_received as f64 / change_bytes.max(1) as f64,
        start.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "server RSS at the end: {:.1} MiB ({n} tickets stored)",
        server.rss_mib().unwrap_or(0.0)
    );
    Ok(())
}
