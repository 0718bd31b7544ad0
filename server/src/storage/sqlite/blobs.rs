//! The blob lane's rows: `blob_uploads`, `blobs` and `blob_refs`.

use fieldwork_core::sync::blob_protocol::BlobKind;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{seq_of, sql_seq};
use crate::error::Error;
use crate::storage::{
    BlobRecord, BlobRef, PatchRecord, Result, UploadFinish, UploadRecord, UploadState,
};

const UPLOAD_COLUMNS: &str = "id, tenant_id, user_id, device_id, sha256, kind, mime, ticket_id,
    upload_length, upload_offset, state, created_at, patch_requests, bytes_received";

fn upload_at(row: &Row) -> rusqlite::Result<Result<UploadRecord>> {
    let kind: String = row.get(5)?;
    let state: String = row.get(10)?;
    let (Some(kind), Some(state)) = (BlobKind::parse(&kind), UploadState::parse(&state)) else {
        return Ok(Err(Error::Corrupt("an upload's kind or state".into())));
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
    max_open_per_device: usize,
) -> Result<bool> {
    if u.state == UploadState::Uploading {
        let open: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM blob_uploads WHERE device_id = ?1 AND state = 'uploading'",
            )?
            .query_row([&u.device_id], |r| r.get(0))?;
        if usize::try_from(open).unwrap_or(usize::MAX) >= max_open_per_device {
            return Ok(false);
        }
    }
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
    Ok(true)
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
        return Err(Error::Conflict);
    }
    if let Some((from, to)) = p.advance {
        let moved = conn
            .prepare_cached(
                "UPDATE blob_uploads SET upload_offset = ?3
                 WHERE id = ?1 AND upload_offset = ?2 AND state = 'uploading'",
            )?
            .execute(params![p.upload_id, sql_seq(from), sql_seq(to)])?;
        if moved != 1 {
            return Err(Error::Conflict);
        }
    }
    let state = match &p.finish {
        None => return Ok(()),
        Some(UploadFinish::Failed) => UploadState::Failed,
        Some(UploadFinish::Stored(blob)) => {
            insert_blob(conn, blob)?;
            UploadState::Done
        }
    };
    conn.prepare_cached("UPDATE blob_uploads SET state = ?2 WHERE id = ?1")?
        .execute(params![p.upload_id, state.as_str()])?;
    Ok(())
}

fn insert_blob(conn: &Connection, b: &BlobRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blobs (tenant_id, sha256, length, mime, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        b.tenant_id,
        b.sha256,
        sql_seq(b.length),
        b.mime,
        b.created_at
    ])?;
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

pub(super) fn blob(conn: &Connection, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT length, mime, created_at FROM blobs WHERE tenant_id = ?1 AND sha256 = ?2",
        )?
        .query_row([tenant_id, sha256], |r| {
            Ok(BlobRecord {
                tenant_id: tenant_id.to_owned(),
                sha256: sha256.to_owned(),
                length: seq_of(r.get(0)?),
                mime: r.get(1)?,
                created_at: r.get(2)?,
            })
        })
        .optional()?)
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
    for r in refs {
        insert.execute([tenant_id, &r.sha256, &r.ticket_id])?;
    }
    Ok(())
}
