-- Version 9: each tenant's configuration of the service brain (docs/brain.md), one row per
-- applied version with who applied it and when: the audit trail of every change. The newest
-- version is the one in force.

CREATE TABLE tenant_configs (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    INTEGER NOT NULL,
    toml       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) WITHOUT ROWID;
