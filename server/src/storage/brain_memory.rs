//! What the service brain remembers between decisions (`docs/brain.md`, "Wiring"), kept so a
//! restart loses none of it: each tenant's round-robin turns (so a team's round robin stays fair
//! over time, not just since the last start), and for each ticket the heads of its two documents
//! right after the brain's last decision (so the next change by a person is compared with the
//! ticket as the brain left it, and update triggers see exactly what changed). The server writes
//! it in batches; what a crash loses of it is the last few seconds, and those tickets are looked
//! at as on a tick.

use super::Result;

/// A ticket as the brain last left it: the heads (hex hashes) of its public and staff documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedTicket {
    pub ticket_id: String,
    pub public_heads: Vec<String>,
    pub staff_heads: Vec<String>,
}

/// The brain's memory. Every method is one transaction.
pub trait BrainMemory {
    /// Stores the tenant's round-robin `turns` (JSON, as the brain serialises them) when given,
    /// and each of `tickets`, replacing what was remembered of them. Fails with
    /// [`super::Missing::Tenant`] for an unknown tenant, storing nothing.
    fn remember(
        &self,
        tenant_id: &str,
        turns: Option<&str>,
        tickets: &[RememberedTicket],
    ) -> Result<()>;
    /// The tenant's round-robin turns as last stored.
    fn remembered_turns(&self, tenant_id: &str) -> Result<Option<String>>;
    /// A ticket of the tenant as the brain last left it.
    fn remembered_ticket(
        &self,
        tenant_id: &str,
        ticket_id: &str,
    ) -> Result<Option<RememberedTicket>>;
}

/// A document's heads as stored (`brain_tickets.public_heads`, `staff_heads`): space-separated
/// hex.
pub(crate) fn heads_text(heads: &[String]) -> String {
    heads.join(" ")
}

/// Stored heads ([`heads_text`]).
pub(crate) fn heads_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_read_back_as_stored() {
        let heads = vec!["ab01".to_owned(), "cd02".to_owned()];
        assert_eq!(heads_of(&heads_text(&heads)), heads);
        assert!(heads_of(&heads_text(&[])).is_empty());
    }
}
