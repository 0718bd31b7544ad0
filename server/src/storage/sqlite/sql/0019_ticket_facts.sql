-- Version 19: what the reports count about each ticket (docs/reports.md), as the server last
-- read it: `seq` is the ticket's change the facts were read at (behind `tickets.last_seq`: stale,
-- refreshed before a report), `facts` the JSON of `fieldwork_brain::report::TicketFacts`.
-- `created_at` and `ended_at` (NULL while the ticket is open) are the columns a report's period
-- is found by, covered by one index so the rows outside a period are skipped in the index.

CREATE TABLE ticket_facts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    ticket_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    facts      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
) WITHOUT ROWID;
CREATE INDEX ticket_facts_period ON ticket_facts(tenant_id, created_at, ended_at);

-- How far each tenant's facts are known to be fresh: every change up to `seq` is in them. A
-- report refreshes only the tickets changed after it (found by `tickets_by_last_seq`), so it never
-- scans a tenant's every ticket to find the few that changed.
CREATE TABLE report_progress (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       INTEGER NOT NULL
);
CREATE INDEX tickets_by_last_seq ON tickets(tenant_id, last_seq);
