-- Version 15: people at a browser (the back-office API, docs/api.md). A session is a random token
-- in an HttpOnly cookie plus a CSRF token for writes; both are stored only as SHA-256. A session
-- ends when it idles past `expires_at` (moved forward while in use, never past `ends_at`), when
-- its person signs out, changes their password, or is disabled. An admin can disable a user:
-- their sessions and device tokens stop at once, and sign-ins are refused.

ALTER TABLE users ADD COLUMN disabled_at INTEGER;

CREATE TABLE web_sessions (
    token_hash   TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    csrf_hash    TEXT NOT NULL,
    -- The Automerge actor the server writes this person's edits with (hex).
    actor_id     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX web_sessions_user ON web_sessions(user_id) WHERE revoked_at IS NULL;
