//! Quotas and usage: a tenant's overrides of the server's defaults (`tenant_quotas`), the stored
//! bytes charged to each tenant and user (`tenant_blob_usage`, `user_blob_usage`, moved in the
//! same transaction as every blob row), and the bytes in flight in open uploads.

use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, seq_of, sql_seq};
use crate::storage::{
    BlobRecord, BlobUsage, QuotaLedger, Result, TenantQuotas, TenantUsage, UserUsage, quotas,
};

pub(super) fn tenant_quotas(conn: &Connection, tenant_id: &str) -> Result<TenantQuotas> {
    let row = conn
        .prepare_cached(
            "SELECT blob_bytes, user_blob_bytes, devices_per_user FROM tenant_quotas
             WHERE tenant_id = ?1",
        )?
        .query_row([tenant_id], |r| {
            Ok(TenantQuotas {
                blob_bytes: quotas::quota_of(r.get(0)?),
                user_blob_bytes: quotas::quota_of(r.get(1)?),
                devices_per_user: quotas::device_cap_of(r.get(2)?),
            })
        })
        .optional()?;
    Ok(row.unwrap_or_default())
}

pub(super) fn set_tenant_quotas(
    conn: &Connection,
    tenant_id: &str,
    q: &TenantQuotas,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tenant_quotas (tenant_id, blob_bytes, user_blob_bytes, devices_per_user)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id) DO UPDATE SET blob_bytes = excluded.blob_bytes,
             user_blob_bytes = excluded.user_blob_bytes,
             devices_per_user = excluded.devices_per_user",
    )?
    .execute(params![
        tenant_id,
        q.blob_bytes.map(sql_seq),
        q.user_blob_bytes.map(sql_seq),
        q.devices_per_user
    ])?;
    Ok(())
}

/// Adds (`sign` 1) or takes off (`sign` -1) one blob's bytes for its tenant and its uploader.
pub(super) fn charge(conn: &Connection, blob: &BlobRecord, sign: i64) -> Result<()> {
    let bytes = sql_seq(blob.length).saturating_mul(sign);
    conn.prepare_cached(
        "INSERT INTO tenant_blob_usage (tenant_id, bytes, blobs) VALUES (?1, MAX(?2, 0), MAX(?3, 0))
         ON CONFLICT (tenant_id) DO UPDATE SET bytes = MAX(bytes + ?2, 0), blobs = MAX(blobs + ?3, 0)",
    )?
    .execute(params![blob.tenant_id, bytes, sign])?;
    if let Some(user_id) = &blob.user_id {
        conn.prepare_cached(
            "INSERT INTO user_blob_usage (user_id, tenant_id, bytes, blobs)
             VALUES (?1, ?2, MAX(?3, 0), MAX(?4, 0))
             ON CONFLICT (user_id) DO UPDATE SET bytes = MAX(bytes + ?3, 0),
                 blobs = MAX(blobs + ?4, 0)",
        )?
        .execute(params![user_id, blob.tenant_id, bytes, sign])?;
    }
    Ok(())
}

/// What a tenant (`user` = `None`) or one of its users holds: stored bytes from the counters,
/// open uploads created after `open_after` (older ones are expired, whether swept yet or not).
pub(super) fn usage(
    conn: &Connection,
    tenant_id: &str,
    user: Option<&str>,
    open_after: i64,
) -> Result<BlobUsage> {
    let stored: Option<(i64, i64)> = match user {
        None => conn
            .prepare_cached("SELECT bytes, blobs FROM tenant_blob_usage WHERE tenant_id = ?1")?
            .query_row([tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        Some(user_id) => conn
            .prepare_cached("SELECT bytes, blobs FROM user_blob_usage WHERE user_id = ?1")?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    // `state = 'uploading'` as written, so the partial index `blob_uploads_open` serves it.
    let open = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
    let (open_bytes, open_uploads): (i64, i64) = match user {
        None => conn
            .prepare_cached(
                "SELECT COALESCE(SUM(upload_length), 0), COUNT(*) FROM blob_uploads
                 WHERE tenant_id = ?1 AND state = 'uploading' AND created_at > ?2",
            )?
            .query_row(params![tenant_id, open_after], open)?,
        Some(user_id) => conn
            .prepare_cached(
                "SELECT COALESCE(SUM(upload_length), 0), COUNT(*) FROM blob_uploads
                 WHERE tenant_id = ?1 AND user_id = ?2 AND state = 'uploading'
                     AND created_at > ?3",
            )?
            .query_row(params![tenant_id, user_id, open_after], open)?,
    };
    let (bytes, blobs) = stored.unwrap_or((0, 0));
    Ok(BlobUsage {
        stored_bytes: seq_of(bytes),
        stored_blobs: seq_of(blobs),
        open_bytes: seq_of(open_bytes),
        open_uploads: seq_of(open_uploads),
    })
}

pub(super) fn tenant_usage(
    conn: &Connection,
    tenant_id: &str,
    open_after: i64,
) -> Result<TenantUsage> {
    let tenant = usage(conn, tenant_id, None, open_after)?;
    let (unnamed_bytes, unnamed_blobs): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(length), 0), COUNT(*) FROM blobs
             WHERE tenant_id = ?1 AND named = 0",
        )?
        .query_row([tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let holders: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT u.id, u.name FROM users u WHERE u.tenant_id = ?1 AND (
                 EXISTS (SELECT 1 FROM user_blob_usage b WHERE b.user_id = u.id AND b.bytes > 0)
                 OR EXISTS (SELECT 1 FROM blob_uploads o WHERE o.tenant_id = ?1
                            AND o.user_id = u.id AND o.state = 'uploading' AND o.created_at > ?2))",
        )?
        .query_map(params![tenant_id, open_after], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut users = holders
        .into_iter()
        .map(|(user_id, name)| {
            let usage = usage(conn, tenant_id, Some(&user_id), open_after)?;
            Ok(UserUsage {
                user_id,
                name,
                usage,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    quotas::sort_holders(&mut users);
    Ok(TenantUsage {
        tenant,
        unnamed_bytes: seq_of(unnamed_bytes),
        unnamed_blobs: seq_of(unnamed_blobs),
        users,
    })
}

impl QuotaLedger for SqliteStore {
    fn tenant_quotas(&self, tenant_id: &str) -> Result<TenantQuotas> {
        self.with_reader(|conn| tenant_quotas(conn, tenant_id))
    }

    fn set_tenant_quotas(&self, tenant_id: &str, q: &TenantQuotas) -> Result<()> {
        self.write(|tx| set_tenant_quotas(tx, tenant_id, q))
    }

    fn tenant_usage(&self, tenant_id: &str, open_after: i64) -> Result<TenantUsage> {
        self.with_reader(|conn| tenant_usage(conn, tenant_id, open_after))
    }
}
