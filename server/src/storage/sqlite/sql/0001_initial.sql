-- Version 1: accounts, devices and tokens; tickets with their documents and every stored change;
-- and which tickets each device holds.

-- The server's own settings, e.g. the Automerge actor of server-authored changes.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- `next_number` is the per-tenant counter behind ticket numbers (FW-000123).
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    next_number INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

-- `skills` is a comma-separated list; `password_hash` is a PHC string (argon2), or NULL for users
-- who only use API tokens.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    team          TEXT,
    skills        TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A device authors every change with its one Automerge actor, so an actor belongs to one device.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    actor_id   TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Tokens are stored only as the hex SHA-256 of the token.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'device')),
    user_id    TEXT NOT NULL REFERENCES users(id),
    device_id  TEXT REFERENCES devices(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_device ON tokens(device_id) WHERE device_id IS NOT NULL;

-- The server's index of each ticket, rewritten in the same transaction as its document.
-- `last_seq` is the seq of the ticket's newest stored change: the version of `docs.snapshot`.
CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    number      TEXT,
    reporter_id TEXT NOT NULL,
    assignee    TEXT,
    team        TEXT,
    status      TEXT NOT NULL,
    last_seq    INTEGER NOT NULL
);
CREATE INDEX tickets_tenant_status ON tickets(tenant_id, status);

-- One compacted Automerge document per ticket.
CREATE TABLE docs (
    ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),
    snapshot  BLOB NOT NULL
);

-- Every accepted change, numbered in the order the server stored it (the devices' cursor).
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    hash        TEXT NOT NULL UNIQUE,
    actor_id    TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX changes_tenant_seq ON changes(tenant_id, seq);

-- Which tickets each device holds. `covered_seq`: the device got the ticket's changes up to this
-- seq in a snapshot. `since_cursor`: the response that made this row's state carried this cursor;
-- until the device syncs with a cursor at least this high, it may not have applied that response,
-- so the previous state still counts (see sync/pull.rs).
CREATE TABLE device_tickets (
    device_id    TEXT NOT NULL REFERENCES devices(id),
    ticket_id    TEXT NOT NULL,
    covered_seq  INTEGER NOT NULL,
    evicted      INTEGER NOT NULL DEFAULT 0,
    since_cursor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, ticket_id)
) WITHOUT ROWID;
