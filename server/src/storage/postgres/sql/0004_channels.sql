-- Intake channels (storage::Channels), the asset register (Assets) and the knowledge base
-- (KnowledgeBase).

CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    signing_key TEXT NOT NULL,
    actor_id    TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX channels_by_tenant ON channels(tenant_id);

CREATE TABLE intake_receipts (
    channel_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    ticket_id   TEXT,
    outcome     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    done        BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (channel_id, key)
);

CREATE TABLE intake_contacts (
    tenant_id   TEXT NOT NULL,
    contact     TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact, ticket_id)
);

CREATE TABLE intake_messages (
    tenant_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, message_id)
);

CREATE TABLE alert_folds (
    tenant_id     TEXT NOT NULL,
    asset         TEXT NOT NULL,
    ticket_id     TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    opened_at     BIGINT NOT NULL,
    metric        TEXT NOT NULL,
    count         BIGINT NOT NULL,
    first_at      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    threshold     DOUBLE PRECISION NOT NULL,
    last_value    DOUBLE PRECISION NOT NULL,
    worst_value   DOUBLE PRECISION NOT NULL,
    severity      TEXT NOT NULL,
    resolved_at   BIGINT,
    written_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, asset)
);
CREATE INDEX alert_folds_by_ticket ON alert_folds(tenant_id, ticket_id);
CREATE INDEX alert_folds_unwritten ON alert_folds(tenant_id) WHERE written_count < count;

CREATE TABLE status_links (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    ticket_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE assets (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    serial         TEXT NOT NULL,
    model          TEXT,
    site_address   TEXT,
    site_lat       DOUBLE PRECISION,
    site_lon       DOUBLE PRECISION,
    warranty_until TEXT,
    owner_name     TEXT,
    owner_phone    TEXT,
    owner_email    TEXT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, serial)
);

CREATE TABLE kb_articles (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    id                TEXT NOT NULL,
    language          TEXT NOT NULL,
    category          TEXT,
    audience          TEXT NOT NULL,
    team              TEXT,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    published_version BIGINT,
    published_at      BIGINT,
    seq               BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX kb_articles_by_seq ON kb_articles(tenant_id, seq);

CREATE TABLE kb_versions (
    tenant_id  TEXT NOT NULL,
    article_id TEXT NOT NULL,
    version    BIGINT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    written_at BIGINT NOT NULL,
    written_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, article_id, version)
);

CREATE TABLE kb_counters (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       BIGINT NOT NULL
);

CREATE TABLE kb_images (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    sha256     TEXT NOT NULL,
    thumb      TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    bytes      BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);
