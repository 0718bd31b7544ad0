-- A ticket's public document is stored as a compacted snapshot followed by the public changes
-- stored after it (docs/adr/0020-snapshot-and-tail.md): a commit appends its changes, which the
-- `changes` table holds anyway, and writes a new snapshot only every few changes.
-- `docs.snapshot_seq` is the seq the snapshot is at: the ticket's public changes with a higher
-- seq follow it. `tickets.tail` counts them, so the writer knows when to compact again. Every
-- document stored before this version is a snapshot at its ticket's `last_seq`.
ALTER TABLE docs ADD COLUMN snapshot_seq INTEGER NOT NULL DEFAULT 0;
UPDATE docs SET snapshot_seq = (
    SELECT t.last_seq FROM tickets t WHERE t.tenant_id = docs.tenant_id AND t.id = docs.ticket_id
);
ALTER TABLE tickets ADD COLUMN tail INTEGER NOT NULL DEFAULT 0;
