//! `POST /intake/email`: a raw RFC 822 message, as a mail system delivers it
//! (`docs/channels.md`, "Email"; `fieldwork intake email` pipes one from Postfix or Exim). Parsed
//! by `mail-parser` (MIME, charsets such as GBK/GB2312, encoded-word subjects, HTML bodies made
//! text). A reply — the ticket's number in the subject, or `In-Reply-To`/`References` naming a
//! message the ticket took — becomes a public note on its ticket, its quoted history and
//! signature trimmed; any other message opens a ticket. The same Message-ID twice is one
//! delivery. Auto-replies and bounces (`Auto-Submitted`, `Precedence: bulk`, delivery reports, a
//! null sender) are recorded and ignored: they never open a ticket, and the server sends no mail
//! that could answer them. [`parse`] and [`trim_reply`] are plain functions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use fieldwork_core::model::{Channel, Priority, TicketKind};
use fieldwork_core::ticket::{Customer, NewTicket};
use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::photos::{self, MAX_FILES, MAX_IMAGES, photo_error};
use super::take::{Action, Plan, take};
use super::web::contact;
use super::{Delivered, channel_of, whole};
use crate::api::error::{ApiError, ErrorCode};
use crate::state::{AppState, blocking};
use crate::storage::{ChannelKind, ReadWith};
use fieldwork_protocol::blobs::MAX_BLOB_BYTES;

/// Largest message (photos attached included).
pub(super) const MAX_EMAIL_BYTES: usize = 25 * 1024 * 1024;

/// Longest body kept in a ticket or note (characters); the rest is cut with a mark.
const MAX_BODY_CHARS: usize = 20_000;

/// Most Message-IDs of `References` looked at.
const MAX_REFERENCES: usize = 50;

/// What a message is, read from its headers and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Email {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    /// The text, quoted history and signature trimmed.
    pub body: String,
    /// `In-Reply-To` then `References`, newest first.
    pub replies_to: Vec<String>,
    /// Why it is an automatic message (never a ticket), if it is one.
    pub automatic: Option<&'static str>,
    /// A ticket number the subject names (`FW-000123`).
    pub ticket_number: Option<String>,
    /// Attachments not kept: images past the first [`MAX_IMAGES`], files past the first
    /// [`MAX_FILES`] or larger than the blob lane takes: (file name, MIME type, bytes), listed
    /// in the text.
    pub attachments: Vec<(String, String, usize)>,
    /// Image attachments for the photo pipeline (at most [`MAX_IMAGES`]): (file name, bytes).
    pub images: Vec<(String, Vec<u8>)>,
    /// Other attachments, kept as files (at most [`MAX_FILES`]): (file name, MIME type, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// The first `FW-` and digits in `subject`, as the server writes numbers.
fn ticket_number(subject: &str) -> Option<String> {
    let upper = subject.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(at) = rest.find("FW-") {
        let digits: String = rest[at + 3..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if (1..=12).contains(&digits.len()) {
            return Some(format!("FW-{digits}"));
        }
        rest = &rest[at + 3..];
    }
    None
}

/// Why a message is automatic, from its headers (RFC 3834, RFC 3464, common practice).
fn automatic(message: &mail_parser::Message<'_>) -> Option<&'static str> {
    let raw = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if raw("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return Some("auto-submitted");
    }
    if raw("Precedence")
        .is_some_and(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str()))
    {
        return Some("bulk");
    }
    if raw("X-Autoreply").is_some()
        || raw("X-Autorespond").is_some()
        || raw("X-Auto-Reply-From").is_some()
    {
        return Some("auto-reply");
    }
    if message.is_content_type("multipart", "report")
        || message.attachments().any(|part| {
            part.is_content_type("message", "delivery-status")
                || part.is_content_type("message", "disposition-notification")
        })
    {
        return Some("delivery report");
    }
    if raw("Return-Path").is_some_and(|v| v == "<>") {
        return Some("null sender");
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let local = from.split('@').next().unwrap_or_default();
    if [
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "donotreply",
    ]
    .contains(&local)
    {
        return Some("automatic sender");
    }
    None
}

/// `text` without the history a reply quotes and without the sender's signature: everything
/// from the first line that opens a quote ("On … wrote:", "在 … 写道：", "-----Original
/// Message-----", "发件人:", an Outlook header block, a `>` line) or a signature ("-- ", "Sent
/// from my …", "发自我的…") on.
pub(super) fn trim_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let opens_quote = t.starts_with('>')
            || (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (t.starts_with('在') && (t.ends_with("写道：") || t.ends_with("写道:")))
            || lower.contains("-----original message-----")
            || t.contains("原始邮件")
            || t.starts_with("发件人:")
            || t.starts_with("发件人：")
            || (lower.starts_with("from:")
                && lines
                    .get(i + 1)
                    .is_some_and(|next| next.trim().to_lowercase().starts_with("sent:")))
            || (t.starts_with("________________") && i + 1 < lines.len());
        let opens_signature = *line == "-- "
            || t == "--"
            || lower.starts_with("sent from my ")
            || t.starts_with("发自我的");
        if opens_quote || opens_signature {
            keep = i;
            break;
        }
    }
    let kept = lines[..keep].join("\n");
    kept.trim().to_owned()
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_BODY_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_BODY_CHARS).collect();
    cut.push_str("\n\n[… the rest of the message was cut]");
    cut
}

/// Reads a message; `Err` says why it is not one.
pub(super) fn parse(raw: &[u8]) -> Result<Email, String> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| m.from().is_some() || m.message_id().is_some())
        .ok_or("the body is not an RFC 822 message (it has no From or Message-ID header)")?;
    let from = message.from().and_then(|a| a.first());
    let subject = message.subject().unwrap_or("").trim().to_owned();
    let body = message
        .body_text(0)
        .map(|b| b.replace("\r\n", "\n"))
        .unwrap_or_default();
    let mut replies_to: Vec<String> = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        if let Some(id) = value.as_text() {
            replies_to.push(id.to_owned());
        } else if let Some(ids) = value.as_text_list() {
            replies_to.extend(ids.iter().rev().map(|id| id.to_string()));
        }
    }
    replies_to.dedup();
    replies_to.truncate(MAX_REFERENCES);
    let (mut attachments, mut images, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for part in message.attachments().filter(|part| !part.is_message()) {
        let mime = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")))
            .unwrap_or_else(|| "application/octet-stream".into());
        let name = part.attachment_name().unwrap_or("attachment").to_owned();
        if mime.starts_with("image/") {
            if images.len() < MAX_IMAGES {
                images.push((name, part.contents().to_vec()));
            } else {
                attachments.push((name, mime, part.len()));
            }
        } else if files.len() < MAX_FILES && part.len() as u64 <= MAX_BLOB_BYTES {
            files.push((name, mime, part.contents().to_vec()));
        } else {
            attachments.push((name, mime, part.len()));
        }
    }
    Ok(Email {
        message_id: message
            .message_id()
            .map(str::to_owned)
            .filter(|id| !id.is_empty() && id.len() <= 500),
        from_address: from.and_then(|a| a.address()).map(str::to_owned),
        from_name: from
            .and_then(|a| a.name())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        ticket_number: ticket_number(&subject),
        subject,
        body: cut(&trim_reply(&body)),
        replies_to,
        automatic: automatic(&message),
        attachments,
        images,
        files,
    })
}

impl Email {
    /// Attachments the ticket does not hold yet, said in words (`docs/channels.md`).
    fn attachment_lines(&self, refused: &[String]) -> String {
        let mut text = String::new();
        if !self.attachments.is_empty() {
            text.push_str("\n\nAttachments (kept by the mail system, not here):");
            for (name, mime, bytes) in self.attachments.iter().take(20) {
                text.push_str(&format!("\n- {name} ({mime}, {} KB)", bytes.div_ceil(1024)));
            }
        }
        if !refused.is_empty() {
            text.push_str("\n\nImages that could not be read:");
            for why in refused {
                text.push_str(&format!("\n- {why}"));
            }
        }
        text
    }

    fn new_ticket(&self, sender: Option<&str>, refused: &[String]) -> NewTicket {
        let title = if self.subject.is_empty() {
            "(no subject)".to_owned()
        } else {
            self.subject.chars().take(200).collect()
        };
        let mut description = self.body.clone();
        if let Some(sender) = sender {
            description.push_str(&format!("\n\nFrom: {sender}"));
        }
        description.push_str(&self.attachment_lines(refused));
        NewTicket {
            kind: TicketKind::Inquiry,
            channel: Channel::Email,
            title,
            category: None,
            priority: Priority::Normal,
            description,
            order_ref: None,
            customer: self.from_name.as_ref().map(|name| Customer {
                name: Some(name.chars().take(100).collect()),
                phone: None,
            }),
            asset: None,
            site: None,
            note: None,
        }
    }

    fn note(&self, sender: Option<&str>, refused: &[String]) -> String {
        let who = sender.unwrap_or("the sender");
        let body = if self.body.is_empty() {
            "(no text)"
        } else {
            &self.body
        };
        format!(
            "Email from {who}:\n\n{body}{}",
            self.attachment_lines(refused)
        )
    }
}

/// Takes one message.
pub(super) async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Delivered>), ApiError> {
    let body = whole(body, "a message", MAX_EMAIL_BYTES)?;
    let channel = channel_of(&state, &headers, &body, ChannelKind::Email).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("message/rfc822") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the raw message as Content-Type: message/rfc822",
        ));
    }
    let raw = body.clone();
    let email = blocking(move || Ok(parse(&raw)))
        .await?
        .map_err(ApiError::bad_request)?;
    let key = match &email.message_id {
        Some(id) => format!("mid:{id}"),
        None => format!("raw:{}", hex::encode(Sha256::digest(&body))),
    };
    let sender = email.from_address.as_deref().and_then(contact);
    let action = if email.automatic.is_some() {
        Action::Ignore
    } else {
        let mut filed = photos::store(&state, &channel.tenant_id, email.images.clone())
            .await
            .map_err(photo_error)?;
        let kept = photos::store_files(&state, &channel.tenant_id, email.files.clone())
            .await
            .map_err(photo_error)?;
        filed.attachments.extend(kept);
        let (store, tenant) = (state.store(), channel.tenant_id.clone());
        let (number, refs) = (email.ticket_number.clone(), email.replies_to.clone());
        let thread = blocking(move || {
            if let Some(number) = number
                && let Some(id) = store.read_with(|r| r.ticket_by_number(&tenant, &number))?
            {
                return Ok(Some(id));
            }
            Ok::<_, crate::error::Error>(store.ticket_of_messages(&tenant, &refs)?)
        })
        .await?;
        match thread {
            Some(ticket_id) => Action::Note {
                ticket_id,
                text: email.note(sender.as_deref(), &filed.refused),
                photos: filed.attachments,
            },
            None => Action::Create {
                new: Box::new(email.new_ticket(sender.as_deref(), &filed.refused)),
                photos: filed.attachments,
            },
        }
    };
    let plan = Plan {
        action,
        contact: sender,
        messages: email.message_id.iter().cloned().collect(),
    };
    let (status, delivered) = take(&state, &channel, key, plan).await?;
    Ok((status, Json(delivered)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_are_found_in_subjects() {
        assert_eq!(
            ticket_number("Re: [FW-000123] Printer"),
            Some("FW-000123".into())
        );
        assert_eq!(
            ticket_number("回复：fw-000042 打印机"),
            Some("FW-000042".into())
        );
        assert_eq!(ticket_number("FW- nothing FW-7"), Some("FW-7".into()));
        assert_eq!(ticket_number("Fwd: hello"), None);
    }

    #[test]
    fn quoted_history_and_signatures_are_trimmed() {
        let gmail = "Thanks, it works now.\n\nOn Mon, 30 Nov 2026 at 10:00, Fieldwork <help@x.com> wrote:\n> Did you restart it?\n";
        assert_eq!(trim_reply(gmail), "Thanks, it works now.");
        let outlook =
            "Still broken.\n\n________________________________\nFrom: Help\nSent: Monday\n";
        assert_eq!(trim_reply(outlook), "Still broken.");
        let qq = "好的，谢谢\n\n------------------ 原始邮件 ------------------\n发件人: 客服\n";
        assert_eq!(trim_reply(qq), "好的，谢谢");
        let foxmail = "已经修好了\n在 2026年11月30日 10:00，客服 写道：\n> 请重启\n";
        assert_eq!(trim_reply(foxmail), "已经修好了");
        let signed = "See the photo.\n-- \nWang Fang\nShop 12\n";
        assert_eq!(trim_reply(signed), "See the photo.");
        let phone = "On my way\n\nSent from my iPhone";
        assert_eq!(trim_reply(phone), "On my way");
        assert_eq!(
            trim_reply("Plain text\nover two lines"),
            "Plain text\nover two lines"
        );
    }

    #[test]
    fn what_is_not_a_message_says_so() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x00\x01\x02 not mail").is_err());
    }
}
