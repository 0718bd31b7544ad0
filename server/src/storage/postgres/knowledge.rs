//! The knowledge base on PostgreSQL: `kb_articles`, `kb_versions`, `kb_counters`, `kb_images`
//! (`sql/0004_channels.sql`).
//!
//! A write to an article first locks its row (`FOR UPDATE`), then, if readers' view of it
//! changes, takes the tenant's next knowledge-base sequence by updating the counter row, whose
//! lock it holds until it commits: the sequence is taken in commit order, so a reader that
//! fetched what changed after `n` misses nothing that commits later. Articles are read with
//! their newest and published versions in one statement (one snapshot).

use tokio_postgres::Row;

use super::assets::ascii_lower;
use super::db::{Db, Param};
use super::{PgStore, require_tenant};
use crate::storage::{
    Article, ArticleMeta, ArticleVersion, Audience, KbImage, KnowledgeBase, Result, StorageError,
    knowledge, sql_seq,
};

fn version_number(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StorageError::Corrupt(format!("an article's version is {v}")))
}

const VERSION_COLUMNS: &str = "version, title, body, written_at, tags, written_by";

/// The version in the six columns of `r` from `at` ([`VERSION_COLUMNS`]); `None` when they
/// are NULL (an outer join found none).
fn version_at(r: &Row, at: usize) -> Result<Option<ArticleVersion>> {
    let Some(version) = r.try_get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    let tags: String = r.try_get(at + 4)?;
    Ok(Some(ArticleVersion {
        version: version_number(version)?,
        title: r.try_get(at + 1)?,
        body: r.try_get(at + 2)?,
        written_at: r.try_get(at + 3)?,
        tags: knowledge::tags_of(&tags),
        written_by: r.try_get(at + 5)?,
    }))
}

/// Selects an article `a` with its newest version `l` and published version `p`: columns as
/// [`article_of`] reads them. The caller adds `WHERE`, `ORDER BY` and `LIMIT`.
const ARTICLE_SELECT: &str = "SELECT a.tenant_id, a.id, a.language, a.category, a.audience, a.team,
         a.created_at, a.created_by, a.published_at, a.seq,
         l.version, l.title, l.body, l.written_at, l.tags, l.written_by,
         p.version, p.title, p.body, p.written_at, p.tags, p.written_by
     FROM kb_articles a
     LEFT JOIN LATERAL (
         SELECT version, title, body, written_at, tags, written_by FROM kb_versions v
         WHERE v.tenant_id = a.tenant_id AND v.article_id = a.id
         ORDER BY v.version DESC LIMIT 1
     ) l ON TRUE
     LEFT JOIN kb_versions p
         ON p.tenant_id = a.tenant_id AND p.article_id = a.id AND p.version = a.published_version";

/// The article of a row of [`ARTICLE_SELECT`].
fn article_of(r: &Row) -> Result<Article> {
    let audience: String = r.try_get(4)?;
    let meta = ArticleMeta {
        tenant_id: r.try_get(0)?,
        id: r.try_get(1)?,
        language: r.try_get(2)?,
        category: r.try_get(3)?,
        audience: Audience::parse(&audience).ok_or_else(|| {
            StorageError::Corrupt(format!("an article's audience is '{audience}'"))
        })?,
        team: r.try_get(5)?,
        created_at: r.try_get(6)?,
        created_by: r.try_get(7)?,
    };
    let latest = version_at(r, 10)?
        .ok_or_else(|| StorageError::Corrupt("an article has no version".into()))?;
    Ok(Article {
        meta,
        latest,
        published: version_at(r, 16)?,
        published_at: r.try_get(8)?,
        seq: u64::try_from(r.try_get::<_, i64>(9)?).unwrap_or(0),
    })
}

/// The articles [`ARTICLE_SELECT`] followed by `rest` finds with `params`.
/// [`crate::storage::StoreRead::articles_changed_since`] on `db`.
pub(super) fn changed_since(
    db: &Db,
    tenant_id: &str,
    since: u64,
    limit: usize,
) -> Result<Vec<Article>> {
    let limit = knowledge::listed_limit(limit);
    articles_where(
        db,
        "WHERE a.tenant_id = $1 AND a.seq > $2 ORDER BY a.seq LIMIT $3",
        &[&tenant_id, &sql_seq(since), &limit],
    )
}

fn articles_where(db: &Db, rest: &str, params: &[Param<'_>]) -> Result<Vec<Article>> {
    db.query(&format!("{ARTICLE_SELECT} {rest}"), params)?
        .iter()
        .map(article_of)
        .collect()
}

/// The tenant's next knowledge-base sequence; the counter row stays locked until the
/// transaction ends, so sequences commit in order.
fn next_seq(db: &Db, tenant: &str) -> Result<i64> {
    Ok(db
        .query_one(
            "INSERT INTO kb_counters (tenant_id, seq) VALUES ($1, 1)
             ON CONFLICT (tenant_id) DO UPDATE SET seq = kb_counters.seq + 1
             RETURNING seq",
            &[&tenant],
        )?
        .try_get(0)?)
}

impl KnowledgeBase for PgStore {
    fn create_article(&self, m: &ArticleMeta, first: &ArticleVersion) -> Result<()> {
        self.write(|db| {
            require_tenant(db, &m.tenant_id)?;
            db.execute(
                "INSERT INTO kb_articles (tenant_id, id, language, category, audience, team,
                     created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &m.tenant_id,
                    &m.id,
                    &m.language,
                    &m.category,
                    &m.audience.as_str(),
                    &m.team,
                    &m.created_at,
                    &m.created_by,
                ],
            )?;
            db.execute(
                "INSERT INTO kb_versions (tenant_id, article_id, version, title, body, tags,
                     written_at, written_by)
                 VALUES ($1, $2, 1, $3, $4, $5, $6, $7)",
                &[
                    &m.tenant_id,
                    &m.id,
                    &first.title,
                    &first.body,
                    &knowledge::tags_text(&first.tags),
                    &first.written_at,
                    &first.written_by,
                ],
            )?;
            Ok(())
        })
    }

    /// Locks the article's row first: saves of one article number their versions in turn.
    fn save_article(
        &self,
        m: &ArticleMeta,
        title: &str,
        body: &str,
        tags: &[String],
        at: i64,
        by: &str,
    ) -> Result<Option<u32>> {
        self.write(|db| {
            // Whether readers hold it and would see its facts change.
            let Some(row) = db.query_opt(
                "SELECT published_version IS NOT NULL AND NOT (language = $3
                     AND category IS NOT DISTINCT FROM $4 AND audience = $5
                     AND team IS NOT DISTINCT FROM $6)
                 FROM kb_articles WHERE tenant_id = $1 AND id = $2
                 FOR UPDATE",
                &[
                    &m.tenant_id,
                    &m.id,
                    &m.language,
                    &m.category,
                    &m.audience.as_str(),
                    &m.team,
                ],
            )?
            else {
                return Ok(None);
            };
            let seen: bool = row.try_get(0)?;
            if seen {
                let seq = next_seq(db, &m.tenant_id)?;
                db.execute(
                    "UPDATE kb_articles SET seq = $3 WHERE tenant_id = $1 AND id = $2",
                    &[&m.tenant_id, &m.id, &seq],
                )?;
            }
            db.execute(
                "UPDATE kb_articles SET language = $3, category = $4, audience = $5, team = $6
                 WHERE tenant_id = $1 AND id = $2",
                &[
                    &m.tenant_id,
                    &m.id,
                    &m.language,
                    &m.category,
                    &m.audience.as_str(),
                    &m.team,
                ],
            )?;
            let next: i64 = db
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM kb_versions
                     WHERE tenant_id = $1 AND article_id = $2",
                    &[&m.tenant_id, &m.id],
                )?
                .try_get(0)?;
            db.execute(
                "INSERT INTO kb_versions (tenant_id, article_id, version, title, body, tags,
                     written_at, written_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &m.tenant_id,
                    &m.id,
                    &next,
                    &title,
                    &body,
                    &knowledge::tags_text(tags),
                    &at,
                    &by,
                ],
            )?;
            Ok(Some(version_number(next)?))
        })
    }

    /// Locks the article's row before the counter's (as a save does, so the two never wait for
    /// each other in a circle).
    fn publish_article(&self, tenant_id: &str, id: &str, unpublish: bool, at: i64) -> Result<bool> {
        self.write(|db| {
            let exists = db
                .query_opt(
                    "SELECT 1 FROM kb_articles WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                    &[&tenant_id, &id],
                )?
                .is_some();
            if !exists {
                return Ok(false);
            }
            let seq = next_seq(db, tenant_id)?;
            if unpublish {
                db.execute(
                    "UPDATE kb_articles SET published_version = NULL, published_at = NULL, seq = $3
                     WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &id, &seq],
                )?;
            } else {
                db.execute(
                    "UPDATE kb_articles SET seq = $3, published_at = $4,
                         published_version = (SELECT MAX(version) FROM kb_versions
                                              WHERE tenant_id = $1 AND article_id = $2)
                     WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &id, &seq, &at],
                )?;
            }
            Ok(true)
        })
    }

    fn article(&self, tenant_id: &str, id: &str) -> Result<Option<Article>> {
        self.with_reader(|db| {
            let found = articles_where(
                db,
                "WHERE a.tenant_id = $1 AND a.id = $2",
                &[&tenant_id, &id],
            )?;
            Ok(found.into_iter().next())
        })
    }

    fn articles(&self, tenant_id: &str, limit: usize) -> Result<Vec<Article>> {
        let limit = knowledge::listed_limit(limit);
        self.with_reader(|db| {
            articles_where(
                db,
                "WHERE a.tenant_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
                &[&tenant_id, &limit],
            )
        })
    }

    fn article_versions(&self, tenant_id: &str, id: &str) -> Result<Vec<ArticleVersion>> {
        self.with_reader(|db| {
            let rows = db.query(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM kb_versions
                     WHERE tenant_id = $1 AND article_id = $2 ORDER BY version"
                ),
                &[&tenant_id, &id],
            )?;
            let mut versions = Vec::with_capacity(rows.len());
            for row in &rows {
                versions.extend(version_at(row, 0)?);
            }
            Ok(versions)
        })
    }

    fn add_kb_image(&self, image: &KbImage) -> Result<()> {
        self.write(|db| {
            require_tenant(db, &image.tenant_id)?;
            db.execute(
                "INSERT INTO kb_images (tenant_id, sha256, thumb, width, height, bytes, created_at,
                     created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant_id, sha256) DO NOTHING",
                &[
                    &image.tenant_id,
                    &image.sha256,
                    &image.thumb,
                    &i64::from(image.width),
                    &i64::from(image.height),
                    &sql_seq(image.bytes),
                    &image.created_at,
                    &image.created_by,
                ],
            )?;
            Ok(())
        })
    }

    fn kb_image(&self, tenant_id: &str, sha256: &str) -> Result<Option<KbImage>> {
        let size = |v: i64| {
            u32::try_from(v).map_err(|_| StorageError::Corrupt(format!("an image's size is {v}")))
        };
        self.with_reader(|db| {
            let Some(r) = db.query_opt(
                "SELECT tenant_id, sha256, thumb, width, height, bytes, created_at, created_by
                 FROM kb_images WHERE tenant_id = $1 AND (sha256 = $2 OR thumb = $2)
                 LIMIT 1",
                &[&tenant_id, &sha256],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(KbImage {
                tenant_id: r.try_get(0)?,
                sha256: r.try_get(1)?,
                thumb: r.try_get(2)?,
                width: size(r.try_get(3)?)?,
                height: size(r.try_get(4)?)?,
                bytes: u64::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
                created_at: r.try_get(6)?,
                created_by: r.try_get(7)?,
            }))
        })
    }

    /// Matches the published text as SQLite's `LIKE` does: ASCII letters in any case.
    fn articles_showing(
        &self,
        tenant_id: &str,
        sha256: &str,
        limit: usize,
    ) -> Result<Vec<Article>> {
        // A sha256 is hex: nothing in it is a LIKE pattern.
        if !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let pattern = format!("%kb-image:{}%", sha256.to_ascii_lowercase());
        let limit = knowledge::listed_limit(limit);
        let rest = format!(
            "WHERE a.tenant_id = $1 AND {} LIKE $2 LIMIT $3",
            ascii_lower("p.body")
        );
        self.with_reader(|db| articles_where(db, &rest, &[&tenant_id, &pattern, &limit]))
    }
}
