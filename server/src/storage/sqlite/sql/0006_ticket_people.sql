-- Version 6: who a ticket names, so a pull can send the names of the people on the tickets it
-- brings without loading a single document (`docs/sync-protocol.md`, "People").

-- `people`: the user ids the ticket names (`Ticket::people`), a JSON array of strings, written
-- with the index row; NULL for rows written before version 6 (read as the reporter and the
-- assignee until the ticket's next commit). `people_seq`: the ticket's `last_seq` at the commit
-- that last changed `people` (0 before version 6), so a device that holds the ticket and is past
-- that seq is not sent the same names again.
ALTER TABLE tickets ADD COLUMN people TEXT;
ALTER TABLE tickets ADD COLUMN people_seq INTEGER NOT NULL DEFAULT 0;
