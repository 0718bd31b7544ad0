-- Version 14: what the service brain remembers between decisions, kept across restarts
-- (docs/brain.md, "Wiring"): each tenant's round-robin turns, and each ticket's document heads
-- right after the brain's last decision (hex hashes, space-separated).

CREATE TABLE brain_turns (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    turns     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE brain_tickets (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    ticket_id    TEXT NOT NULL,
    public_heads TEXT NOT NULL,
    staff_heads  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
) WITHOUT ROWID;
