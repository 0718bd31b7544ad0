//! `fieldwork admin --data DIR …`: tenants, users, tokens, devices and storage quotas, straight
//! on a server's data directory (also while the server runs).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use fieldwork_core::Role;
use fieldwork_core::model::Erasure;
use fieldwork_server::admin::{Admin, NewUser};
use fieldwork_server::service::EraseRequest;
use fieldwork_server::storage::{
    ChannelKind, DeviceInfo, ErasureRecord, TenantQuotas, TenantUsage, UserRecord,
};

use crate::{output, units};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's data directory.
    #[arg(long, env = "FIELDWORK_DATA", default_value = "./fieldwork-data")]
    data: PathBuf,
    /// The server's database: `sqlite` (the file in the data directory) or the PostgreSQL
    /// address the server runs with (`fieldwork serve --database`).
    #[arg(long, env = "FIELDWORK_DATABASE", default_value = "sqlite")]
    database: String,
    /// Where the server's photo files live: `local` (the data directory) or the S3 bucket it
    /// runs with (`fieldwork serve --blobs`; the same AWS_* variables reach it). An erase removes
    /// photos there.
    #[arg(long, env = "FIELDWORK_BLOBS", default_value = "local")]
    blobs: String,
    /// Machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a tenant (an organisation; nothing crosses tenants).
    CreateTenant { name: String },
    /// Create a user and print their API token (shown once).
    CreateUser {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        role: Role,
        /// Login name, unique in the tenant.
        #[arg(long)]
        name: String,
        #[arg(long)]
        team: Option<String>,
        /// Comma-separated, e.g. `fridge,oven`.
        #[arg(long, value_delimiter = ',')]
        skills: Vec<String>,
        /// Lets the user log in from a device; without it only the API token works.
        #[arg(long, env = "FIELDWORK_PASSWORD")]
        password: Option<String>,
    },
    /// Revoke a user or device token: every later call with it is refused.
    RevokeToken { token: String },
    /// Create an intake channel (web form, email, phone or IoT alerts; docs/channels.md) and
    /// print its id, token and signing secret (shown once).
    CreateChannel {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// `web`, `email`, `phone` or `iot`.
        #[arg(long)]
        kind: ChannelKind,
        /// What to call it, e.g. "Freezer alarms" (its tickets are reported by this name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Add or replace a tenant's machines from a CSV register (serial, model, site_address, lat,
    /// lon, warranty_until, owner_name, owner_phone, owner_email; docs/channels.md, "Assets"):
    /// all rows or none.
    ImportAssets {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// List a tenant's intake channels (no secrets).
    ListChannels {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke an intake channel: its token and signatures are refused from now on.
    RevokeChannel {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        channel_id: String,
    },
    /// List a tenant's users (no passwords or tokens).
    ListUsers {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
    },
    /// List a user's devices, removed ones included.
    ListDevices {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// The user's login name.
        #[arg(long)]
        user: String,
    },
    /// Remove a device: its tokens stop working and it no longer counts against the user's
    /// device cap. It may sign in again later, as a device that counts again.
    RemoveDevice { device_id: String },
    /// Show a tenant's storage quotas and what the tenant and each user hold now.
    Quota {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
    },
    /// Move a tenant from the data directory's SQLite database to PostgreSQL: every record, in
    /// one transaction, counted again on both sides (the SQLite file is only read; photo files
    /// stay in the data directory). Stop the server first; then start it with `--database`.
    MigrateStore {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// The PostgreSQL database, postgres://user:password@host:port/database (its schema is
        /// made if it is empty).
        #[arg(long)]
        to: String,
    },
    /// Set a tenant's own quotas (replacing the `fieldwork serve` defaults); `default` returns
    /// one to the server's default. Flags left out keep their current setting.
    SetQuota {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// Photo storage for the whole tenant, e.g. 200GiB, or `default`.
        #[arg(long, value_parser = size_setting)]
        blob_bytes: Option<Setting<u64>>,
        /// Photo storage per user, e.g. 10GiB, or `default`.
        #[arg(long, value_parser = size_setting)]
        user_blob_bytes: Option<Setting<u64>>,
        /// Devices per user, e.g. 30, or `default`.
        #[arg(long, value_parser = count_setting)]
        devices_per_user: Option<Setting<u32>>,
    },
    /// Apply a tenant's configuration of the service brain (calendars, SLA policies, teams,
    /// people, classification, rules; docs/brain.md). Checked as a whole, users included:
    /// one problem and nothing is applied. Every version is kept with who applied it.
    Configure {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// The TOML file (`fieldwork config check FILE` checks it offline).
        #[arg(long)]
        file: PathBuf,
        /// Who applies it, for the history (default: the operating-system user).
        #[arg(long)]
        by: Option<String>,
    },
    /// Print the tenant's configuration in force, as applied (or an earlier version).
    Config {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        version: Option<u64>,
        /// List who applied which version and when instead.
        #[arg(long)]
        history: bool,
    },
    /// Print the secret the tenant's webhook deliveries are signed with (made if it has none);
    /// `--rotate` replaces it. Receivers check `Fieldwork-Signature` (docs/brain.md, "Webhooks").
    WebhookSecret {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        rotate: bool,
    },
    /// The tenant's webhook deliveries, newest first: state, attempts, the last answer.
    Deliveries {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Erase personal data from a ticket for good, as a person may require by law: the ticket's
    /// history is rewritten without it on the server, a photo's files are removed, and every
    /// device holding the ticket replaces its copy on its next sync. The erasure log records
    /// who, what and when, never the content. (To hide a note but keep it for audit, redact it.)
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true)))]
    Erase {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        /// The ticket's number (FW-000123) or id.
        #[arg(long)]
        ticket: String,
        /// A note's id (public or internal); repeat for several.
        #[arg(long = "note", group = "what")]
        notes: Vec<String>,
        /// A photo's sha256; repeat for several.
        #[arg(long = "photo", group = "what")]
        photos: Vec<String>,
        /// The customer's name and phone.
        #[arg(long, group = "what")]
        contact: bool,
        /// Who asks, for the log (default: the operating-system user).
        #[arg(long)]
        by: Option<String>,
        /// The request's reference, e.g. a case number (never the content).
        #[arg(long)]
        reference: Option<String>,
    },
    /// Show a tenant's erasure log, newest first: who erased what from which ticket and when.
    Erasures {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// A quota as given on the command line: a value, or back to the server's default.
#[derive(Debug, Clone, Copy)]
enum Setting<T> {
    Default,
    Value(T),
}

impl<T> Setting<T> {
    fn apply(setting: Option<Self>, current: Option<T>) -> Option<T> {
        match setting {
            None => current,
            Some(Setting::Default) => None,
            Some(Setting::Value(v)) => Some(v),
        }
    }
}

fn size_setting(text: &str) -> Result<Setting<u64>, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(Setting::Default);
    }
    units::parse_size(text).map(Setting::Value)
}

fn count_setting(text: &str) -> Result<Setting<u32>, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(Setting::Default);
    }
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Setting::Value(n)),
        _ => Err(format!(
            "{text:?} is not a count of at least 1, nor `default`"
        )),
    }
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdminError(#[from] fieldwork_server::Error);

impl AdminError {
    /// 1 for refused or bad input, 3 for a broken data directory.
    pub fn exit_code(&self) -> u8 {
        if self.0.is_refusal() { 1 } else { 3 }
    }
}

pub fn run(args: AdminArgs) -> Result<(), AdminError> {
    let json = args.json;
    if let AdminCommand::MigrateStore { tenant, to } = &args.command {
        return migrate_store(&args, tenant, to, json);
    }
    let admin = Admin::open_on(&args.data, Some(&args.database), Some(&args.blobs))?;
    match args.command {
        AdminCommand::CreateTenant { name } => {
            let tenant = admin.create_tenant(&name)?;
            if json {
                output::json(&serde_json::json!({ "tenant_id": tenant.id, "name": tenant.name }));
            } else {
                println!("tenant_id: {}", tenant.id);
            }
        }
        AdminCommand::CreateUser {
            tenant,
            role,
            name,
            team,
            skills,
            password,
        } => {
            let created = admin.create_user(&NewUser {
                tenant,
                name,
                role,
                team,
                skills,
                password,
            })?;
            if json {
                output::json(&created);
            } else {
                println!("user_id: {}", created.user_id);
                println!("token:   {}  (shown once; keep it safe)", created.token);
            }
        }
        AdminCommand::CreateChannel { tenant, kind, name } => {
            let created = admin.create_channel(&tenant, kind, name.as_deref())?;
            if json {
                output::json(&created);
            } else {
                println!("channel_id:     {}", created.channel_id);
                println!(
                    "token:          {}  (shown once; keep it safe)",
                    created.token
                );
                println!("signing_secret: {}  (shown once)", created.signing_secret);
            }
        }
        AdminCommand::ImportAssets { tenant, file } => {
            let csv = std::fs::read(&file).map_err(|e| {
                AdminError::from(fieldwork_server::Error::Invalid {
                    field: "file",
                    reason: format!("cannot read {}: {e}", file.display()),
                })
            })?;
            let imported = admin.import_assets(&tenant, &csv)?;
            if json {
                output::json(&serde_json::json!({ "imported": imported }));
            } else {
                println!("imported {imported} assets");
            }
        }
        AdminCommand::ListChannels { tenant } => {
            let channels = admin.list_channels(&tenant)?;
            if json {
                output::json(&channels);
            } else {
                for c in &channels {
                    let state = if c.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    println!("{}  {:<5}  {:<7}  {}", c.channel_id, c.kind, state, c.name);
                }
            }
        }
        AdminCommand::RevokeChannel { tenant, channel_id } => {
            admin.revoke_channel(&tenant, &channel_id)?;
            if json {
                output::json(&serde_json::json!({ "revoked": true }));
            } else {
                println!("revoked");
            }
        }
        AdminCommand::RevokeToken { token } => {
            admin.revoke_token(&token)?;
            if json {
                output::json(&serde_json::json!({ "revoked": true }));
            } else {
                println!("revoked");
            }
        }
        AdminCommand::ListUsers { tenant } => {
            let users = admin.list_users(&tenant)?;
            if json {
                output::json(&users);
            } else {
                print!("{}", table(&users));
            }
        }
        AdminCommand::ListDevices { tenant, user } => {
            let devices = admin.list_devices(&tenant, &user)?;
            if json {
                output::json(&devices);
            } else {
                print!("{}", device_table(&devices));
            }
        }
        AdminCommand::RemoveDevice { device_id } => {
            let device = admin.remove_device(&device_id)?;
            if json {
                output::json(&device);
            } else {
                println!("removed {} ({})", device.id, device.name);
            }
        }
        AdminCommand::Quota { tenant } => {
            let quotas = admin.tenant_quotas(&tenant)?;
            let usage = admin.usage(&tenant)?;
            if json {
                output::json(&serde_json::json!({ "quotas": quotas, "usage": usage }));
            } else {
                print!("{}", quota_report(&quotas, &usage));
            }
        }
        // Moved before any store opens (above).
        AdminCommand::MigrateStore { .. } => {}
        AdminCommand::SetQuota {
            tenant,
            blob_bytes,
            user_blob_bytes,
            devices_per_user,
        } => {
            let current = admin.tenant_quotas(&tenant)?;
            let quotas = TenantQuotas {
                blob_bytes: Setting::apply(blob_bytes, current.blob_bytes),
                user_blob_bytes: Setting::apply(user_blob_bytes, current.user_blob_bytes),
                devices_per_user: Setting::apply(devices_per_user, current.devices_per_user),
            };
            admin.set_tenant_quotas(&tenant, &quotas)?;
            if json {
                output::json(&quotas);
            } else {
                print!("{}", quota_lines(&quotas));
            }
        }
        AdminCommand::Configure { tenant, file, by } => {
            let toml = read_config(&file)?;
            let by = by.unwrap_or_else(operator);
            let applied = admin.configure(&tenant, &toml, &by)?;
            if json {
                output::json(&applied);
            } else if applied.changed {
                println!("applied as version {}", applied.version);
            } else {
                println!("unchanged: version {} is this file", applied.version);
            }
        }
        AdminCommand::Config {
            tenant,
            version,
            history,
        } => {
            if history {
                let versions = admin.config_history(&tenant, 1000)?;
                if json {
                    output::json(&versions);
                } else if versions.is_empty() {
                    println!("no configuration applied yet");
                } else {
                    for v in &versions {
                        println!(
                            "version {}  {}  by {}  sha256 {}",
                            v.version,
                            output::time(v.applied_at),
                            v.applied_by,
                            &v.sha256[..v.sha256.len().min(12)]
                        );
                    }
                }
            } else {
                match (admin.config(&tenant, version)?, version) {
                    (Some(config), _) if json => output::json(&config),
                    (Some(config), _) => print!("{}", config.toml),
                    (None, Some(version)) => {
                        return Err(fieldwork_server::Error::Invalid {
                            field: "version",
                            reason: format!("the tenant has no configuration version {version}"),
                        }
                        .into());
                    }
                    (None, None) if json => output::json(&serde_json::Value::Null),
                    (None, None) => eprintln!(
                        "no configuration applied yet: the brain makes no decisions for this tenant"
                    ),
                }
            }
        }
        AdminCommand::Erase {
            tenant,
            ticket,
            notes,
            photos,
            contact,
            by,
            reference,
        } => {
            let erasures = notes
                .into_iter()
                .map(|note_id| Erasure::Note { note_id })
                .chain(photos.into_iter().map(|sha256| Erasure::Photo { sha256 }))
                .chain(contact.then_some(Erasure::Contact))
                .collect();
            let by = by.unwrap_or_else(operator);
            let erased = admin.erase(
                &tenant,
                &EraseRequest {
                    ticket_id: ticket,
                    erasures,
                    by,
                    reference,
                },
            )?;
            if json {
                output::json(&erased);
            } else {
                for erasure in &erased.erased {
                    println!("erased {}", describe(erasure));
                }
                println!(
                    "ticket {} rewritten; devices holding it replace their copy on their next sync",
                    erased.number.as_deref().unwrap_or(&erased.ticket_id)
                );
                if erased.files_removed > 0 {
                    println!("photo files removed: {}", erased.files_removed);
                }
            }
        }
        AdminCommand::WebhookSecret { tenant, rotate } => {
            let secret = admin.webhook_secret(&tenant, rotate)?;
            if json {
                output::json(&serde_json::json!({ "secret": secret }));
            } else {
                println!("{secret}");
            }
        }
        AdminCommand::Deliveries { tenant, limit } => {
            let log = admin.deliveries(&tenant, limit)?;
            if json {
                output::json(&log);
            } else if log.is_empty() {
                println!("no webhook deliveries");
            } else {
                for d in &log {
                    let last = match (d.last_status, &d.last_error) {
                        (Some(status), _) => format!("HTTP {status}"),
                        (None, Some(error)) => error.clone(),
                        (None, None) => "-".to_owned(),
                    };
                    println!(
                        "#{}  {}  {:?}  {} attempt(s), last: {last}  {}  ({})",
                        d.id,
                        output::time(d.created_at),
                        d.state,
                        d.attempts,
                        d.url,
                        d.source
                    );
                }
            }
        }
        AdminCommand::Erasures { tenant, limit } => {
            let log = admin.erasure_log(&tenant, limit)?;
            if json {
                output::json(&log);
            } else {
                print!("{}", erasure_table(&log));
            }
        }
    }
    Ok(())
}

/// Who runs the admin command, for the logs of who did what: `admin:` and the system user.
fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    format!("admin:{}", user.unwrap_or_else(|_| "unknown".into()))
}

/// A tenant file, read as `fieldwork config check` reads it.
fn read_config(file: &std::path::Path) -> Result<String, AdminError> {
    crate::config::read_tenant_file(file).map_err(|reason| {
        AdminError::from(fieldwork_server::Error::Invalid {
            field: "file",
            reason: format!("cannot read {}: {reason}", file.display()),
        })
    })
}

/// An erasure as a person reads it (ids only: the content is gone).
fn describe(erasure: &Erasure) -> String {
    match erasure.target() {
        Some(target) => format!("{} {target}", erasure.kind()),
        None => erasure.kind().to_owned(),
    }
}

fn erasure_table(log: &[ErasureRecord]) -> String {
    if log.is_empty() {
        return "no erasures\n".into();
    }
    let mut out = String::new();
    for row in log {
        out.push_str(&format!(
            "{}  ticket {}  {}  by {}{}\n",
            output::time(row.at),
            row.ticket_id,
            describe(&row.erasure),
            row.by,
            row.reference
                .as_deref()
                .map(|r| format!("  ref {r}"))
                .unwrap_or_default()
        ));
    }
    out
}

fn device_table(devices: &[DeviceInfo]) -> String {
    if devices.is_empty() {
        return "no devices\n".to_owned();
    }
    let mut out = format!(
        "{:<36}  {:<20}  {:<8}  {}\n",
        "ID", "NAME", "STATE", "TOKENS"
    );
    for d in devices {
        let state = if d.removed_at.is_some() {
            "removed"
        } else {
            "counted"
        };
        out.push_str(&format!(
            "{:<36}  {:<20}  {:<8}  {}\n",
            d.id, d.name, state, d.live_tokens
        ));
    }
    out
}

fn quota_lines(q: &TenantQuotas) -> String {
    let size = |v: Option<u64>| v.map_or("server default".to_owned(), units::format_size);
    let count = |v: Option<u32>| v.map_or("server default".to_owned(), |n| n.to_string());
    format!(
        "tenant photo storage:    {}\nper-user photo storage:  {}\ndevices per user:        {}\n",
        size(q.blob_bytes),
        size(q.user_blob_bytes),
        count(q.devices_per_user)
    )
}

fn quota_report(q: &TenantQuotas, usage: &TenantUsage) -> String {
    let t = &usage.tenant;
    let mut out = quota_lines(q);
    out.push_str(&format!(
        "held by the tenant:      {} ({} stored in {} blobs, {} in {} open uploads)\n\
         named by no ticket:      {} in {} blobs (collected after the grace period)\n",
        units::format_size(t.held_bytes()),
        units::format_size(t.stored_bytes),
        t.stored_blobs,
        units::format_size(t.open_bytes),
        t.open_uploads,
        units::format_size(usage.unnamed_bytes),
        usage.unnamed_blobs,
    ));
    if !usage.users.is_empty() {
        out.push_str(&format!(
            "\n{:<20}  {:>12}  {:>12}  {:>12}\n",
            "USER", "HELD", "STORED", "OPEN"
        ));
        for u in &usage.users {
            out.push_str(&format!(
                "{:<20}  {:>12}  {:>12}  {:>12}\n",
                u.name,
                units::format_size(u.usage.held_bytes()),
                units::format_size(u.usage.stored_bytes),
                units::format_size(u.usage.open_bytes),
            ));
        }
    }
    out
}

fn table(users: &[UserRecord]) -> String {
    if users.is_empty() {
        return "no users\n".to_owned();
    }
    let mut out = format!(
        "{:<36}  {:<20}  {:<10}  {:<12}  {}\n",
        "ID", "NAME", "ROLE", "TEAM", "SKILLS"
    );
    for u in users {
        out.push_str(&format!(
            "{:<36}  {:<20}  {:<10}  {:<12}  {}\n",
            u.id,
            u.name,
            u.role.as_str(),
            u.team.as_deref().unwrap_or("-"),
            u.skills.join(",")
        ));
    }
    out
}

/// `admin migrate-store`: the tenant's records from the data directory's SQLite file to
/// PostgreSQL.
fn migrate_store(args: &AdminArgs, tenant: &str, to: &str, json: bool) -> Result<(), AdminError> {
    if args.database != "sqlite" {
        return Err(AdminError(fieldwork_server::Error::Invalid {
            field: "database",
            reason: "migrate-store reads the SQLite database of --data; leave --database out"
                .to_owned(),
        }));
    }
    let file = args.data.join(fieldwork_server::config::DATABASE_FILE);
    if !file.exists() {
        return Err(AdminError(fieldwork_server::Error::Invalid {
            field: "data",
            reason: format!("{} holds no Fieldwork database", args.data.display()),
        }));
    }
    let moved = fieldwork_server::storage::move_tenant(&file, to, tenant)
        .map_err(|e| AdminError(e.into()))?;
    if json {
        let tables: serde_json::Map<String, serde_json::Value> = moved
            .tables
            .iter()
            .map(|(table, rows)| (table.clone(), (*rows).into()))
            .collect();
        output::json(&serde_json::json!({
            "tenant_id": moved.tenant_id,
            "rows": moved.rows(),
            "tables": tables,
        }));
    } else {
        for (table, rows) in moved.tables.iter().filter(|(_, rows)| *rows > 0) {
            println!("{table:<20} {rows:>9}");
        }
        println!("moved tenant {} ({} rows)", moved.tenant_id, moved.rows());
    }
    Ok(())
}
