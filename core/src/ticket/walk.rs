//! One walk over a ticket document's objects, for the two checks that look at all of it: its
//! shape (every concurrent value of every key against the schema, the nesting, and the budgets
//! for content this version does not know: [`super::limits::check_shape`]) and its conflicts (the
//! keys along the winning values that hold several different values: what a read reports). Either
//! alone, or both in one pass: the server judges each change by both, on the same document, and
//! one pass asks Automerge for each key's values once instead of twice.
//!
//! The walk recurses, at most [`MAX_DEPTH`] levels: an object nested deeper is refused before it
//! is entered. Conflicts come in the order of a depth-first walk over the winning values, each
//! key's before what lies under it.

use automerge::{AutoCommit, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};

use super::document::DocumentError;
use super::limits::{
    LimitError, MAX_DEPTH, MAX_UNKNOWN_BYTES, MAX_UNKNOWN_ITEMS, MAX_UNKNOWN_KEYS, Shape,
};
use super::read::to_json;
use super::view::Conflict;
use crate::model::Part;

type Result<T> = std::result::Result<T, DocumentError>;

/// Checks the shape of `doc` (the `part` document of a ticket); with `unknown_budget` false only
/// its nesting (a device reading what a newer server accepted must not refuse fields it does not
/// know). Stops at the first limit crossed, so a hostile document costs no more than the limits
/// allow.
pub(super) fn shape(doc: &AutoCommit, part: Part, unknown_budget: bool) -> Result<()> {
    let mut walk = Walk {
        doc,
        shape: Some(ShapeCheck::new(unknown_budget)),
        conflicts: None,
    };
    walk.visit(&ROOT, ObjType::Map, Shape::of(part), 0, None)
}

/// The conflicts of `doc`, walking only the winning values.
pub(super) fn conflicts(doc: &AutoCommit) -> Result<Vec<Conflict>> {
    let mut walk = Walk {
        doc,
        shape: None,
        conflicts: Some(Vec::new()),
    };
    walk.visit(&ROOT, ObjType::Map, Shape::Unknown, 0, Some(""))?;
    Ok(walk.conflicts.unwrap_or_default())
}

/// [`shape`] with the budgets for unknown content (the server's judgement) and [`conflicts`], in
/// one walk.
pub(super) fn shape_and_conflicts(doc: &AutoCommit, part: Part) -> Result<Vec<Conflict>> {
    let mut walk = Walk {
        doc,
        shape: Some(ShapeCheck::new(true)),
        conflicts: Some(Vec::new()),
    };
    walk.visit(&ROOT, ObjType::Map, Shape::of(part), 0, Some(""))?;
    Ok(walk.conflicts.unwrap_or_default())
}

struct Walk<'a> {
    doc: &'a AutoCommit,
    /// The shape check, when asked for.
    shape: Option<ShapeCheck>,
    /// The conflicts found so far, when asked for.
    conflicts: Option<Vec<Conflict>>,
}

impl Walk<'_> {
    /// Walks object `obj` (of `kind`, at `depth`: the root is 0), which should have `shape`.
    /// `path` is its place among the winning values when conflicts are looked for under it (the
    /// root's is empty), `None` otherwise.
    fn visit(
        &mut self,
        obj: &ObjId,
        kind: ObjType,
        shape: Shape,
        depth: usize,
        path: Option<&str>,
    ) -> Result<()> {
        let doc = self.doc;
        let props: Vec<Prop> = match kind {
            ObjType::Map | ObjType::Table => doc.keys(obj).map(Prop::Map).collect(),
            ObjType::List => (0..doc.length(obj)).map(Prop::Seq).collect(),
            ObjType::Text => {
                if let Some(check) = &mut self.shape {
                    check.text(doc, obj, shape)?;
                }
                return Ok(());
            }
        };
        for prop in props {
            let child = shape.child(&prop);
            if let Some(check) = &mut self.shape
                && depth == 0
            {
                check.top_level_key(child)?;
            }
            let all = doc.get_all(obj, prop.clone())?;
            // Named only where needed (a conflict, an object to walk into): most fields are
            // neither.
            let child_path = |path: &str| match &prop {
                Prop::Map(key) if path.is_empty() => key.clone(),
                Prop::Map(key) => format!("{path}.{key}"),
                Prop::Seq(i) => format!("{path}[{i}]"),
            };
            if let Some(path) = path
                && all.len() > 1
            {
                let values = all
                    .iter()
                    .map(|(v, id)| to_json(doc, v, id, depth + 1))
                    .collect::<Result<Vec<_>>>()?;
                if values.iter().any(|v| v != &values[0]) {
                    let field = child_path(path);
                    self.found(Conflict { field, values });
                }
            }
            let winner = all.len().saturating_sub(1);
            for (i, (value, id)) in all.iter().enumerate() {
                match value {
                    Value::Scalar(scalar) => {
                        if let Some(check) = &mut self.shape {
                            check.scalar(shape, child, scalar)?;
                        }
                    }
                    Value::Object(child_kind) => {
                        // Conflicts are looked for along the winning values only.
                        let under = path.filter(|_| i == winner).map(child_path);
                        if self.shape.is_none() && under.is_none() {
                            continue;
                        }
                        if depth + 1 > MAX_DEPTH {
                            return Err(LimitError::TooDeep.into());
                        }
                        let child = match &mut self.shape {
                            Some(check) => check.object(child, *child_kind)?,
                            None => Shape::Unknown,
                        };
                        self.visit(id, *child_kind, child, depth + 1, under.as_deref())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn found(&mut self, conflict: Conflict) {
        if let Some(conflicts) = &mut self.conflicts {
            conflicts.push(conflict);
        }
    }
}

/// The shape check's state: whether the budgets for unknown content apply, and what has been
/// spent of them.
struct ShapeCheck {
    unknown_budget: bool,
    unknown_keys: usize,
    unknown_items: usize,
    unknown_bytes: usize,
}

impl ShapeCheck {
    fn new(unknown_budget: bool) -> Self {
        ShapeCheck {
            unknown_budget,
            unknown_keys: 0,
            unknown_items: 0,
            unknown_bytes: 0,
        }
    }

    fn spend(&mut self, items: usize, bytes: usize) -> Result<()> {
        if !self.unknown_budget {
            return Ok(());
        }
        self.unknown_items = self.unknown_items.saturating_add(items);
        self.unknown_bytes = self.unknown_bytes.saturating_add(bytes);
        if self.unknown_items > MAX_UNKNOWN_ITEMS || self.unknown_bytes > MAX_UNKNOWN_BYTES {
            return Err(LimitError::UnknownContent.into());
        }
        Ok(())
    }

    /// A key of the root that should hold `child`.
    fn top_level_key(&mut self, child: Shape) -> Result<()> {
        if matches!(child, Shape::Unknown) {
            self.unknown_keys += 1;
            if self.unknown_budget && self.unknown_keys > MAX_UNKNOWN_KEYS {
                return Err(LimitError::UnknownKeys.into());
            }
        }
        Ok(())
    }

    /// A text object where `shape` should be.
    fn text(&mut self, doc: &AutoCommit, obj: &ObjId, shape: Shape) -> Result<()> {
        if matches!(shape, Shape::Unknown) && self.unknown_budget {
            let text = doc.text(obj).unwrap_or_default();
            self.spend(doc.length(obj), text.len())?;
        }
        Ok(())
    }

    /// A plain value where `child` should be, in an object that should have `shape`. A plain
    /// value belongs where one is expected; a named object field may also be cleared to null
    /// (`customer`). Anywhere else it is unknown — and where the ticket has a container, a plain
    /// value would break every later edit of it: the server refuses it (a device only reads).
    fn scalar(&mut self, shape: Shape, child: Shape, value: &ScalarValue) -> Result<()> {
        let fits = match child {
            Shape::Scalar | Shape::Unknown => true,
            Shape::Fields(_) | Shape::Text => {
                matches!(shape, Shape::Fields(_)) && matches!(value, ScalarValue::Null)
            }
            _ => false,
        };
        if !fits && self.unknown_budget {
            return Err(LimitError::Shape.into());
        }
        if matches!(child, Shape::Unknown) {
            self.spend(1, scalar_bytes(value))?;
        }
        Ok(())
    }

    /// An object of `kind` where `child` should be: the shape to hold it to.
    fn object(&mut self, child: Shape, kind: ObjType) -> Result<Shape> {
        let child = match child {
            Shape::Unknown => Shape::Unknown,
            known if known.holds(kind) => known,
            _ if self.unknown_budget => return Err(LimitError::Shape.into()),
            _ => Shape::Unknown,
        };
        if matches!(child, Shape::Unknown) {
            self.spend(1, 0)?;
        }
        Ok(child)
    }
}

fn scalar_bytes(value: &ScalarValue) -> usize {
    match value {
        ScalarValue::Str(s) => s.len(),
        ScalarValue::Bytes(b) => b.len(),
        ScalarValue::Unknown { bytes, .. } => bytes.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc};
    use proptest::prelude::*;

    use super::*;
    use crate::model::{Actor, Role, TicketKind};
    use crate::ticket::{NewTicket, TicketDocument};

    /// One raw operation, at an object found by following `path` (indexes into each object's
    /// object values, winners and losers alike) from the root.
    #[derive(Debug, Clone)]
    enum Op {
        Scalar(Vec<u8>, u8, i64),
        Null(Vec<u8>, u8),
        Object(Vec<u8>, u8, u8),
        Text(Vec<u8>, String),
    }

    /// Keys the schema does not know, mostly (their contents are only budgeted), and some it
    /// knows at some level (where a value of the wrong kind is refused).
    const KEYS: [&str; 12] = [
        "x_new", "x_more", "y", "z", "x_new", "x_more", "y", "z", "name", "phone", "title",
        "customer",
    ];

    /// The objects of `doc` under `obj`, every concurrent value included; at the root only
    /// those the random edits made (under keys of [`KEYS`]), not the ticket's own containers.
    fn objects(doc: &AutoCommit, obj: &ObjId) -> Vec<(ObjId, ObjType)> {
        let props: Vec<Prop> = match doc.object_type(obj) {
            Ok(ObjType::Map | ObjType::Table) => doc
                .keys(obj)
                .filter(|key| {
                    *obj != ROOT
                        || ["x_new", "x_more", "y", "z", "customer"].contains(&key.as_str())
                })
                .map(Prop::Map)
                .collect(),
            Ok(ObjType::List) => (0..doc.length(obj)).map(Prop::Seq).collect(),
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for prop in props {
            for (value, id) in doc.get_all(obj, prop).unwrap_or_default() {
                if let Value::Object(kind) = value {
                    out.push((id, kind));
                }
            }
        }
        out
    }

    /// The object `path` leads to from the root: each step picks one of the objects under the
    /// one before, the root stays when there is none.
    fn at(doc: &AutoCommit, path: &[u8]) -> (ObjId, ObjType) {
        let mut here = (ROOT, ObjType::Map);
        for step in path {
            let children = objects(doc, &here.0);
            if children.is_empty() {
                break;
            }
            here = children[usize::from(*step) % children.len()].clone();
        }
        here
    }

    fn prop_in(doc: &AutoCommit, obj: &ObjId, kind: ObjType, key: u8) -> Option<Prop> {
        match kind {
            ObjType::Map | ObjType::Table => {
                Some(Prop::Map(KEYS[usize::from(key) % KEYS.len()].into()))
            }
            ObjType::List => Some(Prop::Seq(usize::from(key) % (doc.length(obj) + 1))),
            ObjType::Text => None,
        }
    }

    fn apply(doc: &mut AutoCommit, op: &Op) {
        let path = match op {
            Op::Scalar(p, ..) | Op::Null(p, _) | Op::Object(p, ..) | Op::Text(p, _) => p,
        };
        let (obj, kind) = at(doc, path);
        if let Op::Text(_, s) = op {
            if kind == ObjType::Text {
                let _ = doc.splice_text(&obj, 0, 0, s);
            }
            return;
        }
        let key = match op {
            Op::Scalar(_, k, _) | Op::Null(_, k) | Op::Object(_, k, _) => *k,
            Op::Text(..) => return,
        };
        let Some(prop) = prop_in(doc, &obj, kind, key) else {
            return;
        };
        let insert = matches!(&prop, Prop::Seq(i) if *i == doc.length(&obj));
        let _ = match (op, prop) {
            (Op::Scalar(_, _, n), Prop::Map(k)) => doc.put(&obj, k, *n),
            (Op::Null(_, _), Prop::Map(k)) => doc.put(&obj, k, ScalarValue::Null),
            (Op::Object(_, _, t), Prop::Map(k)) => doc.put_object(&obj, k, kind_of(*t)).map(|_| ()),
            (Op::Scalar(_, _, n), Prop::Seq(i)) if insert => doc.insert(&obj, i, *n),
            (Op::Scalar(_, _, n), Prop::Seq(i)) => doc.put(&obj, i, *n),
            (Op::Null(_, _), Prop::Seq(i)) if insert => doc.insert(&obj, i, ScalarValue::Null),
            (Op::Null(_, _), Prop::Seq(i)) => doc.put(&obj, i, ScalarValue::Null),
            (Op::Object(_, _, t), Prop::Seq(i)) if insert => {
                doc.insert_object(&obj, i, kind_of(*t)).map(|_| ())
            }
            (Op::Object(_, _, t), Prop::Seq(i)) => doc.put_object(&obj, i, kind_of(*t)).map(|_| ()),
            (Op::Text(..), _) => Ok(()),
        };
    }

    fn kind_of(t: u8) -> ObjType {
        match t % 3 {
            0 => ObjType::Map,
            1 => ObjType::List,
            _ => ObjType::Text,
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        let path = proptest::collection::vec(any::<u8>(), 0..20);
        prop_oneof![
            1 => (path.clone(), any::<u8>(), 0..3i64).prop_map(|(p, k, n)| Op::Scalar(p, k, n)),
            1 => (path.clone(), any::<u8>()).prop_map(|(p, k)| Op::Null(p, k)),
            3 => (path.clone(), any::<u8>(), any::<u8>()).prop_map(|(p, k, t)| Op::Object(p, k, t)),
            1 => (path, "[a-c]{1,3}").prop_map(|(p, s)| Op::Text(p, s)),
        ]
    }

    /// The conflicts as a reader finds them, written the plain way to check the walk against:
    /// down the winning values only, every key's values compared.
    fn reference_conflicts(doc: &AutoCommit, obj: &ObjId, path: &str, out: &mut Vec<Conflict>) {
        let props: Vec<(Prop, String)> = match doc.object_type(obj).expect("object") {
            ObjType::Map | ObjType::Table => doc
                .keys(obj)
                .map(|k| {
                    let named = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    (Prop::Map(k), named)
                })
                .collect(),
            ObjType::List => (0..doc.length(obj))
                .map(|i| (Prop::Seq(i), format!("{path}[{i}]")))
                .collect(),
            ObjType::Text => return,
        };
        for (prop, named) in props {
            let all = doc.get_all(obj, prop).expect("values");
            let values: Vec<_> = all
                .iter()
                .map(|(v, id)| to_json(doc, v, id, 1).expect("renders"))
                .collect();
            if values.iter().any(|v| v != &values[0]) {
                out.push(Conflict {
                    field: named.clone(),
                    values,
                });
            }
            if let Some((Value::Object(_), child)) = all.last() {
                reference_conflicts(doc, child, &named, out);
            }
        }
    }

    fn ticket() -> AutoCommit {
        let actor = Actor {
            tenant: "acme".into(),
            user_id: "d1".into(),
            role: Role::Dispatcher,
            name: None,
            team: None,
        };
        let new = NewTicket::titled(TicketKind::Repair, "Fix");
        let mut doc =
            TicketDocument::create("t1", &actor, &new, ActorId::random(), 1).expect("creates");
        AutoCommit::load(&doc.save()).expect("loads")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Random edits on three replicas, merged (so keys hold concurrent values, objects
        /// among them, nested or hidden in losers): the walk finds the conflicts a plain walk
        /// finds, and the one walk doing both finds them too and refuses what the shape check
        /// refuses, for the same reason.
        #[test]
        fn one_walk_finds_what_the_shape_check_and_the_conflicts_walk_find(
            rounds in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(op(), 0..10), 3),
                1..4,
            ),
        ) {
            let mut base = ticket();
            let mut replicas: Vec<AutoCommit> = (0..3)
                .map(|i| base.fork().with_actor(ActorId::from([i as u8 + 1; 16])))
                .collect();
            // Each round edits every replica, then they all exchange everything: later rounds
            // edit inside values that lost earlier ones.
            for round in &rounds {
                for (doc, ops) in replicas.iter_mut().zip(round) {
                    for op in ops {
                        apply(doc, op);
                    }
                }
                let (first, rest) = replicas.split_at_mut(1);
                for other in rest.iter_mut() {
                    first[0].merge(other).expect("merges");
                }
                for other in rest {
                    other.merge(&mut first[0]).expect("merges");
                }
            }
            let doc = &replicas[0];
            // No edit here nests deeper than the limit: every value reads.
            let mut expected = Vec::new();
            reference_conflicts(doc, &ROOT, "", &mut expected);
            prop_assert_eq!(&conflicts(doc).expect("reads"), &expected);
            let together = shape_and_conflicts(doc, Part::Public);
            match shape(doc, Part::Public, true) {
                Ok(()) => prop_assert_eq!(together.expect("the same shape"), expected),
                Err(e) => prop_assert_eq!(together.map_err(|e| e.to_string()), Err(e.to_string())),
            }
        }
    }
}
