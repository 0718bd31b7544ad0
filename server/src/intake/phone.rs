//! `POST /intake/phone`: a call, as a call-centre system reports it when the agent wraps it up
//! (`docs/channels.md`, "Phone"): the caller's number, the agent, the transcript, when the call
//! began and how long it took, and a recording link. A new ticket — or, when the agent says so, a
//! note on the caller's open ticket (or on the ticket the agent names). [`decode`] is plain.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use fieldwork_core::model::{Channel, Priority, TicketKind};
use fieldwork_core::ticket::{Customer, NewTicket};
use serde::Deserialize;

use super::take::{Action, Plan, take};
use super::web::contact;
use super::{Delivered, channel_of, json_body, whole};
use crate::api::error::ApiError;
use crate::state::{AppState, blocking};
use crate::storage::{ChannelKind, ReadWith};

/// Largest call report (a long transcript included).
pub(super) const MAX_CALL_BYTES: usize = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallBody {
    /// The call centre's id of the call: a report sent again with it does nothing twice.
    call_id: String,
    caller: String,
    caller_name: Option<String>,
    /// Who took the call, as the call centre names them.
    agent: String,
    transcript: String,
    /// RFC 3339.
    started_at: String,
    duration_s: u32,
    recording_url: Option<String>,
    subject: Option<String>,
    category: Option<String>,
    /// `inquiry` (default), `complaint`, `fault_report`, `repair` or `help_request`.
    kind: Option<String>,
    /// The agent adds the call to the caller's open ticket instead of opening one.
    #[serde(default)]
    note_on_open: bool,
    /// The number of the ticket the agent adds the call to (`FW-000123`).
    ticket: Option<String>,
}

/// A checked call report.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub call_id: String,
    /// Normalized.
    pub caller: String,
    pub caller_name: Option<String>,
    pub agent: String,
    pub transcript: String,
    pub started_at: i64,
    pub duration_s: u32,
    pub recording_url: Option<String>,
    pub subject: Option<String>,
    pub category: Option<String>,
    pub kind: TicketKind,
    pub note_on_open: bool,
    pub ticket: Option<String>,
}

fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<String, String> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        return Err(format!("`{field}` is {min} to {max} characters"));
    }
    Ok(value.to_owned())
}

/// Reads and checks a call report; the error says what is wrong, never echoing it.
pub(super) fn decode(bytes: &[u8]) -> Result<Call, String> {
    let body: CallBody = json_body(
        bytes,
        "{\"call_id\", \"caller\", \"agent\", \"transcript\", \"started_at\", \"duration_s\", …}",
    )?;
    let call_id = bounded("call_id", &body.call_id, 1, 200)?;
    let caller = contact(&body.caller)
        .filter(|c| !c.contains('@'))
        .ok_or("`caller` is the caller's phone number, 5 to 20 digits")?;
    let recording_url = match body.recording_url {
        Some(url) => {
            let url = bounded("recording_url", &url, 1, 500)?;
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err("`recording_url` is an http(s) address".into());
            }
            Some(url)
        }
        None => None,
    };
    let kind = match body.kind.as_deref() {
        None => TicketKind::Inquiry,
        Some(k) => match k.parse() {
            Ok(kind) if kind != TicketKind::Alert => kind,
            _ => {
                return Err(
                    "`kind` is inquiry, complaint, fault_report, repair or help_request".into(),
                );
            }
        },
    };
    let started_at = body
        .started_at
        .parse::<jiff::Timestamp>()
        .map_err(|_| "`started_at` is a time in RFC 3339, e.g. 2026-12-01T08:30:00Z".to_owned())?
        .as_millisecond();
    Ok(Call {
        call_id,
        caller,
        caller_name: body
            .caller_name
            .map(|n| bounded("caller_name", &n, 1, 100))
            .transpose()?,
        agent: bounded("agent", &body.agent, 1, 100)?,
        transcript: bounded("transcript", &body.transcript, 1, 100_000)?,
        started_at,
        duration_s: body.duration_s,
        recording_url,
        subject: body
            .subject
            .map(|s| bounded("subject", &s, 1, 200))
            .transpose()?,
        category: body
            .category
            .map(|c| bounded("category", &c, 1, 64))
            .transpose()?,
        kind,
        note_on_open: body.note_on_open,
        ticket: body
            .ticket
            .map(|t| bounded("ticket", &t, 1, 32))
            .transpose()?,
    })
}

impl Call {
    /// The call's details, as a ticket's description or note says them.
    fn summary(&self) -> String {
        let when = jiff::Timestamp::from_millisecond(self.started_at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let mut text = format!(
            "Phone call from {} on {when}, {} min {} s, taken by {}.\n\n{}",
            self.caller,
            self.duration_s / 60,
            self.duration_s % 60,
            self.agent,
            self.transcript
        );
        if let Some(url) = &self.recording_url {
            text.push_str(&format!("\n\nRecording: {url}"));
        }
        text
    }

    fn new_ticket(&self) -> NewTicket {
        let title = self.subject.clone().unwrap_or_else(|| {
            self.transcript
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect()
        });
        NewTicket {
            kind: self.kind,
            channel: Channel::Phone,
            title,
            category: self.category.clone(),
            priority: Priority::Normal,
            description: self.summary(),
            order_ref: None,
            customer: Some(Customer {
                name: self.caller_name.clone(),
                phone: Some(self.caller.clone()),
            }),
            asset: None,
            site: None,
            note: None,
        }
    }
}

/// Where a call goes.
enum Target {
    New,
    Ticket(String),
    /// The agent named a ticket the tenant does not have.
    Unknown,
}

/// Takes one call report.
pub(super) async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Delivered>), ApiError> {
    let body = whole(body, "a call report", MAX_CALL_BYTES)?;
    let channel = channel_of(&state, &headers, &body, ChannelKind::Phone).await?;
    let call = decode(&body).map_err(ApiError::bad_request)?;
    let (store, tenant) = (state.store(), channel.tenant_id.clone());
    let (number, caller, on_open) = (call.ticket.clone(), call.caller.clone(), call.note_on_open);
    let target = blocking(move || {
        if let Some(number) = number {
            let found = store.read_with(|r| r.ticket_by_number(&tenant, &number))?;
            return Ok(found.map_or(Target::Unknown, Target::Ticket));
        }
        if on_open && let Some(id) = store.open_ticket_of_contact(&tenant, &caller)? {
            return Ok(Target::Ticket(id));
        }
        Ok::<_, crate::error::Error>(Target::New)
    })
    .await?;
    let action = match target {
        Target::Ticket(ticket_id) => Action::Note {
            ticket_id,
            text: call.summary(),
            photos: Vec::new(),
        },
        Target::New => Action::Create {
            new: Box::new(call.new_ticket()),
            photos: Vec::new(),
        },
        Target::Unknown => {
            return Err(ApiError::bad_request(
                "`ticket` names no ticket of this tenant",
            ));
        }
    };
    let plan = Plan {
        action,
        contact: Some(call.caller.clone()),
        messages: Vec::new(),
    };
    let (status, delivered) =
        take(&state, &channel, format!("call:{}", call.call_id), plan).await?;
    Ok((status, Json(delivered)))
}
