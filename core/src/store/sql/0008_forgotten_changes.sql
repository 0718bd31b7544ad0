-- Version 8: the hashes of changes this device held until the server rewrote their ticket to
-- erase personal data (docs/staff-data.md, "Erase"). Never their bytes: an import leaves out a
-- bundle's changes of that old history (and what builds on them), so a bundle made before the
-- erase does not bring the erased content back. Kept after an eviction too.

CREATE TABLE forgotten_changes (
    ticket_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (ticket_id, hash)
) WITHOUT ROWID;
