//! When a stored document's tail is compacted into a new snapshot: one rule for the server's
//! tickets and a device's documents.

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
}
