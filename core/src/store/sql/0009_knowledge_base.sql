-- Version 9: the knowledge base as this device's user reads it (docs/knowledge-base.md, "On
-- devices"): the published articles the server sent (by audience and team), replaced when a newer
-- version is published and deleted when one is unpublished or no longer for this user.
CREATE TABLE kb_articles (
    id           TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    language     TEXT NOT NULL,
    category     TEXT,
    audience     TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    tags         TEXT NOT NULL,  -- JSON array of strings
    published_at INTEGER NOT NULL
);
CREATE INDEX kb_articles_category ON kb_articles (category);

-- Each article's title (with its tags) and body as search terms (`crate::search::index_terms`:
-- words, and CJK characters with their bigrams), under the rowid of its `kb_articles` row, so a
-- two-character Chinese word matches. Ranked by bm25 with the title weighted above the body.
CREATE VIRTUAL TABLE kb_search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');

-- The pictures the articles show (`kb-image:SHA256` in their text), fetched after a sync and
-- kept here, in the database: they are few and small, and go when no article shows them.
CREATE TABLE kb_article_images (
    article_id TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (article_id, sha256)
) WITHOUT ROWID;
CREATE INDEX kb_article_images_sha ON kb_article_images (sha256);
CREATE TABLE kb_images (
    sha256   TEXT PRIMARY KEY,
    -- NULL until fetched.
    bytes    BLOB,
    -- Failed fetches; given up after a few (the picture may be gone from the server).
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
