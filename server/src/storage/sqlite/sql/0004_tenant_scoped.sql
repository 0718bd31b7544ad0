-- Version 4: everything of a tenant is numbered and named within the tenant, so nothing one
-- tenant sees moves or answers differently because of another (docs/security.md, "What one tenant
-- can learn of another"):
-- - `seq` counts each tenant's changes on its own (`tenants.last_seq`); a device's cursor no
--   longer moves when another tenant writes;
-- - tickets, their documents, changes and blob references are keyed by (tenant, id), so a ticket
--   id used in another tenant is simply unknown here, and answers exactly like one.
-- Existing changes are renumbered per tenant in their stored order, and what devices hold is
-- carried over to the new numbers. A device that still carries an old, server-wide cursor sends
-- one beyond its tenant's highest seq; the pull treats that as a device starting over.

PRAGMA defer_foreign_keys = ON;

ALTER TABLE tenants ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;

CREATE TEMP TABLE seq_map AS
    SELECT seq AS old, tenant_id,
           ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY seq) AS new
    FROM changes;
CREATE INDEX temp.seq_map_old ON seq_map(old);

UPDATE tenants SET last_seq =
    COALESCE((SELECT MAX(new) FROM seq_map WHERE seq_map.tenant_id = tenants.id), 0);

-- `last_seq` is the seq (within the tenant) of the ticket's newest stored change.
CREATE TABLE tickets_v4 (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    number      TEXT,
    reporter_id TEXT NOT NULL,
    assignee    TEXT,
    team        TEXT,
    status      TEXT NOT NULL,
    last_seq    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
INSERT INTO tickets_v4 (tenant_id, id, number, reporter_id, assignee, team, status, last_seq)
    SELECT t.tenant_id, t.id, t.number, t.reporter_id, t.assignee, t.team, t.status,
           COALESCE((SELECT new FROM seq_map WHERE old = t.last_seq), 0)
    FROM tickets t;

CREATE TABLE docs_v4 (
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    snapshot  BLOB NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets_v4(tenant_id, id)
);
INSERT INTO docs_v4 (tenant_id, ticket_id, snapshot)
    SELECT t.tenant_id, d.ticket_id, d.snapshot FROM docs d JOIN tickets t ON t.id = d.ticket_id;

-- Every accepted change of a tenant, numbered in the order the server stored it (the devices'
-- cursor). The tenant's push turn makes the order of `seq` the order of commits.
CREATE TABLE changes_v4 (
    tenant_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    ticket_id   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, hash),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets_v4(tenant_id, id)
);
INSERT INTO changes_v4 (tenant_id, seq, ticket_id, hash, actor_id, bytes, received_at)
    SELECT c.tenant_id, m.new, c.ticket_id, c.hash, c.actor_id, c.bytes, c.received_at
    FROM changes c JOIN seq_map m ON m.old = c.seq;

CREATE TABLE blob_refs_v4 (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sha256    TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets_v4(tenant_id, id)
) WITHOUT ROWID;
INSERT INTO blob_refs_v4 (tenant_id, sha256, ticket_id)
    SELECT tenant_id, sha256, ticket_id FROM blob_refs;

-- Holdings: a covered seq is a change's seq, a cursor counts the tenant's changes up to it.
UPDATE device_tickets SET covered_seq =
    COALESCE((SELECT new FROM seq_map WHERE old = device_tickets.covered_seq), 0);
UPDATE device_tickets SET since_cursor =
    (SELECT COUNT(*) FROM seq_map m JOIN devices d ON d.tenant_id = m.tenant_id
     WHERE d.id = device_tickets.device_id AND m.old <= device_tickets.since_cursor);

DROP TABLE blob_refs;
DROP TABLE changes;
DROP TABLE docs;
DROP TABLE tickets;
DROP TABLE seq_map;
ALTER TABLE tickets_v4 RENAME TO tickets;
ALTER TABLE docs_v4 RENAME TO docs;
ALTER TABLE changes_v4 RENAME TO changes;
ALTER TABLE blob_refs_v4 RENAME TO blob_refs;

CREATE INDEX tickets_tenant_status ON tickets(tenant_id, status);
CREATE INDEX tickets_reporter ON tickets(tenant_id, reporter_id);
CREATE INDEX tickets_assignee ON tickets(tenant_id, assignee);
CREATE INDEX tickets_team_queue ON tickets(tenant_id, team) WHERE assignee IS NULL;
CREATE INDEX changes_ticket_seq ON changes(tenant_id, ticket_id, seq);
