-- A ticket's summary (what a device lists it by) moves out of `docs` into its own row. Every
-- commit rewrites the summary, and SQLite rewrites a whole row when one of its values changes
-- size: beside the public snapshot that meant copying the snapshot's overflow pages on every
-- commit (and, with `secure_delete`, zeroing the old ones) — ~40 KiB of WAL a commit for a 20 KB
-- snapshot against 4 KiB for the summary alone (docs/benchmarks.md, "Rows a note rewrites").
-- `docs` is now written only when its snapshots change.
CREATE TABLE ticket_summaries (
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    summary BLOB NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
);
INSERT INTO ticket_summaries (tenant_id, ticket_id, summary)
    SELECT tenant_id, ticket_id, summary FROM docs WHERE summary IS NOT NULL;
DROP INDEX docs_unsummarised;
ALTER TABLE docs DROP COLUMN summary;
