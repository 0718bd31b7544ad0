//! What one change and one ticket document may hold, in one place: the server refuses pushes
//! beyond these limits, and the device applies the same ones before it writes or stores anything,
//! so an honest device never makes what the server would refuse (`docs/security.md`, "Documents
//! and changes").

use std::collections::HashMap;

use super::document::DocumentError;
use crate::model::Part;
use automerge::{AutoCommit, Change, ObjId, ObjType, Prop, ReadDoc};

/// Deepest nesting of objects in a ticket document: the root's own objects are at depth 1. A
/// ticket written by this version nests 3 deep at most (`events` → an event → its `data`); 16
/// leaves newer versions room for several more levels while every reader that walks a document
/// stays a few kilobytes of stack away from the root (a tokio worker has 2 MiB; the unbounded
/// walk overflowed near 3,000 levels).
pub const MAX_DEPTH: usize = 16;

/// Most operations in one change. The largest change an honest device makes is a full rewrite of
/// the longest description (20,000 characters deleted and 20,000 inserted, one operation each);
/// applying 50,000 list or text operations costs the server well under a second of CPU and
/// about 30 MB while it judges them.
pub const MAX_CHANGE_OPS: usize = 50_000;

/// Largest encoded change, in bytes. The longest honest change (a ticket created with a
/// 20,000-character description and a 10,000-character note, in a script of 3-byte characters)
/// encodes to about 100 KB.
pub const MAX_CHANGE_BYTES: usize = 256 * 1024;

/// Most operations in one ticket's whole history (deleted text and superseded values count too).
/// A busy ticket (hundreds of edits, notes and photos) holds a few thousand; at about 600 bytes
/// each in memory, a full ticket costs some 60 MB while loaded.
pub const MAX_TICKET_OPS: u64 = 100_000;

/// Most bytes of changes in one ticket's whole history (notes and other text included).
pub const MAX_TICKET_BYTES: usize = 8 * 1024 * 1024;

/// Most changes in one ticket's history. A busy ticket has a few hundred (one per edit); empty
/// changes cost no operations but still memory and judging time.
pub const MAX_TICKET_CHANGES: u64 = 10_000;

/// Most operations of work one push request may make the server do (`rules::judge::judging_cost`:
/// each change's own operations, plus its ticket's whole history, which is saved and loaded once
/// per change and rebuilt for a change built on an older version). A thousand changes to ordinary
/// tickets of a few hundred operations fit; the worst case costs about a second of CPU. The first
/// change of a request is always judged; the changes after the budget is spent are left
/// unanswered, and the device sends them again in its next round.
pub const MAX_PUSH_OPS: usize = 250_000;

/// Most top-level keys this version does not know. Newer app versions may add fields; they keep
/// working against an older server as long as they stay within this budget and the next two.
pub const MAX_UNKNOWN_KEYS: usize = 16;

/// Most values in parts of a ticket this version does not know (unknown top-level keys, unknown
/// keys inside known objects, objects where a known field holds a plain value): every map entry,
/// list element and text character counts one.
pub const MAX_UNKNOWN_ITEMS: usize = 1_000;

/// Most bytes of strings in parts of a ticket this version does not know.
pub const MAX_UNKNOWN_BYTES: usize = 64 * 1024;

/// A change or document beyond a limit. Messages name the limit and what to do, never contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "the ticket nests objects more than {MAX_DEPTH} levels deep; tickets are refused beyond that"
    )]
    TooDeep,
    #[error(
        "a change holds {0} operations; the limit is {MAX_CHANGE_OPS} (make the edit in smaller steps)"
    )]
    ChangeOps(usize),
    #[error(
        "a change is {0} bytes; the limit is {MAX_CHANGE_BYTES} (make the edit in smaller steps)"
    )]
    ChangeBytes(usize),
    #[error(
        "the ticket would hold {0} operations; the limit is {MAX_TICKET_OPS} (start a follow-up ticket)"
    )]
    TicketOps(u64),
    #[error(
        "the ticket's history would be {0} bytes; the limit is {MAX_TICKET_BYTES} (start a follow-up ticket)"
    )]
    TicketBytes(usize),
    #[error(
        "the ticket has more than {MAX_UNKNOWN_KEYS} top-level fields this version does not know"
    )]
    UnknownKeys,
    #[error(
        "fields this version does not know hold more than {MAX_UNKNOWN_ITEMS} values or {MAX_UNKNOWN_BYTES} bytes"
    )]
    UnknownContent,
    #[error(
        "the ticket would hold {0} changes; the limit is {MAX_TICKET_CHANGES} (start a follow-up ticket)"
    )]
    TicketChanges(u64),
    #[error("a change's sequence number does not follow its author's previous change")]
    Sequence,
    #[error("a field of the ticket holds another kind of value than tickets are made of")]
    Shape,
}

/// Checks one change's own size (before it is applied to anything).
pub fn check_change_size(ops: usize, bytes: usize) -> Result<(), LimitError> {
    if ops > MAX_CHANGE_OPS {
        return Err(LimitError::ChangeOps(ops));
    }
    if bytes > MAX_CHANGE_BYTES {
        return Err(LimitError::ChangeBytes(bytes));
    }
    Ok(())
}

/// Checks a ticket's totals (what it holds, or would hold with a change added).
pub fn check_ticket_size(ops: u64, bytes: usize) -> Result<(), LimitError> {
    if ops > MAX_TICKET_OPS {
        return Err(LimitError::TicketOps(ops));
    }
    if bytes > MAX_TICKET_BYTES {
        return Err(LimitError::TicketBytes(bytes));
    }
    Ok(())
}

/// Checks how many changes a ticket holds (or would hold).
pub fn check_change_count(changes: u64) -> Result<(), LimitError> {
    if changes > MAX_TICKET_CHANGES {
        return Err(LimitError::TicketChanges(changes));
    }
    Ok(())
}

/// Most objects new changes may make for [`check_depth_of`] to check them one at a time (each
/// a walk up to the root); changes that make more have the whole document walked once instead.
const MAX_OBJECTS_ONE_BY_ONE: usize = 64;

/// Checks the nesting of every object `changes` made, in `doc` with them applied. A change can
/// only nest deeper by making objects (an object stays where it was made), so on a document
/// that was within [`MAX_DEPTH`] this is the depth check of [`check_shape`] for the cost of the
/// changes, not of the ticket. An object whose place cannot be read is refused.
pub(crate) fn check_depth_of(
    doc: &AutoCommit,
    part: Part,
    changes: &[Change],
) -> Result<(), LimitError> {
    let mut made = Vec::new();
    for change in changes {
        let start = change.start_op().get();
        for (offset, op) in change.decode().operations.iter().enumerate() {
            if op.obj_type().is_none() {
                continue;
            }
            if made.len() == MAX_OBJECTS_ONE_BY_ONE {
                return check_shape(doc, part, false);
            }
            // An object's id is the id of the operation that made it; Automerge finds the
            // actor's index itself when the one given (0) is not it.
            made.push(ObjId::Id(
                start + offset as u64,
                change.actor_id().clone(),
                0,
            ));
        }
    }
    for id in &made {
        let depth = doc
            .parents(id)
            .map_err(|_| LimitError::Shape)?
            .take(MAX_DEPTH + 1)
            .count();
        if depth > MAX_DEPTH {
            return Err(LimitError::TooDeep);
        }
    }
    Ok(())
}

/// Splits `changes` into those that can be applied, in an order where every change comes after
/// its dependencies (`held` says which hashes the document already has), and those waiting for a
/// dependency that is nowhere. Linear in the changes and their dependencies (Kahn's algorithm),
/// whatever order a hostile sender chose.
pub(crate) fn causal_order(
    changes: Vec<automerge::Change>,
    held: impl Fn(&automerge::ChangeHash) -> bool,
) -> (Vec<automerge::Change>, Vec<automerge::Change>) {
    let index: HashMap<automerge::ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut missing = vec![0usize; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    let mut blocked = vec![false; changes.len()];
    for (i, change) in changes.iter().enumerate() {
        for dep in change.deps() {
            match index.get(dep) {
                Some(&j) => {
                    missing[i] += 1;
                    dependents[j].push(i);
                }
                None if held(dep) => {}
                None => blocked[i] = true,
            }
        }
    }
    let mut queue: std::collections::VecDeque<usize> = (0..changes.len())
        .filter(|&i| missing[i] == 0 && !blocked[i])
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &d in &dependents[i] {
            missing[d] -= 1;
            if missing[d] == 0 && !blocked[d] {
                queue.push_back(d);
            }
        }
    }
    let mut slots: Vec<Option<automerge::Change>> = changes.into_iter().map(Some).collect();
    let ready: Vec<automerge::Change> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let waiting = slots.into_iter().flatten().collect();
    (ready, waiting)
}

/// What a place in the document holds, for this version: a plain value, text, an object with
/// known fields, or a list or map of the same kind of thing. Everything else is unknown.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    Scalar,
    Text,
    Fields(&'static [(&'static str, Shape)]),
    ListOf(&'static Shape),
    MapOf(&'static Shape),
    Unknown,
}

use Shape::{Fields, ListOf, MapOf, Scalar};

const NOTE: &[(&str, Shape)] = &[
    ("id", Scalar),
    ("author", Scalar),
    ("role", Scalar),
    ("text", Scalar),
    ("internal", Scalar),
    ("at", Scalar),
    ("redacted", Scalar),
    // Set by an erase (`ticket::rewrite`), with the text gone.
    ("erased", Scalar),
];
/// The keys a note has (each holds a plain value).
pub(super) fn note_keys() -> impl Iterator<Item = &'static str> {
    NOTE.iter().map(|(key, _)| *key)
}

const EVENT: &[(&str, Shape)] = &[
    ("type", Scalar),
    ("by", Scalar),
    ("at_device", Scalar),
    ("data", MapOf(&Scalar)),
];
const PART: &[(&str, Shape)] = &[("sku", Scalar), ("qty", Scalar), ("by", Scalar)];
const ATTACHMENT: &[(&str, Shape)] = &[
    ("thumb", Scalar),
    ("mime", Scalar),
    // A file's name (not a photo's).
    ("name", Scalar),
    ("bytes", Scalar),
    ("width", Scalar),
    ("height", Scalar),
    ("captured_at", Scalar),
    ("lat", Scalar),
    ("lon", Scalar),
    ("accuracy_m", Scalar),
    ("by", Scalar),
    ("at", Scalar),
    // Set by an erase (`ticket::rewrite`), with the personal keys gone.
    ("erased", Scalar),
];
const CHECK: &[(&str, Shape)] = &[("done", Scalar), ("by", Scalar), ("at", Scalar)];

/// The ticket document as this version writes it (`docs/ARCHITECTURE.md`, `DESIGN.md`).
const TICKET: &[(&str, Shape)] = &[
    ("v", Scalar),
    ("id", Scalar),
    ("number", Scalar),
    ("tenant", Scalar),
    ("kind", Scalar),
    ("channel", Scalar),
    ("title", Scalar),
    ("category", Scalar),
    ("priority", Scalar),
    ("status", Scalar),
    ("order_ref", Scalar),
    ("assignee", Scalar),
    ("team", Scalar),
    ("created_at", Scalar),
    ("description", Shape::Text),
    (
        "reporter",
        Fields(&[("user_id", Scalar), ("role", Scalar), ("name", Scalar)]),
    ),
    ("customer", Fields(&[("name", Scalar), ("phone", Scalar)])),
    (
        "asset",
        Fields(&[
            ("serial", Scalar),
            ("model", Scalar),
            ("warranty_until", Scalar),
        ]),
    ),
    (
        "site",
        Fields(&[
            ("lat", Scalar),
            ("lon", Scalar),
            ("accuracy_m", Scalar),
            ("address", Scalar),
        ]),
    ),
    (
        "sla",
        Fields(&[
            ("first_response_due", Scalar),
            ("resolution_due", Scalar),
            ("paused", Scalar),
            ("breaches", ListOf(&Scalar)),
            ("policy", Scalar),
            ("update_due", Scalar),
        ]),
    ),
    ("csat", Fields(&[("score", Scalar), ("comment", Scalar)])),
    (
        "alert",
        Fields(&[
            ("metric", Scalar),
            ("count", Scalar),
            ("first_at", Scalar),
            ("last_at", Scalar),
            ("threshold", Scalar),
            ("last_value", Scalar),
            ("worst_value", Scalar),
            ("severity", Scalar),
            ("resolved_at", Scalar),
        ]),
    ),
    ("notes", ListOf(&Fields(NOTE))),
    ("events", ListOf(&Fields(EVENT))),
    ("parts_used", ListOf(&Fields(PART))),
    ("attachments", MapOf(&Fields(ATTACHMENT))),
    ("checklist", MapOf(&Fields(CHECK))),
    // `tags` moved to the staff document; in a public one it is content this version ignores.
    ("custom", MapOf(&Scalar)),
];

/// The staff document (`docs/staff-data.md`): internal notes, the staff's tags and the staff
/// history (redactions of internal notes).
const STAFF: &[(&str, Shape)] = &[
    ("v", Scalar),
    ("notes", ListOf(&Fields(NOTE))),
    ("events", ListOf(&Fields(EVENT))),
    ("tags", MapOf(&Scalar)),
    ("asset_history", ListOf(&Fields(HISTORY))),
];

/// One earlier ticket of the machine, in the staff document's `asset_history`.
const HISTORY: &[(&str, Shape)] = &[
    ("ticket_id", Scalar),
    ("number", Scalar),
    ("title", Scalar),
    ("status", Scalar),
    ("created_at", Scalar),
    ("parts", Scalar),
];

impl Shape {
    /// What the root of a `part` document should be.
    pub(super) fn of(part: Part) -> Shape {
        match part {
            Part::Public => Fields(TICKET),
            Part::Staff => Fields(STAFF),
        }
    }

    /// What the child at `prop` should be.
    pub(super) fn child(self, prop: &Prop) -> Shape {
        match (self, prop) {
            (Fields(fields), Prop::Map(key)) => fields
                .iter()
                .find(|(name, _)| name == key)
                .map_or(Shape::Unknown, |(_, shape)| *shape),
            (ListOf(item), Prop::Seq(_)) | (MapOf(item), Prop::Map(_)) => *item,
            _ => Shape::Unknown,
        }
    }

    /// Whether an object of `kind` is what this place should hold.
    pub(super) fn holds(self, kind: ObjType) -> bool {
        matches!(
            (self, kind),
            (Shape::Text, ObjType::Text)
                | (Fields(_) | MapOf(_), ObjType::Map | ObjType::Table)
                | (ListOf(_), ObjType::List)
        )
    }
}

/// Walks every object reachable in the document, every concurrent value of every key included:
/// refuses nesting deeper than [`MAX_DEPTH`] and content this version does not know beyond its
/// budgets (`ticket::walk`). The walk stops at the first limit crossed, so a hostile document
/// costs no more than the limits allow. With `unknown_budget` false only the depth is checked (a
/// device reading what a newer server accepted must not refuse fields it does not know).
pub(crate) fn check_shape(
    doc: &AutoCommit,
    part: Part,
    unknown_budget: bool,
) -> Result<(), LimitError> {
    match super::walk::shape(doc, part, unknown_budget) {
        Ok(()) => Ok(()),
        Err(DocumentError::Limit(e)) => Err(e),
        // A value whose place cannot be read is refused like one in the wrong place.
        Err(_) => Err(LimitError::Shape),
    }
}

/// How many changes each actor has in `changes`, keyed by actor.
pub(crate) fn changes_per_actor<'a>(
    changes: impl IntoIterator<Item = &'a automerge::Change>,
) -> HashMap<automerge::ActorId, u64> {
    let mut counts = HashMap::new();
    for change in changes {
        *counts.entry(change.actor_id().clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use automerge::ROOT;
    use automerge::transaction::Transactable;

    use super::*;

    fn nested(depth: usize, kind: ObjType) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let mut obj = doc.put_object(ROOT, "x_future", kind).expect("put");
        for _ in 1..depth {
            obj = match kind {
                ObjType::List => doc.insert_object(&obj, 0, ObjType::List),
                _ => doc.put_object(&obj, "k", ObjType::Map),
            }
            .expect("nest");
        }
        doc.commit();
        doc
    }

    #[test]
    fn depth_up_to_the_limit_passes_and_one_more_level_is_refused() {
        for kind in [ObjType::Map, ObjType::List] {
            assert_eq!(
                check_shape(&nested(MAX_DEPTH, kind), Part::Public, false),
                Ok(())
            );
            assert_eq!(
                check_shape(&nested(MAX_DEPTH + 1, kind), Part::Public, false),
                Err(LimitError::TooDeep)
            );
        }
        // Far beyond the stack's reach, on a small stack: refused, never a crash.
        let deep = nested(100_000, ObjType::Map);
        let verdict = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || check_shape(&deep, Part::Public, true))
            .expect("thread")
            .join()
            .expect("no overflow");
        assert_eq!(verdict, Err(LimitError::TooDeep));
    }

    /// `doc` with a chain of `levels` more maps made under the object at `under` in one change,
    /// and that change.
    fn nest_more(doc: &mut AutoCommit, under: &ObjId, levels: usize) -> (ObjId, Change) {
        let mut obj = under.clone();
        for _ in 0..levels {
            obj = doc.put_object(&obj, "k", ObjType::Map).expect("nest");
        }
        doc.commit();
        let change = doc.get_last_local_change().expect("a change").clone();
        (obj, change)
    }

    #[test]
    fn a_change_is_checked_for_the_depth_of_what_it_makes_wherever_it_makes_it() {
        // A ticket nested 10 deep by one actor, then nested further by another (whose actor is
        // not the document's first): the depth counts from the root, not from the change.
        let mut base = AutoCommit::new();
        let (ten, first) = nest_more(&mut base, &ROOT, 10);
        assert_eq!(check_depth_of(&base, Part::Public, &[first]), Ok(()));
        for (more, verdict) in [
            (MAX_DEPTH - 10, Ok(())),
            (MAX_DEPTH - 9, Err(LimitError::TooDeep)),
        ] {
            let mut other = base.fork();
            let (_, change) = nest_more(&mut other, &ten, more);
            assert_eq!(
                check_depth_of(&other, Part::Public, std::slice::from_ref(&change)),
                verdict,
                "{more} more"
            );
            assert_eq!(
                check_shape(&other, Part::Public, false),
                verdict,
                "the whole walk agrees"
            );
            // The same change read in the first actor's document, where actor indexes differ.
            let mut merged = base.fork();
            merged.merge(&mut other).expect("merge");
            assert_eq!(check_depth_of(&merged, Part::Public, &[change]), verdict);
        }
        // Lists and texts are objects too; plain values and edits of old objects make nothing.
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, "events", ObjType::List).expect("list");
        let item = doc.insert_object(&list, 0, ObjType::Map).expect("item");
        doc.put_object(&item, "text", ObjType::Text).expect("text");
        doc.commit();
        let change = doc.get_last_local_change().expect("a change").clone();
        assert_eq!(check_depth_of(&doc, Part::Public, &[change]), Ok(()));
        doc.put(&item, "at", 5_i64).expect("put");
        doc.commit();
        let change = doc.get_last_local_change().expect("a change").clone();
        assert_eq!(check_depth_of(&doc, Part::Public, &[change]), Ok(()));
        // A change that is not in the document is refused, not guessed at.
        let mut stranger = AutoCommit::new();
        let (_, foreign) = nest_more(&mut stranger, &ROOT, 2);
        assert_eq!(
            check_depth_of(&doc, Part::Public, &[foreign]),
            Err(LimitError::Shape)
        );
    }

    #[test]
    fn a_deep_object_hidden_behind_a_conflict_is_found() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "x", 1_i64).expect("put");
        a.commit();
        let mut b = a.fork();
        let mut obj = b.put_object(ROOT, "x", ObjType::Map).expect("put");
        for _ in 0..MAX_DEPTH {
            obj = b.put_object(&obj, "k", ObjType::Map).expect("nest");
        }
        b.commit();
        a.put(ROOT, "x", 2_i64).expect("put");
        a.commit();
        a.merge(&mut b).expect("merge");
        assert_eq!(
            check_shape(&a, Part::Public, false),
            Err(LimitError::TooDeep)
        );
    }

    #[test]
    fn unknown_content_has_a_budget_and_known_fields_do_not_spend_it() {
        let mut doc = AutoCommit::new();
        let notes = doc.put_object(ROOT, "notes", ObjType::List).expect("notes");
        for i in 0..2 * MAX_UNKNOWN_ITEMS {
            let note = doc.insert_object(&notes, i, ObjType::Map).expect("note");
            doc.put(&note, "text", "known").expect("put");
        }
        doc.put(ROOT, "drone_dispatch", "requested").expect("put");
        doc.commit();
        assert_eq!(check_shape(&doc, Part::Public, true), Ok(()));

        // Unknown keys on known objects count against the budget, in bytes too.
        let note = doc.get(&notes, 0).expect("get").expect("note").1;
        for i in 0..MAX_UNKNOWN_ITEMS + 1 {
            doc.put(&note, format!("future_{i}"), 1_i64).expect("put");
        }
        doc.commit();
        assert_eq!(
            check_shape(&doc, Part::Public, true),
            Err(LimitError::UnknownContent)
        );
        assert_eq!(check_shape(&doc, Part::Public, false), Ok(()), "depth only");
        let mut doc = AutoCommit::new();
        let future = doc.put_object(ROOT, "x_future", ObjType::Map).expect("put");
        doc.put(&future, "blob", "x".repeat(MAX_UNKNOWN_BYTES + 1))
            .expect("put");
        doc.commit();
        assert_eq!(
            check_shape(&doc, Part::Public, true),
            Err(LimitError::UnknownContent)
        );

        // Plain values in a known list, or an object of another kind where the ticket has one,
        // would break later edits: refused outright.
        let mut doc = AutoCommit::new();
        let events = doc.put_object(ROOT, "events", ObjType::List).expect("put");
        doc.insert(&events, 0, 1_i64).expect("insert");
        doc.commit();
        assert_eq!(
            check_shape(&doc, Part::Public, true),
            Err(LimitError::Shape)
        );
        let mut doc = AutoCommit::new();
        doc.put_object(ROOT, "tags", ObjType::List).expect("put");
        doc.put_object(ROOT, "title", ObjType::Map).expect("put");
        doc.commit();
        assert_eq!(
            check_shape(&doc, Part::Public, true),
            Err(LimitError::Shape)
        );
        assert_eq!(
            check_shape(&doc, Part::Public, false),
            Ok(()),
            "a device only reads"
        );

        let mut doc = AutoCommit::new();
        for i in 0..=MAX_UNKNOWN_KEYS {
            doc.put(ROOT, format!("future_{i}"), 1_i64).expect("put");
        }
        doc.commit();
        assert_eq!(
            check_shape(&doc, Part::Public, true),
            Err(LimitError::UnknownKeys)
        );
    }
}
