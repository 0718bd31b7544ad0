-- Ticket lists (storage::sqlite::ticket_list): an index on each sort's exact expression, so a
-- page of a broad list walks it and stops after its rows instead of sorting every matching
-- ticket; and indexes for the filters that usually keep few tickets. The indexes on the bare
-- columns served no sort (the sorts order by COALESCE(...)); the created and due ones stay for
-- their range filters.
DROP INDEX tickets_updated;
DROP INDEX tickets_priority;
CREATE INDEX tickets_sort_created ON tickets(tenant_id, COALESCE(created_at, 0), id);
CREATE INDEX tickets_sort_updated ON tickets(tenant_id, COALESCE(updated_at, 0), id);
CREATE INDEX tickets_sort_priority ON tickets(tenant_id, COALESCE(priority, 1), id);
CREATE INDEX tickets_sort_due ON tickets(tenant_id, COALESCE(next_due, 9223372036854775807), id);
CREATE INDEX tickets_category ON tickets(tenant_id, category);
CREATE INDEX tickets_team ON tickets(tenant_id, team);
