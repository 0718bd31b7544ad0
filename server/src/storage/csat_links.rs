//! Rating links (`docs/api.md`, "CSAT"): a reporter without the app rates a resolved ticket
//! through a link the back office sends them. The link carries a random token; the store keeps
//! only its SHA-256, with the ticket, the reporter, the Automerge actor the rating is written
//! with (so the audit log can say it came through a link), when it expires and when it was used.
//! A link is used at most once; a new link for a ticket ends the ticket's unused ones.

use super::Result;

/// One rating link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatLink {
    pub token_hash: String,
    pub tenant_id: String,
    pub ticket_id: String,
    /// The ticket's reporter: the rating is theirs.
    pub reporter_id: String,
    /// The actor (hex) the rating change is written with.
    pub actor_id: String,
    /// The user who made the link.
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Rating links. Every method is one transaction.
pub trait CsatLinks {
    /// Stores `link`, ending (expiring at `link.created_at`) the ticket's links not used yet.
    /// Fails with [`super::Missing::Tenant`] for an unknown tenant, storing nothing.
    fn create_csat_link(&self, link: &CsatLink) -> Result<()>;
    /// The link with this token hash.
    fn csat_link(&self, token_hash: &str) -> Result<Option<CsatLink>>;
    /// Marks the link used at `at` if it was neither used nor expired then; returns whether it
    /// did (of two callers racing, one wins).
    fn use_csat_link(&self, token_hash: &str, at: i64) -> Result<bool>;
    /// Makes a used link usable again (the rating it was used for could not be stored).
    fn release_csat_link(&self, token_hash: &str) -> Result<()>;
}
