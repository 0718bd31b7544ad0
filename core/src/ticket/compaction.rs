//! When a stored document's tail is compacted into a new snapshot: one rule for the server's
//! tickets and a device's documents; and the save the server compacts with, proven to load back.

use automerge::{AutoCommit, ChangeHash};

use super::document::TicketDocument;

/// How many changes may follow a stored document's compacted snapshot — on the server a
/// ticket's public changes (`docs/adr/0020-snapshot-and-tail.md`), on a device its incremental
/// chunks — before the next write compacts them into a new snapshot, for a document whose history
/// holds `changes` changes: 16, or half the history when that is more. Compacting saves
/// the whole document (the server also proves it loads back), which takes as long as the
/// document is; spaced so, it costs each change the same however long the ticket grows, while
/// loading from snapshot and tail costs what loading from a snapshot alone does (Automerge
/// rebuilds every change either way). Under 1,000 devices adding a note a second, compacting every
/// 16 became a third of the server's time and a tenth of each device's as tickets grew; every
/// quarter of the history, nearly a third of the server's still (ADR 0020).
pub fn compact_after(changes: u64) -> usize {
    const AT_LEAST: usize = 16;
    const SHARE: u64 = 2;
    AT_LEAST.max(usize::try_from(changes / SHARE).unwrap_or(usize::MAX))
}

impl TicketDocument {
    /// How long this document's stored tail may grow: see [`compact_after`].
    pub fn compact_after(&self) -> usize {
        compact_after(self.changes())
    }

    /// [`Self::save`], proven to load back to the same heads: `None` when Automerge cannot
    /// encode the document or decode what it encoded, a panic inside Automerge included. The
    /// server compacts a ticket's stored changes into a snapshot only through this, so a ticket
    /// whose history Automerge accepts but cannot re-encode keeps its changes instead.
    pub fn save_proven(&mut self) -> Option<Vec<u8>> {
        proving(|| Some((self.save(), self.heads())))
    }

    /// [`Self::save_proven`] of a document no longer needed: it is dropped before what was saved
    /// is loaded back, so the two are never in memory together (the server compacts tickets of
    /// hundreds of notes this way, several at once).
    pub fn into_proven(mut self) -> Option<Vec<u8>> {
        proving(move || {
            let (saved, heads) = (self.save(), self.heads());
            drop(self);
            Some((saved, heads))
        })
    }
}

/// What `save` saved, proven to load back to the heads it gave: `None` when Automerge cannot
/// encode the document or decode what it encoded, a panic inside Automerge included
/// ([`TicketDocument::save_proven`]).
fn proving(save: impl FnOnce() -> Option<(Vec<u8>, Vec<ChangeHash>)>) -> Option<Vec<u8>> {
    let proven = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (saved, heads) = save()?;
        let mut loaded = AutoCommit::load(&saved).ok()?;
        (loaded.get_heads() == heads).then_some(saved)
    }));
    proven.unwrap_or_else(|_| {
        tracing::warn!("saving a ticket panicked inside Automerge; its changes stay as they are");
        None
    })
}

#[cfg(test)]
mod tests {
    use crate::model::Role;
    use crate::ticket::Edit;
    use crate::ticket::TicketDocument;
    use crate::ticket::tests::{actor, created};

    #[test]
    fn a_document_saved_proven_or_given_up_to_it_loads_back_the_same() {
        let agent = actor("agent1", Role::Agent);
        let mut doc = created(&agent);
        for n in 0..5 {
            let view = doc.view().expect("view");
            let note = Edit::AddNote {
                text: format!("note {n}"),
                internal: false,
            };
            doc.apply(&view, &note, &agent, 2 + n).expect("applies");
        }
        let (heads, view) = (doc.heads(), doc.view().expect("view"));
        let kept = doc.save_proven().expect("saves and loads back");
        let given_up = doc.into_proven().expect("saves and loads back");
        assert_eq!(kept, given_up, "the same bytes either way");
        let mut loaded = TicketDocument::load(&given_up).expect("loads");
        assert_eq!(
            (loaded.heads(), loaded.view().expect("view")),
            (heads, view)
        );
    }
}
