//! The typed, read-only view of a ticket document: what UIs, the CLI and the rules look at.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Channel, Priority, Role, Status, TicketKind};

/// Everything a ticket holds, as the deterministic winner of every field, plus the conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Document schema version.
    pub v: i64,
    pub id: String,
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
    pub events: Vec<Event>,
    pub parts_used: Vec<PartUsed>,
    pub checklist: BTreeMap<String, ChecklistItem>,
    pub csat: Option<Csat>,
    /// A machine's alarms folded into this ticket (IoT intake), written by the server only.
    pub alert: Option<AlertFold>,
    /// The machine's earlier tickets, newest first (staff data, written by the server only:
    /// empty for reporters).
    #[serde(default)]
    pub asset_history: Vec<AssetHistoryEntry>,
    pub tags: Vec<String>,
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Device time of creation, milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Fields that were written concurrently with different values; the view shows the winner.
    pub conflicts: Vec<Conflict>,
}

/// Who reported the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub user_id: String,
    pub role: Role,
    pub name: Option<String>,
}

/// The customer the work is for, when it is not the reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// The machine being repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub serial: String,
    pub model: Option<String>,
    pub warranty_until: Option<String>,
}

/// A machine's alarms on one ticket: the first one opened it, the ones after it were folded in
/// (written by the server only; `docs/channels.md`, "IoT alerts").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFold {
    /// What was measured, e.g. `temperature_c`.
    pub metric: String,
    /// Alerts folded in, the first included.
    pub count: i64,
    /// When the first and the last alert happened (the machine's clock, ms since the epoch).
    pub first_at: i64,
    pub last_at: i64,
    pub threshold: f64,
    pub last_value: f64,
    /// The value furthest past the threshold.
    pub worst_value: f64,
    /// The severity of the last alert, as the machine named it (`warning`, `critical`, …).
    pub severity: String,
    /// When the machine said the condition cleared, if it did since the last alert.
    pub resolved_at: Option<i64>,
}

/// One earlier ticket about the same machine, as the server summed it up when the ticket was
/// made (staff data: technicians read it offline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetHistoryEntry {
    pub ticket_id: String,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    /// Device time of its creation, ms since the epoch.
    pub created_at: i64,
    /// The parts it used, e.g. `"2 × FAN-12, 1 × SEAL-3"` (empty if none).
    pub parts: String,
}

/// Where the work is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
}

/// Service-level clocks, written by the server only (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub paused: bool,
    pub breaches: Vec<String>,
    /// The SLA policy that set these times (the service brain's; `docs/brain.md`).
    #[serde(default)]
    pub policy: Option<String>,
    /// When the next update the reporter can see is due, if the policy sets one.
    #[serde(default)]
    pub update_due: Option<i64>,
}

/// One note; redacted notes stay in the history for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: String,
    pub author: String,
    pub role: Role,
    pub text: String,
    pub internal: bool,
    pub at: i64,
    pub redacted: bool,
    /// Its text was erased for good (`docs/staff-data.md`, "Erase"): `text` is empty.
    #[serde(default)]
    pub erased: bool,
}

impl Note {
    /// Whether everyone who sees the ticket reads this note's text (what their search finds): a
    /// public note, neither redacted nor erased.
    pub fn text_public(&self) -> bool {
        !self.internal && !self.redacted && !self.erased
    }
}

/// A photo or screenshot, filed under the sha256 of its stored (re-encoded, metadata-free) JPEG.
/// `thumb` names the thumbnail's own blob; both travel on the blob lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub sha256: String,
    pub thumb: Option<String>,
    pub mime: String,
    /// The file's name, for a file that is not a photo (a PDF from an email); photos have none.
    #[serde(default)]
    pub name: Option<String>,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    /// When the photo was taken (from its EXIF, device time), if it says.
    pub captured_at: Option<i64>,
    /// Where it was taken: the photo's own GPS tags, else the device's fix when attaching.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub by: String,
    /// Device time of attaching.
    pub at: i64,
    /// The photo was erased for good (`docs/staff-data.md`, "Erase"): no file, thumbnail, time
    /// or place.
    #[serde(default)]
    pub erased: bool,
}

impl Attachment {
    /// A photo (a JPEG the photo pipeline made), as opposed to a file kept as it came.
    pub fn is_photo(&self) -> bool {
        self.mime == fieldwork_protocol::blobs::MIME_JPEG
    }
}

/// One entry of the append-only history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub by: String,
    pub at_device: i64,
    pub data: BTreeMap<String, String>,
}

/// A part consumed by the repair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartUsed {
    pub sku: String,
    pub qty: i64,
    pub by: String,
}

/// The state of one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub done: bool,
    pub by: String,
    pub at: i64,
}

/// The customer's rating of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Csat {
    pub score: i64,
    pub comment: Option<String>,
}

/// A field written concurrently with different values. `values` are in the document's
/// deterministic order; the last one is the winner the view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Path of the field, e.g. `priority`, `site`, `checklist.valve`, `notes[2].text`.
    pub field: String,
    pub values: Vec<serde_json::Value>,
}

/// What a ticket's staff document holds (`docs/staff-data.md`), read on its own: what only
/// staff may read. [`Ticket::with_staff`] merges it into the ticket staff see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StaffView {
    /// Internal notes (each `internal`), in document order.
    pub notes: Vec<Note>,
    /// The staff history: redactions of internal notes (and, with the service brain, its
    /// reasons and escalations).
    pub events: Vec<Event>,
    pub tags: Vec<String>,
    /// The machine's earlier tickets (written by the server).
    pub asset_history: Vec<AssetHistoryEntry>,
    /// Conflicts in the staff document, their fields named `staff.…`.
    pub conflicts: Vec<Conflict>,
}

impl Ticket {
    /// The ticket as staff read it: this (public) view with the staff document merged in —
    /// internal notes among the notes and staff history among the events (each staff entry
    /// placed by its time among the public ones, which keep their own order), the staff's tags,
    /// and the staff document's conflicts.
    pub fn with_staff(mut self, staff: StaffView) -> Ticket {
        self.notes = interleave(std::mem::take(&mut self.notes), staff.notes, |n| n.at);
        self.events = interleave(std::mem::take(&mut self.events), staff.events, |e| {
            e.at_device
        });
        self.tags = staff.tags;
        self.asset_history = staff.asset_history;
        self.conflicts.extend(staff.conflicts);
        self
    }

    /// Whether the work is still going on (not resolved, closed or cancelled).
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// Should `user_id` arriving now be recorded? Once per visit: not if they already arrived
    /// and have not since left the job waiting (for parts or the customer).
    pub fn arrival_due(&self, user_id: &str) -> bool {
        let Some(last) = self
            .events
            .iter()
            .rposition(|e| e.kind == crate::ticket::ARRIVED_ON_SITE && e.by == user_id)
        else {
            return true;
        };
        self.events[last + 1..].iter().any(|e| {
            e.kind == "status_changed"
                && e.data
                    .get("to")
                    .is_some_and(|to| matches!(to.as_str(), "awaiting_parts" | "awaiting_customer"))
        })
    }

    /// The note with this id, if any.
    pub fn note(&self, id: &str) -> Option<&Note> {
        self.notes.iter().find(|n| n.id == id)
    }

    /// The user ids the ticket names, each once: the reporter, the assignee, then the authors of
    /// notes and photos, whoever is in the history (and whom it was assigned to), parts and
    /// checklist — what a screen needs names for. In document order, so the list changes only
    /// when someone new appears or the assignee changes. Ids are as written: a forged or unknown
    /// one is still listed (whoever looks names up decides what is a user).
    pub fn people(&self) -> Vec<&str> {
        let assigned = self.events.iter().flat_map(|e| {
            [
                Some(e.by.as_str()),
                e.data.get("assignee").map(String::as_str),
            ]
        });
        let named = [
            Some(self.reporter.user_id.as_str()),
            self.assignee.as_deref(),
        ]
        .into_iter()
        .chain(self.notes.iter().map(|n| Some(n.author.as_str())))
        .chain(self.attachments.iter().map(|a| Some(a.by.as_str())))
        .chain(assigned)
        .chain(self.parts_used.iter().map(|p| Some(p.by.as_str())))
        .chain(self.checklist.values().map(|c| Some(c.by.as_str())))
        .flatten()
        .filter(|id| !id.is_empty());
        let mut seen = std::collections::HashSet::new();
        named.filter(|id| seen.insert(*id)).collect()
    }
}

/// `public` with each item of `staff` placed before the first public item later than it: both
/// keep their own order, and with no staff items the result is `public` as it was (so a ticket
/// reads the same on a device with an empty staff document as on one with none).
fn interleave<T>(public: Vec<T>, staff: Vec<T>, at: impl Fn(&T) -> i64) -> Vec<T> {
    if staff.is_empty() {
        return public;
    }
    let mut out = Vec::with_capacity(public.len() + staff.len());
    let mut staff = staff.into_iter().peekable();
    for item in public {
        while let Some(next) = staff.next_if(|s| at(s) < at(&item)) {
            out.push(next);
        }
        out.push(item);
    }
    out.extend(staff);
    out
}
