//! Judging a ticket on its tip, without its document (`core::ticket::tip`): a note pushed to a
//! ticket the document cache keeps only as its view and tip is judged on those
//! ([`Judge::on_tip`]); anything else loads the document, with the notes accepted on the tip
//! applied to it ([`Judge::load_document`]).

use std::sync::Arc;

use fieldwork_core::rules::judge::{self, Refused};
use fieldwork_core::ticket::{Change, Tip, compacts};

use super::{Judge, no_document};
use crate::cache::PackedView;
use crate::error::Error;

/// A working ticket's tip, while its document is not loaded.
pub(crate) struct OnTip {
    pub tip: Arc<Tip>,
    /// The packed view the ticket's view was read from: the notes accepted are packed after it.
    pub packed: Arc<PackedView>,
    /// The changes accepted on the tip in this commit, in order.
    pub accepted: Vec<Change>,
}

impl Judge<'_> {
    /// `change` to ticket `id` judged on its tip, when the ticket is held by its tip and the change
    /// is a person's note to it; `None` when it must be judged on the document. An accepted
    /// note moves the tip and the view along; a refused one leaves them as they were.
    pub(super) fn on_tip(&mut self, id: &str, change: &Change) -> Option<Result<(), Refused>> {
        let actor = self.author.rules.as_ref()?;
        let working = self.tickets.get_mut(id)?;
        let held = working.tip.as_mut()?;
        // The view is this commit's own (unpacked from the cache for it): appended to in place.
        let view = Arc::make_mut(working.view.as_mut()?);
        let verdict = judge::judge_append_in_place(actor, &held.tip, view, change)?;
        self.cache.judged_on_tip();
        self.spent = self.spent.saturating_add(change.len().max(1));
        Some(verdict.map(|next| {
            held.tip = Arc::new(next);
            held.accepted.push(change.clone());
            working.touched = true;
        }))
    }

    /// Reads, for compaction, the stored documents of the tickets this commit judged on their
    /// tips whose stored tail its notes fill ([`compacts`]): the commit loads
    /// them with those notes applied, saves them and drops them (`compaction::compact`); the
    /// ticket stays kept by its tip. The notes are still judged without the document and listed
    /// by their own terms.
    pub(super) fn compactions(&mut self) -> Result<(), Error> {
        let full: Vec<String> = self
            .tickets
            .iter()
            .filter_map(|(id, working)| {
                let held = working.tip.as_ref()?;
                let tail = u64::from(working.tail).saturating_add(held.accepted.len() as u64);
                (working.doc.is_none()
                    && !held.accepted.is_empty()
                    && compacts(held.tip.changes(), tail, id))
                .then(|| id.clone())
            })
            .collect();
        for id in full {
            let stored = self.reader.ticket_snapshot(self.tenant, &id)?;
            if let Some(working) = self.tickets.get_mut(&id) {
                working.compaction = stored;
            }
        }
        Ok(())
    }

    /// Loads the public document of ticket `id` if the commit holds it by its tip: as stored,
    /// with the changes accepted on the tip applied (they were judged as that document would
    /// judge them, so it takes them). The view held on the tip has no notes' texts: the ticket's
    /// view is read from the document again when a change is judged on it.
    pub(super) fn load_document(&mut self, id: &str) -> Result<(), Error> {
        let accepted = match self.tickets.get_mut(id) {
            Some(working) if working.doc.is_none() => match working.tip.take() {
                Some(held) => held.accepted,
                None => return Err(no_document()),
            },
            _ => return Ok(()),
        };
        let Some(mut doc) = self.stored_document(id)? else {
            return Err(Error::Task(
                "a ticket kept by its tip is stored beyond the ticket limits".into(),
            ));
        };
        doc.apply_changes(accepted)?;
        let working = self
            .tickets
            .get_mut(id)
            .ok_or_else(|| Error::Task("a loaded ticket left the working set".into()))?;
        working.doc = Some(doc);
        working.view = None;
        Ok(())
    }
}
