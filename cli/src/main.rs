//! `fieldwork`: the one binary. `fieldwork device …` is a full device on a desktop (kiosk,
//! gateway, scripting, tests); `serve`, `admin` and `bench` join it as the server grows.

mod admin;
mod bench;
mod config;
mod device;
mod intake;
mod output;
mod report;
mod serve;
mod units;

use std::process::ExitCode;

/// jemalloc returns memory to the system after bursts (argon2 takes 19 MiB per password check);
/// glibc malloc kept hundreds of MiB per thread arena after a login flood (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read once as it starts: pages freed and unused for a second go back to
/// the system, not after jemalloc's default ten. Under 1,000 devices the server kept 40–50 MiB
/// less resident at the same throughput (`docs/benchmarks.md`, "The device's side of a round").
/// `MALLOC_CONF` in the environment still overrides it (`_RJEM_MALLOC_CONF` off Linux, where
/// jemalloc serves Rust alone and its names carry a prefix).
// jemalloc reads this C string through the symbol named here; nothing else touches it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
#[unsafe(export_name = "malloc_conf")]
pub static MALLOC_CONF: &[u8; 37] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";
#[cfg(all(not(target_os = "linux"), not(target_env = "msvc")))]
#[allow(unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 37] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "fieldwork",
    version,
    about = "Offline-first field-service work orders"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Act as a device: tickets stored in DIR, usable with no network.
    Device(device::DeviceArgs),
    /// Run the sync server on a data directory.
    Serve(serve::ServeArgs),
    /// Manage a server's tenants, users, tokens, devices and storage quotas.
    Admin(admin::AdminArgs),
    /// Measure sync against a local server (figures for docs/benchmarks.md).
    Bench(bench::BenchArgs),
    /// Check a tenant configuration file and preview what the brain would decide.
    Config(config::ConfigArgs),
    /// Hand a delivery to a server's intake channel (a mail system's pipe).
    Intake(intake::IntakeArgs),
    /// Reports for the back office: volume, backlog, response and resolution times, SLA,
    /// first-contact resolution, reopens, CSAT (docs/reports.md).
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Device(args) => finish(device::run(args), device::CliError::exit_code),
        Command::Serve(args) => finish(serve::run(args), serve::ServeError::exit_code),
        Command::Admin(args) => finish(admin::run(args), admin::AdminError::exit_code),
        Command::Bench(args) => finish(bench::run(args), |_| 1),
        Command::Config(args) => finish(config::run(args), config::ConfigCliError::exit_code),
        Command::Report(args) => finish(report::run(args), report::ReportError::exit_code),
        Command::Intake(args) => finish(intake::run(args), intake::IntakeError::exit_code),
    }
}

/// `error: …` on stderr and the command's exit code, or success.
fn finish<E: std::fmt::Display>(result: Result<(), E>, exit_code: fn(&E) -> u8) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit_code(&err))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn serve_quota_flags_default_to_the_server_defaults_and_read_units() {
        use clap::Parser;
        use fieldwork_server::config::Quotas;
        let serve = |flags: &[&str]| -> Result<Quotas, clap::Error> {
            let cli = super::Cli::try_parse_from([&["fieldwork", "serve"], flags].concat())?;
            match cli.command {
                super::Command::Serve(args) => Ok(args.quotas()),
                _ => panic!("parsed as another command"),
            }
        };
        assert_eq!(serve(&[]).expect("parses"), Quotas::default());
        let set = serve(&[
            "--tenant-blob-quota",
            "2GiB",
            "--user-blob-quota",
            "100MiB",
            "--devices-per-user",
            "3",
            "--unnamed-blob-grace",
            "2h",
        ]);
        assert_eq!(
            set.expect("parses"),
            Quotas {
                tenant_blob_bytes: 2 << 30,
                user_blob_bytes: 100 << 20,
                devices_per_user: 3,
                unnamed_blob_grace_ms: 2 * 3600 * 1000,
            }
        );
        assert!(serve(&["--devices-per-user", "0"]).is_err());
        assert!(serve(&["--user-blob-quota", "5GB"]).is_err());
    }

    /// The variable jemalloc reads its settings from: on Linux the unprefixed one, which it
    /// reads only when it has taken the C library's `malloc` (SQLite's allocations) too.
    #[cfg(target_os = "linux")]
    const MALLOC_CONF_VARIABLE: &str = "MALLOC_CONF";
    #[cfg(all(not(target_os = "linux"), not(target_env = "msvc")))]
    const MALLOC_CONF_VARIABLE: &str = "_RJEM_MALLOC_CONF";

    /// The settings above reach jemalloc: this test binary has the same allocator and static,
    /// and jemalloc prints the options it runs with when asked to in the environment.
    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn jemalloc_runs_with_the_decay_set_here() {
        let exe = std::env::current_exe().expect("this test binary");
        let out = std::process::Command::new(exe)
            .arg("--list")
            .env(MALLOC_CONF_VARIABLE, "stats_print:true")
            .output()
            .expect("runs");
        let stats = String::from_utf8_lossy(&out.stderr);
        assert!(
            stats.contains("opt.dirty_decay_ms: 1000") && stats.contains("opt.muzzy_decay_ms: 0"),
            "jemalloc did not take the settings: {}",
            stats.lines().take(20).collect::<Vec<_>>().join("\n")
        );
    }
}
