-- Version 10: tickets listed from the server's summary whose documents the device has not
-- loaded yet (docs/adr/0018-list-first-check-later.md). Checking one loads its documents,
-- rewrites the index row from them if it differs, and deletes the row here. Their `docs.heads`
-- are empty until then.
CREATE TABLE unchecked (
    ticket_id TEXT PRIMARY KEY
) WITHOUT ROWID;
