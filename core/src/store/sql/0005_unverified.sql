-- Version 5: changes imported from bundles that the server has not confirmed yet.

-- One row per change that came in a bundle (authored elsewhere, so no one here vouches for it)
-- and has not since come back from the server. A ticket with rows here is shown as unverified.
CREATE TABLE unverified_changes (
    hash        TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    imported_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX unverified_changes_ticket ON unverified_changes(ticket_id);

-- How many of the ticket's changes are unverified, so lists show the mark from the index alone.
ALTER TABLE tickets ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
