-- Version 11: a ticket's category and when it was created (its creation's effective time) in its
-- index row, found by reporter: the service brain's rules on a reporter's recent tickets ("a third
-- report of the same category within 24 hours", docs/brain.md). Tickets stored before have no
-- creation time and count for none of them.

ALTER TABLE tickets ADD COLUMN category TEXT;
ALTER TABLE tickets ADD COLUMN created_at INTEGER;
CREATE INDEX tickets_by_reporter ON tickets (tenant_id, reporter_id, created_at);
