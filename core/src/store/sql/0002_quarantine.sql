-- Version 2: changes the server refused, kept where the user can see them.

CREATE TABLE quarantine (
    hash        TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    change      BLOB NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Changes queued before this version belong to the same user; nothing to move.
