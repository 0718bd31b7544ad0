-- Ticket lists count their matches (up to 10,000) before reading a page. Counting a category's
-- or a team's tickets of some status or priority read each match's table row to test those
-- columns: 10,000 random row reads, 15 ms at 100,000 tickets (`docs/benchmarks.md`,
-- "Back-office API", fix 9). With status and priority in the index, the count reads the index
-- alone.
DROP INDEX tickets_category;
DROP INDEX tickets_team;
CREATE INDEX tickets_category ON tickets(tenant_id, category, status, priority);
CREATE INDEX tickets_team ON tickets(tenant_id, team, status, priority);
