-- Version 26: the asset register (docs/channels.md, "Assets"): each tenant's machines by serial
-- number, imported from CSV, with where they stand and whom they belong to. An alert about an
-- asset opens its ticket with the asset's model, warranty, site and owner from here.
CREATE TABLE assets (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    serial         TEXT NOT NULL,
    model          TEXT,
    site_address   TEXT,
    site_lat       REAL,
    site_lon       REAL,
    warranty_until TEXT,
    owner_name     TEXT,
    owner_phone    TEXT,
    owner_email    TEXT,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, serial)
) WITHOUT ROWID;
