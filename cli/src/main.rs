//! `fieldwork`: the one binary. `fieldwork device …` is a full device on a desktop (kiosk,
//! gateway, scripting, tests); `serve`, `admin` and `bench` join it as the server grows.

mod admin;
mod bench;
mod bench_load;
mod device;
mod output;
mod serve;
mod units;

use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Device(args) => finish(device::run(args), device::CliError::exit_code),
        Command::Serve(args) => finish(serve::run(args), serve::ServeError::exit_code),
        Command::Admin(args) => finish(admin::run(args), admin::AdminError::exit_code),
        Command::Bench(args) => finish(bench::run(args), |_| 1),
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
    fn serve_without_quota_flags_uses_the_server_defaults() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["fieldwork", "serve"]).expect("parses");
        let super::Command::Serve(args) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.quotas(), fieldwork_server::config::Quotas::default());
    }
}
