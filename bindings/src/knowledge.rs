//! The knowledge base as FFI records: a search hit (or suggestion) and a whole article, mirrors
//! of the core's, converted with no logic.

use fieldwork_core::knowledge as core;
use fieldwork_core::store::KbHit as CoreHit;

use crate::model::KbAudience;

/// An article in a list: a search hit or a suggestion for a ticket.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KbHit {
    pub id: String,
    pub title: String,
    pub category: Option<String>,
    /// `zh`, `en`, …
    pub language: String,
    pub audience: KbAudience,
    /// A line of the body around the match.
    pub excerpt: String,
}

impl From<CoreHit> for KbHit {
    fn from(h: CoreHit) -> Self {
        KbHit {
            id: h.id,
            title: h.title,
            category: h.category,
            language: h.language,
            audience: h.audience.into(),
            excerpt: h.excerpt,
        }
    }
}

/// A published article, whole, as the device holds it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KbArticle {
    pub id: String,
    /// The published version's number.
    pub version: u32,
    pub language: String,
    pub category: Option<String>,
    pub audience: KbAudience,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: Vec<String>,
    /// When it was published, milliseconds since the Unix epoch (server time).
    pub published_at: i64,
}

impl From<core::KbArticle> for KbArticle {
    fn from(a: core::KbArticle) -> Self {
        KbArticle {
            id: a.id,
            version: a.version,
            language: a.language,
            category: a.category,
            audience: a.audience.into(),
            title: a.title,
            body: a.body,
            tags: a.tags,
            published_at: a.published_at,
        }
    }
}
