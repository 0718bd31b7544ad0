-- Version 3: photo and screenshot files, their upload state, and the technician's position.

-- One row per file this device knows of, by the sha256 of its bytes. The bytes themselves live in
-- `blobs/ab/<sha256>` next to the database: written (and fsynced) under a temporary name and
-- renamed before the row that names them commits, so a file under its final name is always whole.
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('thumb', 'full')),
    mime        TEXT NOT NULL,
    -- Size in bytes when known (0 for a thumbnail someone else attached, until it arrives).
    bytes       INTEGER NOT NULL,
    -- The ticket it was first filed on; named in the upload so the server can check access.
    ticket_id   TEXT NOT NULL,
    -- 1 when the file is on this device.
    present     INTEGER NOT NULL,
    -- pending: this device must send it; done: the server has it; none: not ours to send.
    upload      TEXT NOT NULL CHECK (upload IN ('pending', 'done', 'none')),
    -- The tus upload resource on the server, once created, and how much of it the server holds.
    upload_url  TEXT,
    sent_bytes  INTEGER NOT NULL DEFAULT 0,
    -- Each blob retries on its own: failures so far, when to try next, and why it last failed.
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_work ON blobs(present, upload, kind);

-- Which tickets name which files (an attachment names its full image and its thumbnail).
CREATE TABLE blob_refs (
    sha256    TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (sha256, ticket_id)
) WITHOUT ROWID;
CREATE INDEX blob_refs_ticket ON blob_refs(ticket_id);

-- The technician's latest position fix, waiting to be reported (throttled) to the server.
CREATE TABLE position_report (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    accuracy_m REAL,
    at         INTEGER NOT NULL,
    -- Device time it was sent, NULL while waiting.
    sent_at    INTEGER,
    -- Device time of the last report the server took (throttling survives restarts).
    last_sent_at INTEGER
);
