//! Tickets as the API shows them: a list's summaries and one ticket whole, typed for the OpenAPI
//! document. Built from the core's view of the ticket (with the staff document merged for those
//! who read staff data), and from the index rows for lists. Times are milliseconds since the
//! Unix epoch; enums are their snake_case names.

use std::collections::BTreeMap;

use fieldwork_core::model::Priority;
use fieldwork_core::ticket::Ticket;
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::ListedTicket;

/// The SLA clocks the service brain keeps on a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaOut {
    pub policy: Option<String>,
    pub first_response_due: Option<i64>,
    pub update_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub paused: bool,
    /// Targets missed: `first_response`, `update`, `resolution`.
    pub breaches: Vec<String>,
}

/// One ticket in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketSummary {
    pub id: String,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub kind: String,
    pub channel: String,
    pub category: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub reporter_id: String,
    pub created_at: Option<i64>,
    /// Server time of the last stored change.
    pub updated_at: Option<i64>,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub breached: bool,
    pub sla_paused: bool,
    /// Staff only (empty for reporters).
    pub tags: Vec<String>,
}

fn priority_name(rank: u8) -> &'static str {
    match rank {
        0 => Priority::Low.as_str(),
        2 => Priority::High.as_str(),
        3 => Priority::Urgent.as_str(),
        _ => Priority::Normal.as_str(),
    }
}

impl TicketSummary {
    pub fn from_row(row: ListedTicket, staff: bool) -> Self {
        TicketSummary {
            priority: priority_name(row.priority).to_owned(),
            id: row.id,
            number: row.number,
            title: row.title,
            status: row.status,
            kind: row.kind,
            channel: row.channel,
            category: row.category,
            team: row.team,
            assignee: row.assignee,
            reporter_id: row.reporter_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            first_response_due: row.first_response_due,
            resolution_due: row.resolution_due,
            breached: row.breached,
            sla_paused: row.sla_paused,
            tags: if staff { row.tags } else { Vec::new() },
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonOut {
    pub user_id: String,
    pub role: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerOut {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetOut {
    pub serial: String,
    pub model: Option<String>,
    pub warranty_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteOut {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
}

/// A note. Internal notes are shown to staff only; a redacted note keeps its place (text kept
/// for audit), an erased one has no text left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteOut {
    pub id: String,
    pub author: String,
    pub role: String,
    pub text: String,
    pub internal: bool,
    pub at: i64,
    pub redacted: bool,
    pub erased: bool,
}

/// A photo or screenshot, by the SHA-256 of its stored JPEG (and of its thumbnail).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentOut {
    pub sha256: String,
    pub thumb: Option<String>,
    /// Where to fetch the full image, or the file (`GET`; null once erased).
    pub url: Option<String>,
    /// Where to fetch the thumbnail, if it has one.
    pub thumb_url: Option<String>,
    /// `image/jpeg` for a photo; a file's own type for a file kept from an email.
    pub mime: String,
    /// A file's name; null for a photo. A file is downloaded, never shown inline.
    pub name: Option<String>,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub captured_at: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub by: String,
    pub at: i64,
    pub erased: bool,
}

/// One entry of the history: what happened, by whom, when (device time), with its details (the
/// brain's entries say which rule or policy acted and why).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventOut {
    #[serde(rename = "type")]
    pub kind: String,
    pub by: String,
    pub at: i64,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartOut {
    pub sku: String,
    pub qty: i64,
    pub by: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecklistOut {
    pub done: bool,
    pub by: String,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatOut {
    pub score: i64,
    pub comment: Option<String>,
}

/// An earlier ticket about the same machine (staff only).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetHistoryOut {
    pub ticket_id: String,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    pub created_at: i64,
    /// The parts it used, e.g. `2 × FAN-12, 1 × SEAL-3`.
    pub parts: String,
}

/// A machine's alarms folded into the ticket (IoT intake; `docs/channels.md`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertOut {
    pub metric: String,
    /// Alarms taken, the first included.
    pub count: i64,
    /// The machine's times of the first and last alarm (ms since the epoch).
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

/// A field written at the same time with different values (offline edits): every value, the
/// winner last. A dispatcher settles it by writing the value they choose.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictOut {
    pub field: String,
    #[schema(value_type = Vec<Object>)]
    pub values: Vec<serde_json::Value>,
}

/// A person a ticket or a list names: side-loaded with it, so that a client shows people by
/// name, never by a bare user id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NameOut {
    pub name: String,
    /// rider, merchant, technician, agent, dispatcher, supervisor or admin; `brain` for the
    /// service brain's own entries; `channel:KIND` for an intake channel (`channel:iot`, …).
    pub role: String,
}

/// The people an answer names, by user id (ids of people no longer in the tenant are absent).
pub type People = BTreeMap<String, NameOut>;

/// One ticket, whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: String,
    pub number: Option<String>,
    pub kind: String,
    pub channel: String,
    pub title: String,
    pub category: Option<String>,
    pub priority: String,
    pub status: String,
    pub description: String,
    pub reporter: PersonOut,
    pub customer: Option<CustomerOut>,
    pub order_ref: Option<String>,
    pub asset: Option<AssetOut>,
    pub site: Option<SiteOut>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub sla: Option<SlaOut>,
    pub notes: Vec<NoteOut>,
    pub attachments: Vec<AttachmentOut>,
    pub events: Vec<EventOut>,
    pub parts_used: Vec<PartOut>,
    pub checklist: BTreeMap<String, ChecklistOut>,
    pub csat: Option<CsatOut>,
    pub alert: Option<AlertOut>,
    /// The machine's earlier tickets when the ticket was made, newest first (staff only).
    pub asset_history: Vec<AssetHistoryOut>,
    /// Staff only.
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom: BTreeMap<String, serde_json::Value>,
    pub created_at: i64,
    pub conflicts: Vec<ConflictOut>,
    /// Everyone the ticket names (reporter, assignee, authors of notes, events, photos, parts
    /// and checklist items, people in events' data), by user id.
    pub people: People,
}

impl TicketOut {
    /// Every user id the ticket names, each once.
    pub fn user_ids(&self) -> Vec<String> {
        let mut ids: Vec<&str> = vec![self.reporter.user_id.as_str()];
        ids.extend(self.assignee.as_deref());
        ids.extend(self.notes.iter().map(|n| n.author.as_str()));
        ids.extend(self.attachments.iter().map(|a| a.by.as_str()));
        ids.extend(self.events.iter().map(|e| e.by.as_str()));
        // Events name people in their data too (whom the brain assigned, who was notified);
        // values that are no user id are simply not found.
        ids.extend(
            self.events
                .iter()
                .flat_map(|e| e.data.values())
                .map(String::as_str)
                .filter(|v| v.len() <= 64),
        );
        ids.extend(self.parts_used.iter().map(|p| p.by.as_str()));
        ids.extend(self.checklist.values().map(|c| c.by.as_str()));
        let mut ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The API's link to a stored file.
fn file_url(sha256: &str) -> String {
    format!("{}/files/{sha256}", super::BASE)
}

impl From<Ticket> for TicketOut {
    fn from(t: Ticket) -> Self {
        TicketOut {
            id: t.id,
            number: t.number,
            kind: t.kind.as_str().to_owned(),
            channel: t.channel.as_str().to_owned(),
            title: t.title,
            category: t.category,
            priority: t.priority.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            description: t.description,
            reporter: PersonOut {
                user_id: t.reporter.user_id,
                role: t.reporter.role.as_str().to_owned(),
                name: t.reporter.name,
            },
            customer: t.customer.map(|c| CustomerOut {
                name: c.name,
                phone: c.phone,
            }),
            order_ref: t.order_ref,
            asset: t.asset.map(|a| AssetOut {
                serial: a.serial,
                model: a.model,
                warranty_until: a.warranty_until,
            }),
            site: t.site.map(|s| SiteOut {
                lat: s.lat,
                lon: s.lon,
                accuracy_m: s.accuracy_m,
                address: s.address,
            }),
            assignee: t.assignee,
            team: t.team,
            sla: t.sla.map(|s| SlaOut {
                policy: s.policy,
                first_response_due: s.first_response_due,
                update_due: s.update_due,
                resolution_due: s.resolution_due,
                paused: s.paused,
                breaches: s.breaches,
            }),
            notes: t
                .notes
                .into_iter()
                .map(|n| NoteOut {
                    id: n.id,
                    author: n.author,
                    role: n.role.as_str().to_owned(),
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
                .map(|a| AttachmentOut {
                    url: (!a.erased).then(|| file_url(&a.sha256)),
                    thumb_url: a.thumb.as_deref().filter(|_| !a.erased).map(file_url),
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
                .map(|e| EventOut {
                    kind: e.kind,
                    by: e.by,
                    at: e.at_device,
                    data: e.data,
                })
                .collect(),
            parts_used: t
                .parts_used
                .into_iter()
                .map(|p| PartOut {
                    sku: p.sku,
                    qty: p.qty,
                    by: p.by,
                })
                .collect(),
            checklist: t
                .checklist
                .into_iter()
                .map(|(k, c)| {
                    (
                        k,
                        ChecklistOut {
                            done: c.done,
                            by: c.by,
                            at: c.at,
                        },
                    )
                })
                .collect(),
            csat: t.csat.map(|c| CsatOut {
                score: c.score,
                comment: c.comment,
            }),
            asset_history: t
                .asset_history
                .into_iter()
                .map(|e| AssetHistoryOut {
                    ticket_id: e.ticket_id,
                    number: e.number,
                    title: e.title,
                    status: e.status,
                    created_at: e.created_at,
                    parts: e.parts,
                })
                .collect(),
            alert: t.alert.map(|a| AlertOut {
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
            custom: t.custom,
            created_at: t.created_at,
            conflicts: t
                .conflicts
                .into_iter()
                .map(|c| ConflictOut {
                    field: c.field,
                    values: c.values,
                })
                .collect(),
            people: People::new(),
        }
    }
}
