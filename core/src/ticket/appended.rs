//! Reading a ticket after a change that only appended a note, without walking the ticket.
//!
//! The server judges every pushed change by the ticket it leaves (`rules::judge`), and reading a
//! whole ticket — its shape, its conflicts, its view ([`super::walk`], [`super::read`]) — costs
//! the ticket's size, not the change's. Most pushed changes append one note. For those, the ticket
//! after is the ticket before with that note: nothing else was touched, the new note holds only
//! plain values under keys a note has, each written once, so the whole walk would find the shape
//! and the conflicts it found before, and the new note.
//!
//! "Only appended a note" is decided strictly, from the change's operations and where the note
//! landed; anything else — another operation, a repeated or unknown key, a predecessor, an object
//! or text where a value goes, a note that did not land last, a ticket that has conflicts — is
//! not this case, and the caller reads the whole ticket. A property test below holds the two
//! readings equal on honest and forged changes.

use automerge::{AutoCommit, Change, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde_json::Value as Json;

use super::document::{DocumentError, TicketDocument};
use super::limits::note_keys;
use super::read::read_note;
use super::view::Ticket;
use crate::model::Part;

impl TicketDocument {
    /// [`Self::read_checked`] of a public document just after `change` was applied to it, which
    /// read as `before`: when the change only appended a note, `before` with it, without walking
    /// the rest of the ticket.
    pub fn read_after(
        &mut self,
        before: &Ticket,
        change: &Change,
    ) -> Result<Ticket, DocumentError> {
        match self.appended_note(before, change) {
            Some(read) => self.check_size().and(read),
            None => self.read_checked(None),
        }
    }

    /// [`Self::view_after_own_edits`] of a document this replica just made `change` to, which
    /// read as `before`: when the change only appended a note, `before` with it (a phone adding
    /// a note to a long ticket reads the note, not the ticket).
    pub fn view_after_own_change(
        &self,
        before: &Ticket,
        change: &Change,
    ) -> Result<Ticket, DocumentError> {
        match self.appended_note(before, change) {
            Some(read) => read,
            None => self.view_after_own_edits(!before.conflicts.is_empty()),
        }
    }

    /// [`note_appended`] on a public document; `None` on a staff one.
    fn appended_note(
        &self,
        before: &Ticket,
        change: &Change,
    ) -> Option<Result<Ticket, DocumentError>> {
        (self.part() == Part::Public)
            .then(|| note_appended(self.raw(), before, change))
            .flatten()
    }
}

/// The ticket `doc` reads as, now that `change` (just applied to it) appended a note to the
/// ticket that read as `before` (with its conflicts found): `before` with the note. `None` when
/// the change may have done anything else: read the whole ticket.
pub(super) fn note_appended(
    doc: &AutoCommit,
    before: &Ticket,
    change: &Change,
) -> Option<Result<Ticket, DocumentError>> {
    if !before.conflicts.is_empty() {
        return None;
    }
    let notes = the_notes(doc)?;
    let note = ObjId::Id(change.start_op().get(), change.actor_id().clone(), 0);
    note_ops(change, &notes.to_string())?;
    // Landed last: every note before it is where it was.
    let length = doc.length(&notes);
    if length != before.notes.len() + 1 {
        return None;
    }
    match doc.get(&notes, length - 1) {
        Ok(Some((Value::Object(ObjType::Map), last))) if last == note => {}
        _ => return None,
    }
    Some(read_note(doc, &note).map(|note| {
        let mut after = before.clone();
        after.notes.push(note);
        after
    }))
}

/// The ticket's notes list: the one value at the root's `notes`, a list.
pub(super) fn the_notes(doc: &AutoCommit) -> Option<ObjId> {
    let mut all = doc.get_all(ROOT, "notes").ok()?;
    match all.pop() {
        Some((Value::Object(ObjType::List), notes)) if all.is_empty() => Some(notes),
        _ => None,
    }
}

/// The operations of a change that only makes a note: the list position it inserts the note
/// after (its serde form: `_head`, or the id of the element there), and the note's values, each
/// operation by its key.
pub(super) struct NoteOps {
    pub after: String,
    pub puts: Vec<(String, Json)>,
}

/// [`NoteOps`] of `change` when it is, operation by operation: a map inserted into the list
/// `notes` (its id as the serde form writes it), then plain values put into that map, each under
/// a different key a note has, none replacing anything; `None` when it may do anything else.
/// The operations are read through their serde form (as `encoded::check_targets` reads them):
/// Automerge names their parts nowhere else.
pub(super) fn note_ops(change: &Change, notes: &str) -> Option<NoteOps> {
    if change.len() < 2 || change.len() > note_keys().count() + 1 {
        return None;
    }
    let Ok(Json::Object(mut form)) = serde_json::to_value(change.decode()) else {
        return None;
    };
    let Some(Json::Array(ops)) = form.remove("ops") else {
        return None;
    };
    let mut ops = ops.into_iter();
    let make = ops.next()?;
    let fresh = |op: &Json| op["pred"].as_array().is_some_and(Vec::is_empty);
    let makes_a_note = make["action"] == "makeMap"
        && make["insert"] == true
        && fresh(&make)
        && make["obj"].as_str() == Some(notes);
    if !makes_a_note {
        return None;
    }
    let after = make["elemId"].as_str()?.to_owned();
    let note = format!("{}@{}", change.start_op().get(), change.actor_id());
    let mut puts: Vec<(String, Json)> = Vec::with_capacity(ops.len());
    for put in ops {
        let plain = put["action"] == "set" && put.get("insert").is_none() && fresh(&put);
        let key = put["key"].as_str().unwrap_or_default().to_owned();
        if !plain
            || put["obj"].as_str() != Some(note.as_str())
            || !note_keys().any(|known| known == key)
            || puts.iter().any(|(written, _)| *written == key)
        {
            return None;
        }
        puts.push((key, put));
    }
    Some(NoteOps { after, puts })
}

#[cfg(test)]
pub(super) mod tests;
