-- The blob lane's records (storage::BlobRecords): uploads in progress, stored blobs and which
-- tickets name them. The bytes live in the blob store, never here.

CREATE TABLE blob_uploads (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL REFERENCES users(id),
    device_id      TEXT NOT NULL REFERENCES devices(id),
    sha256         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('thumb', 'full')),
    mime           TEXT NOT NULL,
    ticket_id      TEXT NOT NULL,
    upload_length  BIGINT NOT NULL,
    upload_offset  BIGINT NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('uploading', 'done', 'failed')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    patch_requests BIGINT NOT NULL DEFAULT 0,
    bytes_received BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX blob_uploads_device ON blob_uploads(device_id, state);
CREATE INDEX blob_uploads_created ON blob_uploads(created_at);
CREATE INDEX blob_uploads_open ON blob_uploads(tenant_id, user_id, upload_length, created_at)
    WHERE state = 'uploading';

CREATE TABLE blobs (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    sha256     TEXT NOT NULL,
    length     BIGINT NOT NULL,
    mime       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    user_id    TEXT REFERENCES users(id),
    claimed_at BIGINT NOT NULL DEFAULT 0,
    named      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, sha256)
);
CREATE INDEX blobs_unnamed ON blobs(claimed_at) WHERE NOT named;

CREATE TABLE blob_refs (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sha256    TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets(tenant_id, id)
);
