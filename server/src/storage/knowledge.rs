//! The knowledge base (`docs/knowledge-base.md`): articles written by staff, each save kept as a
//! version; the newest version past the published one is the draft. Publishing and unpublishing
//! move the tenant's knowledge-base sequence, so readers (devices, next) can fetch what changed.

use super::Result;

/// Who may read a published article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone of the tenant who signs in (riders and merchants too).
    Everyone,
    /// Technicians and the back office.
    Staff,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Everyone => "everyone",
            Audience::Staff => "staff",
        }
    }

    /// As devices are told.
    pub fn wire(self) -> fieldwork_core::knowledge::KbAudience {
        match self {
            Audience::Everyone => fieldwork_core::knowledge::KbAudience::Everyone,
            Audience::Staff => fieldwork_core::knowledge::KbAudience::Staff,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(Audience::Everyone),
            "staff" => Some(Audience::Staff),
            _ => None,
        }
    }
}

/// What an article is about and who reads it (not versioned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleMeta {
    pub tenant_id: String,
    pub id: String,
    /// `zh`, `en`, … (BCP 47, short).
    pub language: String,
    pub category: Option<String>,
    pub audience: Audience,
    /// Only this team's technicians (and the back office), when set.
    pub team: Option<String>,
    pub created_at: i64,
    pub created_by: String,
}

/// One saved version of an article's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleVersion {
    pub version: u32,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: Vec<String>,
    pub written_at: i64,
    pub written_by: String,
}

/// An article: what it is about, its newest version, and the published one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub meta: ArticleMeta,
    pub latest: ArticleVersion,
    pub published: Option<ArticleVersion>,
    pub published_at: Option<i64>,
    /// The tenant's knowledge-base sequence when readers' view of it last changed (0: never
    /// published).
    pub seq: u64,
}

/// A picture for articles: a JPEG of the tenant and its thumbnail, both stored as blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbImage {
    pub tenant_id: String,
    pub sha256: String,
    pub thumb: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub created_at: i64,
    pub created_by: String,
}

/// The knowledge base. Every method is one transaction.
pub trait KnowledgeBase {
    /// A new article with its first version (a draft). Fails with [`super::Missing::Tenant`]
    /// for an unknown tenant.
    fn create_article(&self, meta: &ArticleMeta, first: &ArticleVersion) -> Result<()>;
    /// Saves a new version of the text (and the article's facts); answers the version number.
    /// `None` when the tenant has no such article. When the facts of a published article
    /// change (who reads it, its language or category), readers' view of it changes: it gets
    /// the tenant's next knowledge-base sequence.
    fn save_article(
        &self,
        meta: &ArticleMeta,
        title: &str,
        body: &str,
        tags: &[String],
        at: i64,
        by: &str,
    ) -> Result<Option<u32>>;
    /// Publishes the newest version (or, with `unpublish`, takes the article back): readers'
    /// view of it changes, and it gets the tenant's next knowledge-base sequence. `false` when
    /// the tenant has no such article.
    fn publish_article(&self, tenant_id: &str, id: &str, unpublish: bool, at: i64) -> Result<bool>;
    /// One article of the tenant.
    fn article(&self, tenant_id: &str, id: &str) -> Result<Option<Article>>;
    /// The tenant's articles, newest first by creation, at most `limit`.
    fn articles(&self, tenant_id: &str, limit: usize) -> Result<Vec<Article>>;
    /// Every version of an article, oldest first.
    fn article_versions(&self, tenant_id: &str, id: &str) -> Result<Vec<ArticleVersion>>;
    /// Records a picture for articles (again: no change).
    fn add_kb_image(&self, image: &KbImage) -> Result<()>;
    /// The tenant's picture whose image or thumbnail is `sha256`.
    fn kb_image(&self, tenant_id: &str, sha256: &str) -> Result<Option<KbImage>>;
    /// The published articles of the tenant whose published text shows the picture `sha256`
    /// (`kb-image:SHA256`), at most `limit`.
    fn articles_showing(&self, tenant_id: &str, sha256: &str, limit: usize)
    -> Result<Vec<Article>>;
}

/// Most articles one call lists.
const MAX_LISTED: usize = 1_000;

/// A call's `limit` as a `LIMIT`: 1 to [`MAX_LISTED`].
pub(crate) fn listed_limit(limit: usize) -> i64 {
    i64::try_from(limit.clamp(1, MAX_LISTED)).unwrap_or(i64::MAX)
}

/// A version's tags as stored (`kb_versions.tags`): a JSON list.
pub(crate) fn tags_text(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

/// Stored tags ([`tags_text`]); none when they do not read.
pub(crate) fn tags_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_back_and_damage_reads_as_none() {
        let tags = vec!["printer".to_owned(), "打印机".to_owned()];
        assert_eq!(tags_of(&tags_text(&tags)), tags);
        assert!(tags_of("not json").is_empty());
    }

    #[test]
    fn a_listing_holds_one_to_a_thousand_articles() {
        assert_eq!(listed_limit(0), 1);
        assert_eq!(listed_limit(20), 20);
        assert_eq!(listed_limit(usize::MAX), 1_000);
    }
}
