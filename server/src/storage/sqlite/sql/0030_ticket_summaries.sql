-- What a device lists a ticket by (`fieldwork_protocol::sync::SnapshotSummary`, CBOR), read from
-- the public document when it was stored and written with it: a pull sends it beside the
-- snapshot, so a new device lists the ticket without loading the document
-- (docs/adr/0018-list-first-check-later.md). NULL for documents stored before this version; those
-- go out without one, and the device loads them.
ALTER TABLE docs ADD COLUMN summary BLOB;
