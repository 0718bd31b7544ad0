-- SQLite's step 31: a ticket's public document is stored as a compacted snapshot followed by the
-- public changes stored after it (docs/adr/0020-snapshot-and-tail.md). `docs.snapshot_seq` is
-- the seq the snapshot is at; `tickets.tail` counts the ticket's public changes after it. Every
-- document stored before this version is a snapshot at its ticket's `last_seq`.
ALTER TABLE docs ADD COLUMN snapshot_seq BIGINT NOT NULL DEFAULT 0;
UPDATE docs d SET snapshot_seq = t.last_seq
    FROM tickets t WHERE t.tenant_id = d.tenant_id AND t.id = d.ticket_id;
ALTER TABLE tickets ADD COLUMN tail BIGINT NOT NULL DEFAULT 0;
