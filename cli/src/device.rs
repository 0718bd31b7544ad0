//! `fieldwork device --home DIR …`: a whole device on a desktop, over the core's store.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use fieldwork_core::bundle::{Bundle, BundleError};
use fieldwork_core::location::LocationFix;
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::store::{ListQuery, SortBy, StoreError, TicketStore};
use fieldwork_core::sync::{self, RetryPolicy, SyncEngine, SyncError};
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Actor, ErrorKind, Priority, Role, Status, TicketKind};

use crate::output;

/// The store's file inside a device home.
const STORE_FILE: &str = "fieldwork.db";
/// Bundles larger than this are refused before being read into memory.
const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Args)]
// `help` is our one-button command, so clap's own `help` subcommand steps aside (`--help` stays).
#[command(disable_help_subcommand = true)]
pub struct DeviceArgs {
    /// The device's home directory (its local store lives here).
    #[arg(long, env = "FIELDWORK_HOME")]
    home: PathBuf,
    /// Machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DeviceCommand,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Bind this home to a user for offline use.
    Init {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user_id: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// The one button: ask for help, with position and order if known.
    Help {
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        #[arg(long, requires = "lat")]
        accuracy: Option<f64>,
        #[arg(long)]
        order: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Create a ticket.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        category: Option<String>,
        #[arg(long, default_value = "normal")]
        priority: Priority,
        #[arg(long, default_value = "")]
        description: String,
        /// Defaults by role: help_request (rider), fault_report (merchant), repair (others).
        #[arg(long)]
        kind: Option<TicketKind>,
        #[arg(long)]
        order: Option<String>,
    },
    /// Change fields of a ticket; all changes apply together or not at all.
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        priority: Option<Priority>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, conflicts_with = "unassign")]
        assignee: Option<String>,
        /// Release the ticket back to the queue.
        #[arg(long)]
        unassign: bool,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        status: Option<Status>,
        #[arg(long, allow_hyphen_values = true, requires = "site_lon")]
        site_lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true, requires = "site_lat")]
        site_lon: Option<f64>,
    },
    /// Add a note.
    Note {
        id: String,
        text: String,
        /// Visible to staff only.
        #[arg(long)]
        internal: bool,
    },
    /// Redact a note (it stays in the history for audit).
    Redact { id: String, note_id: String },
    /// Record a part used.
    Part {
        id: String,
        sku: String,
        #[arg(default_value_t = 1)]
        qty: i64,
    },
    /// Tick (or untick) a checklist item.
    Check {
        id: String,
        item: String,
        #[arg(long)]
        undo: bool,
    },
    /// Add or remove a tag.
    Tag {
        id: String,
        tag: String,
        #[arg(long)]
        remove: bool,
    },
    /// Rate the service (1 to 5) once the ticket is resolved.
    Rate {
        id: String,
        score: i64,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Show one ticket in full.
    Show { id: String },
    /// List tickets.
    List {
        #[arg(long)]
        status: Option<Status>,
        #[arg(long)]
        priority: Option<Priority>,
        /// A user id, or "none" for unassigned tickets.
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Text to find in titles.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, value_enum, default_value = "updated")]
        sort: SortArg,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Write a bundle of changes: one ticket, or every ticket changed since a point.
    Export {
        id: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// The `until_seq` of an earlier export: only tickets changed after it.
        #[arg(long)]
        since: Option<i64>,
    },
    /// Merge a bundle written by another device.
    Import { file: PathBuf },
    /// Log this device in to a server (binds the home to the server's user on first login).
    Login {
        #[arg(long)]
        server: String,
        /// A user API token made by an admin.
        #[arg(long, conflicts_with_all = ["user", "password"], required_unless_present = "user")]
        token: Option<String>,
        #[arg(long, requires = "password")]
        user: Option<String>,
        #[arg(long, requires = "user")]
        password: Option<String>,
        /// The tenant id, when the same user name exists in several tenants.
        #[arg(long, default_value = "")]
        tenant: String,
        #[arg(long, default_value = "fieldwork CLI")]
        device_name: String,
    },
    /// Push local changes and pull news until caught up (exit 0 only then).
    Sync {
        /// Attempts before giving up when the server cannot be reached.
        #[arg(long, default_value_t = 6)]
        attempts: u32,
    },
    /// Sync status: pending changes and photo uploads, last success, last error.
    Status,
    /// Attach a photo or screenshot (JPEG, PNG or WebP): stored upright, without metadata,
    /// downscaled, with a thumbnail; sent by the next sync.
    Attach {
        id: String,
        file: PathBuf,
        /// Where the device is (used when the photo carries no GPS of its own).
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        #[arg(long, requires = "lat")]
        accuracy: Option<f64>,
        /// Long edge of the stored image in pixels.
        #[arg(long, default_value_t = 1920)]
        max_edge: u32,
    },
    /// Write a photo file (by sha256) to FILE, fetching it from the server if not on the device.
    FetchBlob {
        sha256: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A position fix: records arrival at assigned sites and queues the technician's position.
    Locate {
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long)]
        accuracy: Option<f64>,
    },
    /// Changes the server refused, kept for you to see.
    Quarantine,
    /// Log out: the server forgets this device's token; tickets stay here.
    Logout,
    /// Who this device is and what waits to be sent.
    Whoami,
    /// Rewrite every document as one compact snapshot, and remove photo files of tickets that
    /// left this device (never one still waiting to upload).
    Compact,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Updated,
    Sla,
    Priority,
}

/// Everything that can go wrong in a device command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("no device at {0}; run `fieldwork device --home DIR init …` first")]
    NoDevice(PathBuf),
    #[error("cannot {action} {path}: {source}")]
    File {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the file is {0} bytes; bundles over {MAX_BUNDLE_BYTES} bytes are refused")]
    TooLarge(u64),
    #[error("nothing to change: give at least one of the update options")]
    NothingToDo,
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl CliError {
    /// What kind of failure this is ([`ErrorKind`], shared with the FFI).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CliError::Store(e) => e.kind(),
            CliError::Sync(e) => e.kind(),
            CliError::Bundle(_) | CliError::TooLarge(_) | CliError::NothingToDo => {
                ErrorKind::BadInput
            }
            CliError::NoDevice(_) => ErrorKind::NotSignedIn,
            CliError::File { .. } => ErrorKind::Storage,
        }
    }

    /// The README's exit codes: 3 for a broken store or file system, 4 when the server cannot be
    /// reached or asks to wait (changes stay queued), 1 for everything else — refusals, bad
    /// input, a missing login, a server that says no.
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            ErrorKind::Storage => 3,
            ErrorKind::Unreachable | ErrorKind::ServerBusy => 4,
            ErrorKind::Refused
            | ErrorKind::BadInput
            | ErrorKind::BadPhoto
            | ErrorKind::NotFound
            | ErrorKind::NotSignedIn
            | ErrorKind::ServerRefused
            | ErrorKind::Internal => 1,
        }
    }
}

type Result<T> = std::result::Result<T, CliError>;

fn file_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CliError + 'a {
    move |source| CliError::File {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Opens the store of an existing device home.
fn open_existing(home: &Path) -> Result<TicketStore> {
    let path = home.join(STORE_FILE);
    if !path.is_file() {
        return Err(CliError::NoDevice(home.to_owned()));
    }
    Ok(TicketStore::open(&path)?)
}

pub fn run(args: DeviceArgs) -> Result<()> {
    let json = args.json;
    if let DeviceCommand::Login {
        server,
        token,
        user,
        password,
        tenant,
        device_name,
    } = args.command
    {
        fs::create_dir_all(&args.home).map_err(file_error("create", &args.home))?;
        let store = TicketStore::open(&args.home.join(STORE_FILE))?;
        let user = match (token, user, password) {
            (Some(token), _, _) => sync::block_on(sync::engine::login_with_token(
                &store,
                &server,
                &token,
                &device_name,
            ))?,
            (None, Some(user), Some(password)) => {
                sync::block_on(sync::engine::login_with_password(
                    &store,
                    &server,
                    &tenant,
                    &user,
                    &password,
                    &device_name,
                ))?
            }
            _ => return Err(CliError::NothingToDo),
        }?;
        if json {
            output::json(&user);
        } else {
            println!(
                "logged in to {server} as {} ({}) in tenant {}",
                user.user_id, user.role, user.tenant_id
            );
        }
        return Ok(());
    }
    if let DeviceCommand::Init {
        tenant,
        user_id,
        role,
        name,
        team,
    } = args.command
    {
        fs::create_dir_all(&args.home).map_err(file_error("create", &args.home))?;
        let store = TicketStore::open(&args.home.join(STORE_FILE))?;
        let identity = store.init(Actor {
            tenant,
            user_id,
            role,
            name,
            team,
        })?;
        if json {
            output::json(&identity);
        } else {
            println!(
                "device {} ready for {} ({}) in tenant {}",
                identity.device_id,
                identity.actor.user_id,
                identity.actor.role,
                identity.actor.tenant
            );
        }
        return Ok(());
    }
    let store = open_existing(&args.home)?;
    let show = |ticket: &fieldwork_core::Ticket| -> Result<()> {
        let unverified = store.unverified_changes(&ticket.id)?;
        if json {
            output::json(&output::ShownTicket {
                ticket,
                unverified_changes: unverified,
            })
        } else {
            let names = store.people(ticket.people())?;
            print!("{}", output::ticket(ticket, unverified, &names))
        }
        Ok(())
    };
    match args.command {
        DeviceCommand::Init { .. } | DeviceCommand::Login { .. } => unreachable!("handled above"),
        DeviceCommand::Sync { attempts } => {
            let engine = SyncEngine::new(std::sync::Arc::new(store))?;
            let policy = RetryPolicy {
                max_attempts: attempts.max(1),
                ..RetryPolicy::default()
            };
            let report = sync::block_on(engine.sync(policy))??;
            if json {
                output::json(&report);
            } else {
                println!(
                    "synced in {} round(s): {} pushed, {} pulled, {} refused, {} pending; \
                     files: {} uploaded, {} downloaded, {} failed (retried later){}",
                    report.rounds,
                    report.pushed,
                    report.pulled,
                    report.rejected,
                    report.pending,
                    report.blobs.uploaded,
                    report.blobs.downloaded,
                    report.blobs.failed,
                    if report.position_reported {
                        "; position reported"
                    } else {
                        ""
                    }
                );
            }
            if report.pending > 0 {
                return Err(CliError::Sync(SyncError::Protocol(format!(
                    "{} change(s) still pending after sync",
                    report.pending
                ))));
            }
        }
        DeviceCommand::Status => {
            let status = match store.session()? {
                Some(_) => Some(SyncEngine::new(std::sync::Arc::new(store))?.status()?),
                None => None,
            };
            match (&status, json) {
                (Some(s), true) => output::json(s),
                (Some(s), false) => print!("{}", output::sync_status(s)),
                (None, true) => output::json(&serde_json::json!({ "state": "not_logged_in" })),
                (None, false) => println!("not logged in to a server (offline use only)"),
            }
        }
        DeviceCommand::Attach {
            id,
            file,
            lat,
            lon,
            accuracy,
            max_edge,
        } => {
            let options = PhotoOptions {
                max_edge,
                ..PhotoOptions::default()
            };
            let id = store.resolve_id(&id)?;
            show(&store.attach_photo_file(&id, &file, fix_of(lat, lon, accuracy), &options)?)?;
        }
        DeviceCommand::FetchBlob { sha256, out } => {
            let bytes = match store.blob(&sha256)? {
                Some(bytes) => bytes,
                None if store.session()?.is_some() => {
                    let engine = SyncEngine::new(std::sync::Arc::new(store))?;
                    sync::block_on(engine.fetch_blob(&sha256))??
                }
                None => return Err(CliError::Sync(SyncError::NotLoggedIn)),
            };
            write_atomically(&out, &bytes)?;
            let summary =
                serde_json::json!({ "file": out, "sha256": sha256, "bytes": bytes.len() });
            if json {
                output::json(&summary)
            } else {
                println!("wrote {} bytes to {}", bytes.len(), out.display())
            }
        }
        DeviceCommand::Locate { lat, lon, accuracy } => {
            let report = store.locate(LocationFix {
                lat,
                lon,
                accuracy_m: accuracy,
                at: None,
            })?;
            if json {
                output::json(&report)
            } else {
                println!(
                    "arrived on site at {} ticket(s){}",
                    report.arrivals.len(),
                    if report.position_queued {
                        "; position queued for the server"
                    } else {
                        ""
                    }
                )
            }
        }
        DeviceCommand::Quarantine => {
            let list = store.quarantine()?;
            if json {
                output::json(&list);
            } else if list.is_empty() {
                println!("no refused changes");
            } else {
                for q in &list {
                    println!(
                        "{}  ticket {}  {}: {}",
                        output::time(q.rejected_at),
                        q.ticket_id,
                        q.code,
                        q.message
                    );
                }
            }
        }
        DeviceCommand::Logout => {
            sync::block_on(sync::engine::logout(&store))??;
            if json {
                output::json(&serde_json::json!({ "logged_out": true }))
            } else {
                println!("logged out")
            }
        }
        DeviceCommand::Help {
            lat,
            lon,
            accuracy,
            order,
            note,
        } => {
            show(&store.help_request(order, fix_of(lat, lon, accuracy), note)?)?;
        }
        DeviceCommand::Create {
            title,
            category,
            priority,
            description,
            kind,
            order,
        } => {
            let role = store.identity()?.actor.role;
            let new = NewTicket {
                category,
                priority,
                description,
                order_ref: order,
                ..NewTicket::titled(kind.unwrap_or(role.default_kind()), title)
            };
            show(&store.create(new)?)?;
        }
        DeviceCommand::Update {
            id,
            title,
            priority,
            category,
            description,
            assignee,
            unassign,
            team,
            status,
            site_lat,
            site_lon,
        } => {
            let mut edits = Vec::new();
            edits.extend(title.map(|title| Edit::SetTitle { title }));
            edits.extend(priority.map(|priority| Edit::SetPriority { priority }));
            edits.extend(category.map(|c| Edit::SetCategory { category: Some(c) }));
            edits.extend(description.map(|description| Edit::SetDescription { description }));
            edits.extend(team.map(|t| Edit::SetTeam { team: Some(t) }));
            if let (Some(lat), Some(lon)) = (site_lat, site_lon) {
                let site = fieldwork_core::ticket::Site {
                    lat,
                    lon,
                    accuracy_m: None,
                    address: None,
                };
                edits.push(Edit::SetSite { site });
            }
            // Assignment first: it moves the status to `assigned`, from where --status goes on.
            edits.extend(assignee.map(|a| Edit::Assign { assignee: Some(a) }));
            if unassign {
                edits.push(Edit::Assign { assignee: None });
            }
            edits.extend(status.map(|status| Edit::SetStatus { status }));
            if edits.is_empty() {
                return Err(CliError::NothingToDo);
            }
            show(&store.edit(&store.resolve_id(&id)?, &edits)?)?;
        }
        DeviceCommand::Note { id, text, internal } => {
            show(&store.edit(&store.resolve_id(&id)?, &[Edit::AddNote { text, internal }])?)?;
        }
        DeviceCommand::Redact { id, note_id } => {
            show(&store.edit(&store.resolve_id(&id)?, &[Edit::RedactNote { note_id }])?)?;
        }
        DeviceCommand::Part { id, sku, qty } => {
            show(&store.edit(&store.resolve_id(&id)?, &[Edit::AddPart { sku, qty }])?)?;
        }
        DeviceCommand::Check { id, item, undo } => {
            show(&store.edit(
                &store.resolve_id(&id)?,
                &[Edit::TickChecklist { item, done: !undo }],
            )?)?;
        }
        DeviceCommand::Tag { id, tag, remove } => {
            let edit = if remove {
                Edit::RemoveTag { tag }
            } else {
                Edit::AddTag { tag }
            };
            show(&store.edit(&store.resolve_id(&id)?, &[edit])?)?;
        }
        DeviceCommand::Rate { id, score, comment } => {
            show(&store.edit(&store.resolve_id(&id)?, &[Edit::Rate { score, comment }])?)?;
        }
        DeviceCommand::Show { id } => show(&store.ticket(&store.resolve_id(&id)?)?)?,
        DeviceCommand::List {
            status,
            priority,
            assignee,
            category,
            search,
            sort,
            limit,
            offset,
        } => {
            let query = ListQuery {
                status,
                priority,
                assignee: assignee.map(|a| if a == "none" { String::new() } else { a }),
                category,
                text: search,
                sort: match sort {
                    SortArg::Updated => SortBy::Updated,
                    SortArg::Sla => SortBy::SlaDue,
                    SortArg::Priority => SortBy::Priority,
                },
                limit,
                offset,
            };
            let rows = store.list(&query)?;
            if json {
                output::json(&rows)
            } else {
                let names = store.people(rows.iter().filter_map(|r| r.assignee.as_deref()))?;
                print!("{}", output::summaries(&rows, &names))
            }
        }
        DeviceCommand::Export { id, out, since } => {
            let id = id.map(|id| store.resolve_id(&id)).transpose()?;
            let bundle = store.export(id.as_deref(), since)?;
            write_atomically(&out, &bundle.encode())?;
            let summary = serde_json::json!({
                "file": out,
                "tickets": bundle.tickets.len(),
                "changes": bundle.change_count(),
                "until_seq": bundle.until_seq,
            });
            if json {
                output::json(&summary);
            } else {
                println!(
                    "wrote {} ticket(s), {} change(s) to {}; next time use --since {}",
                    bundle.tickets.len(),
                    bundle.change_count(),
                    out.display(),
                    bundle.until_seq
                );
            }
        }
        DeviceCommand::Import { file } => {
            let size = fs::metadata(&file)
                .map_err(file_error("read", &file))?
                .len();
            if size > MAX_BUNDLE_BYTES {
                return Err(CliError::TooLarge(size));
            }
            let bytes = fs::read(&file).map_err(file_error("read", &file))?;
            let report = store.import(&Bundle::decode(&bytes)?)?;
            if json {
                output::json(&report);
            } else {
                println!(
                    "imported {} new and {} updated ticket(s): {} new change(s), {} already known",
                    report.tickets_new,
                    report.tickets_updated,
                    report.changes_applied,
                    report.changes_known
                );
                if report.changes_applied > 0 {
                    println!(
                        "the new changes show as unverified until the server confirms them (sync)"
                    );
                }
            }
        }
        DeviceCommand::Whoami => {
            let identity = store.identity()?;
            let summary = serde_json::json!({
                "identity": identity,
                "tickets": store.ticket_count()?,
                "pending_changes": store.outbox_len()?,
            });
            if json {
                output::json(&summary);
            } else {
                println!(
                    "{} ({}) in tenant {}; {} ticket(s), {} change(s) waiting to sync",
                    identity.actor.user_id,
                    identity.actor.role,
                    identity.actor.tenant,
                    store.ticket_count()?,
                    store.outbox_len()?
                );
            }
        }
        DeviceCommand::Compact => {
            let n = store.compact()?;
            let files = store.collect_garbage()?;
            if json {
                output::json(&serde_json::json!({ "compacted": n, "files_removed": files }))
            } else {
                println!("compacted {n} document(s); removed {files} photo file(s) no ticket names")
            }
        }
    }
    Ok(())
}

fn fix_of(lat: Option<f64>, lon: Option<f64>, accuracy: Option<f64>) -> Option<LocationFix> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => Some(LocationFix {
            lat,
            lon,
            accuracy_m: accuracy,
            at: None,
        }),
        _ => None,
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a bundle.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    fs::write(&tmp, bytes).map_err(file_error("write", &tmp))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(file_error("write", &tmp))?;
    fs::rename(&tmp, path).map_err(file_error("write", path))
}
