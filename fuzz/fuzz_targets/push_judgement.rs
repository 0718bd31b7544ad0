//! Fuzz target: the server's push judgement (`fieldwork_core::rules::judge`, the functions
//! `server/src/service/judge.rs` calls) fed arbitrary bytes, honest changes with bytes flipped, and
//! structured hostile changes — nesting thousands deep, lists of hundreds of thousands of items,
//! stale dependencies, forged `startOp` and `seq`, raw status writes, values where the schema has
//! none. Whatever comes in, judging must not panic or overflow the stack, and an accepted change
//! must leave a ticket within the limits that loads back to the same view as the server stores it
//! (its last snapshot followed by the change) and, when it compacts, as a snapshot. The device's
//! own path (`TicketDocument::apply_changes`) gets the same change and must not panic either.
//! Judged on the ticket's tip instead of its document (`judge::judge_append`, what the server
//! does for a note when the document is not in memory), a change gets the document's verdict:
//! the same ticket and the tip the document then has, or the same refusal.
#![no_main]

mod caught;

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use fieldwork_core::rules::judge;
use fieldwork_core::ticket::limits::{MAX_CHANGE_BYTES, MAX_CHANGE_OPS};
use fieldwork_core::ticket::{Change, ChangeHash, Edit, NewTicket, Ticket, TicketDocument};
use fieldwork_core::{Actor, Priority, Role, Status};
use libfuzzer_sys::fuzz_target;

/// A ticket as the server holds it, with the heads it passed through (for stale dependencies).
struct Base {
    saved: Vec<u8>,
    view: Ticket,
    history: Vec<Vec<ChangeHash>>,
}

/// The device whose changes are judged (the rider's phone, the reporter of both tickets).
fn device() -> ActorId {
    ActorId::from(&[0xd0; 16][..])
}

fn actor(role: u8) -> Actor {
    let (user, role) = match role % 4 {
        0 => ("r1", Role::Rider),
        1 => ("t1", Role::Technician),
        2 => ("d1", Role::Dispatcher),
        _ => ("m1", Role::Merchant),
    };
    Actor {
        tenant: "acme".into(),
        user_id: user.into(),
        role,
        name: None,
        team: Some("north".into()),
    }
}

/// Two tickets: a rider's fresh help request with a note, and the same request worked to closed
/// by a dispatcher (the finding-4 setting).
fn bases() -> &'static [Base; 2] {
    static BASES: OnceLock<[Base; 2]> = OnceLock::new();
    BASES.get_or_init(|| {
        let rider = actor(0);
        let ops = actor(2);
        let new = NewTicket::help_request(Some("ORD-1".into()), None, Some("fell".into()));
        let mut doc = TicketDocument::create("t-fuzz", &rider, &new, device(), 1).expect("create");
        let mut history = vec![doc.heads()];
        doc.set_number("FW-000001", ActorId::from(&[0x5e; 16][..]), 2)
            .expect("number");
        history.push(doc.heads());
        apply(
            &mut doc,
            &rider,
            Edit::AddNote {
                text: "help".into(),
                internal: false,
            },
        );
        history.push(doc.heads());
        let fresh = base(&mut doc, history.clone());
        doc.set_actor(ActorId::from(&[0xd1; 16][..]));
        for edit in [
            Edit::Assign {
                assignee: Some("t1".into()),
            },
            Edit::SetPriority {
                priority: Priority::High,
            },
            Edit::SetStatus {
                status: Status::Accepted,
            },
            Edit::SetStatus {
                status: Status::InProgress,
            },
            Edit::SetStatus {
                status: Status::Resolved,
            },
            Edit::SetStatus {
                status: Status::Closed,
            },
        ] {
            apply(&mut doc, &ops, edit);
            history.push(doc.heads());
        }
        let closed = base(&mut doc, history);
        [fresh, closed]
    })
}

fn apply(doc: &mut TicketDocument, by: &Actor, edit: Edit) {
    let view = doc.view().expect("view");
    doc.apply(&view, &edit, by, 3).expect("honest edit");
}

fn base(doc: &mut TicketDocument, history: Vec<Vec<ChangeHash>>) -> Base {
    Base {
        saved: doc.save(),
        view: doc.view().expect("view"),
        history,
    }
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any bytes, as a pushed change.
    Raw {
        base: bool,
        role: u8,
        bytes: Vec<u8>,
    },
    /// An honest edit by the device, some of its bytes then flipped.
    Flipped {
        base: bool,
        role: u8,
        edit: EditKind,
        flips: Vec<(u16, u8)>,
    },
    /// A change built op by op, as a hostile client would.
    Built(Built),
}

#[derive(Arbitrary, Debug)]
struct Built {
    base: bool,
    role: u8,
    /// Build on an older version of the ticket (index into its history), not its heads.
    stale: Option<u8>,
    /// A ticket-creating change (no dependencies) instead of an edit.
    create: bool,
    ops: Vec<Op>,
    /// Append this many copies of the change's last insertion (huge lists cheaply).
    repeat: u32,
    start_op: i16,
    seq: i8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum EditKind {
    Note,
    Cancel,
    Resolve,
    Priority,
    Rate,
    Tag,
    Assign,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Nest { depth: u16, list: bool, at: Place },
    Items { count: u16, null: bool, at: Place },
    Put { at: Place, key: u8, value: Val },
    Status(u8),
    Delete { at: Place, key: u8 },
    Text { at: u16, len: u16 },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Place {
    Root,
    Notes,
    Events,
    Custom,
    Tags,
    Checklist,
    Attachments,
    Reporter,
    FirstNote,
}

#[derive(Arbitrary, Debug)]
enum Val {
    Null,
    Int(i64),
    Str(u16),
    Bool(bool),
    Map,
    List,
    Text,
}

const KEYS: [&str; 16] = [
    "status",
    "assignee",
    "title",
    "priority",
    "number",
    "id",
    "tenant",
    "reporter",
    "csat",
    "site",
    "custom",
    "events",
    "notes",
    "x_future",
    "team",
    "description",
];
const STATUSES: [&str; 13] = [
    "new",
    "assigned",
    "accepted",
    "en_route",
    "on_site",
    "in_progress",
    "awaiting_parts",
    "awaiting_customer",
    "resolved",
    "closed",
    "reopened",
    "cancelled",
    "bogus",
];

fn place(doc: &AutoCommit, at: Place) -> ObjId {
    let child = |parent: &ObjId, key: &str| match doc.get(parent, key) {
        Ok(Some((automerge::Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let found = match at {
        Place::Root => None,
        Place::Notes => child(&ROOT, "notes"),
        Place::Events => child(&ROOT, "events"),
        Place::Custom => child(&ROOT, "custom"),
        Place::Tags => child(&ROOT, "tags"),
        Place::Checklist => child(&ROOT, "checklist"),
        Place::Attachments => child(&ROOT, "attachments"),
        Place::Reporter => child(&ROOT, "reporter"),
        Place::FirstNote => child(&ROOT, "notes").and_then(|notes| match doc.get(&notes, 0) {
            Ok(Some((automerge::Value::Object(_), id))) => Some(id),
            _ => None,
        }),
    };
    found.unwrap_or(ROOT)
}

/// Writes `value` at `key` of `obj` (or appends it, in a list); errors are the fuzzer's bad luck.
fn put(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: ScalarValue) {
    let _ = match doc.object_type(obj) {
        Ok(ObjType::List) => {
            let len = doc.length(obj);
            doc.insert(obj, len, value)
        }
        Ok(ObjType::Map | ObjType::Table) => doc.put(obj, key, value),
        _ => return,
    };
}

fn put_object(doc: &mut AutoCommit, obj: &ObjId, key: &str, kind: ObjType) -> Option<ObjId> {
    match doc.object_type(obj) {
        Ok(ObjType::List) => {
            let len = doc.length(obj);
            doc.insert_object(obj, len, kind).ok()
        }
        Ok(ObjType::Map | ObjType::Table) => doc.put_object(obj, key, kind).ok(),
        _ => None,
    }
}

/// What is still worth building into one change, shared by all its builders. A change just past
/// the operation or byte limit is still built, so its refusal runs; anything bigger is refused
/// unparsed just the same, and building it only slows the run (a slow unit spent 11 s splicing
/// 113,000 characters into the description under debug assertions, then was refused in 0.3 ms).
struct Budget {
    ops: usize,
    bytes: usize,
}

impl Budget {
    fn new() -> Self {
        Budget {
            ops: MAX_CHANGE_OPS + 1_000,
            bytes: MAX_CHANGE_BYTES + 16 * 1024,
        }
    }

    /// Takes up to `ops` operations of `bytes_each` bytes; returns how many may be built.
    fn take(&mut self, ops: usize, bytes_each: usize) -> usize {
        let n = ops
            .min(self.ops)
            .min(self.bytes.checked_div(bytes_each).unwrap_or(usize::MAX));
        self.ops -= n;
        self.bytes -= n * bytes_each;
        n
    }
}

fn build(doc: &mut AutoCommit, op: &Op, budget: &mut Budget) {
    match op {
        Op::Nest { depth, list, at } => {
            let kind = if *list { ObjType::List } else { ObjType::Map };
            let Some(mut obj) = put_object(doc, &place(doc, *at), "x_future", kind) else {
                return;
            };
            for _ in 1..budget.take(usize::from(*depth).min(5_000), 0) {
                match put_object(doc, &obj, "k", kind) {
                    Some(next) => obj = next,
                    None => return,
                }
            }
        }
        Op::Items { count, null, at } => {
            let Some(list) = put_object(doc, &place(doc, *at), "x_list", ObjType::List) else {
                return;
            };
            let value = if *null {
                ScalarValue::Null
            } else {
                ScalarValue::Int(1)
            };
            let count = budget.take(usize::from(*count).min(2_000), 0);
            let _ = doc.splice(&list, 0, 0, (0..count).map(|_| value.clone()));
        }
        Op::Put { at, key, value } => {
            let obj = place(doc, *at);
            let key = KEYS[usize::from(*key) % KEYS.len()];
            match value {
                Val::Null => put(doc, &obj, key, ScalarValue::Null),
                Val::Int(i) => put(doc, &obj, key, ScalarValue::Int(*i)),
                Val::Bool(b) => put(doc, &obj, key, ScalarValue::Boolean(*b)),
                Val::Str(n) => {
                    let n = usize::from(*n).min(budget.bytes);
                    let n = budget.take(1, n) * n;
                    put(doc, &obj, key, ScalarValue::Str("x".repeat(n).into()));
                }
                Val::Map => drop(put_object(doc, &obj, key, ObjType::Map)),
                Val::List => drop(put_object(doc, &obj, key, ObjType::List)),
                Val::Text => drop(put_object(doc, &obj, key, ObjType::Text)),
            }
        }
        Op::Status(s) => {
            let _ = doc.put(ROOT, "status", STATUSES[usize::from(*s) % STATUSES.len()]);
        }
        Op::Delete { at, key } => {
            // Automerge's own API panics on a name used in a list: the harness asks properly.
            let obj = place(doc, *at);
            let _ = match doc.object_type(&obj) {
                Ok(ObjType::Map | ObjType::Table) => {
                    doc.delete(&obj, KEYS[usize::from(*key) % KEYS.len()])
                }
                Ok(ObjType::List | ObjType::Text) if doc.length(&obj) > 0 => {
                    doc.delete(&obj, usize::from(*key) % doc.length(&obj))
                }
                _ => return,
            };
        }
        Op::Text { at, len } => {
            if let Ok(Some((automerge::Value::Object(ObjType::Text), text))) =
                doc.get(ROOT, "description")
            {
                let at = usize::from(*at).min(doc.length(&text));
                let len = budget.take(usize::from(*len), "冷".len());
                let _ = doc.splice_text(&text, at, 0, &"冷".repeat(len));
            }
        }
    }
}

fn edit_of(kind: EditKind) -> Edit {
    match kind {
        EditKind::Note => Edit::AddNote {
            text: "n".into(),
            internal: false,
        },
        EditKind::Cancel => Edit::SetStatus {
            status: Status::Cancelled,
        },
        EditKind::Resolve => Edit::SetStatus {
            status: Status::Resolved,
        },
        EditKind::Priority => Edit::SetPriority {
            priority: Priority::Urgent,
        },
        EditKind::Rate => Edit::Rate {
            score: 5,
            comment: None,
        },
        EditKind::Tag => Edit::AddTag { tag: "vip".into() },
        EditKind::Assign => Edit::Assign {
            assignee: Some("t1".into()),
        },
    }
}

fn load(base: &Base) -> TicketDocument {
    let mut doc = TicketDocument::load(&base.saved).expect("the base loads");
    doc.set_actor(device());
    doc
}

/// The change's bytes as a hostile client would push them.
fn change_bytes(input: &Input) -> Option<(&'static Base, Actor, Vec<u8>)> {
    match input {
        Input::Raw { base, role, bytes } => {
            Some((&bases()[usize::from(*base)], actor(*role), bytes.clone()))
        }
        Input::Flipped {
            base,
            role,
            edit,
            flips,
        } => {
            let b = &bases()[usize::from(*base)];
            let mut doc = load(b);
            let by = actor(*role);
            let change = doc.apply(&b.view, &edit_of(*edit), &by, 9).ok().flatten()?;
            let mut bytes = change.raw_bytes().to_vec();
            for (at, xor) in flips.iter().take(16) {
                let at = usize::from(*at) % bytes.len();
                bytes[at] ^= xor;
            }
            Some((b, by, bytes))
        }
        Input::Built(built) => {
            let b = &bases()[usize::from(built.base)];
            let mut doc = if built.create {
                let mut fresh =
                    TicketDocument::empty(fieldwork_core::ticket::Part::Public, device());
                let raw = fresh.raw_mut();
                for (key, value) in [
                    ("id", "t-fuzz"),
                    ("tenant", "acme"),
                    ("kind", "help_request"),
                    ("channel", "app"),
                    ("title", "x"),
                    ("priority", "normal"),
                    ("status", "new"),
                ] {
                    let _ = raw.put(ROOT, key, value);
                }
                if let Ok(who) = raw.put_object(ROOT, "reporter", ObjType::Map) {
                    let _ = raw.put(&who, "user_id", "r1");
                    let _ = raw.put(&who, "role", "rider");
                }
                fresh
            } else {
                let mut doc = load(b);
                if let Some(k) = built.stale {
                    let heads = &b.history[usize::from(k) % b.history.len()];
                    doc = doc.fork_at(heads).ok()?;
                    doc.set_actor(device());
                }
                doc
            };
            let raw = doc.raw_mut();
            let mut budget = Budget::new();
            for op in built.ops.iter().take(32) {
                build(raw, op, &mut budget);
            }
            raw.commit();
            let change = raw.get_last_local_change()?.clone();
            let mut expanded = change.decode();
            if built.repeat > 0 {
                if let Some(insert) = expanded.operations.iter().rev().find(|o| o.insert).cloned() {
                    // Each copy carries the operation's value again: a long string is charged
                    // its bytes (a 9 KB string repeated 51,000 times built 470 MB to refuse).
                    let each = serde_json::to_value(&insert)
                        .ok()
                        .and_then(|op| op.get("value")?.as_str().map(str::len))
                        .unwrap_or(0);
                    let n = budget.take(built.repeat as usize, each);
                    expanded.operations.extend(std::iter::repeat_n(insert, n));
                }
            }
            let start = i64::try_from(expanded.start_op.get()).ok()? + i64::from(built.start_op);
            expanded.start_op = std::num::NonZeroU64::new(u64::try_from(start).ok()?)?;
            expanded.seq =
                u64::try_from(i64::try_from(expanded.seq).ok()? + i64::from(built.seq)).ok()?;
            let change = Change::from(expanded);
            Some((b, actor(built.role), change.raw_bytes().to_vec()))
        }
    }
}

fuzz_target!(|input: Input| {
    caught::count_caught_panics();
    let Some((base, by, bytes)) = change_bytes(&input) else {
        return;
    };
    let Ok(change) = judge::decode_change(&bytes) else {
        return;
    };
    // The device's path must survive the same change.
    let _ = load(base).apply_changes(vec![change.clone()]);
    // The server stores the ticket as its last snapshot followed by the changes accepted since.
    let (judged, mut stored) = if change.deps().is_empty() {
        let created = judge::judge_creation(&by, "t-fuzz", &change, device()).map(|(doc, _)| doc);
        (created, Vec::new())
    } else {
        let mut doc = load(base);
        let mut edited = judge::judge_edit(&by, &mut doc, &base.view, &change).map(|_| doc);
        let tip = load(base).tip().expect("the bases have a notes list");
        match (judge::judge_append(&by, &tip, &base.view, &change), edited.as_mut()) {
            (None, _) => {}
            (Some(Ok((view, next))), Ok(doc)) => {
                assert_eq!(view, doc.view().expect("reads"), "the same ticket on the tip");
                assert_eq!(Some(next), doc.tip(), "the same tip after it");
            }
            (Some(Err(on_tip)), Err(on_doc)) => assert_eq!(&on_tip, &*on_doc),
            (Some(on_tip), on_doc) => panic!(
                "the tip said {:?}, the document {:?}",
                on_tip.map(|_| ()),
                on_doc.as_ref().map(|_| ())
            ),
        }
        (edited, base.saved.clone())
    };
    if let Ok(mut doc) = judged {
        // What the server stores must be a ticket within the limits that loads back whole, as
        // stored and once compacted.
        let view = doc
            .view()
            .expect("an accepted change leaves a readable ticket");
        doc.check_limits(true)
            .expect("an accepted change stays within the limits");
        stored.extend_from_slice(change.raw_bytes());
        let reloaded = TicketDocument::load(&stored).expect("the stored ticket loads");
        assert_eq!(reloaded.view().expect("and reads"), view);
        if let Some(compacted) = doc.save_proven() {
            let reloaded = TicketDocument::load(&compacted).expect("the compacted ticket loads");
            assert_eq!(reloaded.view().expect("and reads"), view);
        }
    }
});
