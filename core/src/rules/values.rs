//! Limits on the values people type: lengths, ranges and non-empty text.

use crate::location::LocationFix;
use fieldwork_protocol::blobs::{ALLOWED_MIME, MAX_BLOB_BYTES, is_sha256_hex};
use std::collections::BTreeMap;

use crate::ticket::{Edit, Event, NewAttachment, NewTicket, Ticket};

use super::Refusal;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_SHORT_CHARS: usize = 64;
pub const MAX_NOTE_CHARS: usize = 10_000;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub const MAX_PART_QTY: i64 = 10_000;
/// Largest side of a stored photo the rules accept (the pipeline writes at most 1920 by default).
pub const MAX_PHOTO_SIDE: i64 = 16_384;
/// Most tags on one ticket.
pub const MAX_TAGS: usize = 50;
/// Most checklist items on one ticket.
pub const MAX_CHECKLIST_ITEMS: usize = 100;
/// Most photos and screenshots filed on one ticket.
pub const MAX_ATTACHMENTS: usize = 100;
/// Most custom fields on one ticket (written by the back office and integrations).
pub const MAX_CUSTOM_FIELDS: usize = 50;
/// Longest text in one custom field.
pub const MAX_CUSTOM_CHARS: usize = 1_000;
/// Most entries in one history event's `data`.
pub const MAX_EVENT_DATA: usize = 8;
/// Farthest from the site an arrival may be recorded (the radius is far smaller; this only
/// catches nonsense).
pub const MAX_ARRIVAL_DISTANCE_M: i64 = 10_000;

fn text(field: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.trim().is_empty() {
        return Err(Refusal::Invalid {
            field,
            reason: "must not be empty".to_owned(),
        });
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(Refusal::Invalid {
            field,
            reason: format!("is {chars} characters long; the limit is {max}"),
        });
    }
    Ok(())
}

fn optional(field: &'static str, value: Option<&str>, max: usize) -> Result<(), Refusal> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

fn long_text(field: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.is_empty() {
        Ok(())
    } else {
        text(field, value, max)
    }
}

fn too_many(field: &'static str, max: usize) -> Refusal {
    Refusal::Invalid {
        field,
        reason: format!("a ticket holds at most {max}"),
    }
}

/// Checks that a change does not grow the ticket's tags, checklist or photos beyond their limits
/// (a ticket already beyond one, from before the limit, may still shrink or stay).
pub fn check_counts(before: &Ticket, after: &Ticket) -> Result<(), Refusal> {
    let grows = |was: usize, now: usize, max: usize| now > max && now > was;
    if grows(before.tags.len(), after.tags.len(), MAX_TAGS) {
        return Err(too_many("tags", MAX_TAGS));
    }
    if grows(
        before.checklist.len(),
        after.checklist.len(),
        MAX_CHECKLIST_ITEMS,
    ) {
        return Err(too_many("checklist items", MAX_CHECKLIST_ITEMS));
    }
    if grows(
        before.attachments.len(),
        after.attachments.len(),
        MAX_ATTACHMENTS,
    ) {
        return Err(too_many("attachments", MAX_ATTACHMENTS));
    }
    Ok(())
}

/// Whether the ticket has room for what `edit` adds (the device's side of [`check_counts`]).
pub fn check_room(ticket: &Ticket, edit: &Edit) -> Result<(), Refusal> {
    match edit {
        Edit::AddTag { tag } if ticket.tags.len() >= MAX_TAGS && !ticket.tags.contains(tag) => {
            Err(too_many("tags", MAX_TAGS))
        }
        Edit::TickChecklist { item, .. }
            if ticket.checklist.len() >= MAX_CHECKLIST_ITEMS
                && !ticket.checklist.contains_key(item) =>
        {
            Err(too_many("checklist items", MAX_CHECKLIST_ITEMS))
        }
        Edit::Attach { attachment }
            if ticket.attachments.len() >= MAX_ATTACHMENTS
                && !ticket
                    .attachments
                    .iter()
                    .any(|a| a.sha256 == attachment.sha256) =>
        {
            Err(too_many("attachments", MAX_ATTACHMENTS))
        }
        _ => Ok(()),
    }
}

/// Custom fields are plain values (a key to a string, number, boolean or null), few and short.
pub fn check_custom(custom: &BTreeMap<String, serde_json::Value>) -> Result<(), Refusal> {
    if custom.len() > MAX_CUSTOM_FIELDS {
        return Err(too_many("custom fields", MAX_CUSTOM_FIELDS));
    }
    for (key, value) in custom {
        text("custom field name", key, MAX_SHORT_CHARS)?;
        match value {
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(Refusal::Invalid {
                    field: "custom field",
                    reason: "must be a plain value, not a list or an object".into(),
                });
            }
            serde_json::Value::String(s) => long_text("custom field", s, MAX_CUSTOM_CHARS)?,
            _ => {}
        }
    }
    Ok(())
}

/// A history event a change adds: a short type and a few short values (the workflow writes ids,
/// statuses and numbers there, nothing longer).
pub fn check_event(event: &Event) -> Result<(), Refusal> {
    text("event type", &event.kind, MAX_SHORT_CHARS)?;
    if event.data.len() > MAX_EVENT_DATA {
        return Err(Refusal::Invalid {
            field: "event",
            reason: format!("carries more than {MAX_EVENT_DATA} values"),
        });
    }
    for (key, value) in &event.data {
        text("event data name", key, MAX_SHORT_CHARS)?;
        long_text("event data", value, MAX_TITLE_CHARS)?;
    }
    Ok(())
}

/// Checks the values of a new ticket.
pub fn check_new(new: &NewTicket) -> Result<(), Refusal> {
    text("title", &new.title, MAX_TITLE_CHARS)?;
    optional("category", new.category.as_deref(), MAX_SHORT_CHARS)?;
    optional("order reference", new.order_ref.as_deref(), MAX_SHORT_CHARS)?;
    long_text("description", &new.description, MAX_DESCRIPTION_CHARS)?;
    optional("note", new.note.as_deref(), MAX_NOTE_CHARS)?;
    if let Some(site) = &new.site {
        site_fix(site)?;
    }
    Ok(())
}

fn site_fix(site: &crate::ticket::Site) -> Result<(), Refusal> {
    let fix = crate::location::LocationFix {
        lat: site.lat,
        lon: site.lon,
        accuracy_m: site.accuracy_m,
        at: None,
    };
    fix.validate(0)?;
    optional("address", site.address.as_deref(), MAX_TITLE_CHARS)
}

/// An attachment names its files by sha256 and describes a JPEG the blob lane will accept.
fn check_attachment(attachment: &NewAttachment) -> Result<(), Refusal> {
    let invalid = |field: &'static str, reason: &str| {
        Err(Refusal::Invalid {
            field,
            reason: reason.to_owned(),
        })
    };
    if !is_sha256_hex(&attachment.sha256) {
        return invalid("attachment", "its sha256 must be 64 lower-case hex digits");
    }
    if attachment
        .thumb
        .as_deref()
        .is_some_and(|t| !is_sha256_hex(t))
    {
        return invalid(
            "attachment",
            "its thumbnail sha256 must be 64 lower-case hex digits",
        );
    }
    if !ALLOWED_MIME.contains(&attachment.mime.as_str()) {
        return invalid("attachment", "only JPEG files are stored");
    }
    if attachment.name.is_some() {
        return invalid("attachment", "a photo has no file name");
    }
    if !(1..=MAX_BLOB_BYTES as i64).contains(&attachment.bytes) {
        return invalid(
            "attachment",
            "its size is outside what the blob lane accepts",
        );
    }
    if !(1..=MAX_PHOTO_SIDE).contains(&attachment.width)
        || !(1..=MAX_PHOTO_SIDE).contains(&attachment.height)
    {
        return invalid("attachment", "its dimensions are out of range");
    }
    if let Some(fix) = &attachment.location {
        // Capture time is the camera's business; only the position's ranges are checked here.
        LocationFix { at: None, ..*fix }.validate(0)?;
    }
    Ok(())
}

/// Checks the values carried by an edit (not whether it is allowed).
pub fn check_edit(edit: &Edit) -> Result<(), Refusal> {
    match edit {
        Edit::SetTitle { title } => text("title", title, MAX_TITLE_CHARS),
        Edit::SetCategory { category } => {
            optional("category", category.as_deref(), MAX_SHORT_CHARS)
        }
        Edit::SetDescription { description } => {
            long_text("description", description, MAX_DESCRIPTION_CHARS)
        }
        Edit::SetOrderRef { order_ref } => {
            optional("order reference", order_ref.as_deref(), MAX_SHORT_CHARS)
        }
        Edit::SetCustomer { customer } => match customer {
            Some(c) => {
                optional("customer name", c.name.as_deref(), MAX_TITLE_CHARS)?;
                optional("customer phone", c.phone.as_deref(), MAX_SHORT_CHARS)
            }
            None => Ok(()),
        },
        Edit::Assign { assignee } => optional("assignee", assignee.as_deref(), MAX_SHORT_CHARS),
        Edit::SetTeam { team } => optional("team", team.as_deref(), MAX_SHORT_CHARS),
        Edit::AddNote { text: note, .. } => text("note", note, MAX_NOTE_CHARS),
        Edit::RedactNote { note_id } => text("note id", note_id, MAX_SHORT_CHARS),
        Edit::AddPart { sku, qty } => {
            text("part sku", sku, MAX_SHORT_CHARS)?;
            if !(1..=MAX_PART_QTY).contains(qty) {
                return Err(Refusal::Invalid {
                    field: "part quantity",
                    reason: format!("must be between 1 and {MAX_PART_QTY}"),
                });
            }
            Ok(())
        }
        Edit::TickChecklist { item, .. } => text("checklist item", item, MAX_TITLE_CHARS),
        Edit::SetSite { site } => site_fix(site),
        Edit::AddTag { tag } | Edit::RemoveTag { tag } => text("tag", tag, MAX_SHORT_CHARS),
        Edit::Rate { score, comment } => {
            if !(1..=5).contains(score) {
                return Err(Refusal::Invalid {
                    field: "rating",
                    reason: "must be a whole number from 1 to 5".to_owned(),
                });
            }
            optional("rating comment", comment.as_deref(), MAX_NOTE_CHARS)
        }
        Edit::Attach { attachment } => check_attachment(attachment),
        Edit::RecordArrival { distance_m } => {
            if !(0..=MAX_ARRIVAL_DISTANCE_M).contains(distance_m) {
                return Err(Refusal::Invalid {
                    field: "arrival distance",
                    reason: format!("must be between 0 and {MAX_ARRIVAL_DISTANCE_M} metres"),
                });
            }
            Ok(())
        }
        Edit::SetPriority { .. } | Edit::SetStatus { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::Site;

    #[test]
    fn empty_and_oversized_text_is_refused() {
        assert!(check_edit(&Edit::SetTitle { title: "  ".into() }).is_err());
        assert!(
            check_edit(&Edit::SetTitle {
                title: "x".repeat(201)
            })
            .is_err()
        );
        assert!(
            check_edit(&Edit::SetTitle {
                title: "冷柜不制冷".into()
            })
            .is_ok()
        );
        assert!(
            check_edit(&Edit::AddNote {
                text: String::new(),
                internal: false
            })
            .is_err()
        );
    }

    #[test]
    fn ranges_are_enforced() {
        assert!(
            check_edit(&Edit::AddPart {
                sku: "V-1".into(),
                qty: 0
            })
            .is_err()
        );
        assert!(
            check_edit(&Edit::AddPart {
                sku: "V-1".into(),
                qty: 3
            })
            .is_ok()
        );
        assert!(
            check_edit(&Edit::Rate {
                score: 6,
                comment: None
            })
            .is_err()
        );
        assert!(
            check_edit(&Edit::Rate {
                score: 5,
                comment: None
            })
            .is_ok()
        );
        let bad_site = Site {
            lat: 91.0,
            lon: 0.0,
            accuracy_m: None,
            address: None,
        };
        assert!(matches!(
            check_edit(&Edit::SetSite { site: bad_site }),
            Err(Refusal::Location(_))
        ));
    }
}
