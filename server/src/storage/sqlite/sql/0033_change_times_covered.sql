-- A ticket's change times (`ticket_times`: author, device time, effective time, in seq order)
-- are read for every refresh of its report facts and every decision of the brain. Through
-- `changes_ticket_seq` alone each change was a lookup in the `changes` table, whose rows (the
-- change's bytes) lie scattered in commit order among every other ticket's: a page a change,
-- 270 for a ticket with 250 notes, and most of the report task's time under load
-- (docs/benchmarks.md, "Change times read from the index"). The index now carries the times, so
-- the read walks a few adjacent index pages. Same key, same order: every query that used the
-- old index uses this one.
DROP INDEX changes_ticket_seq;
CREATE INDEX changes_ticket_seq ON changes(tenant_id, ticket_id, seq, author_id, device_time, effective_at);
