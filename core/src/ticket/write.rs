//! How an edit's values are written into a ticket document, key by key (ADR 0001): the helpers
//! [`super::TicketDocument`]'s creation and edits share — optional values written as explicit
//! nulls, the site and customer as one object, notes and history entries appended, and the
//! containers made with the document found again only if they are the kind they should be.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};

use super::document::{DocumentError, LISTS};
use super::edit::NewAttachment;
use super::view::{Customer, Site};
use crate::model::{Actor, Status};

/// Puts a string, or an explicit null so a concurrent set and clear show up as a conflict.
pub(super) fn put_opt(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), DocumentError> {
    match value {
        Some(v) => doc.put(obj, key, v)?,
        None => doc.put(obj, key, ScalarValue::Null)?,
    }
    Ok(())
}

/// The site is replaced as one object so latitude and longitude always travel together.
pub(super) fn write_site(doc: &mut AutoCommit, site: &Site) -> Result<(), DocumentError> {
    let obj = doc.put_object(ROOT, "site", ObjType::Map)?;
    doc.put(&obj, "lat", site.lat)?;
    doc.put(&obj, "lon", site.lon)?;
    if let Some(acc) = site.accuracy_m {
        doc.put(&obj, "accuracy_m", acc)?;
    }
    put_opt(doc, &obj, "address", site.address.as_deref())
}

pub(super) fn write_attachment(
    doc: &mut AutoCommit,
    attachments: &ObjId,
    attachment: &NewAttachment,
    by: &str,
    at: i64,
) -> Result<(), DocumentError> {
    let obj = doc.put_object(attachments, attachment.sha256.as_str(), ObjType::Map)?;
    put_opt(doc, &obj, "thumb", attachment.thumb.as_deref())?;
    doc.put(&obj, "mime", attachment.mime.as_str())?;
    put_opt(doc, &obj, "name", attachment.name.as_deref())?;
    doc.put(&obj, "bytes", attachment.bytes)?;
    doc.put(&obj, "width", attachment.width)?;
    doc.put(&obj, "height", attachment.height)?;
    if let Some(captured_at) = attachment.captured_at {
        doc.put(&obj, "captured_at", captured_at)?;
    }
    if let Some(fix) = &attachment.location {
        doc.put(&obj, "lat", fix.lat)?;
        doc.put(&obj, "lon", fix.lon)?;
        if let Some(acc) = fix.accuracy_m {
            doc.put(&obj, "accuracy_m", acc)?;
        }
    }
    doc.put(&obj, "by", by)?;
    doc.put(&obj, "at", at)?;
    Ok(())
}

pub(super) fn write_customer(
    doc: &mut AutoCommit,
    customer: Option<&Customer>,
) -> Result<(), DocumentError> {
    match customer {
        Some(c) => {
            let obj = doc.put_object(ROOT, "customer", ObjType::Map)?;
            put_opt(doc, &obj, "name", c.name.as_deref())?;
            put_opt(doc, &obj, "phone", c.phone.as_deref())
        }
        None => {
            doc.put(ROOT, "customer", ScalarValue::Null)?;
            Ok(())
        }
    }
}

pub(super) fn set_status(
    doc: &mut AutoCommit,
    from: Status,
    to: Status,
    by: &str,
    at: i64,
) -> Result<(), DocumentError> {
    doc.put(ROOT, "status", to.as_str())?;
    push_event(
        doc,
        "status_changed",
        by,
        at,
        &[("from", from.as_str()), ("to", to.as_str())],
    )
}

pub(super) fn add_note(
    doc: &mut AutoCommit,
    author: &Actor,
    text: &str,
    internal: bool,
    at: i64,
) -> Result<(), DocumentError> {
    let notes = container(doc, "notes")?;
    let index = doc.length(&notes);
    let note = doc.insert_object(&notes, index, ObjType::Map)?;
    doc.put(&note, "id", uuid::Uuid::now_v7().simple().to_string())?;
    doc.put(&note, "author", author.user_id.as_str())?;
    doc.put(&note, "role", author.role.as_str())?;
    doc.put(&note, "text", text)?;
    doc.put(&note, "internal", internal)?;
    doc.put(&note, "at", at)?;
    doc.put(&note, "redacted", false)?;
    Ok(())
}

pub(super) fn push_event(
    doc: &mut AutoCommit,
    kind: &str,
    by: &str,
    at: i64,
    data: &[(&str, &str)],
) -> Result<(), DocumentError> {
    let events = container(doc, "events")?;
    let index = doc.length(&events);
    let event = doc.insert_object(&events, index, ObjType::Map)?;
    doc.put(&event, "type", kind)?;
    doc.put(&event, "by", by)?;
    doc.put(&event, "at_device", at)?;
    let map = doc.put_object(&event, "data", ObjType::Map)?;
    for (key, value) in data {
        doc.put(&map, *key, *value)?;
    }
    Ok(())
}

/// One of the containers made with the ticket, if it is the kind of object it should be (a
/// hostile change may have put another kind there; asking a list for a key panics Automerge).
pub(super) fn container(doc: &AutoCommit, key: &'static str) -> Result<ObjId, DocumentError> {
    let kind = if LISTS.contains(&key) {
        ObjType::List
    } else {
        ObjType::Map
    };
    match doc.get(ROOT, key)? {
        Some((automerge::Value::Object(found), id)) if super::read::same_kind(found, kind) => {
            Ok(id)
        }
        _ => Err(DocumentError::Missing(key)),
    }
}

pub(super) fn find_note(doc: &AutoCommit, note_id: &str) -> Result<ObjId, DocumentError> {
    let notes = container(doc, "notes")?;
    for index in 0..doc.length(&notes) {
        if let Some((automerge::Value::Object(kind), note)) = doc.get(&notes, index)?
            && super::read::same_kind(kind, ObjType::Map)
            && let Some((value, _)) = doc.get(&note, "id")?
            && value.to_str() == Some(note_id)
        {
            return Ok(note);
        }
    }
    Err(DocumentError::UnknownNote)
}
