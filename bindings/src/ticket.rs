//! Tickets as FFI records: the full view, the list row, new-ticket drafts, edits, filters,
//! location fixes and what a fix did. Each is the mirror of a core type, converted with no logic
//! beyond defaults.

use std::collections::HashMap;

use fieldwork_core::location as core_location;
use fieldwork_core::store::{
    ListQuery, LocateReport as CoreLocateReport, TicketSummary as CoreSummary,
};
use fieldwork_core::ticket as core;

use crate::model::{Channel, Priority, Role, SortBy, Status, TicketKind};

/// Who reported a ticket.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Person {
    pub user_id: String,
    pub role: Role,
    pub name: Option<String>,
}

/// The customer the work is for, when it is not the reporter.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Customer {
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub phone: Option<String>,
}

/// The machine being repaired.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Asset {
    pub serial: String,
    #[uniffi(default = None)]
    pub model: Option<String>,
    /// ISO date, e.g. `2027-03-31`.
    #[uniffi(default = None)]
    pub warranty_until: Option<String>,
}

/// Where the work is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Site {
    pub lat: f64,
    pub lon: f64,
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
    #[uniffi(default = None)]
    pub address: Option<String>,
}

/// One position reading from the OS: where, how sure, and when the device took it.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
    /// Device time of the fix, milliseconds since the Unix epoch.
    #[uniffi(default = None)]
    pub at: Option<i64>,
}

/// What a position fix did (`report_location`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LocateReport {
    /// Tickets assigned to this technician whose site the fix is inside, on which an arrival on
    /// site (an `arrived_on_site` event) was recorded now. Once per visit.
    pub arrivals: Vec<String>,
    /// The fix waits to be sent to the server as this technician's position (by sync, at most
    /// once a minute). Always false for other roles, whose fixes have no effect.
    pub position_queued: bool,
}

/// Service-level deadlines, set by the server (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Sla {
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub paused: bool,
    pub breaches: Vec<String>,
    /// The SLA policy that set these times.
    pub policy: Option<String>,
    /// When the next update the reporter can see is due, if the policy sets one.
    pub update_due: Option<i64>,
}

/// One note; redacted notes stay in the history with their text removed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Note {
    pub id: String,
    pub author: String,
    pub role: Role,
    pub text: String,
    pub internal: bool,
    pub at: i64,
    pub redacted: bool,
    /// Its text was erased for good on a person's request: `text` is empty.
    pub erased: bool,
}

/// A photo or screenshot, stored once per sha256: an upright JPEG with no metadata (long edge ≤
/// 1920 px by default) and its thumbnail (≤ 320 px). Show a file with `photo_path`, fetch the full
/// image with `fetch_photo`. A file that came with an email (a PDF, a spreadsheet) is an
/// attachment too: it has a `name`, no thumbnail and no pixels; `fetch_photo` fetches it the same
/// way (by its sha256).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Attachment {
    /// The stored image's sha256 (64 lower-case hex digits): its name on every device.
    pub sha256: String,
    /// The thumbnail's own sha256; the same as `sha256` when the picture is no bigger than a
    /// thumbnail (then there is one file).
    pub thumb: Option<String>,
    /// `image/jpeg` for photos; a file's own type for a file that came with an email.
    pub mime: String,
    /// A file's name (a file that is not a photo); `None` for a photo.
    pub name: Option<String>,
    /// Size of the stored image.
    pub bytes: i64,
    /// Pixels of the stored image, upright.
    pub width: i64,
    pub height: i64,
    /// When the photo was taken (from the file's EXIF), milliseconds since the Unix epoch.
    pub captured_at: Option<i64>,
    /// Where: the photo's own GPS if it had any, else the device's fix given when attaching.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// Who attached it, and when (device time, milliseconds since the Unix epoch).
    pub by: String,
    pub at: i64,
    /// The photo was erased for good on a person's request: no file, thumbnail, time or place.
    pub erased: bool,
}

/// One entry of the ticket's append-only history (status change, assignment, …).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketEvent {
    pub kind: String,
    pub by: String,
    pub at_device: i64,
    pub data: HashMap<String, String>,
}

/// A part consumed by the repair.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PartUsed {
    pub sku: String,
    pub qty: i64,
    pub by: String,
}

/// One checklist item and who ticked it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistEntry {
    pub item: String,
    pub done: bool,
    pub by: String,
    pub at: i64,
}

/// The customer's rating of the service.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Csat {
    pub score: i64,
    pub comment: Option<String>,
}

/// A machine's alarms folded into the ticket (IoT intake), written by the server only.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AlertFold {
    pub metric: String,
    /// Alarms taken, the first included.
    pub count: i64,
    /// The machine's times of the first and last alarm, ms since the epoch.
    pub first_at: i64,
    pub last_at: i64,
    pub threshold: f64,
    pub last_value: f64,
    /// Furthest past the threshold.
    pub worst_value: f64,
    pub severity: String,
    /// When the machine said the alarm cleared, if it did since the last one.
    pub resolved_at: Option<i64>,
}

/// An earlier ticket about the same machine (staff data; technicians read it offline).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AssetHistoryEntry {
    pub ticket_id: String,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    pub created_at: i64,
    /// The parts it used, e.g. `2 × FAN-12, 1 × SEAL-3`.
    pub parts: String,
}

/// A field written concurrently with different values; the ticket shows the last of `values`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conflict {
    /// Path of the field, e.g. `priority`, `site`, `checklist.valve`.
    pub field: String,
    /// Each competing value as JSON text.
    pub values: Vec<String>,
}

/// Everything a ticket holds: the winner of every field, plus the conflicts.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Ticket {
    pub id: String,
    /// The server's number (`FW-000123`), once the server has seen the ticket.
    pub number: Option<String>,
    pub tenant: String,
    pub kind: TicketKind,
    pub channel: Channel,
    pub title: String,
    pub category: Option<String>,
    pub priority: Priority,
    pub status: Status,
    pub description: String,
    pub reporter: Person,
    pub customer: Option<Customer>,
    pub order_ref: Option<String>,
    pub asset: Option<Asset>,
    pub site: Option<Site>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub sla: Option<Sla>,
    pub notes: Vec<Note>,
    pub attachments: Vec<Attachment>,
    pub events: Vec<TicketEvent>,
    pub parts_used: Vec<PartUsed>,
    /// Sorted by item.
    pub checklist: Vec<ChecklistEntry>,
    pub csat: Option<Csat>,
    pub alert: Option<AlertFold>,
    /// The machine's earlier tickets, newest first (staff only).
    pub asset_history: Vec<AssetHistoryEntry>,
    pub tags: Vec<String>,
    /// Tenant-specific fields, each value as JSON text.
    pub custom: HashMap<String, String>,
    /// Device time of creation, milliseconds since the Unix epoch.
    pub created_at: i64,
    pub conflicts: Vec<Conflict>,
    /// How many of the ticket's changes came from a bundle (another device, no server) and have
    /// not been confirmed by the server yet. Above 0, show the ticket as unverified: nobody has
    /// checked who really made those changes.
    pub unverified_changes: u32,
}

/// One row of a ticket list, straight from the local index (cheap).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketSummary {
    pub id: String,
    pub number: Option<String>,
    pub kind: TicketKind,
    pub status: Status,
    pub priority: Priority,
    pub category: Option<String>,
    pub title: String,
    pub assignee: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    pub sla_due: Option<i64>,
    /// How many fields are in conflict.
    pub conflicts: i64,
    /// As `Ticket.unverified_changes`.
    pub unverified_changes: u32,
}

/// Which tickets to list. Every filter left empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketFilter {
    #[uniffi(default = None)]
    pub status: Option<Status>,
    #[uniffi(default = None)]
    pub priority: Option<Priority>,
    /// A user id; the empty string lists unassigned tickets.
    #[uniffi(default = None)]
    pub assignee: Option<String>,
    #[uniffi(default = None)]
    pub category: Option<String>,
    /// Case-insensitive text to find in the title.
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// Most recently changed first when not given.
    #[uniffi(default = None)]
    pub sort: Option<SortBy>,
    /// Page size, at most 500.
    #[uniffi(default = 50)]
    pub limit: u32,
    #[uniffi(default = 0)]
    pub offset: u32,
}

/// A new ticket, before the store gives it an id, reporter and times.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TicketDraft {
    pub title: String,
    /// Defaults by role: help request (rider), fault report (merchant), repair (everyone else).
    #[uniffi(default = None)]
    pub kind: Option<TicketKind>,
    /// Defaults to `app`.
    #[uniffi(default = None)]
    pub channel: Option<Channel>,
    #[uniffi(default = None)]
    pub category: Option<String>,
    /// Defaults to `normal`.
    #[uniffi(default = None)]
    pub priority: Option<Priority>,
    #[uniffi(default = "")]
    pub description: String,
    #[uniffi(default = None)]
    pub order_ref: Option<String>,
    #[uniffi(default = None)]
    pub customer: Option<Customer>,
    #[uniffi(default = None)]
    pub asset: Option<Asset>,
    #[uniffi(default = None)]
    pub site: Option<Site>,
    /// A first note, saved with the ticket.
    #[uniffi(default = None)]
    pub note: Option<String>,
}

/// One change to an existing ticket; several apply together or not at all.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TicketEdit {
    SetTitle {
        title: String,
    },
    SetCategory {
        category: Option<String>,
    },
    SetPriority {
        priority: Priority,
    },
    SetDescription {
        description: String,
    },
    SetOrderRef {
        order_ref: Option<String>,
    },
    SetCustomer {
        customer: Option<Customer>,
    },
    SetStatus {
        status: Status,
    },
    /// Assign to a user, or release back to the queue with `None`.
    Assign {
        assignee: Option<String>,
    },
    SetTeam {
        team: Option<String>,
    },
    AddNote {
        text: String,
        internal: bool,
    },
    RedactNote {
        note_id: String,
    },
    AddPart {
        sku: String,
        qty: i64,
    },
    TickChecklist {
        item: String,
        done: bool,
    },
    SetSite {
        site: Site,
    },
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    Rate {
        score: i64,
        comment: Option<String>,
    },
}

fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

impl From<core::Person> for Person {
    fn from(p: core::Person) -> Self {
        Person {
            user_id: p.user_id,
            role: p.role.into(),
            name: p.name,
        }
    }
}

impl From<core::Customer> for Customer {
    fn from(c: core::Customer) -> Self {
        Customer {
            name: c.name,
            phone: c.phone,
        }
    }
}

impl From<Customer> for core::Customer {
    fn from(c: Customer) -> Self {
        core::Customer {
            name: c.name,
            phone: c.phone,
        }
    }
}

impl From<core::Asset> for Asset {
    fn from(a: core::Asset) -> Self {
        Asset {
            serial: a.serial,
            model: a.model,
            warranty_until: a.warranty_until,
        }
    }
}

impl From<Asset> for core::Asset {
    fn from(a: Asset) -> Self {
        core::Asset {
            serial: a.serial,
            model: a.model,
            warranty_until: a.warranty_until,
        }
    }
}

impl From<core::Site> for Site {
    fn from(s: core::Site) -> Self {
        Site {
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            address: s.address,
        }
    }
}

impl From<Site> for core::Site {
    fn from(s: Site) -> Self {
        core::Site {
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            address: s.address,
        }
    }
}

impl From<LocationFix> for core_location::LocationFix {
    fn from(f: LocationFix) -> Self {
        core_location::LocationFix {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            at: f.at,
        }
    }
}

impl From<CoreLocateReport> for LocateReport {
    fn from(r: CoreLocateReport) -> Self {
        LocateReport {
            arrivals: r.arrivals,
            position_queued: r.position_queued,
        }
    }
}

impl Ticket {
    /// The core's view, with how many of its changes wait for the server's confirmation.
    pub(crate) fn from_core(t: core::Ticket, unverified_changes: u32) -> Self {
        Ticket {
            id: t.id,
            number: t.number,
            tenant: t.tenant,
            kind: t.kind.into(),
            channel: t.channel.into(),
            title: t.title,
            category: t.category,
            priority: t.priority.into(),
            status: t.status.into(),
            description: t.description,
            reporter: t.reporter.into(),
            customer: t.customer.map(Into::into),
            order_ref: t.order_ref,
            asset: t.asset.map(Into::into),
            site: t.site.map(Into::into),
            assignee: t.assignee,
            team: t.team,
            sla: t.sla.map(|s| Sla {
                first_response_due: s.first_response_due,
                resolution_due: s.resolution_due,
                paused: s.paused,
                breaches: s.breaches,
                policy: s.policy,
                update_due: s.update_due,
            }),
            notes: t
                .notes
                .into_iter()
                .map(|n| Note {
                    id: n.id,
                    author: n.author,
                    role: n.role.into(),
                    text: n.text,
                    internal: n.internal,
                    at: n.at,
                    redacted: n.redacted,
                    erased: n.erased,
                })
                .collect(),
            attachments: t
                .attachments
                .into_iter()
                .map(|a| Attachment {
                    sha256: a.sha256,
                    thumb: a.thumb,
                    mime: a.mime,
                    name: a.name,
                    bytes: a.bytes,
                    width: a.width,
                    height: a.height,
                    captured_at: a.captured_at,
                    lat: a.lat,
                    lon: a.lon,
                    accuracy_m: a.accuracy_m,
                    by: a.by,
                    at: a.at,
                    erased: a.erased,
                })
                .collect(),
            events: t
                .events
                .into_iter()
                .map(|e| TicketEvent {
                    kind: e.kind,
                    by: e.by,
                    at_device: e.at_device,
                    data: e.data.into_iter().collect(),
                })
                .collect(),
            parts_used: t
                .parts_used
                .into_iter()
                .map(|p| PartUsed {
                    sku: p.sku,
                    qty: p.qty,
                    by: p.by,
                })
                .collect(),
            checklist: t
                .checklist
                .into_iter()
                .map(|(item, c)| ChecklistEntry {
                    item,
                    done: c.done,
                    by: c.by,
                    at: c.at,
                })
                .collect(),
            csat: t.csat.map(|c| Csat {
                score: c.score,
                comment: c.comment,
            }),
            asset_history: t
                .asset_history
                .into_iter()
                .map(|e| AssetHistoryEntry {
                    ticket_id: e.ticket_id,
                    number: e.number,
                    title: e.title,
                    status: e.status,
                    created_at: e.created_at,
                    parts: e.parts,
                })
                .collect(),
            alert: t.alert.map(|a| AlertFold {
                metric: a.metric,
                count: a.count,
                first_at: a.first_at,
                last_at: a.last_at,
                threshold: a.threshold,
                last_value: a.last_value,
                worst_value: a.worst_value,
                severity: a.severity,
                resolved_at: a.resolved_at,
            }),
            tags: t.tags,
            custom: t
                .custom
                .iter()
                .map(|(k, v)| (k.clone(), json_text(v)))
                .collect(),
            created_at: t.created_at,
            conflicts: t
                .conflicts
                .into_iter()
                .map(|c| Conflict {
                    field: c.field,
                    values: c.values.iter().map(json_text).collect(),
                })
                .collect(),
            unverified_changes,
        }
    }
}

impl From<CoreSummary> for TicketSummary {
    fn from(s: CoreSummary) -> Self {
        TicketSummary {
            id: s.id,
            number: s.number,
            kind: s.kind.into(),
            status: s.status.into(),
            priority: s.priority.into(),
            category: s.category,
            title: s.title,
            assignee: s.assignee,
            updated_at: s.updated_at,
            sla_due: s.sla_due,
            conflicts: s.conflicts,
            unverified_changes: s.unverified_changes,
        }
    }
}

impl From<TicketFilter> for ListQuery {
    fn from(f: TicketFilter) -> Self {
        ListQuery {
            status: f.status.map(Into::into),
            priority: f.priority.map(Into::into),
            assignee: f.assignee,
            category: f.category,
            text: f.text,
            sort: f.sort.map(Into::into).unwrap_or_default(),
            limit: f.limit,
            offset: f.offset,
        }
    }
}

impl TicketDraft {
    /// The core's new ticket, with the role's default kind when the draft names none.
    pub(crate) fn into_core(self, role: fieldwork_core::Role) -> core::NewTicket {
        core::NewTicket {
            kind: self.kind.map_or_else(|| role.default_kind(), Into::into),
            channel: self
                .channel
                .map_or(fieldwork_core::Channel::App, Into::into),
            title: self.title,
            category: self.category,
            priority: self
                .priority
                .map_or(fieldwork_core::Priority::Normal, Into::into),
            description: self.description,
            order_ref: self.order_ref,
            customer: self.customer.map(Into::into),
            asset: self.asset.map(Into::into),
            site: self.site.map(Into::into),
            note: self.note,
        }
    }
}

impl From<TicketEdit> for core::Edit {
    fn from(edit: TicketEdit) -> Self {
        use core::Edit;
        match edit {
            TicketEdit::SetTitle { title } => Edit::SetTitle { title },
            TicketEdit::SetCategory { category } => Edit::SetCategory { category },
            TicketEdit::SetPriority { priority } => Edit::SetPriority {
                priority: priority.into(),
            },
            TicketEdit::SetDescription { description } => Edit::SetDescription { description },
            TicketEdit::SetOrderRef { order_ref } => Edit::SetOrderRef { order_ref },
            TicketEdit::SetCustomer { customer } => Edit::SetCustomer {
                customer: customer.map(Into::into),
            },
            TicketEdit::SetStatus { status } => Edit::SetStatus {
                status: status.into(),
            },
            TicketEdit::Assign { assignee } => Edit::Assign { assignee },
            TicketEdit::SetTeam { team } => Edit::SetTeam { team },
            TicketEdit::AddNote { text, internal } => Edit::AddNote { text, internal },
            TicketEdit::RedactNote { note_id } => Edit::RedactNote { note_id },
            TicketEdit::AddPart { sku, qty } => Edit::AddPart { sku, qty },
            TicketEdit::TickChecklist { item, done } => Edit::TickChecklist { item, done },
            TicketEdit::SetSite { site } => Edit::SetSite { site: site.into() },
            TicketEdit::AddTag { tag } => Edit::AddTag { tag },
            TicketEdit::RemoveTag { tag } => Edit::RemoveTag { tag },
            TicketEdit::Rate { score, comment } => Edit::Rate { score, comment },
        }
    }
}
