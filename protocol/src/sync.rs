//! The messages of sync protocol v1 (`docs/sync-protocol.md`): CBOR bodies, encoded and decoded
//! here with size limits, with no I/O, so the server and the device engine share one definition.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use serde_bytes::ByteBuf;

use crate::knowledge::KbDelta;
use crate::model::{Erasure, Part, Priority, Status, TicketKind};

/// The protocol version carried in every request; also the `/v1` in every path.
///
/// Version 2 split each ticket into two documents, public and staff ([`crate::model::Part`]):
/// pushes and pulled changes say which one they belong to, and a snapshot carries both.
pub const PROTOCOL_VERSION: u32 = 2;
/// Media type of every request and response body.
pub const CONTENT_TYPE: &str = "application/cbor";
/// Largest request body the server reads (after decompression).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// Most changes one push may carry; the device sends the rest in the next round.
pub const MAX_CHANGES_PER_REQUEST: usize = 1000;
/// Byte budget of one pull when the device does not ask for another.
pub const DEFAULT_PULL_BYTES: u32 = 1024 * 1024;
/// Largest byte budget a device may ask for.
pub const MAX_PULL_BYTES: u32 = 8 * 1024 * 1024;
/// Longest long-poll the server honours.
pub const MAX_WAIT_MS: u32 = 30_000;
/// Most people one answer names ([`SyncResponse::people`]); the server ends the answer early
/// (with `more`) rather than leave a name out.
pub const MAX_PEOPLE_PER_RESPONSE: usize = 1000;

/// `POST /v1/sync`: push the outbox and pull what is newer than `cursor`, in one round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    /// The server sequence number the device has everything up to (0 for a new device).
    pub cursor: u64,
    /// Unacknowledged local changes, oldest first. Re-sending one is harmless.
    pub changes: Vec<PushChange>,
    /// If there is nothing to pull, wait up to this long for news (long-poll); 0 answers at once.
    pub wait_ms: u32,
    /// Byte budget for the pulled items (0 = server default).
    pub max_bytes: u32,
    /// The device's clock offset as it last measured it (server time minus device time, in
    /// milliseconds, from its last answer); absent before its first answer. The server times
    /// the pushed changes by it (the SLA clocks of the service brain, `docs/brain.md`, "Time of
    /// offline edits").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<i64>,
    /// How far the device's copy of the knowledge base goes (the last answer's
    /// [`KbDelta::cursor`], 0 at first); absent from devices that keep no knowledge base, which
    /// then get none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_cursor: Option<u64>,
}

/// One change of the outbox, filed under its ticket and the document it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushChange {
    pub ticket_id: String,
    /// The ticket's public document unless it says `staff`.
    #[serde(default, skip_serializing_if = "Part::is_public")]
    pub part: Part,
    /// Automerge's binary change format.
    pub change: ByteBuf,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Server time (ms since the Unix epoch) when the response was made: the device's clock offset.
    pub server_time: i64,
    /// Hashes (hex) of pushed changes the server now holds, including ones it already had.
    pub accepted: Vec<String>,
    /// Pushed changes the server refused, each with the reason.
    pub rejected: Vec<Rejection>,
    /// What is new for this user after `cursor`, in server order.
    pub items: Vec<PullItem>,
    /// The cursor to send next time.
    pub cursor: u64,
    /// More items wait beyond the byte budget: sync again at once.
    pub more: bool,
    /// The names of the people on the tickets this answer brings (reporters, assignees, authors
    /// of notes, photos, parts and history entries) that the device may not know yet, in the
    /// user's tenant only. Absent from answers of servers that predate it, and left out when
    /// empty, so old devices and old servers still understand each other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonName>,
    /// What changed in the knowledge base for this user since the request's `kb_cursor`; absent
    /// when nothing did, or when the request carried none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb: Option<KbDelta>,
}

/// How to show a user: their name and role, nothing else (no contact details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub user_id: String,
    pub name: String,
    pub role: crate::model::Role,
}

/// A pushed change the server refused. The device quarantines it and takes the server's version
/// of the ticket, which is in the same response as a [`PullItem::Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub hash: String,
    pub ticket_id: String,
    pub code: RejectCode,
    /// What went wrong, in words for the user; never carries ticket contents.
    pub message: String,
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The author's role may not make this edit (judged as the author saw the ticket).
    Forbidden,
    /// The change carries an actor that is not this device's.
    ForeignActor,
    /// The bytes are not a valid Automerge change, or not a ticket change.
    Malformed,
    /// It depends on changes the server does not have (send them first).
    MissingDependencies,
    /// The ticket belongs to another tenant, or is not visible to this user.
    NotVisible,
    /// The change, or the ticket with it, is beyond a limit of `docs/security.md` (operations,
    /// bytes, nesting depth, content this version does not know). Honest devices check the same
    /// limits before writing, so they never see this.
    TooLarge,
    /// The change builds on a history of the ticket the server rewrote to erase personal data
    /// (`docs/staff-data.md`, "Erase"). The device neither quarantines nor resends it: the same
    /// answer brings the rewritten ticket, onto which the device carries the change over.
    Rewritten,
    /// A code this version does not know (sent by a newer server): treated like any refusal.
    #[serde(other)]
    Unknown,
}

/// One thing the device must apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PullItem {
    /// Changes to one document of a ticket the device already holds.
    Changes {
        ticket_id: String,
        /// The public document unless it says `staff` (sent only to staff).
        #[serde(default, skip_serializing_if = "Part::is_public")]
        part: Part,
        changes: Vec<ByteBuf>,
    },
    /// A whole compacted ticket: one that became visible, or the server's version of a ticket
    /// whose change was rejected. The device replaces what it held of the ticket with it.
    Snapshot {
        ticket_id: String,
        /// The public document.
        doc: ByteBuf,
        /// The staff document, for staff only, when the ticket has staff data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<ByteBuf>,
        /// What was erased from the ticket, when its history was rewritten without it
        /// (`docs/staff-data.md`, "Erase"): a device holding an older history replaces it with
        /// this one and carries its unsent changes over, dropping what touches erased content.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        erased: Vec<Erasure>,
        /// What the device lists the public document by, as the server read it when it stored
        /// that document (absent for documents stored before servers kept it). A device may list
        /// a new ticket by it at once and check it against the document later
        /// (`docs/adr/0018-list-first-check-later.md`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<Box<SnapshotSummary>>,
    },
    /// The ticket is no longer visible to this user: remove it (both documents) from the device.
    Evict { ticket_id: String },
}

impl PullItem {
    /// The ticket this item is about.
    pub fn ticket_id(&self) -> &str {
        match self {
            PullItem::Changes { ticket_id, .. }
            | PullItem::Snapshot { ticket_id, .. }
            | PullItem::Evict { ticket_id } => ticket_id,
        }
    }

    /// Approximate wire size, for byte budgets.
    pub fn wire_bytes(&self) -> usize {
        match self {
            PullItem::Changes {
                ticket_id, changes, ..
            } => ticket_id.len() + changes.iter().map(|c| c.len() + 3).sum::<usize>() + 24,
            PullItem::Snapshot {
                ticket_id,
                doc,
                staff,
                erased,
                summary,
            } => {
                ticket_id.len()
                    + doc.len()
                    + staff.as_ref().map_or(0, |s| s.len() + 8)
                    + erased.len() * 96
                    + summary.as_ref().map_or(0, |s| s.wire_bytes())
                    + 16
            }
            PullItem::Evict { ticket_id } => ticket_id.len() + 8,
        }
    }
}

/// What a device lists a ticket by, read from its public document: the fields of the device's
/// ticket list and the files its attachments name. The server writes it with the document it
/// describes, so a pull can send it beside the snapshot without loading the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    pub number: Option<String>,
    pub kind: TicketKind,
    pub status: Status,
    pub priority: Priority,
    pub assignee: Option<String>,
    pub category: Option<String>,
    pub title: String,
    pub reporter_id: String,
    pub created_at: i64,
    /// The resolution due time, else the first-response due time, if the ticket has an SLA.
    pub due: Option<i64>,
    /// The site's latitude and longitude.
    pub site: Option<(f64, f64)>,
    /// Fields of the public document two people set at once.
    pub conflicts: u32,
    /// The files the attachments name (erased ones left out), thumbnails first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SummaryFile>,
}

/// One file an attachment names: its hash, what kind of file it is, its type and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryFile {
    pub sha256: String,
    pub kind: crate::blobs::BlobKind,
    pub mime: String,
    pub bytes: i64,
}

impl SnapshotSummary {
    /// Approximate wire size, for byte budgets.
    pub fn wire_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(1, |s| s.len() + 8);
        self.title.len()
            + self.reporter_id.len()
            + text(&self.number)
            + text(&self.assignee)
            + text(&self.category)
            + self
                .files
                .iter()
                .map(|f| f.sha256.len() + f.mime.len() + 24)
                .sum::<usize>()
            + 120
    }
}

/// `POST /v1/login`: a user's password exchanged for a device token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub tenant: String,
    pub user: String,
    pub password: String,
    pub device: DeviceRegistration,
}

/// `POST /v1/devices` (with a user API token) or inside a login: registers a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistration {
    /// The Automerge actor id (hex) the device will author every change with.
    pub actor_id: String,
    /// A label for people (e.g. "Pixel 8 of Li Wei"); not used for anything else.
    pub name: String,
}

/// The answer to a login or device registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSession {
    pub device_id: String,
    /// Bearer token for this device only; the server stores only its hash.
    pub token: String,
    pub user: UserInfo,
    pub server_time: i64,
}

/// `GET /v1/me`: who a token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub tenant_id: String,
    pub user_id: String,
    pub name: String,
    pub role: crate::model::Role,
    pub team: Option<String>,
}

/// Fewest milliseconds between two position reports the server stores for one technician; a
/// device throttles itself to this, and the server answers `429 too_many_reports` to anything
/// faster.
pub const POSITION_MIN_INTERVAL_MS: i64 = 30_000;

/// `POST /v1/positions`: a technician on shift reports where they are (`204` on success). Only
/// technicians report; the fix is validated like every other (the core's `location::LocationFix`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionReport {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Device time of the fix (ms since the Unix epoch).
    pub at: i64,
}

/// `GET /v1/positions` (agent, dispatcher, supervisor, admin): the last known position of each
/// technician of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionsResponse {
    pub positions: Vec<TechnicianPosition>,
}

/// One technician's last report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechnicianPosition {
    pub user_id: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Device time of the fix.
    pub at: i64,
    /// Server time the report arrived.
    pub received_at: i64,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `body_too_large`, `unauthorized`, `bad_request`.
    pub code: String,
    pub message: String,
    pub server_time: i64,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the body is {0} bytes; the limit is {MAX_REQUEST_BYTES}")]
    TooLarge(usize),
    #[error("the body is not valid CBOR for this message: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported; this server speaks {PROTOCOL_VERSION}")]
    Version(u32),
}

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(message, &mut out)
        .expect("CBOR encoding into a Vec cannot fail for plain structs");
    out
}

/// Decodes a CBOR message, refusing bodies over the request limit.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    ciborium::from_reader(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

impl SyncRequest {
    /// Decodes and checks the version and the per-request limits.
    pub fn decode_checked(bytes: &[u8]) -> Result<SyncRequest, WireError> {
        let request: SyncRequest = decode(bytes)?;
        if request.protocol != PROTOCOL_VERSION {
            return Err(WireError::Version(request.protocol));
        }
        if request.changes.len() > MAX_CHANGES_PER_REQUEST {
            return Err(WireError::Malformed(format!(
                "{} changes in one request; the limit is {MAX_CHANGES_PER_REQUEST}",
                request.changes.len()
            )));
        }
        Ok(request)
    }

    /// The pull byte budget the server should use.
    pub fn pull_budget(&self) -> usize {
        match self.max_bytes {
            0 => DEFAULT_PULL_BYTES as usize,
            n => n.min(MAX_PULL_BYTES) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: 42,
            changes: vec![
                PushChange {
                    ticket_id: "t".into(),
                    part: Part::Public,
                    change: ByteBuf::from(vec![1, 2]),
                },
                PushChange {
                    ticket_id: "t".into(),
                    part: Part::Staff,
                    change: ByteBuf::from(vec![3]),
                },
            ],
            wait_ms: 0,
            max_bytes: 0,
            clock_offset_ms: None,
            kb_cursor: Some(5),
        }
    }

    #[test]
    fn messages_round_trip() {
        let bytes = encode(&request());
        assert_eq!(
            SyncRequest::decode_checked(&bytes).expect("decodes"),
            request()
        );
        let response = SyncResponse {
            server_time: 1,
            accepted: vec!["ab".into()],
            rejected: vec![Rejection {
                hash: "cd".into(),
                ticket_id: "t".into(),
                code: RejectCode::Forbidden,
                message: "no".into(),
            }],
            items: vec![
                PullItem::Changes {
                    ticket_id: "t".into(),
                    part: Part::Public,
                    changes: vec![ByteBuf::from(vec![9])],
                },
                PullItem::Changes {
                    ticket_id: "t".into(),
                    part: Part::Staff,
                    changes: vec![ByteBuf::from(vec![10])],
                },
                PullItem::Snapshot {
                    ticket_id: "u".into(),
                    doc: ByteBuf::from(vec![8]),
                    staff: None,
                    erased: vec![],
                    summary: Some(Box::new(SnapshotSummary {
                        number: Some("FW-000007".into()),
                        kind: TicketKind::HelpRequest,
                        status: Status::EnRoute,
                        priority: Priority::Urgent,
                        assignee: Some("tech".into()),
                        category: None,
                        title: "Scooter down".into(),
                        reporter_id: "rider".into(),
                        created_at: 1_795_000_000_000,
                        due: None,
                        site: Some((31.2304, 121.4737)),
                        conflicts: 0,
                        files: vec![SummaryFile {
                            sha256: "cd".repeat(32),
                            kind: crate::blobs::BlobKind::Full,
                            mime: "image/jpeg".into(),
                            bytes: 308_559,
                        }],
                    })),
                },
                PullItem::Snapshot {
                    ticket_id: "w".into(),
                    doc: ByteBuf::from(vec![8]),
                    staff: Some(ByteBuf::from(vec![7])),
                    summary: None,
                    erased: vec![
                        Erasure::Note {
                            note_id: "n1".into(),
                        },
                        Erasure::Photo {
                            sha256: "ab".repeat(32),
                        },
                        Erasure::Contact,
                    ],
                },
                PullItem::Evict {
                    ticket_id: "v".into(),
                },
            ],
            cursor: 7,
            more: false,
            people: vec![PersonName {
                user_id: "u1".into(),
                name: "Li Wei".into(),
                role: crate::model::Role::Rider,
            }],
            kb: Some(KbDelta {
                articles: vec![crate::knowledge::KbArticle {
                    id: "a1".into(),
                    version: 2,
                    language: "zh".into(),
                    category: Some("printer".into()),
                    audience: crate::knowledge::KbAudience::Everyone,
                    title: "打印机卡纸".into(),
                    body: "Open the cover.".into(),
                    tags: vec!["pos".into()],
                    published_at: 9,
                }],
                removed: vec!["a0".into()],
                cursor: 4,
                more: false,
            }),
        };
        assert_eq!(
            decode::<SyncResponse>(&encode(&response)).expect("decodes"),
            response
        );
    }

    #[test]
    fn the_public_part_is_left_out_on_the_wire_and_read_as_the_default() {
        let public = PushChange {
            ticket_id: "t".into(),
            part: Part::Public,
            change: ByteBuf::from(vec![1]),
        };
        let bytes = encode(&public);
        assert!(!bytes.windows(4).any(|w| w == b"part"), "left out");
        assert_eq!(decode::<PushChange>(&bytes).expect("decodes"), public);
        let staff = PushChange {
            part: Part::Staff,
            ..public
        };
        let bytes = encode(&staff);
        assert!(bytes.windows(5).any(|w| w == b"staff"));
        assert_eq!(decode::<PushChange>(&bytes).expect("decodes"), staff);
        let snapshot = PullItem::Snapshot {
            ticket_id: "t".into(),
            doc: ByteBuf::from(vec![1]),
            staff: None,
            erased: vec![],
            summary: None,
        };
        let bytes = encode(&snapshot);
        assert!(!bytes.windows(5).any(|w| w == b"staff"), "no staff key");
        assert!(!bytes.windows(6).any(|w| w == b"erased"), "no erased key");
        assert!(!bytes.windows(7).any(|w| w == b"summary"), "no summary key");
        assert_eq!(decode::<PullItem>(&bytes).expect("decodes"), snapshot);
    }

    /// `SyncResponse` as it was before it carried names.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ResponseWithoutPeople {
        server_time: i64,
        accepted: Vec<String>,
        rejected: Vec<Rejection>,
        items: Vec<PullItem>,
        cursor: u64,
        more: bool,
    }

    #[test]
    fn names_in_an_answer_are_optional_both_ways() {
        let old = ResponseWithoutPeople {
            server_time: 1,
            accepted: vec![],
            rejected: vec![],
            items: vec![],
            cursor: 3,
            more: true,
        };
        // A new device reads an old server's answer: no names.
        let read: SyncResponse = decode(&encode(&old)).expect("an old answer decodes");
        assert!(read.people.is_empty());
        assert_eq!((read.cursor, read.more), (3, true));
        // An answer without names is byte for byte what an old server sent.
        assert_eq!(encode(&read), encode(&old));
        // An old device reads a new server's answer and skips the names.
        let mut named = read;
        named.people.push(PersonName {
            user_id: "u1".into(),
            name: "Li Wei".into(),
            role: crate::model::Role::Technician,
        });
        named.kb = Some(KbDelta {
            cursor: 2,
            ..KbDelta::default()
        });
        let seen: ResponseWithoutPeople = decode(&encode(&named)).expect("an old device decodes");
        assert_eq!(seen, old);
    }

    #[test]
    fn a_request_without_a_knowledge_base_cursor_is_what_an_old_device_sent() {
        let mut old = request();
        old.kb_cursor = None;
        let bytes = encode(&old);
        assert!(!bytes.windows(9).any(|w| w == b"kb_cursor"), "left out");
        assert_eq!(
            decode::<SyncRequest>(&bytes).expect("decodes").kb_cursor,
            None
        );
        // An article's audience from a newer server is read, not refused.
        let future: crate::knowledge::KbAudience =
            decode(&encode(&"contractors")).expect("an unknown audience decodes");
        assert_eq!(future, crate::knowledge::KbAudience::Unknown);
    }

    #[test]
    fn garbage_wrong_versions_and_floods_are_refused() {
        assert!(matches!(
            SyncRequest::decode_checked(b"\xff\x00garbage"),
            Err(WireError::Malformed(_))
        ));
        let mut old = request();
        old.protocol = 0;
        assert!(matches!(
            SyncRequest::decode_checked(&encode(&old)),
            Err(WireError::Version(0))
        ));
        let mut flood = request();
        flood.changes = vec![flood.changes[0].clone(); MAX_CHANGES_PER_REQUEST + 1];
        assert!(SyncRequest::decode_checked(&encode(&flood)).is_err());
        let huge = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert!(matches!(
            SyncRequest::decode_checked(&huge),
            Err(WireError::TooLarge(_))
        ));
    }

    #[test]
    fn one_status_change_request_is_small() {
        // A typical single-field change is ~150 bytes; the envelope must add little.
        let mut r = request();
        r.changes.truncate(1);
        r.changes[0].change = ByteBuf::from(vec![0u8; 150]);
        r.changes[0].ticket_id = "01a2060f-9315-71b0-ae38-1f1ae6836433".into();
        // 260 bytes before the knowledge-base cursor, whose key and value add 11.
        assert!(encode(&r).len() < 272, "{} bytes", encode(&r).len());
    }
}
