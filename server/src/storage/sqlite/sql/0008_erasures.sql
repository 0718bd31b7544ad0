-- Version 8: erasing personal data by rewriting a ticket's history (docs/staff-data.md, "Erase";
-- ADR 0011). `tickets.rewritten_seq` is the seq of the ticket's last rewrite (0: never): a device
-- holding the ticket from before it gets the rewrite in place of its copy. `forgotten_changes`
-- keeps the hashes of the changes a rewrite deleted (never their bytes), so a device resending
-- one is answered as if it were still stored, and a change built on one is told the history was
-- rewritten. `erasures` is the erasure log: who erased what from which ticket, when and why,
-- without the content.
--
-- From this version the writer runs with `secure_delete`: deleted rows and replaced documents
-- are zeroed in the file, not left in free pages. A database written before it may still hold
-- older document versions in free pages; `VACUUM` it once (docs/staff-data.md, "Migration").

ALTER TABLE tickets ADD COLUMN rewritten_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE forgotten_changes (
    tenant_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, hash)
) WITHOUT ROWID;

CREATE TABLE erasures (
    id        INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    ticket_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('note', 'photo', 'contact')),
    target    TEXT,
    erased_by TEXT NOT NULL,
    reference TEXT,
    erased_at INTEGER NOT NULL
);
CREATE INDEX erasures_by_ticket ON erasures (tenant_id, ticket_id, id);

-- People name tickets by number (an erase request, later the back office): found by it.
CREATE INDEX tickets_by_number ON tickets (tenant_id, number);
