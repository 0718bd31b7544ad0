//! `fieldwork bench …`: figures for `docs/benchmarks.md`, measured against a real
//! `fieldwork serve` on loopback (started and provisioned through `fieldwork_harness`, the same
//! harness the end-to-end tests use). One file a benchmark: `sync` (one change, a bootstrap, a
//! resync; `relay` counts its wire bytes), `load` (many devices at a fixed rate), `flood` (wrong-password logins while devices
//! sync); `fleet` is the technician devices `load` and `flood` share.

mod api;
mod fleet;
mod flood;
mod load;
mod relay;
mod seed;
mod storm;
mod sync;

use std::path::Path;

use clap::{Args, Subcommand};
use fieldwork_core::sync::{self as core_sync, RetryPolicy, SyncReport};
use fieldwork_harness::{HarnessError, Phone, Server, ServerLaunch};

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
        /// Print the figures as one JSON object (for `bench/peers/run.sh`).
        #[arg(long)]
        json: bool,
    },
    /// Many devices each editing and syncing at a fixed rate; round-trip latency and server RSS.
    Load {
        /// Technician devices, each with its own store, engine and assigned tickets.
        #[arg(long, default_value_t = 1_000)]
        devices: usize,
        /// Tickets assigned to each device; its notes go to them in turn, so tickets stop
        /// growing by a note every second (a technician works several tickets in a shift).
        #[arg(long, default_value_t = 1)]
        tickets_per_device: usize,
        /// Changes per second per device (each followed by one sync round).
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Length of the measured window.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Run the service brain on the tenant (a team of all the technicians, an SLA policy
        /// and 50 update rules), to compare push latency with it on and off.
        #[arg(long)]
        brain: bool,
        /// An alert storm 5 s into the window: this many IoT alerts for 5 assets from 25
        /// concurrent clients (docs/channels.md), to see what it does to the devices' syncs.
        #[arg(long, default_value_t = 0)]
        alerts: usize,
        /// An empty PostgreSQL database for the server's records (postgres://…) instead of
        /// SQLite in a temporary data directory.
        #[arg(long)]
        database: Option<String>,
        /// Server replicas on that database, behind a round-robin proxy (needs --database).
        #[arg(long, default_value_t = 1)]
        replicas: usize,
        /// Keep the devices' stores on this machine's disk beside the server's, as before.
        /// By default they live in memory (`/dev/shm`, where it exists): each phone flushes to
        /// its own flash, and a thousand of them flushing to the server's disk measured the
        /// disk, not the server.
        #[arg(long)]
        devices_on_disk: bool,
    },
    /// The back-office API's latency (ticket lists, one ticket, the month's report) over many
    /// tickets while devices sync.
    Api {
        /// Tickets in the tenant.
        #[arg(long, default_value_t = 100_000)]
        tickets: usize,
        /// Technician devices, each adding a note and syncing once a second meanwhile.
        #[arg(long, default_value_t = 200)]
        devices: usize,
        /// Requests of each kind (a report every tenth).
        #[arg(long, default_value_t = 500)]
        samples: usize,
        /// Longest time the devices run while the requests are measured.
        #[arg(long, default_value_t = 120)]
        seconds: u64,
    },
    /// Wrong-password logins hammering the server while devices sync: server memory during and
    /// after, the devices' round-trip latency, and when the real user gets in again.
    LoginFlood(flood::FloodArgs),
    /// A data directory with a tenant of many tickets, for benchmarks with their own client
    /// (the console's: `node console-tests/bench.mjs DIR`).
    Seed {
        /// Tickets in the tenant.
        #[arg(long, default_value_t = 100_000)]
        tickets: usize,
        /// An empty directory to fill (the server's data directory).
        #[arg(long)]
        data: std::path::PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark step failed: {0}")]
    Step(String),
}

/// A harness failure (a server that would not start, a refused admin command, a failed login)
/// as a failed step: the bench only reports it.
impl From<HarnessError> for BenchError {
    fn from(e: HarnessError) -> BenchError {
        BenchError::Step(e.to_string())
    }
}

pub fn run(args: BenchArgs) -> Result<(), BenchError> {
    match args.what {
        BenchCommand::Sync { tickets, json } => sync::bench_sync(tickets, json),
        BenchCommand::Load {
            devices,
            tickets_per_device,
            rate,
            seconds,
            brain,
            alerts,
            database,
            replicas,
            devices_on_disk,
        } => load::bench_load(
            load::LoadArgs {
                devices,
                tickets_per_device,
                rate,
                seconds,
                brain,
                database,
                replicas,
                devices_on_disk,
            },
            alerts,
        ),
        BenchCommand::Api {
            tickets,
            devices,
            samples,
            seconds,
        } => api::bench_api(tickets, devices, samples, seconds),
        BenchCommand::LoginFlood(args) => flood::bench_login_flood(&args),
        BenchCommand::Seed { tickets, data } => seed::bench_seed(tickets, &data),
    }
}

/// A failed step, named: `step("create")` turns any error into `BenchError::Step`.
fn step<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> BenchError + '_ {
    move |e| BenchError::Step(format!("{what}: {e}"))
}

/// A server on `data` from `binary` (this one if `None`), with `extra` arguments to `serve`; its
/// log goes to our stderr.
fn start_server(data: &Path, binary: Option<&Path>, extra: &[&str]) -> Result<Server, BenchError> {
    let binary = match binary {
        Some(path) => path.to_owned(),
        None => std::env::current_exe().map_err(step("find own binary"))?,
    };
    Ok(ServerLaunch::new(binary, data).args(extra).start()?)
}

/// A server for `devices` devices on loopback: all connect from 127.0.0.1, so the per-address
/// connection cap meant for the internet is lifted.
fn start_fleet_server(data: &Path, devices: usize) -> Result<Server, BenchError> {
    start_fleet_replicas(data, devices, None, 1)
}

/// [`start_fleet_server`] with its records in the PostgreSQL database `database` (when given),
/// as `replicas` servers behind the harness's round-robin proxy.
fn start_fleet_replicas(
    data: &Path,
    devices: usize,
    database: Option<&str>,
    replicas: usize,
) -> Result<Server, BenchError> {
    let cap = (devices + 64).max(4096).to_string();
    let binary = std::env::current_exe().map_err(step("find own binary"))?;
    let mut launch = ServerLaunch::new(binary, data)
        .args([
            "--max-connections-per-address",
            &cap,
            "--max-connections",
            &cap,
        ])
        .replicas(replicas);
    if let Some(url) = database {
        launch = launch.database(url);
    }
    Ok(launch.start()?)
}

/// A device named `name` (its store `DIR/NAME.db`) logged in to `url` with a user API token.
fn phone(dir: &Path, name: &str, url: &str, token: &str) -> Result<Phone, BenchError> {
    Ok(Phone::login(
        &dir.join(format!("{name}.db")),
        url,
        token,
        name,
    )?)
}

/// One full sync of `phone` with the default retry policy.
fn sync_phone(phone: &Phone) -> Result<SyncReport, BenchError> {
    let engine = phone.engine()?;
    core_sync::block_on(engine.sync(RetryPolicy::default()))
        .map_err(step("runtime"))?
        .map_err(step("sync"))
}

/// The server's process id, for sampling its memory and CPU in the window.
fn server_pid(server: &Server) -> Result<u32, BenchError> {
    server
        .pid()
        .ok_or_else(|| BenchError::Step("the server is not running".into()))
}

/// The runtime the measured window runs on: devices, attackers and samplers as tasks.
/// Threads the devices' store work (a phone's SQLite) runs on in the window. Each phone has its
/// own CPU; here a thousand share two cores, and tokio's default of 512 threads only made them
/// take turns with the server's threads (1,000 devices: 600–636 changes/s with 512, 691–728 with
/// 8). `FIELDWORK_BENCH_DEVICE_THREADS` sets another number.
const DEVICE_THREADS: usize = 8;

fn window_runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    let threads = std::env::var("FIELDWORK_BENCH_DEVICE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEVICE_THREADS);
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(threads)
        // The simulated phones share the server's cores at its request work's priority: a
        // thousand phones' work must not outrank the server's commits, which a phone's own CPU
        // never competes with.
        .on_thread_start(fieldwork_server::priority::request_priority)
        .enable_all()
        .build()
        .map_err(step("runtime"))
}

/// Resident memory of the server process, in MiB (Linux), while it runs.
fn server_rss_mib(server: &Server) -> Option<f64> {
    rss_mib(server.pid()?)
}

/// Resident memory of a process, in MiB (Linux `/proc/<pid>/status` VmRSS).
fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

/// Anonymous resident memory of a process (heap and stacks, not mapped files such as the
/// database's pages), in MiB (Linux `/proc/<pid>/status` RssAnon).
fn anon_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "RssAnon:")
}

fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The `q` quantile of sorted samples (nearest rank), 0 for none.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
