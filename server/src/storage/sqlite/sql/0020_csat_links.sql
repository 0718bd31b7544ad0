-- Version 20: rating links (docs/api.md, "CSAT"). Only the SHA-256 of a link's token is kept.
-- `actor_id` is the Automerge actor the rating is written with: the audit log names a change by
-- it as made through a link.

CREATE TABLE csat_links (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    ticket_id   TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX csat_links_by_ticket ON csat_links(tenant_id, ticket_id);
CREATE INDEX csat_links_by_actor ON csat_links(actor_id);
