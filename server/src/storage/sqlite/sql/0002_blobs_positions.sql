-- Version 2: the blob lane (resumable uploads, stored blobs, which tickets reference them) and
-- the last known position of each technician.

-- One tus upload (`docs/sync-protocol.md`, "Blob lane"). `id` is 32 random bytes in hex: the
-- `Location` handed out is the only way to name it. `upload_offset` is what is safely on disk.
-- `patch_requests` counts every PATCH aimed at the upload (refused ones too), `bytes_received`
-- every body byte read, re-sent bytes included: tests measure re-sends with these two.
-- `state`: `uploading` until the last byte; `done` once the blob is stored (or was already);
-- `failed` after a hash mismatch (the bytes are discarded). Rows are swept a day after creation.
CREATE TABLE blob_uploads (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL REFERENCES users(id),
    device_id      TEXT NOT NULL REFERENCES devices(id),
    sha256         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('thumb', 'full')),
    mime           TEXT NOT NULL,
    ticket_id      TEXT NOT NULL,
    upload_length  INTEGER NOT NULL,
    upload_offset  INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('uploading', 'done', 'failed')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    patch_requests INTEGER NOT NULL DEFAULT 0,
    bytes_received INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX blob_uploads_device ON blob_uploads(device_id, state);
CREATE INDEX blob_uploads_created ON blob_uploads(created_at);

-- Stored blobs, once per tenant and hash (never shared across tenants).
CREATE TABLE blobs (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    sha256     TEXT NOT NULL,
    length     INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
) WITHOUT ROWID;

-- Tickets whose attachments name a blob (full image or thumbnail), written with the ticket's
-- accepted changes. A download needs one of these tickets to be visible to the caller.
CREATE TABLE blob_refs (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sha256    TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (tenant_id, sha256, ticket_id)
) WITHOUT ROWID;

-- The last position each technician reported. `at` is the device time of the fix,
-- `received_at` server time (the report throttle runs on it).
CREATE TABLE positions (
    user_id     TEXT PRIMARY KEY REFERENCES users(id),
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL,
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX positions_tenant ON positions(tenant_id);
