-- Version 27: the knowledge base (docs/knowledge-base.md). An article is a row of
-- `kb_articles`; every save is a new row of `kb_versions` (the newest past the published one is
-- the draft); publishing points the article at a version. `seq` counts per tenant in
-- `kb_counters` and is set on the article each time what readers get of it changes (published,
-- republished, unpublished), so devices can ask for what changed since their cursor.
CREATE TABLE kb_articles (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    id                TEXT NOT NULL,
    language          TEXT NOT NULL,
    category          TEXT,
    audience          TEXT NOT NULL,
    team              TEXT,
    created_at        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    published_version INTEGER,
    published_at      INTEGER,
    seq               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX kb_articles_by_seq ON kb_articles(tenant_id, seq);

CREATE TABLE kb_versions (
    tenant_id  TEXT NOT NULL,
    article_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    written_at INTEGER NOT NULL,
    written_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, article_id, version)
) WITHOUT ROWID;

CREATE TABLE kb_counters (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       INTEGER NOT NULL
) WITHOUT ROWID;
