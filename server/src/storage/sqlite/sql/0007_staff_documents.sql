-- Version 7: a ticket has two documents (docs/staff-data.md): the public one, and the staff
-- companion (internal notes, tags, staff history) that pulls send only to roles that read staff
-- data. `changes.part` says which document a change belongs to (everything stored before is
-- public); `docs.staff_snapshot` holds the compacted staff document, NULL while the ticket has
-- no staff data (its staff document is then the genesis every replica makes alike).
--
-- Internal notes written before this version stay in the public document they were written to
-- (nothing was deployed with them; docs/staff-data.md, "Migration").

ALTER TABLE changes ADD COLUMN part TEXT NOT NULL DEFAULT 'public'
    CHECK (part IN ('public', 'staff'));
ALTER TABLE docs ADD COLUMN staff_snapshot BLOB;
