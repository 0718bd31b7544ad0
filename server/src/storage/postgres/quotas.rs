//! Quotas and usage on PostgreSQL: a tenant's overrides of the server's defaults
//! (`tenant_quotas`), the stored bytes charged to each tenant and user (`tenant_blob_usage`,
//! `user_blob_usage`, moved in the same transaction as every blob row), and the bytes in flight
//! in open uploads.
//!
//! Several server processes write at once, so a write that checks a quota and then charges it
//! first locks the tenant's `tenant_blob_usage` row ([`lock_tenant_usage`]): every check and
//! every charge of a tenant's bytes happens under that one lock, as SQLite's single writer does
//! implicitly. Lock order, to keep clear of deadlocks: a tenant's usage row, then its `blobs`
//! rows, then its users' usage rows.

use super::PgStore;
use super::db::Db;
use crate::storage::{
    BlobRecord, BlobUsage, QuotaLedger, Result, TenantQuotas, TenantUsage, UserUsage, quotas,
    seq_of, sql_seq,
};

/// A tenant's overrides (all `None` when it has none).
pub(super) fn tenant_quotas(db: &Db, tenant_id: &str) -> Result<TenantQuotas> {
    let row = db.query_opt(
        "SELECT blob_bytes, user_blob_bytes, devices_per_user FROM tenant_quotas
         WHERE tenant_id = $1",
        &[&tenant_id],
    )?;
    let Some(row) = row else {
        return Ok(TenantQuotas::default());
    };
    Ok(TenantQuotas {
        blob_bytes: quotas::quota_of(row.try_get(0)?),
        user_blob_bytes: quotas::quota_of(row.try_get(1)?),
        devices_per_user: quotas::device_cap_of(row.try_get(2)?),
    })
}

fn set_tenant_quotas(db: &Db, tenant_id: &str, q: &TenantQuotas) -> Result<()> {
    db.execute(
        "INSERT INTO tenant_quotas (tenant_id, blob_bytes, user_blob_bytes, devices_per_user)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET blob_bytes = excluded.blob_bytes,
             user_blob_bytes = excluded.user_blob_bytes,
             devices_per_user = excluded.devices_per_user",
        &[
            &tenant_id,
            &q.blob_bytes.map(sql_seq),
            &q.user_blob_bytes.map(sql_seq),
            &q.devices_per_user.map(i64::from),
        ],
    )?;
    Ok(())
}

/// Locks the tenant's usage row (made first, empty, if the tenant has none yet) until the
/// transaction ends: what a write holds while it reads usage, checks a quota and charges it, so
/// writers of the same tenant on other connections wait for it. Nothing is locked for an
/// unknown tenant (whose rows the foreign keys refuse anyway).
pub(super) fn lock_tenant_usage(db: &Db, tenant_id: &str) -> Result<()> {
    // `ON CONFLICT DO NOTHING` waits for a concurrent insert of the same row, never fails on it.
    db.execute(
        "INSERT INTO tenant_blob_usage (tenant_id) SELECT id FROM tenants WHERE id = $1
         ON CONFLICT (tenant_id) DO NOTHING",
        &[&tenant_id],
    )?;
    db.query_opt(
        "SELECT 1 FROM tenant_blob_usage WHERE tenant_id = $1 FOR UPDATE",
        &[&tenant_id],
    )?;
    Ok(())
}

/// Adds (`sign` 1) or takes off (`sign` -1) one blob's bytes for its tenant and its uploader.
/// The tenant's row first, as [`lock_tenant_usage`] orders it.
pub(super) fn charge(db: &Db, blob: &BlobRecord, sign: i64) -> Result<()> {
    let bytes = sql_seq(blob.length).saturating_mul(sign);
    db.execute(
        "INSERT INTO tenant_blob_usage AS u (tenant_id, bytes, blobs)
         VALUES ($1, GREATEST($2::BIGINT, 0), GREATEST($3::BIGINT, 0))
         ON CONFLICT (tenant_id) DO UPDATE SET bytes = GREATEST(u.bytes + $2, 0),
             blobs = GREATEST(u.blobs + $3, 0)",
        &[&blob.tenant_id, &bytes, &sign],
    )?;
    if let Some(user_id) = &blob.user_id {
        db.execute(
            "INSERT INTO user_blob_usage AS u (user_id, tenant_id, bytes, blobs)
             VALUES ($1, $2, GREATEST($3::BIGINT, 0), GREATEST($4::BIGINT, 0))
             ON CONFLICT (user_id) DO UPDATE SET bytes = GREATEST(u.bytes + $3, 0),
                 blobs = GREATEST(u.blobs + $4, 0)",
            &[user_id, &blob.tenant_id, &bytes, &sign],
        )?;
    }
    Ok(())
}

/// What a tenant (`user` = `None`) or one of its users holds: stored bytes from the counters,
/// open uploads created after `open_after` (older ones are expired, whether swept yet or not).
pub(super) fn usage(
    db: &Db,
    tenant_id: &str,
    user: Option<&str>,
    open_after: i64,
) -> Result<BlobUsage> {
    let stored = match user {
        None => db.query_opt(
            "SELECT bytes, blobs FROM tenant_blob_usage WHERE tenant_id = $1",
            &[&tenant_id],
        )?,
        Some(user_id) => db.query_opt(
            "SELECT bytes, blobs FROM user_blob_usage WHERE user_id = $1",
            &[&user_id],
        )?,
    };
    let (bytes, blobs): (i64, i64) = match stored {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, 0),
    };
    // `state = 'uploading'` as written, so the partial index `blob_uploads_open` serves it;
    // `SUM` of BIGINT is NUMERIC in PostgreSQL, hence the cast.
    let open = match user {
        None => db.query_one(
            "SELECT COALESCE(SUM(upload_length), 0)::BIGINT, COUNT(*) FROM blob_uploads
             WHERE tenant_id = $1 AND state = 'uploading' AND created_at > $2",
            &[&tenant_id, &open_after],
        )?,
        Some(user_id) => db.query_one(
            "SELECT COALESCE(SUM(upload_length), 0)::BIGINT, COUNT(*) FROM blob_uploads
             WHERE tenant_id = $1 AND user_id = $2 AND state = 'uploading'
                 AND created_at > $3",
            &[&tenant_id, &user_id, &open_after],
        )?,
    };
    Ok(BlobUsage {
        stored_bytes: seq_of(bytes),
        stored_blobs: seq_of(blobs),
        open_bytes: seq_of(open.try_get(0)?),
        open_uploads: seq_of(open.try_get(1)?),
    })
}

fn tenant_usage(db: &Db, tenant_id: &str, open_after: i64) -> Result<TenantUsage> {
    let tenant = usage(db, tenant_id, None, open_after)?;
    let unnamed = db.query_one(
        "SELECT COALESCE(SUM(length), 0)::BIGINT, COUNT(*) FROM blobs
         WHERE tenant_id = $1 AND NOT named",
        &[&tenant_id],
    )?;
    let holders = db.query(
        "SELECT u.id, u.name FROM users u WHERE u.tenant_id = $1 AND (
             EXISTS (SELECT 1 FROM user_blob_usage b WHERE b.user_id = u.id AND b.bytes > 0)
             OR EXISTS (SELECT 1 FROM blob_uploads o WHERE o.tenant_id = $1
                        AND o.user_id = u.id AND o.state = 'uploading' AND o.created_at > $2))",
        &[&tenant_id, &open_after],
    )?;
    let mut users = holders
        .iter()
        .map(|row| {
            let user_id: String = row.try_get(0)?;
            let usage = usage(db, tenant_id, Some(&user_id), open_after)?;
            Ok(UserUsage {
                user_id,
                name: row.try_get(1)?,
                usage,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    quotas::sort_holders(&mut users);
    Ok(TenantUsage {
        tenant,
        unnamed_bytes: seq_of(unnamed.try_get(0)?),
        unnamed_blobs: seq_of(unnamed.try_get(1)?),
        users,
    })
}

impl QuotaLedger for PgStore {
    fn tenant_quotas(&self, tenant_id: &str) -> Result<TenantQuotas> {
        self.with_reader(|db| tenant_quotas(db, tenant_id))
    }

    fn set_tenant_quotas(&self, tenant_id: &str, q: &TenantQuotas) -> Result<()> {
        self.write(|db| set_tenant_quotas(db, tenant_id, q))
    }

    /// Read in one snapshot, so the tenant's total and its users' shares agree.
    fn tenant_usage(&self, tenant_id: &str, open_after: i64) -> Result<TenantUsage> {
        self.read_snapshot(|db| tenant_usage(db, tenant_id, open_after))
    }
}
