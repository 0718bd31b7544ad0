//! `fieldwork config …`: a tenant configuration file, offline — `check` it, and preview the
//! due times (`sla-preview`) and the assignment (`route-preview`) a ticket would get. Dry runs:
//! nothing is stored; the answers come from `fieldwork-brain`, the same code the server runs.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use fieldwork_brain::calendar::Pauses;
use fieldwork_brain::config::limits::MAX_FILE_BYTES;
use fieldwork_brain::routing::{self, GeoPoint, Position, RouteRequest};
use fieldwork_brain::sla::{self, PolicyQuery};
use fieldwork_brain::{ConfigError, RoutingState, TenantConfig, instant};
use fieldwork_core::model::{Channel, Priority, TicketKind};
use serde_json::{Map, Value, json};

use crate::output;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check a tenant file: exit 1 with every problem (line and key) when it is not valid.
    Check {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The due times a ticket would get (a dry run).
    SlaPreview {
        file: PathBuf,
        /// When the ticket was created (RFC 3339).
        #[arg(long)]
        created: String,
        #[arg(long)]
        priority: Priority,
        #[arg(long)]
        category: Option<String>,
        #[arg(long, default_value = "app")]
        channel: Channel,
        #[arg(long, default_value = "repair")]
        kind: TicketKind,
        /// A pause, FROM/TO in RFC 3339 (repeatable): time waiting for parts or the customer.
        #[arg(long = "pause")]
        pauses: Vec<String>,
        /// When the first response came (RFC 3339): adds the business minutes it took.
        #[arg(long)]
        first_response: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Who a ticket at a place would be assigned to, and everyone considered (a dry run).
    RoutePreview {
        file: PathBuf,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long)]
        category: Option<String>,
        #[arg(long, default_value = "repair")]
        kind: TicketKind,
        /// A skill the ticket needs (repeatable).
        #[arg(long = "skill")]
        skills: Vec<String>,
        /// A last known position, USER=LAT,LON (repeatable).
        #[arg(long = "position")]
        positions: Vec<String>,
        /// Open tickets someone has now, USER=N (repeatable).
        #[arg(long = "open")]
        open: Vec<String>,
        /// The instant to route at (RFC 3339), for shifts; now if absent.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Why a `config` command failed: always the input's fault (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ConfigCliError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {source}")]
    Invalid { path: String, source: ConfigError },
    #[error("{0}")]
    Argument(String),
}

impl ConfigCliError {
    pub fn exit_code(&self) -> u8 {
        1
    }
}

pub fn run(args: ConfigArgs) -> Result<(), ConfigCliError> {
    match args.command {
        ConfigCommand::Check { file, json } => {
            let config = load(&file)?;
            if json {
                output::json(&json!({
                    "valid": true,
                    "calendars": config.calendar_names().count(),
                    "sla_policies": config.policies().len(),
                    "teams": config.teams().len(),
                    "technicians": config.technicians().len(),
                    "classify": config.classify_rules().len(),
                    "rules": config.rules().len(),
                }));
            } else {
                let counts = [
                    (config.calendar_names().count(), "calendar", "calendars"),
                    (config.policies().len(), "SLA policy", "SLA policies"),
                    (config.teams().len(), "team", "teams"),
                    (config.technicians().len(), "person", "people"),
                    (
                        config.classify_rules().len(),
                        "classification rule",
                        "classification rules",
                    ),
                    (config.rules().len(), "automation rule", "automation rules"),
                ]
                .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }));
                println!("{}: valid ({})", file.display(), counts.join(", "));
            }
            Ok(())
        }
        ConfigCommand::SlaPreview {
            file,
            created,
            priority,
            category,
            channel,
            kind,
            pauses,
            first_response,
            json,
        } => {
            let config = load(&file)?;
            let created = instant(&created, "--created")?;
            let pauses = pauses
                .iter()
                .map(|p| pause(p))
                .collect::<Result<Vec<_>, _>>()?;
            let first_response = first_response
                .map(|f| instant(&f, "--first-response"))
                .transpose()?;
            if first_response.is_some_and(|f| f < created) {
                return Err(ConfigCliError::Argument(
                    "--first-response is before --created".to_owned(),
                ));
            }
            let query = PolicyQuery {
                priority,
                category: category.as_deref(),
                channel,
                kind,
            };
            let preview = sla::preview(
                &config,
                query,
                created,
                &Pauses::new(pauses),
                first_response,
            );
            let mut out = Map::new();
            let due =
                |ms: Option<i64>| ms.map_or(Value::Null, |ms| Value::from(instant::format(ms)));
            out.insert(
                "policy".into(),
                json!(preview.as_ref().map(|p| p.policy.clone())),
            );
            out.insert(
                "first_response_due".into(),
                due(preview.as_ref().and_then(|p| p.first_response_due)),
            );
            out.insert(
                "resolution_due".into(),
                due(preview.as_ref().and_then(|p| p.resolution_due)),
            );
            if first_response.is_some() {
                out.insert(
                    "first_response_in_min".into(),
                    json!(preview.as_ref().and_then(|p| p.first_response_in_min)),
                );
                out.insert(
                    "first_response_diff_min".into(),
                    json!(preview.as_ref().and_then(|p| p.first_response_diff_min)),
                );
            }
            if json {
                output::json(&out);
            } else {
                for (key, value) in &out {
                    let shown = match value {
                        Value::Null => "-".to_owned(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("{key}: {shown}");
                }
            }
            Ok(())
        }
        ConfigCommand::RoutePreview {
            file,
            lat,
            lon,
            category,
            kind,
            skills,
            positions,
            open,
            at,
            json,
        } => {
            let config = load(&file)?;
            let now = match at {
                Some(at) => instant(&at, "--at")?,
                None => now_ms(),
            };
            let site = GeoPoint { lat, lon };
            if !(lat.is_finite()
                && lon.is_finite()
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon))
            {
                return Err(ConfigCliError::Argument(
                    "--lat must be in -90..90 and --lon in -180..180 (degrees)".to_owned(),
                ));
            }
            let people: BTreeSet<&str> = config
                .technicians()
                .iter()
                .map(|t| t.user.as_str())
                .collect();
            let mut state = RoutingState::default();
            for text in &positions {
                let (user, (lat, lon)) =
                    assignment(text, "--position", "USER=LAT,LON", &people, |v| {
                        let (lat, lon) = v.split_once(',')?;
                        let (lat, lon) = (
                            lat.trim().parse::<f64>().ok()?,
                            lon.trim().parse::<f64>().ok()?,
                        );
                        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
                            .then_some((lat, lon))
                    })?;
                state.positions.insert(user, Position { lat, lon, at: now });
            }
            for text in &open {
                let (user, n) = assignment(text, "--open", "USER=N", &people, |v| {
                    v.trim().parse::<u32>().ok()
                })?;
                state.open_tickets.insert(user, n);
            }
            let request = RouteRequest {
                category: category.as_deref(),
                kind: Some(kind),
                site: Some(site),
                skills,
                ..RouteRequest::default()
            };
            let outcome = routing::route(&config, &request, &state, now);
            let candidates: Vec<Value> = outcome
                .candidates
                .iter()
                .map(|c| {
                    json!({
                        "user": c.user,
                        "distance_m": c.distance_m.map(|d| d.round() as i64),
                        "eligible": c.eligible,
                        "reason": c.reason(),
                    })
                })
                .collect();
            if json {
                output::json(&json!({ "chosen": outcome.chosen, "candidates": candidates }));
            } else {
                match &outcome.chosen {
                    Some(user) => println!("chosen: {user} ({})", outcome.reason),
                    None => println!("chosen: nobody — {}", outcome.reason),
                }
                for c in &outcome.candidates {
                    let distance = c
                        .distance_m
                        .map_or("-".to_owned(), |d| format!("{:.0} m", d));
                    println!("  {:<20} {:>10}  {}", c.user, distance, c.reason());
                }
            }
            Ok(())
        }
    }
}

/// A tenant file's text, read within [`MAX_FILE_BYTES`] (also for `fieldwork admin configure`);
/// the error says why it could not be read.
pub fn read_tenant_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {MAX_FILE_BYTES} bytes; a tenant file is at most that"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// Reads and checks a tenant file (at most [`MAX_FILE_BYTES`]).
fn load(path: &Path) -> Result<TenantConfig, ConfigCliError> {
    let shown = path.display().to_string();
    let text = read_tenant_file(path).map_err(|reason| ConfigCliError::Read {
        path: shown.clone(),
        reason,
    })?;
    TenantConfig::from_toml(&text).map_err(|source| ConfigCliError::Invalid {
        path: shown.clone(),
        source,
    })
}

fn instant(text: &str, flag: &str) -> Result<i64, ConfigCliError> {
    instant::parse(text).map_err(|e| ConfigCliError::Argument(format!("{flag}: {e}")))
}

fn pause(text: &str) -> Result<(i64, i64), ConfigCliError> {
    let (from, to) = text.split_once('/').ok_or_else(|| {
        ConfigCliError::Argument(format!(
            "--pause takes FROM/TO, two RFC 3339 instants, not '{}'",
            text.chars().take(60).collect::<String>()
        ))
    })?;
    let (from, to) = (instant(from, "--pause")?, instant(to, "--pause")?);
    if to <= from {
        return Err(ConfigCliError::Argument(
            "--pause must end after it starts".to_owned(),
        ));
    }
    Ok((from, to))
}

/// `USER=VALUE` for a person the file lists.
fn assignment<T>(
    text: &str,
    flag: &str,
    shape: &str,
    people: &BTreeSet<&str>,
    value: impl Fn(&str) -> Option<T>,
) -> Result<(String, T), ConfigCliError> {
    let bad = || {
        ConfigCliError::Argument(format!(
            "{flag} takes {shape}, not '{}'",
            text.chars().take(60).collect::<String>()
        ))
    };
    let (user, rest) = text.split_once('=').ok_or_else(bad)?;
    let user = user.trim();
    if !people.contains(user) {
        return Err(ConfigCliError::Argument(format!(
            "{flag}: '{user}' is not in the file's [[technicians]]"
        )));
    }
    Ok((user.to_owned(), value(rest).ok_or_else(bad)?))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
