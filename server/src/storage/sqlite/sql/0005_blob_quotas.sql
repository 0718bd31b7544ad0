-- Version 5: storage quotas per tenant and per user, a cap on devices per user, and collecting
-- stored blobs no ticket names (`docs/security.md`, "Blob storage and uploads").

-- Who stored the blob first: its bytes count against that user's quota (NULL only for blobs
-- stored before version 5 whose upload row was already swept). `claimed_at`: server time of the
-- last upload that stored the blob or found it already stored; an unnamed blob is collected a
-- grace period after it. `named`: a `blob_refs` row names it (kept with every ref written and
-- every blob stored; the collector still checks `blob_refs` itself before deleting).
ALTER TABLE blobs ADD COLUMN user_id TEXT REFERENCES users(id);
ALTER TABLE blobs ADD COLUMN claimed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN named INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET
    claimed_at = created_at,
    named = EXISTS (SELECT 1 FROM blob_refs r
                    WHERE r.tenant_id = blobs.tenant_id AND r.sha256 = blobs.sha256),
    user_id = (SELECT u.user_id FROM blob_uploads u
               WHERE u.tenant_id = blobs.tenant_id AND u.sha256 = blobs.sha256 AND u.state = 'done'
               ORDER BY u.created_at LIMIT 1);
-- The collector walks only unnamed blobs, oldest claim first.
CREATE INDEX blobs_unnamed ON blobs(claimed_at) WHERE named = 0;

-- Bytes in flight: the quota check adds the declared length of every open upload.
CREATE INDEX blob_uploads_open ON blob_uploads(tenant_id, user_id, upload_length, created_at)
    WHERE state = 'uploading';

-- What a tenant and each user have stored, kept in the same transaction as every row of `blobs`
-- added or collected, so the quota check at upload creation reads two rows, not every blob.
CREATE TABLE tenant_blob_usage (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    bytes     INTEGER NOT NULL DEFAULT 0,
    blobs     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE user_blob_usage (
    user_id   TEXT PRIMARY KEY REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    bytes     INTEGER NOT NULL DEFAULT 0,
    blobs     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO tenant_blob_usage (tenant_id, bytes, blobs)
    SELECT tenant_id, SUM(length), COUNT(*) FROM blobs GROUP BY tenant_id;
INSERT INTO user_blob_usage (user_id, tenant_id, bytes, blobs)
    SELECT user_id, tenant_id, SUM(length), COUNT(*) FROM blobs
    WHERE user_id IS NOT NULL GROUP BY user_id, tenant_id;

-- An admin's overrides of the server-wide defaults for one tenant; NULL keeps the default.
CREATE TABLE tenant_quotas (
    tenant_id        TEXT PRIMARY KEY REFERENCES tenants(id),
    blob_bytes       INTEGER,
    user_blob_bytes  INTEGER,
    devices_per_user INTEGER
) WITHOUT ROWID;

-- A device an admin removed: its tokens are revoked and it no longer counts against the user's
-- device cap. The row stays, so its actor id is never handed to another user.
ALTER TABLE devices ADD COLUMN removed_at INTEGER;
CREATE INDEX devices_user ON devices(user_id) WHERE removed_at IS NULL;
