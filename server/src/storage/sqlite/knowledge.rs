//! The knowledge base in SQLite: `kb_articles`, `kb_versions`, `kb_counters` (migration 27).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, require_tenant, seq_of, sql_seq};
use crate::storage::{
    Article, ArticleMeta, ArticleVersion, Audience, KbImage, KnowledgeBase, Result, StorageError,
    knowledge,
};

const META: &str = "tenant_id, id, language, category, audience, team, created_at, created_by, \
     published_version, published_at, seq";

fn version_of(r: &Row<'_>) -> rusqlite::Result<ArticleVersion> {
    let tags: String = r.get(4)?;
    Ok(ArticleVersion {
        version: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        written_at: r.get(3)?,
        tags: knowledge::tags_of(&tags),
        written_by: r.get(5)?,
    })
}

fn version(
    conn: &Connection,
    tenant: &str,
    id: &str,
    v: Option<u32>,
) -> Result<Option<ArticleVersion>> {
    let sql = match v {
        Some(_) => {
            "SELECT version, title, body, written_at, tags, written_by FROM kb_versions
             WHERE tenant_id = ?1 AND article_id = ?2 AND version = ?3"
        }
        None => {
            "SELECT version, title, body, written_at, tags, written_by FROM kb_versions
             WHERE tenant_id = ?1 AND article_id = ?2 AND ?3 IS NULL
             ORDER BY version DESC LIMIT 1"
        }
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![tenant, id, v], version_of)
        .optional()?)
}

/// The article of a `kb_articles` row, with its newest and published versions.
fn article_at(conn: &Connection, r: &Row<'_>) -> Result<Article> {
    let audience: String = r.get(4)?;
    let meta = ArticleMeta {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        language: r.get(2)?,
        category: r.get(3)?,
        audience: Audience::parse(&audience).ok_or_else(|| {
            StorageError::Corrupt(format!("an article's audience is '{audience}'"))
        })?,
        team: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
    };
    let published_version: Option<u32> = r.get(8)?;
    let latest = version(conn, &meta.tenant_id, &meta.id, None)?
        .ok_or_else(|| StorageError::Corrupt("an article has no version".into()))?;
    let published = match published_version {
        Some(v) => version(conn, &meta.tenant_id, &meta.id, Some(v))?,
        None => None,
    };
    Ok(Article {
        meta,
        latest,
        published,
        published_at: r.get(9)?,
        seq: seq_of(r.get(10)?),
    })
}

/// The articles `sql` (selecting [`META`]) finds with `params`, with their versions.
fn articles_where(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Article>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(article_at(conn, row)?);
    }
    Ok(out)
}

/// [`crate::storage::StoreRead::articles_changed_since`] on `conn`.
pub(super) fn changed_since(
    conn: &Connection,
    tenant_id: &str,
    since: u64,
    limit: usize,
) -> Result<Vec<Article>> {
    articles_where(
        conn,
        &format!(
            "SELECT {META} FROM kb_articles WHERE tenant_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3"
        ),
        params![tenant_id, sql_seq(since), knowledge::listed_limit(limit)],
    )
}

fn next_seq(conn: &Connection, tenant: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO kb_counters (tenant_id, seq) VALUES (?1, 1)
             ON CONFLICT (tenant_id) DO UPDATE SET seq = seq + 1
             RETURNING seq",
        )?
        .query_row([tenant], |r| r.get(0))?)
}

impl KnowledgeBase for SqliteStore {
    fn create_article(&self, m: &ArticleMeta, first: &ArticleVersion) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &m.tenant_id)?;
            tx.prepare_cached(
                "INSERT INTO kb_articles (tenant_id, id, language, category, audience, team,
                     created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                m.tenant_id,
                m.id,
                m.language,
                m.category,
                m.audience.as_str(),
                m.team,
                m.created_at,
                m.created_by
            ])?;
            tx.prepare_cached(
                "INSERT INTO kb_versions (tenant_id, article_id, version, title, body, tags,
                     written_at, written_by)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                m.tenant_id,
                m.id,
                first.title,
                first.body,
                knowledge::tags_text(&first.tags),
                first.written_at,
                first.written_by
            ])?;
            Ok(())
        })
    }

    fn save_article(
        &self,
        m: &ArticleMeta,
        title: &str,
        body: &str,
        tags: &[String],
        at: i64,
        by: &str,
    ) -> Result<Option<u32>> {
        self.write(|tx| {
            // Whether readers hold it and would see its facts change.
            let seen: Option<bool> = tx
                .prepare_cached(
                    "SELECT published_version IS NOT NULL AND NOT (language = ?3
                         AND category IS ?4 AND audience = ?5 AND team IS ?6)
                     FROM kb_articles WHERE tenant_id = ?1 AND id = ?2",
                )?
                .query_row(
                    params![
                        m.tenant_id,
                        m.id,
                        m.language,
                        m.category,
                        m.audience.as_str(),
                        m.team
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            if seen == Some(true) {
                let seq = next_seq(tx, &m.tenant_id)?;
                tx.prepare_cached(
                    "UPDATE kb_articles SET seq = ?3 WHERE tenant_id = ?1 AND id = ?2",
                )?
                .execute(params![m.tenant_id, m.id, seq])?;
            }
            let changed = tx
                .prepare_cached(
                    "UPDATE kb_articles SET language = ?3, category = ?4, audience = ?5, team = ?6
                     WHERE tenant_id = ?1 AND id = ?2",
                )?
                .execute(params![
                    m.tenant_id,
                    m.id,
                    m.language,
                    m.category,
                    m.audience.as_str(),
                    m.team
                ])?;
            if changed == 0 {
                return Ok(None);
            }
            let next: u32 = tx
                .prepare_cached(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM kb_versions
                     WHERE tenant_id = ?1 AND article_id = ?2",
                )?
                .query_row(params![m.tenant_id, m.id], |r| r.get(0))?;
            tx.prepare_cached(
                "INSERT INTO kb_versions (tenant_id, article_id, version, title, body, tags,
                     written_at, written_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                m.tenant_id,
                m.id,
                next,
                title,
                body,
                knowledge::tags_text(tags),
                at,
                by
            ])?;
            Ok(Some(next))
        })
    }

    fn publish_article(&self, tenant_id: &str, id: &str, unpublish: bool, at: i64) -> Result<bool> {
        self.write(|tx| {
            let exists: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM kb_articles WHERE tenant_id = ?1 AND id = ?2)",
                )?
                .query_row(params![tenant_id, id], |r| r.get(0))?;
            if !exists {
                return Ok(false);
            }
            let seq = next_seq(tx, tenant_id)?;
            let sql = if unpublish {
                "UPDATE kb_articles SET published_version = NULL, published_at = NULL, seq = ?3
                 WHERE tenant_id = ?1 AND id = ?2"
            } else {
                "UPDATE kb_articles SET seq = ?3, published_at = ?4,
                     published_version = (SELECT MAX(version) FROM kb_versions
                                          WHERE tenant_id = ?1 AND article_id = ?2)
                 WHERE tenant_id = ?1 AND id = ?2"
            };
            if unpublish {
                tx.prepare_cached(sql)?
                    .execute(params![tenant_id, id, seq])?;
            } else {
                tx.prepare_cached(sql)?
                    .execute(params![tenant_id, id, seq, at])?;
            }
            Ok(true)
        })
    }

    fn article(&self, tenant_id: &str, id: &str) -> Result<Option<Article>> {
        self.with_reader(|conn| {
            let found = articles_where(
                conn,
                &format!("SELECT {META} FROM kb_articles WHERE tenant_id = ?1 AND id = ?2"),
                params![tenant_id, id],
            )?;
            Ok(found.into_iter().next())
        })
    }

    fn articles(&self, tenant_id: &str, limit: usize) -> Result<Vec<Article>> {
        let limit = knowledge::listed_limit(limit);
        self.with_reader(|conn| {
            articles_where(
                conn,
                &format!(
                    "SELECT {META} FROM kb_articles WHERE tenant_id = ?1
                     ORDER BY created_at DESC, id DESC LIMIT ?2"
                ),
                params![tenant_id, limit],
            )
        })
    }

    fn add_kb_image(&self, image: &KbImage) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &image.tenant_id)?;
            tx.prepare_cached(
                "INSERT INTO kb_images (tenant_id, sha256, thumb, width, height, bytes, created_at,
                     created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (tenant_id, sha256) DO NOTHING",
            )?
            .execute(params![
                image.tenant_id,
                image.sha256,
                image.thumb,
                image.width,
                image.height,
                sql_seq(image.bytes),
                image.created_at,
                image.created_by
            ])?;
            Ok(())
        })
    }

    fn kb_image(&self, tenant_id: &str, sha256: &str) -> Result<Option<KbImage>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT tenant_id, sha256, thumb, width, height, bytes, created_at, created_by
                     FROM kb_images WHERE tenant_id = ?1 AND (sha256 = ?2 OR thumb = ?2)
                     LIMIT 1",
                )?
                .query_row(params![tenant_id, sha256], |r| {
                    Ok(KbImage {
                        tenant_id: r.get(0)?,
                        sha256: r.get(1)?,
                        thumb: r.get(2)?,
                        width: r.get(3)?,
                        height: r.get(4)?,
                        bytes: seq_of(r.get(5)?),
                        created_at: r.get(6)?,
                        created_by: r.get(7)?,
                    })
                })
                .optional()?)
        })
    }

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
        let pattern = format!("%kb-image:{sha256}%");
        let limit = knowledge::listed_limit(limit);
        let columns = META
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.with_reader(|conn| {
            articles_where(
                conn,
                &format!(
                    "SELECT {columns} FROM kb_articles a JOIN kb_versions v
                         ON v.tenant_id = a.tenant_id AND v.article_id = a.id
                            AND v.version = a.published_version
                     WHERE a.tenant_id = ?1 AND v.body LIKE ?2 LIMIT ?3"
                ),
                params![tenant_id, pattern, limit],
            )
        })
    }

    fn article_versions(&self, tenant_id: &str, id: &str) -> Result<Vec<ArticleVersion>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, title, body, written_at, tags, written_by FROM kb_versions
                 WHERE tenant_id = ?1 AND article_id = ?2 ORDER BY version",
            )?;
            let rows = stmt.query_map(params![tenant_id, id], version_of)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
