-- Version 28: pictures in knowledge-base articles (docs/knowledge-base.md, "Pictures"). Each is a
-- blob of the tenant (through the photo pipeline, like a ticket's photo); an article shows it by
-- writing `kb-image:SHA256` in its Markdown. Who may download one: staff who write the knowledge
-- base, and anyone who reads a published article whose text shows it.
CREATE TABLE kb_images (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    sha256     TEXT NOT NULL,
    thumb      TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
) WITHOUT ROWID;
