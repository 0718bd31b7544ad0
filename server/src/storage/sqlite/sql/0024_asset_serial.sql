-- Version 24: the serial number of the asset a ticket is about, in its index row, so a ticket's
-- asset shows its history across tickets (`GET /api/v1/tickets?asset=…`). Rows stored before it
-- are filled in by the server at start (`listing_version` 1 → 2, from their documents).
ALTER TABLE tickets ADD COLUMN asset_serial TEXT;
CREATE INDEX tickets_asset ON tickets(tenant_id, asset_serial) WHERE asset_serial IS NOT NULL;
