//! `fieldwork report`: the back office's reports (`docs/reports.md`) from a running server (its
//! API, with a user token) or straight from a server's data directory, as a table, CSV or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use fieldwork_brain::report::metrics::COLUMNS;
use fieldwork_brain::report::{GroupBy, Period, Report, Row};
use fieldwork_server::admin::Admin;

use crate::output;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The first day, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// The last day, YYYY-MM-DD (at most 366 days after --from).
    #[arg(long)]
    to: String,
    /// The IANA time zone days are counted in.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Rows by category, channel, team, assignee or day.
    #[arg(long, default_value = "day")]
    by: String,
    /// CSV: a header, a row per group, the total.
    #[arg(long)]
    csv: bool,
    /// The whole report as JSON.
    #[arg(long)]
    json: bool,
    /// A running server's address (e.g. http://127.0.0.1:8080); needs --token.
    #[arg(long, env = "FIELDWORK_SERVER")]
    server: Option<String>,
    /// A user API token (fwu_…) of a dispatcher, supervisor or admin.
    #[arg(long, env = "FIELDWORK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Without --server: the server's data directory, read directly.
    #[arg(long, env = "FIELDWORK_DATA", default_value = "./fieldwork-data")]
    data: PathBuf,
    /// Without --server: the server's database, `sqlite` (the file in the data directory) or
    /// the PostgreSQL address it runs with (`fieldwork serve --database`).
    #[arg(long, env = "FIELDWORK_DATABASE", default_value = "sqlite")]
    database: String,
    /// Without --server: the tenant (id or name).
    #[arg(long)]
    tenant: Option<String>,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error("the server refused: {0}")]
    Refused(String),
    #[error("the server cannot be reached or is busy: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Store(#[from] fieldwork_server::Error),
}

impl ReportError {
    /// 1 for bad input or a refusal, 3 for a broken data directory, 4 for a server that cannot
    /// be reached or asks to wait (as the README's exit codes).
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Invalid(_) | ReportError::Refused(_) => 1,
            ReportError::Unreachable(_) => 4,
            ReportError::Store(e) if e.is_refusal() => 1,
            ReportError::Store(_) => 3,
        }
    }
}

pub fn run(args: ReportArgs) -> Result<(), ReportError> {
    let period = Period::parse(&args.from, &args.to, &args.tz)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let by = GroupBy::parse(&args.by).ok_or_else(|| {
        ReportError::Invalid("--by is category, channel, team, assignee or day".into())
    })?;
    let report = match &args.server {
        Some(server) => {
            let token = args.token.as_deref().ok_or_else(|| {
                ReportError::Invalid("--server needs --token (or FIELDWORK_TOKEN)".into())
            })?;
            from_server(server, token, &args)?
        }
        None => {
            let tenant = args.tenant.as_deref().ok_or_else(|| {
                ReportError::Invalid("name the --tenant (or give --server and --token)".into())
            })?;
            Admin::open_with(&args.data, Some(&args.database))?.report(tenant, &period, by)?
        }
    };
    if args.json {
        output::json(&report);
    } else if args.csv {
        let rows = report.rows.iter().chain([&report.total]).map(Row::cells);
        print!("{}", fieldwork_server::api::csv::document(COLUMNS, rows));
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report from a server's API.
fn from_server(server: &str, token: &str, args: &ReportArgs) -> Result<Report, ReportError> {
    fieldwork_core::sync::client::install_crypto_provider();
    let query: Vec<String> = [
        ("from", &args.from),
        ("to", &args.to),
        ("tz", &args.tz),
        ("by", &args.by),
    ]
    .iter()
    .map(|(key, value)| format!("{key}={}", encode(value)))
    .collect();
    let url = format!(
        "{}/api/v1/reports?{}",
        server.trim_end_matches('/'),
        query.join("&")
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReportError::Unreachable(e.to_string()))?;
    let (status, body) = runtime.block_on(async {
        let response = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| ReportError::Unreachable(e.to_string()))?
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ReportError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| ReportError::Unreachable(e.without_url().to_string()))?;
        Ok::<_, ReportError>((status, body))
    })?;
    if status.is_success() {
        return serde_json::from_str(&body)
            .map_err(|e| ReportError::Refused(format!("the answer is not a report: {e}")));
    }
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string());
    if status.is_server_error() || status.as_u16() == 429 {
        Err(ReportError::Unreachable(message))
    } else {
        Err(ReportError::Refused(message))
    }
}

/// A query value, percent-encoded but for unreserved characters and `/`.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn minutes(stats: &Option<fieldwork_brain::report::metrics::Stats>) -> String {
    stats
        .as_ref()
        .map_or_else(|| "-".to_owned(), |s| format!("{}", s.p50))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The report as a table for a terminal: the headline numbers of each row (CSV and JSON carry
/// every number).
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Report {} to {} ({}), by {}",
        report.from,
        report.to,
        report.time_zone,
        report.group_by.as_str()
    );
    let header = [
        "",
        "created",
        "resolved",
        "backlog",
        "1st resp p50 (bus/wall min)",
        "resolution p50 (bus/wall min)",
        "SLA breached",
        "1st contact",
        "reopened",
        "CSAT",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for row in report.rows.iter().chain([&report.total]) {
        rows.push(vec![
            row.key.clone(),
            row.created.to_string(),
            row.resolved.to_string(),
            row.backlog.to_string(),
            format!(
                "{} / {}",
                minutes(&row.first_response.business),
                minutes(&row.first_response.wall)
            ),
            format!(
                "{} / {}",
                minutes(&row.resolution.business),
                minutes(&row.resolution.wall)
            ),
            percent(row.sla_breach_rate),
            percent(row.first_contact_resolution_rate),
            percent(row.reopen_rate),
            row.csat_mean.map_or_else(
                || "-".to_owned(),
                |m| format!("{m:.2} ({})", percent(row.csat_response_rate)),
            ),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(
        out,
        "\nVolume: {} created, {} in the period before.",
        report.total.created, report.previous_period_created
    );
    if !report.top_categories.is_empty() {
        let top: Vec<String> = report
            .top_categories
            .iter()
            .map(|c| format!("{} {} ({})", c.category, c.created, percent(Some(c.share))))
            .collect();
        let _ = writeln!(out, "Top categories: {}.", top.join(", "));
    }
    out
}
