//! What the reports count about each ticket (`fieldwork_brain::report::TicketFacts`), kept per
//! ticket with the seq of the ticket's change it was read at, so a report reads rows instead of
//! documents (`docs/reports.md`). The server refreshes a ticket's facts after it changes; a
//! ticket whose facts are older than its newest change is *stale* and refreshed before a report.
//! Each tenant's *progress* says up to which change every ticket's facts are fresh, so the stale
//! ones are found among the tickets changed since, not by reading them all.

use fieldwork_brain::report::TicketFacts;

use super::{Result, StorageError};

/// A ticket whose facts are missing or older than its newest change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFacts {
    pub tenant_id: String,
    pub ticket_id: String,
    /// The ticket's newest seq: what fresh facts are read at.
    pub last_seq: u64,
}

/// A ticket's facts as read at the seq of its newest change then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshFacts {
    pub ticket_id: String,
    pub seq: u64,
    pub facts: TicketFacts,
}

/// Every ticket's report facts. Every method is one transaction.
pub trait ReportFacts {
    /// Tenants with changes newer than their facts' progress.
    fn tenants_behind(&self) -> Result<Vec<String>>;
    /// How far the tenant's facts are known to be fresh: every change up to this seq is in them
    /// (0 for none).
    fn facts_progress(&self, tenant_id: &str) -> Result<u64>;
    /// The tenant's tickets whose newest change is in `(after_seq, up_to]` and whose facts are
    /// missing or older, in the order of their newest change, at most `limit`: a caller walks
    /// the range once, page by page, and never chases a tenant that keeps writing.
    fn stale_facts(
        &self,
        tenant_id: &str,
        after_seq: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<StaleFacts>>;
    /// Stores each of `fresh` (facts of a ticket of the tenant as read at a seq), unless facts
    /// read at a later seq are stored already (two refreshes racing keep the newer), and moves
    /// the tenant's progress forward to `progress` when given (never back) — one transaction, so
    /// refreshing many tickets costs one commit. Returns how many facts it stored.
    fn put_facts(
        &self,
        tenant_id: &str,
        fresh: &[FreshFacts],
        progress: Option<u64>,
    ) -> Result<usize>;
    /// The facts of the tenant's tickets that a report on `[from, to)` may count: created
    /// before `to`, and still open at `from` or ended after it or created after `created_since`
    /// (for the volume of the period before).
    fn facts_between(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
        created_since: i64,
    ) -> Result<Vec<TicketFacts>>;
}

/// Each of `fresh` with its facts as stored (`ticket_facts.facts`): JSON.
pub(crate) fn facts_text(fresh: &[FreshFacts]) -> Result<Vec<(&FreshFacts, String)>> {
    fresh
        .iter()
        .map(|f| {
            Ok((
                f,
                serde_json::to_string(&f.facts).map_err(StorageError::backend)?,
            ))
        })
        .collect()
}

/// Stored facts ([`facts_text`]); ones that do not read are damage.
pub(crate) fn facts_of(json: &str) -> Result<TicketFacts> {
    serde_json::from_str(json)
        .map_err(|e| StorageError::Corrupt(format!("a ticket's report facts do not read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_facts_are_told() {
        assert!(matches!(facts_of("{"), Err(StorageError::Corrupt(_))));
        assert!(facts_text(&[]).expect("nothing to write").is_empty());
    }
}
