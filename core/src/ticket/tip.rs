//! Judging a change that only appends a note without the ticket's document: from its [`Tip`].
//!
//! A server holding thousands of busy tickets cannot keep all their Automerge documents in
//! memory (a ticket of 60 notes holds ~290 KB), and loading one costs about a microsecond an
//! operation (`docs/benchmarks.md`). Most pushed changes append one note to a ticket its phone had
//! synced. What judging such a change needs of the document is small: its heads, its totals
//! against the ticket limits, each author's count of changes, its next operation number, and
//! where its notes list ends. That is a [`Tip`], read from a document once
//! ([`TicketDocument::tip`]) and moved along by each note ([`Tip::append`]).
//!
//! A change is judged on the tip only when Automerge would take it onto the document the tip was
//! read from, and read it, exactly as [`TicketDocument::apply_changes`] and
//! [`TicketDocument::read_after`] do: it builds on the heads (nothing concurrent: the note lands
//! right after the element it names; besides the heads it may name its author's own last change,
//! as Automerge does when that is no longer a head); it is its author's next change and starts
//! at the next operation; it names no author the ticket lacks; the ticket stays within the
//! limits; its operations only make a note after the list's last note (`appended::note_ops`);
//! the note reads. Anything else is not this case, and the caller loads the document. A property test
//! holds the tip's judgement equal to the document's on honest and forged changes.

use std::collections::HashMap;

use automerge::{ActorId, ChangeHash, ObjType, ReadDoc, ScalarValue, Value};
use serde_json::Value as Json;

use super::appended::{note_ops, the_notes};
use super::document::TicketDocument;
use super::limits::{check_change_count, check_change_size, check_ticket_size};
use super::read::note_of;
use super::view::{Note, Ticket};
use crate::model::Part;
use crate::ticket::Change;

/// What judging a note appended to a public ticket needs of its document (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    /// The document's heads, sorted.
    heads: Vec<ChangeHash>,
    /// Operations and encoded bytes of the whole history, and its changes (the ticket limits).
    ops: u64,
    history_bytes: usize,
    changes: u64,
    /// How many changes each author has, and the hash of their last.
    authors: HashMap<ActorId, (u64, ChangeHash)>,
    /// The `startOp` the next change must have.
    next_op: u64,
    /// The notes list's id, as the serde form of a change writes it.
    notes: String,
    /// How many notes the list holds, and the position after its last (`_head` when empty).
    notes_len: usize,
    after_last: String,
}

impl TicketDocument {
    /// This public document's [`Tip`]; `None` for a staff document, or a ticket whose notes are
    /// not one list of notes (no note is judged without the document then).
    pub fn tip(&mut self) -> Option<Tip> {
        if self.part() != Part::Public {
            return None;
        }
        let doc = self.raw();
        let notes = the_notes(doc)?;
        let notes_len = doc.length(&notes);
        let after_last = match notes_len.checked_sub(1) {
            None => "_head".to_owned(),
            Some(last) => match doc.get(&notes, last) {
                Ok(Some((Value::Object(ObjType::Map), note))) => note.to_string(),
                _ => return None,
            },
        };
        let ops = self.ops();
        let notes = notes.to_string();
        let mut heads = self.heads();
        heads.sort_unstable();
        // One walk of the history for what `history_bytes`, `next_op` and `changes_by` each
        // walk it for.
        let changes = self.inner_mut().get_changes(&[]);
        // In causal order: an author's last change comes last.
        let mut authors = HashMap::new();
        for change in &changes {
            let entry = authors
                .entry(change.actor_id().clone())
                .or_insert((0, change.hash()));
            *entry = (entry.0 + 1, change.hash());
        }
        let history_bytes = changes.iter().map(|c| c.raw_bytes().len()).sum();
        let max_op = changes.iter().map(|c| c.max_op()).max().unwrap_or(0);
        Some(Tip {
            heads,
            ops,
            history_bytes,
            changes: changes.len() as u64,
            authors,
            next_op: max_op + 1,
            notes,
            notes_len,
            after_last,
        })
    }
}

impl Tip {
    /// How many changes the document's history holds.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The ticket after `change`, when it only appends a note to the ticket this tip is of, which
    /// reads as `before`, and Automerge would take it (see the module); with the tip after it.
    /// `None` when the change is anything else, or would be refused: the caller judges it on the
    /// document, which says why.
    pub fn append(&self, before: &Ticket, change: &Change) -> Option<(Ticket, Tip)> {
        let (note, tip) = self.note_appended(before, change)?;
        let mut after = before.clone();
        after.notes.push(note);
        Some((after, tip))
    }

    /// Whether a change by `author` with dependencies `deps` builds on the heads: it names each
    /// head, and nothing else but perhaps its author's own last change. Automerge names that one
    /// too whenever it is not a head (a phone that wrote, then synced others' notes on top); it is
    /// in the document, so below the heads, and the change still sees the ticket as it is now.
    fn builds_on_heads(&self, author: &ActorId, deps: &[ChangeHash]) -> bool {
        let own_last = self.authors.get(author).map(|(_, last)| last);
        self.heads.iter().all(|head| deps.contains(head))
            && deps
                .iter()
                .all(|dep| self.heads.binary_search(dep).is_ok() || Some(dep) == own_last)
    }

    /// [`Self::append`] without the ticket after it: the note `change` appends to `before`, which
    /// is the ticket after it with the note pushed onto its notes, and the tip after it.
    pub fn note_appended(&self, before: &Ticket, change: &Change) -> Option<(Note, Tip)> {
        if !before.conflicts.is_empty() || before.notes.len() != self.notes_len {
            return None;
        }
        let author = change.actor_id();
        let known = |actor: &ActorId| self.authors.get(actor).map_or(0, |(count, _)| *count);
        let follows = self.builds_on_heads(author, change.deps())
            && change.seq() == known(author) + 1
            && change.start_op().get() == self.next_op
            && change
                .other_actor_ids()
                .iter()
                .all(|other| known(other) > 0);
        if !follows {
            return None;
        }
        let (len, bytes) = (change.len(), change.raw_bytes().len());
        let ops = self.ops + len as u64;
        let history_bytes = self.history_bytes + bytes;
        let changes = self.changes + 1;
        let within = check_change_size(len, bytes)
            .and_then(|()| check_ticket_size(ops, history_bytes))
            .and_then(|()| check_change_count(changes));
        if within.is_err() {
            return None;
        }
        // Decoding a hostile change's operations can panic inside Automerge: not this case.
        let made = std::panic::catch_unwind(|| note_ops(change, &self.notes)).ok()??;
        if made.after != self.after_last {
            return None;
        }
        let values: Vec<(String, ScalarValue)> = made
            .puts
            .iter()
            .map(|(key, op)| Some((key.clone(), plain_value(op)?)))
            .collect::<Option<_>>()?;
        let note = note_of(|key| {
            Ok(values
                .iter()
                .find(|(written, _)| written == key)
                .map(|(_, value)| value.clone()))
        })
        .ok()?;
        let mut authors = self.authors.clone();
        let count = known(author) + 1;
        authors.insert(author.clone(), (count, change.hash()));
        let tip = Tip {
            heads: vec![change.hash()],
            ops,
            history_bytes,
            changes,
            authors,
            next_op: self.next_op + len as u64,
            notes: self.notes.clone(),
            notes_len: self.notes_len + 1,
            after_last: format!("{}@{}", change.start_op().get(), author),
        };
        Some((note, tip))
    }
}

/// The value a `set` operation puts, from its serde form, when it is one a note's fields read:
/// a string or a boolean (written without a datatype), or a whole number written as an `int`,
/// `uint` or `timestamp`. Anything else (bytes, floats, counters, nulls) is not judged here.
fn plain_value(op: &Json) -> Option<ScalarValue> {
    let value = op.get("value")?;
    match (op.get("datatype").and_then(Json::as_str), value) {
        (None, Json::String(text)) => Some(ScalarValue::Str(text.as_str().into())),
        (None, Json::Bool(flag)) => Some(ScalarValue::Boolean(*flag)),
        (Some("int"), n) => n.as_i64().map(ScalarValue::Int),
        (Some("uint"), n) => n.as_u64().map(ScalarValue::Uint),
        (Some("timestamp"), n) => n.as_i64().map(ScalarValue::Timestamp),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
