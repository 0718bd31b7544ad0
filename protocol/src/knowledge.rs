//! The knowledge base on the wire (`docs/knowledge-base.md`, "On devices"): a sync request says
//! how far the device's copy of the published articles goes ([`crate::sync::SyncRequest::kb_cursor`]);
//! the answer brings what changed for this user since then ([`KbDelta`]). The server decides
//! who reads what (audience and team); the device keeps what it is sent and searches it offline.

use serde::{Deserialize, Serialize};

/// Most articles one answer carries; the rest come with `more`.
pub const MAX_KB_ARTICLES_PER_RESPONSE: usize = 100;
/// Byte budget of one answer's articles (at least one article is always sent).
pub const KB_BYTES_PER_RESPONSE: usize = 1024 * 1024;

/// Who an article is for, as the device shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KbAudience {
    /// Everyone of the tenant who signs in (riders and merchants too).
    Everyone,
    /// Technicians and the back office only (internal).
    Staff,
    /// A value this version does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

/// One published article, as readers get it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbArticle {
    pub id: String,
    /// The published version's number.
    pub version: u32,
    /// `zh`, `en`, …
    pub language: String,
    pub category: Option<String>,
    pub audience: KbAudience,
    pub title: String,
    /// Markdown.
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Server time of publishing, milliseconds since the Unix epoch.
    pub published_at: i64,
}

impl KbArticle {
    /// Approximate wire size, for byte budgets.
    pub fn wire_bytes(&self) -> usize {
        self.id.len()
            + self.language.len()
            + self.category.as_ref().map_or(0, String::len)
            + self.title.len()
            + self.body.len()
            + self.tags.iter().map(|t| t.len() + 2).sum::<usize>()
            + 64
    }
}

/// What changed in the user's knowledge base since the request's `kb_cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbDelta {
    /// Articles published or republished since, to store (replacing an older version).
    pub articles: Vec<KbArticle>,
    /// Articles the device must drop: unpublished, or no longer for this user. May name
    /// articles the device never had (it cannot be told apart on the server).
    #[serde(default)]
    pub removed: Vec<String>,
    /// The `kb_cursor` to send next time.
    pub cursor: u64,
    /// More changes wait: sync again.
    #[serde(default)]
    pub more: bool,
}

impl KbDelta {
    /// Nothing to apply and no cursor to move.
    pub fn is_empty(&self) -> bool {
        self.articles.is_empty() && self.removed.is_empty() && !self.more
    }
}
