-- Version 16: what the back-office API lists, filters, sorts and searches tickets by (docs/api.md,
-- "Tickets"), kept in the ticket's index row by every commit. Rows stored before it are filled in
-- by the server at start (`listing_version` 0 → 1, from their documents).

ALTER TABLE tickets ADD COLUMN listing_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN kind TEXT;
ALTER TABLE tickets ADD COLUMN channel TEXT;
ALTER TABLE tickets ADD COLUMN title TEXT;
-- 0 low … 3 urgent, so "most urgent first" is an index order.
ALTER TABLE tickets ADD COLUMN priority INTEGER;
ALTER TABLE tickets ADD COLUMN first_response_due INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_due INTEGER;
-- The sooner of the two dues still open (NULL: nothing due).
ALTER TABLE tickets ADD COLUMN next_due INTEGER;
ALTER TABLE tickets ADD COLUMN sla_paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN breached INTEGER NOT NULL DEFAULT 0;
-- Server time of the ticket's last stored change.
ALTER TABLE tickets ADD COLUMN updated_at INTEGER;
-- The rowid of the ticket's row in `ticket_text`.
ALTER TABLE tickets ADD COLUMN text_rowid INTEGER;

CREATE INDEX tickets_created ON tickets(tenant_id, created_at, id);
CREATE INDEX tickets_updated ON tickets(tenant_id, updated_at, id);
CREATE INDEX tickets_priority ON tickets(tenant_id, priority, id);
CREATE INDEX tickets_due ON tickets(tenant_id, next_due) WHERE next_due IS NOT NULL;
CREATE UNIQUE INDEX tickets_text_rowid ON tickets(text_rowid) WHERE text_rowid IS NOT NULL;

-- Tags live in the staff document: listed for staff only.
CREATE TABLE ticket_tags (
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tag, ticket_id)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_ticket ON ticket_tags(tenant_id, ticket_id);

-- The searchable text: `public` (title, description, public notes) for everyone who sees the
-- ticket, `staff` (internal notes) for staff only, written as the core's search terms
-- (core/src/search.rs: words, and CJK characters with their overlapping pairs). Deleting a row
-- removes its words from the index at once (`secure-delete`), so an erased note's words leave
-- the file.
CREATE VIRTUAL TABLE ticket_text USING fts5(public, staff, tokenize = 'unicode61');
INSERT INTO ticket_text (ticket_text, rank) VALUES ('secure-delete', 1);
