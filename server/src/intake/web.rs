//! `POST /intake/web`: a web form for customers and merchants without the app
//! (`docs/channels.md`, "Web form"), posted by the site's back end with the channel's token. The
//! answer carries the ticket number and a status link: `/status/{token}`, a read-only page with
//! the ticket's number, status and public notes, for the person who wrote in. [`decode`] and
//! [`contact`] are plain functions.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fieldwork_core::model::{Channel, Priority, Status, TicketKind};
use fieldwork_core::ticket::{Customer, NewTicket};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::photos::{self, MAX_IMAGES, photo_error};
use super::take::{Action, Plan, take};
use super::{Delivered, channel_of, idempotency_key, json_body, whole};
use crate::api::error::ApiError;
use crate::auth::token_hash;
use crate::plain_page::{Page, escape};
use crate::state::{AppState, blocking};
use crate::storage::{ChannelKind, StatusLink};

/// Largest form body (its images included, base64).
const MAX_FORM_BYTES: usize = 32 * 1024 * 1024;

/// What a status link's token starts with.
const STATUS_TOKEN_PREFIX: &str = "fws_";

/// How long a status link works.
const STATUS_LINK_DAYS: i64 = 180;

/// The routes of the web form and its status pages.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/intake/web",
            post(deliver).layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/status/{token}", get(status_page))
}

/// The form as a site's back end posts it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormBody {
    /// Who writes in.
    name: String,
    /// A phone number or an email address.
    contact: String,
    description: String,
    subject: Option<String>,
    order_ref: Option<String>,
    category: Option<String>,
    /// `inquiry` (default), `complaint`, `fault_report` or `help_request`.
    kind: Option<String>,
    /// Photos or screenshots (JPEG, PNG or WebP), at most five.
    #[serde(default)]
    images: Vec<ImageBody>,
}

/// One image of a form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageBody {
    /// Its file name, for messages.
    name: String,
    /// Its bytes, base64 (standard alphabet, padded).
    data: String,
}

/// A checked form: the ticket, who wrote in (normalized), and the images (name, bytes).
type Form = (NewTicket, String, Vec<(String, Vec<u8>)>);

/// A phone number or an email address in one spelling, so the next delivery from the same
/// person finds their ticket: an email address lowercased, a phone number as `+` and digits.
pub(super) fn contact(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 200 || raw.chars().any(char::is_control) {
        return None;
    }
    if let Some((local, domain)) = raw.rsplit_once('@') {
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !raw.chars().any(char::is_whitespace);
        return ok.then(|| raw.to_lowercase());
    }
    let plus = raw.starts_with('+');
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || " -().+".contains(c))
    {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (5..=20)
        .contains(&digits.len())
        .then(|| format!("{}{digits}", if plus { "+" } else { "" }))
}

fn text(field: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("`{field}` is at most {max} characters"));
    }
    Ok(value.to_owned())
}

fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, String> {
    value
        .map(|v| text(field, &v, max))
        .transpose()
        .map(|v| v.filter(|v| !v.is_empty()))
}

/// Reads and checks a form; the error says what is wrong, never echoing it.
fn decode(bytes: &[u8]) -> Result<Form, String> {
    let form: FormBody = json_body(bytes, "{\"name\", \"contact\", \"description\", …}")?;
    let name = text("name", &form.name, 100)?;
    if name.is_empty() {
        return Err("`name` is who writes in, 1 to 100 characters".into());
    }
    let reached = contact(&form.contact)
        .ok_or("`contact` is a phone number (5 to 20 digits) or an email address")?;
    let description = text("description", &form.description, 10_000)?;
    if description.is_empty() {
        return Err("`description` says what is wrong, 1 to 10,000 characters".into());
    }
    let kind = match form.kind.as_deref() {
        None => TicketKind::Inquiry,
        Some(k) => match k.parse() {
            Ok(
                kind @ (TicketKind::Inquiry
                | TicketKind::Complaint
                | TicketKind::FaultReport
                | TicketKind::HelpRequest),
            ) => kind,
            _ => {
                return Err("`kind` is inquiry, complaint, fault_report or help_request".into());
            }
        },
    };
    let title = match optional("subject", form.subject, 200)? {
        Some(subject) => subject,
        None => description
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect(),
    };
    if form.images.len() > MAX_IMAGES {
        return Err(format!("a form brings at most {MAX_IMAGES} images"));
    }
    let mut images = Vec::with_capacity(form.images.len());
    for (i, image) in form.images.into_iter().enumerate() {
        let data = STANDARD
            .decode(image.data.trim())
            .map_err(|_| format!("image {} is not base64", i + 1))?;
        images.push((image.name, data));
    }
    let is_phone = !reached.contains('@');
    let description = if is_phone {
        description
    } else {
        format!("{description}\n\nContact: {reached}")
    };
    let new = NewTicket {
        kind,
        channel: Channel::Web,
        title,
        category: optional("category", form.category, 64)?,
        priority: Priority::Normal,
        description,
        order_ref: optional("order_ref", form.order_ref, 64)?,
        customer: Some(Customer {
            name: Some(name),
            phone: is_phone.then(|| reached.clone()),
        }),
        asset: None,
        site: None,
        note: None,
    };
    Ok((new, reached, images))
}

/// A web form's answer: what it did, and where the writer follows their ticket.
#[derive(Debug, Serialize)]
struct FormAnswer {
    #[serde(flatten)]
    delivered: Delivered,
    /// `/status/{token}` on this server: read-only, for the person who wrote in.
    status_path: Option<String>,
}

async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<FormAnswer>), ApiError> {
    let body = whole(body, "a form", MAX_FORM_BYTES)?;
    let channel = channel_of(&state, &headers, &body, ChannelKind::Web).await?;
    let (new, reached, images) = decode(&body).map_err(ApiError::bad_request)?;
    let filed = photos::store(&state, &channel.tenant_id, images)
        .await
        .map_err(photo_error)?;
    if !filed.refused.is_empty() {
        return Err(ApiError::bad_request(format!(
            "an image could not be read: {}",
            filed.refused.join("; ")
        )));
    }
    let key = match idempotency_key(&headers)? {
        Some(key) => key,
        None => format!("form:{}", hex::encode(Sha256::digest(&body))),
    };
    let plan = Plan {
        action: Action::Create {
            new: Box::new(new),
            photos: filed.attachments,
        },
        contact: Some(reached),
        messages: Vec::new(),
    };
    let (status, delivered) = take(&state, &channel, key, plan).await?;
    let status_path = match &delivered.ticket_id {
        Some(id) => Some(status_link(&state, &channel.tenant_id, id).await?),
        None => None,
    };
    Ok((
        status,
        Json(FormAnswer {
            delivered,
            status_path,
        }),
    ))
}

/// A new status link for the ticket (each answer gets its own; the token is shown once).
async fn status_link(state: &AppState, tenant: &str, ticket_id: &str) -> Result<String, ApiError> {
    let token = format!(
        "{STATUS_TOKEN_PREFIX}{}",
        hex::encode(rand::random::<[u8; 32]>())
    );
    let now = state.now_ms();
    let link = StatusLink {
        token_hash: token_hash(&token),
        tenant_id: tenant.to_owned(),
        ticket_id: ticket_id.to_owned(),
        created_at: now,
        expires_at: now + STATUS_LINK_DAYS * 24 * 60 * 60 * 1000,
    };
    let store = state.store();
    blocking(move || Ok(store.create_status_link(&link)?)).await?;
    Ok(format!("/status/{token}"))
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::New => "Received",
        Status::Assigned | Status::Accepted => "Assigned to a technician",
        Status::EnRoute => "A technician is on the way",
        Status::OnSite | Status::InProgress => "Being worked on",
        Status::AwaitingParts => "Waiting for parts",
        Status::AwaitingCustomer => "Waiting for you",
        Status::Resolved => "Resolved",
        Status::Closed => "Closed",
        Status::Cancelled => "Cancelled",
        Status::Reopened => "Reopened",
    }
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The read-only status page of a status link.
async fn status_page(State(state): State<AppState>, Path(token): Path<String>) -> Page {
    let not_found = || {
        Page::says(
            StatusCode::NOT_FOUND,
            "Link not found",
            "This status link is not valid or has expired. Check that it was copied whole.",
        )
    };
    if !token.starts_with(STATUS_TOKEN_PREFIX) || token.len() > 100 {
        return not_found();
    }
    let (store, hash) = (state.store(), token_hash(&token));
    let link = match blocking(move || Ok(store.status_link(&hash)?)).await {
        Ok(Some(link)) if link.expires_at > state.now_ms() => link,
        Ok(_) => return not_found(),
        Err(_) => {
            return Page::says(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "The service is busy. Please try again in a few minutes.",
            );
        }
    };
    let ticket = match super::write::load(&state, &link.tenant_id, &link.ticket_id).await {
        Ok(Some(doc)) => match doc.view() {
            Ok(ticket) => ticket,
            Err(_) => return not_found(),
        },
        Ok(None) => {
            return Page::says(
                StatusCode::OK,
                "Your request",
                "We have your request and are filing it. Please look again in a minute.",
            );
        }
        Err(_) => return not_found(),
    };
    let mut body = format!(
        "<p><strong>{}</strong> — {}</p><p>Status: <strong>{}</strong></p><p class=\"muted\">Received {}</p>",
        escape(ticket.number.as_deref().unwrap_or("")),
        escape(&ticket.title),
        status_label(ticket.status),
        when(ticket.created_at),
    );
    let notes: Vec<_> = ticket
        .notes
        .iter()
        .filter(|n| !n.internal && !n.redacted && !n.erased)
        .collect();
    if !notes.is_empty() {
        body.push_str("<h2>Updates</h2>");
        for note in notes {
            body.push_str(&format!(
                "<div class=\"note\"><p>{}</p><p class=\"muted\">{}</p></div>",
                escape(&note.text),
                when(note.at)
            ));
        }
    }
    Page {
        status: StatusCode::OK,
        title: "Your request",
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_have_one_spelling() {
        assert_eq!(
            contact(" +86 138-0013-8000 "),
            Some("+8613800138000".into())
        );
        assert_eq!(contact("(021) 5555 0101"), Some("02155550101".into()));
        assert_eq!(
            contact("Li.Wei@Example.COM"),
            Some("li.wei@example.com".into())
        );
        assert_eq!(contact("no"), None);
        assert_eq!(contact("12"), None, "too few digits");
        assert_eq!(contact("a b@example.com"), None);
        assert_eq!(contact("x@localhost"), None);
        assert_eq!(contact("call me maybe"), None);
    }

    #[test]
    fn a_form_becomes_a_web_ticket_and_a_bad_one_says_why() {
        let (new, reached, images) = decode(
            br#"{"name":"Wang Fang","contact":"wang@example.com","description":"Printer jams\nevery morning","order_ref":"A-77"}"#,
        )
        .expect("reads");
        assert_eq!(new.channel, Channel::Web);
        assert_eq!(new.kind, TicketKind::Inquiry);
        assert_eq!(new.title, "Printer jams");
        assert!(new.description.ends_with("Contact: wang@example.com"));
        assert_eq!(reached, "wang@example.com");
        assert!(images.is_empty());
        assert_eq!(new.order_ref.as_deref(), Some("A-77"));
        let bad = |b: &str| decode(b.as_bytes()).expect_err("refused");
        assert!(bad("{}").contains("missing"));
        assert!(bad(r#"{"name":"A","contact":"?","description":"x"}"#).contains("contact"));
        assert!(
            bad(r#"{"name":"","contact":"+8613800138000","description":"x"}"#).contains("name")
        );
        assert!(
            bad(r#"{"name":"A","contact":"+8613800138000","description":"x","kind":"alert"}"#)
                .contains("kind")
        );
        assert!(
            bad(r#"{"name":"A","contact":"+8613800138000","description":"x","admin":true}"#)
                .contains("unknown")
        );
    }
}
