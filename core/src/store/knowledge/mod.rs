//! The knowledge base on the device (`docs/knowledge-base.md`, "On devices"): the published
//! articles the server sent this user, kept with the sync state (a sync answer's [`KbDelta`] is
//! applied in the same transaction as its cursor), searched offline through `kb_search` (FTS5
//! over [`index_terms`], so Chinese two-character words match), and suggested for a ticket by
//! the pure [`crate::knowledge::suggest`].

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Result, TicketStore};
use crate::knowledge::{Candidate, KbArticle, KbAudience, KbDelta, excerpt, images_in, suggest};
use crate::search::{index_terms, keywords, match_expression};

/// Longest title the device stores, in bytes (the server allows 200 characters).
const MAX_TITLE_BYTES: usize = 4 * 1024;
/// Longest body the device stores, in bytes (the server allows 50,000 characters).
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most hits one search answers.
pub const MAX_KB_HITS: usize = 50;
/// Articles weighed for suggestions: at most this many whose title or tags have one of the
/// ticket's keywords (best first by bm25), and as many of the ticket's category (the newest).
const SUGGESTION_CANDIDATES: usize = 500;
/// Keywords of a ticket looked up for suggestions.
const MAX_SUGGESTION_KEYWORDS: usize = 32;

/// A search hit or a suggestion: enough to show in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbHit {
    pub id: String,
    pub title: String,
    pub category: Option<String>,
    pub language: String,
    /// Staff only (internal), or everyone.
    pub audience: KbAudience,
    /// A line of the body around the match.
    pub excerpt: String,
}

fn audience_text(audience: KbAudience) -> &'static str {
    match audience {
        KbAudience::Everyone => "everyone",
        KbAudience::Staff => "staff",
        KbAudience::Unknown => "unknown",
    }
}

fn audience_of(text: &str) -> KbAudience {
    match text {
        "everyone" => KbAudience::Everyone,
        "staff" => KbAudience::Staff,
        _ => KbAudience::Unknown,
    }
}

/// The terms of an article's title column: its title and its tags.
fn title_terms(article: &KbArticle) -> String {
    let mut text = article.title.clone();
    for tag in &article.tags {
        text.push(' ');
        text.push_str(tag);
    }
    index_terms(&text)
}

/// Applies what a sync answer brought: removals, then articles (each replacing the version the
/// device had). An article beyond the device's limits is left out (and logged), not stored.
/// Answers how many articles were stored and how many the device held and dropped.
pub(super) fn apply(tx: &Transaction, delta: &KbDelta) -> Result<(usize, usize)> {
    let mut removed = 0;
    for id in &delta.removed {
        removed += usize::from(remove(tx, id)?);
    }
    let mut stored = 0;
    for article in &delta.articles {
        if article.title.len() > MAX_TITLE_BYTES || article.body.len() > MAX_BODY_BYTES {
            tracing::warn!(
                title_bytes = article.title.len(),
                body_bytes = article.body.len(),
                "a knowledge-base article is beyond the device's limits and was not stored"
            );
            removed += usize::from(remove(tx, &article.id)?);
            continue;
        }
        let tags = serde_json::to_string(&article.tags).unwrap_or_else(|_| "[]".to_owned());
        let rowid: i64 = tx
            .prepare_cached(
                "INSERT INTO kb_articles (id, version, language, category, audience, title, body,
                     tags, published_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                     language = excluded.language, category = excluded.category,
                     audience = excluded.audience, title = excluded.title, body = excluded.body,
                     tags = excluded.tags, published_at = excluded.published_at
                 RETURNING rowid",
            )?
            .query_row(
                params![
                    article.id,
                    article.version,
                    article.language,
                    article.category,
                    audience_text(article.audience),
                    article.title,
                    article.body,
                    tags,
                    article.published_at
                ],
                |r| r.get(0),
            )?;
        tx.prepare_cached("DELETE FROM kb_search WHERE rowid = ?1")?
            .execute([rowid])?;
        tx.prepare_cached("INSERT INTO kb_search (rowid, title, body) VALUES (?1, ?2, ?3)")?
            .execute(params![
                rowid,
                title_terms(article),
                index_terms(&article.body)
            ])?;
        tx.prepare_cached("DELETE FROM kb_article_images WHERE article_id = ?1")?
            .execute([&article.id])?;
        for sha in images_in(&article.body) {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO kb_article_images (article_id, sha256) VALUES (?1, ?2)",
            )?
            .execute(params![article.id, sha])?;
            tx.prepare_cached("INSERT OR IGNORE INTO kb_images (sha256) VALUES (?1)")?
                .execute([&sha])?;
        }
        stored += 1;
    }
    forget_unshown_images(tx)?;
    Ok((stored, removed))
}

/// Drops the pictures no article shows any more.
fn forget_unshown_images(tx: &Transaction) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM kb_images WHERE NOT EXISTS
             (SELECT 1 FROM kb_article_images r WHERE r.sha256 = kb_images.sha256)",
    )?
    .execute([])?;
    Ok(())
}

/// Drops an article; whether the device held it.
fn remove(tx: &Transaction, id: &str) -> Result<bool> {
    let rowid: Option<i64> = tx
        .prepare_cached("DELETE FROM kb_articles WHERE id = ?1 RETURNING rowid")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(rowid) = rowid {
        tx.prepare_cached("DELETE FROM kb_search WHERE rowid = ?1")?
            .execute([rowid])?;
    }
    tx.prepare_cached("DELETE FROM kb_article_images WHERE article_id = ?1")?
        .execute([id])?;
    Ok(rowid.is_some())
}

/// Forgets every article (the knowledge base is sent whole again). Pictures stay until the
/// answer's articles are applied: those still shown are not fetched again.
pub(super) fn clear(tx: &Transaction) -> Result<()> {
    // Prepared once per connection: a tenant without articles answers every sync with the
    // knowledge base whole (its cursor stays 0), so this runs on every round.
    for table in ["kb_articles", "kb_search", "kb_article_images"] {
        tx.prepare_cached(&format!("DELETE FROM {table}"))?
            .execute([])?;
    }
    Ok(())
}

const ARTICLE: &str = "id, version, language, category, audience, title, body, tags, published_at";

fn article_of(r: &Row<'_>) -> rusqlite::Result<KbArticle> {
    let audience: String = r.get(4)?;
    let tags: String = r.get(7)?;
    Ok(KbArticle {
        id: r.get(0)?,
        version: r.get(1)?,
        language: r.get(2)?,
        category: r.get(3)?,
        audience: audience_of(&audience),
        title: r.get(5)?,
        body: r.get(6)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        published_at: r.get(8)?,
    })
}

fn hit_of(article: KbArticle, query: &str) -> KbHit {
    KbHit {
        excerpt: excerpt(&article.body, query),
        id: article.id,
        title: article.title,
        category: article.category,
        language: article.language,
        audience: article.audience,
    }
}

fn lookup(conn: &Connection, id: &str) -> Result<Option<KbArticle>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ARTICLE} FROM kb_articles WHERE id = ?1"))?
        .query_row([id], article_of)
        .optional()?)
}

impl TicketStore {
    /// The articles matching `query` (Chinese or English; every word or Chinese word of it),
    /// best first: bm25, with a match in the title (or tags) counting ten times one in the body.
    /// At most `limit` ([`MAX_KB_HITS`] at most); none for a query with nothing searchable.
    pub fn kb_search(&self, query: &str, limit: usize) -> Result<Vec<KbHit>> {
        let Some(expression) = match_expression(query) else {
            return Ok(Vec::new());
        };
        let limit = limit.min(MAX_KB_HITS) as i64;
        self.read(|conn| {
            let articles = conn
                .prepare_cached(&format!(
                    "SELECT {} FROM kb_search JOIN kb_articles a ON a.rowid = kb_search.rowid
                     WHERE kb_search MATCH ?1
                     ORDER BY bm25(kb_search, 10.0, 1.0), a.published_at DESC, a.id
                     LIMIT ?2",
                    ARTICLE
                        .split(", ")
                        .map(|c| format!("a.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))?
                .query_map(params![expression, limit], article_of)?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(articles.into_iter().map(|a| hit_of(a, query)).collect())
        })
    }

    /// One article the device holds, whole.
    pub fn kb_article(&self, id: &str) -> Result<Option<KbArticle>> {
        self.read(|conn| lookup(conn, id))
    }

    /// How many articles the device holds.
    pub fn kb_count(&self) -> Result<usize> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM kb_articles", [], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    /// The articles worth reading for a ticket: of its category or sharing keywords with its
    /// title and description ([`suggest`]), best first, at most `limit`.
    pub fn kb_suggestions(&self, ticket_id: &str, limit: usize) -> Result<Vec<KbHit>> {
        let ticket = self.ticket(ticket_id)?;
        let text = format!("{} {}", ticket.title, ticket.description);
        // The candidates: articles whose title or tags hold a keyword of the ticket (found in
        // the index, not by reading every article), and the newest of its category.
        let words: Vec<String> = keywords(&text)
            .into_iter()
            .take(MAX_SUGGESTION_KEYWORDS)
            .map(|w| format!("\"{w}\""))
            .collect();
        let expression = (!words.is_empty()).then(|| format!("title : ({})", words.join(" OR ")));
        self.read(|conn| {
            let row = |r: &Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
            let mut rows: Vec<(String, Option<String>, String, String, i64)> = match &expression {
                Some(expression) => conn
                    .prepare_cached(
                        "SELECT a.id, a.category, a.title, a.tags, a.published_at
                         FROM kb_search JOIN kb_articles a ON a.rowid = kb_search.rowid
                         WHERE kb_search MATCH ?1 ORDER BY bm25(kb_search) LIMIT ?2",
                    )?
                    .query_map(params![expression, SUGGESTION_CANDIDATES as i64], row)?
                    .collect::<std::result::Result<_, _>>()?,
                None => Vec::new(),
            };
            if let Some(category) = &ticket.category {
                let same: Vec<(String, Option<String>, String, String, i64)> = conn
                    .prepare_cached(
                        "SELECT id, category, title, tags, published_at FROM kb_articles
                         WHERE category = ?1 ORDER BY published_at DESC LIMIT ?2",
                    )?
                    .query_map(params![category, SUGGESTION_CANDIDATES as i64], row)?
                    .collect::<std::result::Result<_, _>>()?;
                let seen: std::collections::HashSet<String> =
                    rows.iter().map(|r| r.0.clone()).collect();
                rows.extend(same.into_iter().filter(|r| !seen.contains(&r.0)));
            }
            let tags: Vec<Vec<String>> = rows
                .iter()
                .map(|row| serde_json::from_str(&row.3).unwrap_or_default())
                .collect();
            let candidates = rows.iter().zip(&tags).map(|(row, tags)| Candidate {
                id: &row.0,
                category: row.1.as_deref(),
                title: &row.2,
                tags,
                published_at: row.4,
            });
            let chosen = suggest(ticket.category.as_deref(), &text, candidates, limit);
            let mut hits = Vec::with_capacity(chosen.len());
            for suggestion in chosen {
                if let Some(article) = lookup(conn, &suggestion.id)? {
                    hits.push(hit_of(article, &suggestion.shared_keywords.join(" ")));
                }
            }
            Ok(hits)
        })
    }
}

/// Failed fetches after which a picture is no longer asked for.
const MAX_IMAGE_ATTEMPTS: i64 = 5;
/// Largest picture kept (the server makes them 1920 px JPEGs, far smaller).
pub const MAX_KB_IMAGE_BYTES: usize = 8 * 1024 * 1024;

impl TicketStore {
    /// Pictures the articles show that are not on this device yet, at most `limit`.
    pub fn kb_images_wanted(&self, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT sha256 FROM kb_images WHERE bytes IS NULL AND attempts < ?1
                     ORDER BY sha256 LIMIT ?2",
                )?
                .query_map(params![MAX_IMAGE_ATTEMPTS, limit as i64], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Keeps a fetched picture, if its bytes hash to `sha256` and an article still shows it;
    /// answers whether it was kept.
    pub fn keep_kb_image(&self, sha256: &str, bytes: &[u8]) -> Result<bool> {
        if bytes.len() > MAX_KB_IMAGE_BYTES || super::sha256_hex(bytes) != sha256 {
            self.kb_image_failed(sha256)?;
            return Ok(false);
        }
        self.write(|tx| {
            Ok(tx
                .prepare_cached("UPDATE kb_images SET bytes = ?2 WHERE sha256 = ?1")?
                .execute(params![sha256, bytes])?
                > 0)
        })
    }

    /// Counts a failed fetch of a picture.
    pub fn kb_image_failed(&self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE kb_images SET attempts = attempts + 1 WHERE sha256 = ?1")?
                .execute([sha256])?;
            Ok(())
        })
    }

    /// A picture an article shows, if it is on this device (a JPEG).
    pub fn kb_image(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT bytes FROM kb_images WHERE sha256 = ?1")?
                .query_row([sha256], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()?
                .flatten())
        })
    }
}

#[cfg(test)]
mod tests;
