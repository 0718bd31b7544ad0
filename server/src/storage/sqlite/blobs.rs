//! The blob lane's rows: `blob_uploads`, `blobs` and `blob_refs`, with the quota check at upload
//! creation and the collector's check-and-delete of unnamed blobs.

use fieldwork_protocol::blobs::BlobKind;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, quotas, seq_of, sql_seq};
use crate::storage::{
    Admission, BlobRecord, BlobRecords, BlobRef, Claim, Conflict, PatchRecord, Result,
    StorageError, UploadFinish, UploadLimits, UploadRecord, UploadState, blobs,
};

const UPLOAD_COLUMNS: &str = "id, tenant_id, user_id, device_id, sha256, kind, mime, ticket_id,
    upload_length, upload_offset, state, created_at, patch_requests, bytes_received";

fn upload_at(row: &Row) -> rusqlite::Result<Result<UploadRecord>> {
    let kind: String = row.get(5)?;
    let state: String = row.get(10)?;
    let (Some(kind), Some(state)) = (BlobKind::parse(&kind), UploadState::parse(&state)) else {
        return Ok(Err(StorageError::Corrupt(
            "an upload's kind or state".into(),
        )));
    };
    Ok(Ok(UploadRecord {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        user_id: row.get(2)?,
        device_id: row.get(3)?,
        sha256: row.get(4)?,
        kind,
        mime: row.get(6)?,
        ticket_id: row.get(7)?,
        length: seq_of(row.get(8)?),
        offset: seq_of(row.get(9)?),
        state,
        created_at: row.get(11)?,
        patch_requests: seq_of(row.get(12)?),
        bytes_received: seq_of(row.get(13)?),
    }))
}

fn uploads(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<UploadRecord>> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM blob_uploads {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, upload_at)?;
    rows.map(|row| row?).collect()
}

pub(super) fn create_upload(
    conn: &Connection,
    u: &UploadRecord,
    limits: &UploadLimits,
) -> Result<Admission> {
    if u.state == UploadState::Uploading {
        let open: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM blob_uploads WHERE device_id = ?1 AND state = 'uploading'",
            )?
            .query_row([&u.device_id], |r| r.get(0))?;
        if let Some(refused) = blobs::device_open_refusal(open, limits) {
            return Ok(refused);
        }
        let open_after = blobs::upload_open_after(u, limits);
        let user = quotas::usage(conn, &u.tenant_id, Some(&u.user_id), open_after)?;
        if let Some(refused) = blobs::open_bytes_refusal(u, &user, limits) {
            return Ok(refused);
        }
        let own = quotas::tenant_quotas(conn, &u.tenant_id)?;
        let tenant = quotas::usage(conn, &u.tenant_id, None, open_after)?;
        if let Some(refused) = blobs::quota_refusal(u, limits, &own, tenant, user) {
            return Ok(refused);
        }
    }
    insert_upload(conn, u)?;
    Ok(Admission::Created)
}

fn insert_upload(conn: &Connection, u: &UploadRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blob_uploads (id, tenant_id, user_id, device_id, sha256, kind, mime, ticket_id,
             upload_length, upload_offset, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )?
    .execute(params![
        u.id,
        u.tenant_id,
        u.user_id,
        u.device_id,
        u.sha256,
        u.kind.as_str(),
        u.mime,
        u.ticket_id,
        sql_seq(u.length),
        sql_seq(u.offset),
        u.state.as_str(),
        u.created_at
    ])?;
    Ok(())
}

pub(super) fn claim_stored_blob(conn: &Connection, u: &UploadRecord) -> Result<Claim> {
    let Some(blob) = blob(conn, &u.tenant_id, &u.sha256)? else {
        return Ok(Claim::NotStored);
    };
    if blob.length != u.length {
        return Ok(Claim::LengthMismatch);
    }
    conn.prepare_cached(
        "UPDATE blobs SET claimed_at = MAX(claimed_at, ?3) WHERE tenant_id = ?1 AND sha256 = ?2",
    )?
    .execute(params![u.tenant_id, u.sha256, u.created_at])?;
    insert_upload(conn, &blobs::claimed_upload(u))?;
    Ok(Claim::Claimed)
}

pub(super) fn upload(conn: &Connection, id: &str) -> Result<Option<UploadRecord>> {
    Ok(uploads(conn, "WHERE id = ?1", [id])?.pop())
}

pub(super) fn open_upload(
    conn: &Connection,
    device_id: &str,
    sha256: &str,
    length: u64,
) -> Result<Option<UploadRecord>> {
    let found = uploads(
        conn,
        "WHERE device_id = ?1 AND sha256 = ?2 AND upload_length = ?3 AND state = 'uploading'
         ORDER BY created_at DESC LIMIT 1",
        params![device_id, sha256, sql_seq(length)],
    )?;
    Ok(found.into_iter().next())
}

pub(super) fn record_patch(conn: &Connection, p: &PatchRecord) -> Result<()> {
    let counted = conn
        .prepare_cached(
            "UPDATE blob_uploads SET patch_requests = patch_requests + 1,
                 bytes_received = bytes_received + ?2, updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![p.upload_id, sql_seq(p.bytes_received), p.at])?;
    if counted != 1 {
        return Err(Conflict::Moved.into());
    }
    if let Some((from, to)) = p.advance {
        let moved = conn
            .prepare_cached(
                "UPDATE blob_uploads SET upload_offset = ?3
                 WHERE id = ?1 AND upload_offset = ?2 AND state = 'uploading'",
            )?
            .execute(params![p.upload_id, sql_seq(from), sql_seq(to)])?;
        if moved != 1 {
            return Err(Conflict::Moved.into());
        }
    }
    let state = match &p.finish {
        None => return Ok(()),
        Some(UploadFinish::Failed) => UploadState::Failed,
        Some(UploadFinish::Stored(blob)) => {
            insert_blob(conn, blob, p.at)?;
            UploadState::Done
        }
    };
    conn.prepare_cached("UPDATE blob_uploads SET state = ?2 WHERE id = ?1")?
        .execute(params![p.upload_id, state.as_str()])?;
    Ok(())
}

/// Records a blob just moved into place, charged to its uploader; a blob recorded already only
/// has its grace period started again.
fn insert_blob(conn: &Connection, b: &BlobRecord, at: i64) -> Result<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO blobs (tenant_id, sha256, length, mime, created_at, user_id, claimed_at,
                 named)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
                 EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant_id = ?1 AND r.sha256 = ?2))
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            b.tenant_id,
            b.sha256,
            sql_seq(b.length),
            b.mime,
            b.created_at,
            b.user_id,
            at
        ])?;
    if inserted == 1 {
        quotas::charge(conn, b, 1)?;
    } else {
        conn.prepare_cached(
            "UPDATE blobs SET claimed_at = MAX(claimed_at, ?3) WHERE tenant_id = ?1 AND sha256 = ?2",
        )?
        .execute(params![b.tenant_id, b.sha256, at])?;
    }
    Ok(())
}

pub(super) fn uploads_created_before(
    conn: &Connection,
    before: i64,
    limit: usize,
) -> Result<Vec<UploadRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    uploads(
        conn,
        "WHERE created_at < ?1 ORDER BY created_at LIMIT ?2",
        params![before, limit],
    )
}

pub(super) fn delete_uploads(conn: &Connection, ids: &[String]) -> Result<()> {
    let mut delete = conn.prepare_cached("DELETE FROM blob_uploads WHERE id = ?1")?;
    for id in ids {
        delete.execute([id])?;
    }
    Ok(())
}

const BLOB_COLUMNS: &str = "tenant_id, sha256, length, mime, created_at, user_id";

fn blob_at(r: &Row) -> rusqlite::Result<BlobRecord> {
    Ok(BlobRecord {
        tenant_id: r.get(0)?,
        sha256: r.get(1)?,
        length: seq_of(r.get(2)?),
        mime: r.get(3)?,
        created_at: r.get(4)?,
        user_id: r.get(5)?,
    })
}

pub(super) fn blob(conn: &Connection, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
    let sql = format!("SELECT {BLOB_COLUMNS} FROM blobs WHERE tenant_id = ?1 AND sha256 = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([tenant_id, sha256], blob_at)
        .optional()?)
}

pub(super) fn unnamed_blobs(
    conn: &Connection,
    before: i64,
    limit: usize,
) -> Result<Vec<BlobRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // `named = 0` as written, so the partial index `blobs_unnamed` serves it.
    let sql = format!(
        "SELECT {BLOB_COLUMNS} FROM blobs WHERE named = 0 AND claimed_at < ?1
         ORDER BY claimed_at LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![before, limit], blob_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Inside one transaction: each blob is deleted only if no `blob_refs` row names it and nobody
/// claimed it since `before`, and its bytes come off the counters with it.
pub(super) fn delete_unnamed_blobs(
    conn: &Connection,
    candidates: &[BlobRecord],
    before: i64,
) -> Result<Vec<BlobRecord>> {
    let mut deleted = Vec::new();
    for c in candidates {
        let gone = conn
            .prepare_cached(
                "DELETE FROM blobs WHERE tenant_id = ?1 AND sha256 = ?2 AND claimed_at < ?3
                     AND NOT EXISTS (SELECT 1 FROM blob_refs r
                                     WHERE r.tenant_id = ?1 AND r.sha256 = ?2)
                 RETURNING length, user_id",
            )?
            .query_row(params![c.tenant_id, c.sha256, before], |r| {
                Ok((seq_of(r.get(0)?), r.get::<_, Option<String>>(1)?))
            })
            .optional()?;
        let Some((length, user_id)) = gone else {
            // Named meanwhile (or claimed again): keep the flag true to the refs.
            conn.prepare_cached(
                "UPDATE blobs SET named = 1 WHERE tenant_id = ?1 AND sha256 = ?2
                     AND EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant_id = ?1 AND r.sha256 = ?2)",
            )?
            .execute([&c.tenant_id, &c.sha256])?;
            continue;
        };
        let blob = BlobRecord {
            length,
            user_id,
            ..c.clone()
        };
        quotas::charge(conn, &blob, -1)?;
        deleted.push(blob);
    }
    Ok(deleted)
}

pub(super) fn blob_ref_tickets(
    conn: &Connection,
    tenant_id: &str,
    sha256: &str,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ticket_id FROM blob_refs WHERE tenant_id = ?1 AND sha256 = ?2 ORDER BY ticket_id",
    )?;
    let rows = stmt.query_map([tenant_id, sha256], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Inside a push's transaction, after its tickets are written.
pub(super) fn insert_refs(conn: &Connection, tenant_id: &str, refs: &[BlobRef]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO blob_refs (tenant_id, sha256, ticket_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    let mut name = conn.prepare_cached(
        "UPDATE blobs SET named = 1 WHERE tenant_id = ?1 AND sha256 = ?2 AND named = 0",
    )?;
    for r in refs {
        insert.execute([tenant_id, &r.sha256, &r.ticket_id])?;
        name.execute([tenant_id, &r.sha256])?;
    }
    Ok(())
}

/// Drops ticket `ticket_id`'s references to `shas` (erased photos); a blob no ticket names any
/// more is unnamed from now on, for the collector or the erase to remove.
pub(super) fn remove_refs(
    conn: &Connection,
    tenant_id: &str,
    ticket_id: &str,
    shas: &[String],
) -> Result<()> {
    let mut remove = conn.prepare_cached(
        "DELETE FROM blob_refs WHERE tenant_id = ?1 AND sha256 = ?2 AND ticket_id = ?3",
    )?;
    let mut unname = conn.prepare_cached(
        "UPDATE blobs SET named = 0 WHERE tenant_id = ?1 AND sha256 = ?2
             AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant_id = ?1 AND r.sha256 = ?2)",
    )?;
    for sha in shas {
        remove.execute([tenant_id, sha, ticket_id])?;
        unname.execute([tenant_id, sha])?;
    }
    Ok(())
}

impl BlobRecords for SqliteStore {
    fn record_server_blob(&self, blob: &BlobRecord, tenant_limit: u64, at: i64) -> Result<()> {
        self.write(|tx| {
            let stored: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM blobs WHERE tenant_id = ?1 AND sha256 = ?2)",
                )?
                .query_row(params![blob.tenant_id, blob.sha256], |r| r.get(0))?;
            if !stored {
                let own = quotas::tenant_quotas(tx, &blob.tenant_id)?;
                let open_after = blobs::server_blob_open_after(at);
                let tenant = quotas::usage(tx, &blob.tenant_id, None, open_after)?;
                blobs::admit_server_blob(blob, &own, tenant_limit, &tenant)?;
            }
            insert_blob(tx, blob, at)
        })
    }

    fn create_upload(&self, upload: &UploadRecord, limits: &UploadLimits) -> Result<Admission> {
        self.write(|tx| create_upload(tx, upload, limits))
    }

    fn claim_stored_blob(&self, upload: &UploadRecord) -> Result<Claim> {
        self.write(|tx| claim_stored_blob(tx, upload))
    }

    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>> {
        self.with_reader(|conn| upload(conn, upload_id))
    }

    fn open_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Option<UploadRecord>> {
        self.with_reader(|conn| open_upload(conn, device_id, sha256, length))
    }

    fn record_patch(&self, patch: &PatchRecord) -> Result<()> {
        self.write(|tx| record_patch(tx, patch))
    }

    fn uploads_created_before(&self, before: i64, limit: usize) -> Result<Vec<UploadRecord>> {
        self.with_reader(|conn| uploads_created_before(conn, before, limit))
    }

    fn delete_uploads(&self, upload_ids: &[String]) -> Result<()> {
        self.write(|tx| delete_uploads(tx, upload_ids))
    }

    fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
        self.with_reader(|conn| blob(conn, tenant_id, sha256))
    }

    fn blob_ref_tickets(&self, tenant_id: &str, sha256: &str) -> Result<Vec<String>> {
        self.with_reader(|conn| blob_ref_tickets(conn, tenant_id, sha256))
    }

    fn unnamed_blobs(&self, before: i64, limit: usize) -> Result<Vec<BlobRecord>> {
        self.with_reader(|conn| unnamed_blobs(conn, before, limit))
    }

    fn delete_unnamed_blobs(&self, blobs: &[BlobRecord], before: i64) -> Result<Vec<BlobRecord>> {
        self.write(|tx| delete_unnamed_blobs(tx, blobs, before))
    }
}
