//! `fieldwork device --home DIR …`: a whole device on a desktop, over the core's store. This
//! file holds the command line and the dispatch; each command is one function, by theme:
//! `home` (init, whoami, compact), `tickets` (the ticket commands), `evidence` (photos, files,
//! position fixes), `knowledge` (the knowledge base, offline), `exchange` (bundles) and `sync` (the server: login, sync, status, …).

mod evidence;
mod exchange;
mod home;
mod knowledge;
mod sync;
mod tickets;

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use fieldwork_core::bundle::BundleError;
use fieldwork_core::store::{StoreError, TicketStore};
use fieldwork_core::sync::SyncError;
use fieldwork_core::{ErrorKind, Priority, Role, Status, Ticket, TicketKind};

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
    Init(InitArgs),
    /// The one button: ask for help, with position and order if known.
    Help(HelpArgs),
    /// Create a ticket.
    Create(CreateArgs),
    /// Change fields of a ticket; all changes apply together or not at all.
    Update(UpdateArgs),
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
    List(ListArgs),
    /// Write a bundle of changes: one ticket, or every ticket changed since a point.
    Export(ExportArgs),
    /// Merge a bundle written by another device.
    Import { file: PathBuf },
    /// Log this device in to a server (binds the home to the server's user on first login).
    Login(LoginArgs),
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
    Attach(AttachArgs),
    /// Write a photo file (by sha256) to FILE, fetching it from the server if not on the device.
    FetchBlob {
        sha256: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A position fix: records arrival at assigned sites and queues the technician's position.
    Locate(LocateArgs),
    /// Changes the server refused, kept for you to see.
    Quarantine,
    /// Log out: the server forgets this device's token; tickets stay here.
    Logout,
    /// Who this device is and what waits to be sent.
    Whoami,
    /// The knowledge base this device holds (synced, read offline).
    #[command(subcommand)]
    Kb(KbCommand),
    /// Rewrite every document as one compact snapshot, and remove photo files of tickets that
    /// left this device (never one still waiting to upload).
    Compact,
}

#[derive(Debug, Subcommand)]
enum KbCommand {
    /// Articles matching every word (Chinese or English), best first.
    Search {
        text: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// One article in full.
    Show { id: String },
    /// Write a picture an article shows (by its sha256, from `kb show`) to FILE, offline.
    Picture {
        sha256: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Articles worth reading for a ticket (its category and keywords).
    Suggest {
        ticket: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

#[derive(Debug, Args)]
struct InitArgs {
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
}

#[derive(Debug, Args)]
struct HelpArgs {
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
}

#[derive(Debug, Args)]
struct CreateArgs {
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
}

#[derive(Debug, Args)]
struct UpdateArgs {
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
}

#[derive(Debug, Args)]
struct ListArgs {
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Updated,
    Sla,
    Priority,
}

#[derive(Debug, Args)]
struct ExportArgs {
    id: Option<String>,
    #[arg(long)]
    out: PathBuf,
    /// The `until_seq` of an earlier export: only tickets changed after it.
    #[arg(long)]
    since: Option<i64>,
    /// Include staff data (internal notes, tags) for another staff device; staff only. Without
    /// it a bundle carries what the ticket's reporter may read, nothing more.
    #[arg(long)]
    staff: bool,
}

#[derive(Debug, Args)]
struct LoginArgs {
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
}

#[derive(Debug, Args)]
struct AttachArgs {
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
}

#[derive(Debug, Args)]
struct LocateArgs {
    #[arg(long, allow_hyphen_values = true)]
    lat: f64,
    #[arg(long, allow_hyphen_values = true)]
    lon: f64,
    #[arg(long)]
    accuracy: Option<f64>,
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
    #[error(
        "no such article on this device (it may be unpublished, or not for you); sync and search again"
    )]
    UnknownArticle,
    #[error(
        "that picture is not on this device (no article here shows it, or the next sync fetches it)"
    )]
    UnknownPicture,
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
            CliError::UnknownArticle | CliError::UnknownPicture => ErrorKind::NotFound,
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

/// Runs one device command. `init` and `login` make the home; every other command needs one.
pub fn run(args: DeviceArgs) -> Result<()> {
    let DeviceArgs {
        home: home_dir,
        json,
        command,
    } = args;
    let store = || open_existing(&home_dir);
    match command {
        DeviceCommand::Init(init) => home::init(&home_dir, json, init),
        DeviceCommand::Login(login) => sync::login(&home_dir, json, login),
        DeviceCommand::Sync { attempts } => sync::sync(store()?, json, attempts),
        DeviceCommand::Status => sync::status(store()?, json),
        DeviceCommand::Quarantine => sync::quarantine(&store()?, json),
        DeviceCommand::Logout => sync::logout(&store()?, json),
        DeviceCommand::Whoami => home::whoami(&store()?, json),
        DeviceCommand::Kb(kb) => knowledge::run(&store()?, json, kb),
        DeviceCommand::Compact => home::compact(&store()?, json),
        DeviceCommand::Help(help) => tickets::help(&store()?, json, help),
        DeviceCommand::Create(create) => tickets::create(&store()?, json, create),
        DeviceCommand::Update(update) => tickets::update(&store()?, json, update),
        DeviceCommand::Note { id, text, internal } => {
            tickets::note(&store()?, json, &id, text, internal)
        }
        DeviceCommand::Redact { id, note_id } => tickets::redact(&store()?, json, &id, note_id),
        DeviceCommand::Part { id, sku, qty } => tickets::part(&store()?, json, &id, sku, qty),
        DeviceCommand::Check { id, item, undo } => tickets::check(&store()?, json, &id, item, undo),
        DeviceCommand::Tag { id, tag, remove } => tickets::tag(&store()?, json, &id, tag, remove),
        DeviceCommand::Rate { id, score, comment } => {
            tickets::rate(&store()?, json, &id, score, comment)
        }
        DeviceCommand::Show { id } => tickets::show(&store()?, json, &id),
        DeviceCommand::List(list) => tickets::list(&store()?, json, list),
        DeviceCommand::Attach(attach) => evidence::attach(&store()?, json, attach),
        DeviceCommand::FetchBlob { sha256, out } => {
            evidence::fetch_blob(store()?, json, &sha256, &out)
        }
        DeviceCommand::Locate(locate) => evidence::locate(&store()?, json, locate),
        DeviceCommand::Export(export) => exchange::export(&store()?, json, export),
        DeviceCommand::Import { file } => exchange::import(&store()?, json, &file),
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

/// Opens (creating if need be) the store of a home that `init` or `login` is about to bind.
fn open_or_create(home: &Path) -> Result<TicketStore> {
    fs::create_dir_all(home).map_err(file_error("create", home))?;
    Ok(TicketStore::open(&home.join(STORE_FILE))?)
}

/// Prints a ticket as every ticket command does: in full, or as JSON with its unverified count.
fn print_ticket(store: &TicketStore, json: bool, ticket: &Ticket) -> Result<()> {
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
}

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

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    fs::write(&tmp, bytes).map_err(file_error("write", &tmp))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(file_error("write", &tmp))?;
    fs::rename(&tmp, path).map_err(file_error("write", path))
}
