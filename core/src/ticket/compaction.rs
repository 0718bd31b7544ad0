//! When a stored document's tail is compacted into a new snapshot: one rule for the server's
//! tickets and a device's documents; and the save the server compacts with, proven to load back.

use automerge::{AutoCommit, ChangeHash};

use super::document::TicketDocument;

/// Whether the write that leaves `tail` changes after a stored document's compacted snapshot —
/// on the server a ticket's public changes (`docs/adr/0020-snapshot-and-tail.md`), on a device
/// its incremental chunks — compacts them into a new snapshot, for the document of ticket
/// `ticket` whose history then holds `changes` changes. A ticket is compacted when its history
/// reaches `p`, `2p`, `4p`, … changes (rounded down), `p` between 16 and 32 fixed by the ticket's
/// id: its tail grows to half its history, and a ticket is compacted about as many times as its
/// history doubles. Compacting saves the whole document (the server also proves it loads back),
/// which takes as long as the document is; spaced so, it costs each change the same however long
/// the ticket grows, while loading from snapshot and tail costs what loading from a snapshot
/// alone does (Automerge rebuilds every change either way). Under 1,000 devices adding a note a
/// second, compacting every 16 became a third of the server's time and a tenth of each device's
/// as tickets grew; every quarter of the history, nearly a third of the server's still (ADR 0020).
///
/// `p` differs from ticket to ticket because each point doubles the one before: with one `p`
/// for all, tickets opened together and noted alike (a storm's, a bench's) were compacted in the
/// same seconds every time their histories doubled, each loading its whole document at once —
/// the server's worst seconds under 1,000 devices. Spread so, the tickets reaching a point
/// together are fewer the longer their histories: the documents compacted in any one moment weigh
/// about the same at every length, and the compactions cost what they cost before.
pub fn compacts(changes: u64, tail: u64, ticket: &str) -> bool {
    tail > 0 && changes >= next_point(changes.saturating_sub(tail), ticket)
}

/// The first of ticket `ticket`'s compaction points ([`compacts`]) past a snapshot of `snapshot`
/// changes: `p × 2^k` rounded down, `p` in [16, 32) to 20 binary places.
fn next_point(snapshot: u64, ticket: &str) -> u64 {
    const FIRST: u128 = 16;
    const PLACES: u32 = 20;
    let span = FIRST << PLACES;
    let mut point = span + u128::from(spread(ticket)) % span;
    while point >> PLACES <= u128::from(snapshot) {
        point <<= 1;
    }
    u64::try_from(point >> PLACES).unwrap_or(u64::MAX)
}

/// A number fixed by `key` on every machine and build (FNV-1a), to spread work over keys.
fn spread(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl TicketDocument {
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
    use super::compacts;
    use crate::model::Role;
    use crate::ticket::Edit;
    use crate::ticket::TicketDocument;
    use crate::ticket::tests::{actor, created};

    /// A thousand tickets opened together and noted once a step, each compacting as
    /// [`compacts`] says: with one first point for all (it was 16 changes), all thousand were
    /// compacted in the same step at every doubling, the documents of the step's compactions
    /// weighing 1,000 times a ticket's history. Spread by id, the heaviest step weighs a few
    /// tickets' histories, and each ticket is still compacted once a doubling.
    #[test]
    fn tickets_opened_together_compact_at_different_times() {
        let ids: Vec<String> = (0..1000_u128)
            .map(|n| {
                uuid::Uuid::from_u128(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            })
            .map(|id| id.to_string())
            .collect();
        // (snapshot's changes, tail), from the creation's snapshot.
        let mut stored: Vec<(u64, u64)> = vec![(1, 0); ids.len()];
        // The changes of the documents compacted at each step.
        let mut weight = vec![0_u64; 1000];
        let mut compactions = vec![Vec::new(); ids.len()];
        for step_weight in weight.iter_mut().skip(1) {
            for (n, (snapshot, tail)) in stored.iter_mut().enumerate() {
                *tail += 1;
                let changes = *snapshot + *tail;
                if compacts(changes, *tail, &ids[n]) {
                    (*snapshot, *tail) = (changes, 0);
                    *step_weight += changes;
                    compactions[n].push(changes);
                }
            }
        }
        let heaviest = weight.iter().max().copied().unwrap_or(0);
        // At most what eight of the longest histories weigh (it was a thousand of them).
        assert!(
            heaviest <= 8 * 1000,
            "{heaviest} changes compacted in one step"
        );
        for (points, id) in compactions.iter().zip(&ids) {
            // The first between 16 and 32 changes, each after at twice the one before (rounded
            // down), the tail never past half the history.
            assert!((16..=32).contains(&points[0]), "{id}: {points:?}");
            assert!(
                points
                    .windows(2)
                    .all(|w| (2 * w[0]..=2 * w[0] + 1).contains(&w[1]))
            );
            assert!((5..=6).contains(&points.len()), "{id}: {points:?}");
        }
        assert!(!compacts(1000, 0, &ids[0]), "nothing to compact");
        assert_eq!(compacts(40, 24, &ids[0]), compacts(40, 24, &ids[0].clone()));
    }

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
