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
