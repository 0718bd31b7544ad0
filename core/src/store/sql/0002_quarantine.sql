-- Version 2: what sync needs beyond version 1.

-- Changes the server refused, kept where the user can see them.

CREATE TABLE quarantine (
    hash        TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    change      BLOB NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Tickets the server evicted while this device still had changes of them to send; removed once
-- the outbox holds none.
CREATE TABLE pending_evictions (
    ticket_id TEXT PRIMARY KEY
) WITHOUT ROWID;
