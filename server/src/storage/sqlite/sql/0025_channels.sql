-- Version 25: intake channels (docs/channels.md). A channel is a per-tenant credential for one
-- way in (web form, email, phone, IoT). Only the SHA-256 of its token is kept; `signing_key` is
-- the HMAC key of signed deliveries, derived from the token (a platform that signs holds the
-- token; the server must hold the key to check a signature). `actor_id` is the Automerge actor
-- its tickets and notes are written with: the audit log names a change by it as the channel's.

CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    signing_key TEXT NOT NULL,
    actor_id    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX channels_by_tenant ON channels(tenant_id);

-- One row per delivery a channel took: a retried delivery (same key) is answered from here and
-- makes nothing twice. `ticket_id` is claimed before the ticket is written, so a retry after a
-- failure writes the same ticket; `done` is set once the delivery's change is stored, so a retry
-- of one that failed half-way (still not done a while later) does it again.
CREATE TABLE intake_receipts (
    channel_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    ticket_id   TEXT,
    outcome     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (channel_id, key)
) WITHOUT ROWID;

-- Who reported through a channel (a phone number, an email address), and their tickets: a
-- caller's next call or a sender's next mail finds their open ticket.
CREATE TABLE intake_contacts (
    tenant_id   TEXT NOT NULL,
    contact     TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, contact, ticket_id)
) WITHOUT ROWID;

-- The email messages each ticket took (their Message-IDs), so a reply that names one of them
-- (In-Reply-To, References) lands on its ticket.
CREATE TABLE intake_messages (
    tenant_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, message_id)
) WITHOUT ROWID;

-- Per asset, the alerts folded into its open ticket (the source of the ticket's `alert` map,
-- which is written from here at most once a second per ticket, in the name of `channel_id`, the
-- channel of the latest alert). `written_count`: the count the
-- ticket's document last got.
CREATE TABLE alert_folds (
    tenant_id     TEXT NOT NULL,
    asset         TEXT NOT NULL,
    ticket_id     TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    opened_at     INTEGER NOT NULL,
    metric        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    first_at      INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    threshold     REAL NOT NULL,
    last_value    REAL NOT NULL,
    worst_value   REAL NOT NULL,
    severity      TEXT NOT NULL,
    resolved_at   INTEGER,
    written_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, asset)
) WITHOUT ROWID;
CREATE INDEX alert_folds_by_ticket ON alert_folds(tenant_id, ticket_id);
CREATE INDEX alert_folds_unwritten ON alert_folds(tenant_id) WHERE written_count < count;

-- Read-only status links for people who reported without the app (a web form): only the SHA-256
-- of the link's token is kept. The page shows the ticket's number, status and public notes.
CREATE TABLE status_links (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    ticket_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
