//! Reading a ticket document into the typed [`Ticket`] view, and finding its conflicts.

use std::collections::BTreeMap;
use std::str::FromStr;

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde_json::Value as Json;

use super::document::DocumentError;
use super::limits::{LimitError, MAX_DEPTH};
use super::view::*;

type Result<T> = std::result::Result<T, DocumentError>;

/// Whether a read looks for the document's conflicts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Conflicts {
    /// Walk the whole document for them (and refuse one nested too deep).
    Find,
    /// The caller knows there are none: the document had none when last read, and only this
    /// replica's own edits changed it since (`TicketDocument::view_after_own_edits`).
    NoneSinceLastRead,
    /// The caller found them already, walking the document for more than its conflicts
    /// (`TicketDocument::read_checked`).
    Found(Vec<Conflict>),
}

impl Conflicts {
    pub(super) fn after_own_edits(conflicts_before: bool) -> Self {
        if conflicts_before {
            Conflicts::Find
        } else {
            Conflicts::NoneSinceLastRead
        }
    }

    fn read(self, doc: &AutoCommit) -> Result<Vec<Conflict>> {
        match self {
            Conflicts::Find => super::walk::conflicts(doc),
            Conflicts::NoneSinceLastRead => Ok(Vec::new()),
            Conflicts::Found(conflicts) => Ok(conflicts),
        }
    }
}

/// Reads the whole view. Required fields that are missing mean the creation change is absent.
pub(super) fn read_ticket(doc: &AutoCommit, find: Conflicts) -> Result<Ticket> {
    let reporter = object(doc, &ROOT, "reporter")?.ok_or(DocumentError::Missing("reporter"))?;
    Ok(Ticket {
        v: int(doc, &ROOT, "v")?.unwrap_or(1),
        id: required_str(doc, &ROOT, "id")?,
        number: string(doc, &ROOT, "number")?,
        tenant: required_str(doc, &ROOT, "tenant")?,
        kind: parsed(doc, &ROOT, "kind")?,
        channel: parsed(doc, &ROOT, "channel")?,
        title: required_str(doc, &ROOT, "title")?,
        category: string(doc, &ROOT, "category")?,
        priority: parsed(doc, &ROOT, "priority")?,
        status: parsed(doc, &ROOT, "status")?,
        description: match typed(doc, &ROOT, "description", ObjType::Text)? {
            Some(text) => doc.text(&text)?,
            None => String::new(),
        },
        reporter: Person {
            user_id: required_str(doc, &reporter, "user_id")?,
            role: parsed(doc, &reporter, "role")?,
            name: string(doc, &reporter, "name")?,
        },
        customer: match object(doc, &ROOT, "customer")? {
            Some(obj) => Some(Customer {
                name: string(doc, &obj, "name")?,
                phone: string(doc, &obj, "phone")?,
            }),
            None => None,
        },
        order_ref: string(doc, &ROOT, "order_ref")?,
        asset: match object(doc, &ROOT, "asset")? {
            Some(obj) => Some(Asset {
                serial: required_str(doc, &obj, "serial")?,
                model: string(doc, &obj, "model")?,
                warranty_until: string(doc, &obj, "warranty_until")?,
            }),
            None => None,
        },
        site: match object(doc, &ROOT, "site")? {
            Some(obj) => Some(Site {
                lat: float(doc, &obj, "lat")?.ok_or(DocumentError::Missing("site.lat"))?,
                lon: float(doc, &obj, "lon")?.ok_or(DocumentError::Missing("site.lon"))?,
                accuracy_m: float(doc, &obj, "accuracy_m")?,
                address: string(doc, &obj, "address")?,
            }),
            None => None,
        },
        assignee: string(doc, &ROOT, "assignee")?,
        team: string(doc, &ROOT, "team")?,
        sla: read_sla(doc)?,
        notes: list_items(doc, "notes", read_note)?,
        attachments: read_attachments(doc)?,
        events: list_items(doc, "events", read_event)?,
        parts_used: list_items(doc, "parts_used", |doc, obj| {
            Ok(PartUsed {
                sku: required_str(doc, obj, "sku")?,
                qty: int(doc, obj, "qty")?.unwrap_or(1),
                by: string(doc, obj, "by")?.unwrap_or_default(),
            })
        })?,
        checklist: read_checklist(doc)?,
        csat: match object(doc, &ROOT, "csat")? {
            Some(obj) => Some(Csat {
                score: int(doc, &obj, "score")?.ok_or(DocumentError::Missing("csat.score"))?,
                comment: string(doc, &obj, "comment")?,
            }),
            None => None,
        },
        alert: match object(doc, &ROOT, "alert")? {
            Some(obj) => Some(AlertFold {
                metric: required_str(doc, &obj, "metric")?,
                count: int(doc, &obj, "count")?.unwrap_or(1),
                first_at: int(doc, &obj, "first_at")?.unwrap_or(0),
                last_at: int(doc, &obj, "last_at")?.unwrap_or(0),
                threshold: float(doc, &obj, "threshold")?.unwrap_or(0.0),
                last_value: float(doc, &obj, "last_value")?.unwrap_or(0.0),
                worst_value: float(doc, &obj, "worst_value")?.unwrap_or(0.0),
                severity: string(doc, &obj, "severity")?.unwrap_or_default(),
                resolved_at: int(doc, &obj, "resolved_at")?,
            }),
            None => None,
        },
        // The asset history is staff data (`read_staff`).
        asset_history: Vec::new(),
        // Tags are staff data: they live in the staff document (`read_staff`). A public
        // document written before the split may still hold some; they are not read.
        tags: Vec::new(),
        custom: match object(doc, &ROOT, "custom")? {
            Some(obj) => {
                let mut custom = BTreeMap::new();
                for key in doc.keys(&obj) {
                    if let Some((value, id)) = doc.get(&obj, key.as_str())? {
                        let json = to_json(doc, &value, &id, 2)?;
                        custom.insert(key, json);
                    }
                }
                custom
            }
            None => BTreeMap::new(),
        },
        created_at: int(doc, &ROOT, "created_at")?.unwrap_or(0),
        conflicts: find.read(doc)?,
    })
}

/// Reads a ticket's staff document: internal notes, the staff history and tags.
pub(super) fn read_staff(doc: &AutoCommit, find: Conflicts) -> Result<StaffView> {
    let mut conflicts = find.read(doc)?;
    for conflict in &mut conflicts {
        conflict.field = format!("staff.{}", conflict.field);
    }
    Ok(StaffView {
        notes: list_items(doc, "notes", |doc, obj| {
            // Whatever the note says of itself, a note in the staff document is internal.
            read_note(doc, obj).map(|note| Note {
                internal: true,
                ..note
            })
        })?,
        events: list_items(doc, "events", read_event)?,
        tags: match object(doc, &ROOT, "tags")? {
            Some(obj) => doc.keys(&obj).collect(),
            None => Vec::new(),
        },
        asset_history: list_items(doc, "asset_history", |doc, obj| {
            Ok(AssetHistoryEntry {
                ticket_id: required_str(doc, obj, "ticket_id")?,
                number: string(doc, obj, "number")?,
                title: string(doc, obj, "title")?.unwrap_or_default(),
                status: string(doc, obj, "status")?.unwrap_or_default(),
                created_at: int(doc, obj, "created_at")?.unwrap_or(0),
                parts: string(doc, obj, "parts")?.unwrap_or_default(),
            })
        })?,
        conflicts,
    })
}

pub(super) fn read_note(doc: &AutoCommit, obj: &ObjId) -> Result<Note> {
    note_of(|key| {
        Ok(match doc.get(obj, key)? {
            Some((Value::Scalar(value), _)) => Some(value.into_owned()),
            // An object where a note holds a value reads as no value.
            _ => None,
        })
    })
}

/// A note from its values, `value(key)` giving the one under `key` (`None` for none, or for
/// anything but a plain value): how a note in a document reads, and how one a change makes
/// reads before it is in a document (`ticket::tip`).
pub(super) fn note_of(value: impl Fn(&'static str) -> Result<Option<ScalarValue>>) -> Result<Note> {
    let string = |key| Ok::<_, DocumentError>(value(key)?.and_then(|v| v.into_string().ok()));
    let required = |key| string(key)?.ok_or(DocumentError::Missing(key));
    let boolean = |key| Ok::<_, DocumentError>(value(key)?.and_then(|v| v.to_bool()));
    // Read in this order, so a note missing several reports the same one whichever way it reads.
    let id = required("id")?;
    let author = required("author")?;
    let role = required("role")?;
    Ok(Note {
        id,
        author,
        role: role
            .parse()
            .map_err(
                |e: <crate::model::Role as FromStr>::Err| DocumentError::Malformed {
                    field: "role",
                    reason: e.to_string(),
                },
            )?,
        text: string("text")?.unwrap_or_default(),
        internal: boolean("internal")?.unwrap_or(false),
        at: value("at")?.and_then(|v| int_of(&v)).unwrap_or(0),
        redacted: boolean("redacted")?.unwrap_or(false),
        erased: boolean("erased")?.unwrap_or(false),
    })
}

fn read_event(doc: &AutoCommit, obj: &ObjId) -> Result<Event> {
    let mut data = BTreeMap::new();
    if let Some(map) = object(doc, obj, "data")? {
        for key in doc.keys(&map) {
            if let Some(value) = string(doc, &map, &key)? {
                data.insert(key, value);
            }
        }
    }
    Ok(Event {
        kind: required_str(doc, obj, "type")?,
        by: string(doc, obj, "by")?.unwrap_or_default(),
        at_device: int(doc, obj, "at_device")?.unwrap_or(0),
        data,
    })
}

fn read_sla(doc: &AutoCommit) -> Result<Option<Sla>> {
    let Some(obj) = object(doc, &ROOT, "sla")? else {
        return Ok(None);
    };
    let breaches = match typed(doc, &obj, "breaches", ObjType::List)? {
        Some(list) => (0..doc.length(&list))
            .filter_map(|i| doc.get(&list, i).ok().flatten())
            .filter_map(|(v, _)| v.to_str().map(str::to_owned))
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(Sla {
        first_response_due: int(doc, &obj, "first_response_due")?,
        resolution_due: int(doc, &obj, "resolution_due")?,
        paused: boolean(doc, &obj, "paused")?.unwrap_or(false),
        breaches,
        policy: string(doc, &obj, "policy")?,
        update_due: int(doc, &obj, "update_due")?,
    }))
}

fn read_attachments(doc: &AutoCommit) -> Result<Vec<Attachment>> {
    let Some(map) = object(doc, &ROOT, "attachments")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for sha256 in doc.keys(&map) {
        let Some(obj) = object(doc, &map, &sha256)? else {
            continue;
        };
        out.push(Attachment {
            mime: required_str(doc, &obj, "mime")?,
            name: string(doc, &obj, "name")?,
            bytes: int(doc, &obj, "bytes")?.unwrap_or(0),
            width: int(doc, &obj, "width")?.unwrap_or(0),
            height: int(doc, &obj, "height")?.unwrap_or(0),
            captured_at: int(doc, &obj, "captured_at")?,
            lat: float(doc, &obj, "lat")?,
            lon: float(doc, &obj, "lon")?,
            accuracy_m: float(doc, &obj, "accuracy_m")?,
            by: string(doc, &obj, "by")?.unwrap_or_default(),
            at: int(doc, &obj, "at")?.unwrap_or(0),
            thumb: string(doc, &obj, "thumb")?,
            erased: boolean(doc, &obj, "erased")?.unwrap_or(false),
            sha256,
        });
    }
    Ok(out)
}

fn read_checklist(doc: &AutoCommit) -> Result<BTreeMap<String, ChecklistItem>> {
    let Some(map) = object(doc, &ROOT, "checklist")? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for item in doc.keys(&map) {
        let Some(obj) = object(doc, &map, &item)? else {
            continue;
        };
        let entry = ChecklistItem {
            done: boolean(doc, &obj, "done")?.unwrap_or(false),
            by: string(doc, &obj, "by")?.unwrap_or_default(),
            at: int(doc, &obj, "at")?.unwrap_or(0),
        };
        out.insert(item, entry);
    }
    Ok(out)
}

fn list_items<T>(
    doc: &AutoCommit,
    key: &'static str,
    read: impl Fn(&AutoCommit, &ObjId) -> Result<T>,
) -> Result<Vec<T>> {
    let Some(list) = typed(doc, &ROOT, key, ObjType::List)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(doc.length(&list));
    for index in 0..doc.length(&list) {
        if let Some((Value::Object(kind), obj)) = doc.get(&list, index)?
            && same_kind(kind, ObjType::Map)
        {
            out.push(read(doc, &obj)?);
        }
    }
    Ok(out)
}

fn scalar<'a>(doc: &'a AutoCommit, obj: &ObjId, key: &str) -> Result<Option<Value<'a>>> {
    Ok(doc.get(obj, key)?.map(|(value, _)| value))
}

/// The map at `key`, if that is what it holds. Asking a list or a text for a key makes Automerge
/// panic, and a hostile change may put any kind of object anywhere: every reader asks through
/// these typed getters.
fn object(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<ObjId>> {
    typed(doc, obj, key, ObjType::Map)
}

/// The object of `kind` at `key` (a table counts as a map), if that is what it holds.
fn typed(doc: &AutoCommit, obj: &ObjId, key: &str, kind: ObjType) -> Result<Option<ObjId>> {
    Ok(match doc.get(obj, key)? {
        Some((Value::Object(found), id)) if same_kind(found, kind) => Some(id),
        _ => None,
    })
}

pub(super) fn same_kind(found: ObjType, wanted: ObjType) -> bool {
    match wanted {
        ObjType::Map | ObjType::Table => matches!(found, ObjType::Map | ObjType::Table),
        other => found == other,
    }
}

fn string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<String>> {
    Ok(scalar(doc, obj, key)?.and_then(|v| v.to_str().map(str::to_owned)))
}

fn required_str(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<String> {
    string(doc, obj, key)?.ok_or(DocumentError::Missing(key))
}

fn int(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<i64>> {
    Ok(match scalar(doc, obj, key)? {
        Some(Value::Scalar(s)) => int_of(&s),
        _ => None,
    })
}
/// A whole number held as one: a signed or unsigned integer, or a timestamp.
fn int_of(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Some(*i),
        ScalarValue::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    }
}
fn float(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<f64>> {
    Ok(match scalar(doc, obj, key)? {
        Some(Value::Scalar(s)) => match s.as_ref() {
            ScalarValue::F64(f) => Some(*f),
            ScalarValue::Int(i) => Some(*i as f64),
            _ => None,
        },
        _ => None,
    })
}

fn boolean(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<bool>> {
    Ok(scalar(doc, obj, key)?.and_then(|v| v.to_bool()))
}

fn parsed<T: FromStr>(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let raw = required_str(doc, obj, key)?;
    raw.parse().map_err(|e: T::Err| DocumentError::Malformed {
        field: key,
        reason: e.to_string(),
    })
}

/// Every field holding concurrently written, different values, walking the whole document
/// (keys this version does not know included), in a deterministic order. The walk goes no deeper
/// than [`MAX_DEPTH`]: a document nested deeper is an error, never a stack overflow.
/// Renders any value (objects by their winning contents) as JSON, for conflicts and `custom`.
/// `depth` is where the value sits (the root's own values are at 1); objects nested beyond
/// [`MAX_DEPTH`] are an error, so the recursion is bounded.
pub(super) fn to_json(
    doc: &AutoCommit,
    value: &Value<'_>,
    id: &ObjId,
    depth: usize,
) -> Result<Json> {
    if matches!(value, Value::Object(_)) && depth > MAX_DEPTH {
        return Err(LimitError::TooDeep.into());
    }
    Ok(match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => Json::from(s.as_str()),
            ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Json::from(*i),
            ScalarValue::Uint(u) => Json::from(*u),
            ScalarValue::F64(f) => Json::from(*f),
            ScalarValue::Boolean(b) => Json::from(*b),
            ScalarValue::Counter(c) => Json::from(i64::from(c)),
            ScalarValue::Null => Json::Null,
            ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::from("<binary>"),
        },
        Value::Object(ObjType::Text) => Json::from(doc.text(id)?),
        Value::Object(ObjType::List) => {
            let mut items = Vec::with_capacity(doc.length(id));
            for i in 0..doc.length(id) {
                if let Some((v, child)) = doc.get(id, i)? {
                    items.push(to_json(doc, &v, &child, depth + 1)?);
                }
            }
            Json::Array(items)
        }
        Value::Object(ObjType::Map | ObjType::Table) => {
            let mut fields = serde_json::Map::new();
            for key in doc.keys(id) {
                if let Some((v, child)) = doc.get(id, key.as_str())? {
                    let json = to_json(doc, &v, &child, depth + 1)?;
                    fields.insert(key, json);
                }
            }
            Json::Object(fields)
        }
    })
}
