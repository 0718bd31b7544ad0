-- Version 18: the settings audit log keeps what was done to people's accounts (docs/api.md,
-- "Audit log"): disabled, enabled, password changed — by whom and when, never the password.

CREATE TABLE account_events (
    id        INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id   TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('disabled', 'enabled', 'password_changed')),
    done_by   TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX account_events_by_tenant ON account_events(tenant_id, id);
