-- Version 17: the audit log (docs/api.md, "Audit log") reads the change log newest first, by
-- ticket or by author, and names how each change came in: a device (by its actor), a browser
-- session (by its actor), an API token or the server.

CREATE INDEX changes_author ON changes(tenant_id, author_id, seq) WHERE author_id IS NOT NULL;
CREATE INDEX web_sessions_actor ON web_sessions(actor_id);
