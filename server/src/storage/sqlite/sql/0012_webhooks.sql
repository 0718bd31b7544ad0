-- Version 12: webhook deliveries, queued before the decision that asks for them is stored, with
-- every attempt recorded (the delivery log; docs/brain.md, "Webhooks"), and each tenant's signing
-- secret (HMAC-SHA256 over the timestamp and the body; the server must hold it to sign).

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    url             TEXT NOT NULL,
    source          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'gave_up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries (tenant_id, id);

CREATE TABLE webhook_secrets (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
