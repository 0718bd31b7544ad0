-- Version 1: documents, their incremental chunks, the outbox and the query index.

-- Who this device is (tenant, user, role, Automerge actor) and small settings.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One compacted Automerge document per ticket. `heads` is the concatenation of 32-byte hashes.
-- A rowid table: snapshots (~1-3 KB) stay on one page instead of spilling to overflow pages.
CREATE TABLE docs (
    ticket_id TEXT PRIMARY KEY,
    snapshot  BLOB NOT NULL,
    heads     BLOB NOT NULL,
    chunks    INTEGER NOT NULL DEFAULT 0
);

-- Changes saved since the snapshot; folded into it by compaction.
CREATE TABLE doc_chunks (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL REFERENCES docs(ticket_id) ON DELETE CASCADE,
    chunk     BLOB NOT NULL
);
CREATE INDEX doc_chunks_ticket ON doc_chunks(ticket_id, seq);

-- Every change made on this device and not yet acknowledged by the server, in the order they
-- were made (the server needs a change's dependencies before the change).
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    hash       TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    change     BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- The query index: one row per ticket, rewritten in the same transaction as its document.
-- Every index costs a page write on the help-request path, so there is one per sort order plus
-- the two filters that are selective on a device (status, assignee); other filters walk a sort
-- index (see store/query.rs).
CREATE TABLE tickets (
    id            TEXT PRIMARY KEY,
    number        TEXT,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    priority      TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    assignee      TEXT,
    category      TEXT,
    title         TEXT NOT NULL,
    reporter_id   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_seq   INTEGER NOT NULL,
    -- SLA due time, or the largest integer when there is none (keeps the sort index-only).
    sla_due_key   INTEGER NOT NULL,
    lat           REAL,
    lon           REAL,
    conflicts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tickets_updated ON tickets(updated_at DESC, id DESC);
CREATE INDEX tickets_seq ON tickets(updated_seq);
CREATE INDEX tickets_priority ON tickets(priority_rank DESC, updated_at DESC);
CREATE INDEX tickets_sla ON tickets(sla_due_key, updated_at DESC);
CREATE INDEX tickets_status_updated ON tickets(status, updated_at DESC);
CREATE INDEX tickets_assignee ON tickets(assignee, updated_at DESC);

-- Server cursor, clock offset, last success and last error.
CREATE TABLE sync_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
