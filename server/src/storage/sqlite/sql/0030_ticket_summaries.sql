-- What a device lists a ticket by (`fieldwork_protocol::sync::SnapshotSummary`, CBOR), read from
-- the public document when it was stored and written with it: a pull sends it beside the
-- snapshot, so a new device lists the ticket without loading the document
-- (docs/adr/0018-list-first-check-later.md). NULL for documents stored before this version, until the
-- server fills them in.
ALTER TABLE docs ADD COLUMN summary BLOB;
-- The documents still without one: filled in once at start (`service::summaries`). Writes since
-- always bring a summary, so this index only ever shrinks.
CREATE INDEX docs_unsummarised ON docs (tenant_id, ticket_id) WHERE summary IS NULL;
