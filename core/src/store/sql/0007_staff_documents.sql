-- Version 7: a ticket has two documents (docs/staff-data.md): the public one everyone who sees the
-- ticket holds, and the staff companion (internal notes, tags, staff history) that only a device
-- of a role that reads staff data holds. `part` names which one a row belongs to; every document,
-- chunk, queued and quarantined change written before is the public one.
--
-- Internal notes written before this version stay in the public document they were written to
-- (nothing was deployed with them; docs/staff-data.md, "Migration").

PRAGMA defer_foreign_keys = ON;

CREATE TABLE docs_v7 (
    ticket_id TEXT NOT NULL,
    part      TEXT NOT NULL CHECK (part IN ('public', 'staff')),
    snapshot  BLOB NOT NULL,
    heads     BLOB NOT NULL,
    chunks    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ticket_id, part)
);
INSERT INTO docs_v7 (ticket_id, part, snapshot, heads, chunks)
    SELECT ticket_id, 'public', snapshot, heads, chunks FROM docs;

CREATE TABLE doc_chunks_v7 (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    part      TEXT NOT NULL,
    chunk     BLOB NOT NULL,
    FOREIGN KEY (ticket_id, part) REFERENCES docs_v7(ticket_id, part) ON DELETE CASCADE
);
INSERT INTO doc_chunks_v7 (seq, ticket_id, part, chunk)
    SELECT seq, ticket_id, 'public', chunk FROM doc_chunks;

DROP TABLE doc_chunks;
DROP TABLE docs;
ALTER TABLE docs_v7 RENAME TO docs;
ALTER TABLE doc_chunks_v7 RENAME TO doc_chunks;
CREATE INDEX doc_chunks_ticket ON doc_chunks(ticket_id, part, seq);

ALTER TABLE outbox ADD COLUMN part TEXT NOT NULL DEFAULT 'public'
    CHECK (part IN ('public', 'staff'));
ALTER TABLE quarantine ADD COLUMN part TEXT NOT NULL DEFAULT 'public'
    CHECK (part IN ('public', 'staff'));
