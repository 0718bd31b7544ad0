//! The blob lane's rows on PostgreSQL: `blob_uploads`, `blobs` and `blob_refs`, with the quota
//! check at upload creation and the collector's check-and-delete of unnamed blobs.
//!
//! Several server processes write at once. Whatever SQLite's single writer keeps still by
//! itself is locked here:
//! - a write that checks a quota or moves a tenant's stored bytes first locks the tenant's usage
//!   row ([`quotas::lock_tenant_usage`]), so parallel uploads on any process never overshoot;
//! - a PATCH moves an upload's offset only from where it stands (`WHERE upload_offset = from`,
//!   counted), and the upload's row stays locked until the PATCH's transaction ends;
//! - a claim locks the blob's row, so the collector cannot take it in between;
//! - the collector deletes a blob only while it is `NOT named` and unclaimed: a commit that names
//!   it meanwhile sets `named` on the row, which the delete waits for and then sees.
//!
//! Locks are taken in one order: a tenant's usage row, then its `blobs` rows by hash, then its
//! users' usage rows; commits take their tenant's row, then `blobs` rows by hash.

use fieldwork_protocol::blobs::BlobKind;
use tokio_postgres::Row;

use super::db::Db;
use super::{PgStore, quotas};
use crate::storage::{
    Admission, BlobRecord, BlobRecords, BlobRef, Claim, Conflict, PatchRecord, Result,
    StorageError, UploadFinish, UploadLimits, UploadRecord, UploadState, blobs, seq_of, sql_seq,
};

const UPLOAD_COLUMNS: &str = "id, tenant_id, user_id, device_id, sha256, kind, mime, ticket_id,
    upload_length, upload_offset, state, created_at, patch_requests, bytes_received";

fn upload_at(row: &Row) -> Result<UploadRecord> {
    let kind: String = row.try_get(5)?;
    let state: String = row.try_get(10)?;
    let (Some(kind), Some(state)) = (BlobKind::parse(&kind), UploadState::parse(&state)) else {
        return Err(StorageError::Corrupt("an upload's kind or state".into()));
    };
    Ok(UploadRecord {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        device_id: row.try_get(3)?,
        sha256: row.try_get(4)?,
        kind,
        mime: row.try_get(6)?,
        ticket_id: row.try_get(7)?,
        length: seq_of(row.try_get(8)?),
        offset: seq_of(row.try_get(9)?),
        state,
        created_at: row.try_get(11)?,
        patch_requests: seq_of(row.try_get(12)?),
        bytes_received: seq_of(row.try_get(13)?),
    })
}

/// Stores the upload unless a limit refuses it. An upload in progress is admitted under the
/// tenant's usage lock: every count and sum read here stays true until it is inserted.
fn create_upload(db: &Db, u: &UploadRecord, limits: &UploadLimits) -> Result<Admission> {
    if u.state == UploadState::Uploading {
        quotas::lock_tenant_usage(db, &u.tenant_id)?;
        let open: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM blob_uploads WHERE device_id = $1 AND state = 'uploading'",
                &[&u.device_id],
            )?
            .try_get(0)?;
        if let Some(refused) = blobs::device_open_refusal(open, limits) {
            return Ok(refused);
        }
        let open_after = blobs::upload_open_after(u, limits);
        let user = quotas::usage(db, &u.tenant_id, Some(&u.user_id), open_after)?;
        if let Some(refused) = blobs::open_bytes_refusal(u, &user, limits) {
            return Ok(refused);
        }
        let own = quotas::tenant_quotas(db, &u.tenant_id)?;
        let tenant = quotas::usage(db, &u.tenant_id, None, open_after)?;
        if let Some(refused) = blobs::quota_refusal(u, limits, &own, tenant, user) {
            return Ok(refused);
        }
    }
    insert_upload(db, u)?;
    Ok(Admission::Created)
}

fn insert_upload(db: &Db, u: &UploadRecord) -> Result<()> {
    db.execute(
        "INSERT INTO blob_uploads (id, tenant_id, user_id, device_id, sha256, kind, mime, ticket_id,
             upload_length, upload_offset, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        &[
            &u.id,
            &u.tenant_id,
            &u.user_id,
            &u.device_id,
            &u.sha256,
            &u.kind.as_str(),
            &u.mime,
            &u.ticket_id,
            &sql_seq(u.length),
            &sql_seq(u.offset),
            &u.state.as_str(),
            &u.created_at,
        ],
    )?;
    Ok(())
}

/// The blob's row stays locked from the look to the end of the transaction, so the collector
/// cannot delete it between the two.
fn claim_stored_blob(db: &Db, u: &UploadRecord) -> Result<Claim> {
    let Some(row) = db.query_opt(
        "SELECT length FROM blobs WHERE tenant_id = $1 AND sha256 = $2 FOR UPDATE",
        &[&u.tenant_id, &u.sha256],
    )?
    else {
        return Ok(Claim::NotStored);
    };
    if seq_of(row.try_get(0)?) != u.length {
        return Ok(Claim::LengthMismatch);
    }
    db.execute(
        "UPDATE blobs SET claimed_at = GREATEST(claimed_at, $3)
         WHERE tenant_id = $1 AND sha256 = $2",
        &[&u.tenant_id, &u.sha256, &u.created_at],
    )?;
    insert_upload(db, &blobs::claimed_upload(u))?;
    Ok(Claim::Claimed)
}

fn upload(db: &Db, id: &str) -> Result<Option<UploadRecord>> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM blob_uploads WHERE id = $1");
    db.query_opt(&sql, &[&id])?
        .as_ref()
        .map(upload_at)
        .transpose()
}

fn open_upload(
    db: &Db,
    device_id: &str,
    sha256: &str,
    length: u64,
) -> Result<Option<UploadRecord>> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM blob_uploads
         WHERE device_id = $1 AND sha256 = $2 AND upload_length = $3 AND state = 'uploading'
         ORDER BY created_at DESC LIMIT 1"
    );
    db.query_opt(&sql, &[&device_id, &sha256, &sql_seq(length)])?
        .as_ref()
        .map(upload_at)
        .transpose()
}

/// The counters first (which locks the upload's row until the end), then the offset from where
/// it stands, then the end of the upload; any refusal rolls back all of it.
fn record_patch(db: &Db, p: &PatchRecord) -> Result<()> {
    let counted = db.execute(
        "UPDATE blob_uploads SET patch_requests = patch_requests + 1,
             bytes_received = bytes_received + $2, updated_at = $3
         WHERE id = $1",
        &[&p.upload_id, &sql_seq(p.bytes_received), &p.at],
    )?;
    if counted != 1 {
        return Err(Conflict::Moved.into());
    }
    if let Some((from, to)) = p.advance {
        let moved = db.execute(
            "UPDATE blob_uploads SET upload_offset = $3
             WHERE id = $1 AND upload_offset = $2 AND state = 'uploading'",
            &[&p.upload_id, &sql_seq(from), &sql_seq(to)],
        )?;
        if moved != 1 {
            return Err(Conflict::Moved.into());
        }
    }
    let state = match &p.finish {
        None => return Ok(()),
        Some(UploadFinish::Failed) => UploadState::Failed,
        Some(UploadFinish::Stored(blob)) => {
            quotas::lock_tenant_usage(db, &blob.tenant_id)?;
            insert_blob(db, blob, p.at)?;
            UploadState::Done
        }
    };
    db.execute(
        "UPDATE blob_uploads SET state = $2 WHERE id = $1",
        &[&p.upload_id, &state.as_str()],
    )?;
    Ok(())
}

/// Records a blob just moved into place, charged to its uploader; a blob recorded already only
/// has its grace period started again. The caller holds the tenant's usage lock.
fn insert_blob(db: &Db, b: &BlobRecord, at: i64) -> Result<()> {
    // `ON CONFLICT DO NOTHING` waits for a parallel insert of the same blob and then does
    // nothing: the blob is charged once.
    let inserted = db.execute(
        "INSERT INTO blobs (tenant_id, sha256, length, mime, created_at, user_id, claimed_at,
             named)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
             EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant_id = $1 AND r.sha256 = $2))
         ON CONFLICT DO NOTHING",
        &[
            &b.tenant_id,
            &b.sha256,
            &sql_seq(b.length),
            &b.mime,
            &b.created_at,
            &b.user_id,
            &at,
        ],
    )?;
    if inserted == 1 {
        quotas::charge(db, b, 1)?;
    } else {
        db.execute(
            "UPDATE blobs SET claimed_at = GREATEST(claimed_at, $3)
             WHERE tenant_id = $1 AND sha256 = $2",
            &[&b.tenant_id, &b.sha256, &at],
        )?;
    }
    Ok(())
}

fn uploads_created_before(db: &Db, before: i64, limit: usize) -> Result<Vec<UploadRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM blob_uploads WHERE created_at < $1
         ORDER BY created_at, id LIMIT $2"
    );
    db.query(&sql, &[&before, &limit])?
        .iter()
        .map(upload_at)
        .collect()
}

fn delete_uploads(db: &Db, ids: &[String]) -> Result<()> {
    db.execute("DELETE FROM blob_uploads WHERE id = ANY($1)", &[&ids])?;
    Ok(())
}

/// Records a blob the server stored itself, charged to the tenant alone, under the tenant's
/// usage lock so that parallel writers cannot pass its quota together.
fn record_server_blob(db: &Db, blob: &BlobRecord, tenant_limit: u64, at: i64) -> Result<()> {
    quotas::lock_tenant_usage(db, &blob.tenant_id)?;
    let stored = db
        .query_opt(
            "SELECT 1 FROM blobs WHERE tenant_id = $1 AND sha256 = $2",
            &[&blob.tenant_id, &blob.sha256],
        )?
        .is_some();
    if !stored {
        let own = quotas::tenant_quotas(db, &blob.tenant_id)?;
        let open_after = blobs::server_blob_open_after(at);
        let tenant = quotas::usage(db, &blob.tenant_id, None, open_after)?;
        blobs::admit_server_blob(blob, &own, tenant_limit, &tenant)?;
    }
    insert_blob(db, blob, at)
}

const BLOB_COLUMNS: &str = "tenant_id, sha256, length, mime, created_at, user_id";

fn blob_at(r: &Row) -> Result<BlobRecord> {
    Ok(BlobRecord {
        tenant_id: r.try_get(0)?,
        sha256: r.try_get(1)?,
        length: seq_of(r.try_get(2)?),
        mime: r.try_get(3)?,
        created_at: r.try_get(4)?,
        user_id: r.try_get(5)?,
    })
}

fn blob(db: &Db, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
    let sql = format!("SELECT {BLOB_COLUMNS} FROM blobs WHERE tenant_id = $1 AND sha256 = $2");
    db.query_opt(&sql, &[&tenant_id, &sha256])?
        .as_ref()
        .map(blob_at)
        .transpose()
}

fn unnamed_blobs(db: &Db, before: i64, limit: usize) -> Result<Vec<BlobRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // `NOT named` as written, so the partial index `blobs_unnamed` serves it.
    let sql = format!(
        "SELECT {BLOB_COLUMNS} FROM blobs WHERE NOT named AND claimed_at < $1
         ORDER BY claimed_at, tenant_id, sha256 LIMIT $2"
    );
    db.query(&sql, &[&before, &limit])?
        .iter()
        .map(blob_at)
        .collect()
}

/// Inside one transaction: each blob is deleted only if it is still unnamed, no `blob_refs` row
/// names it and nobody claimed it since `before`, and its bytes come off the counters with it.
///
/// The tenants' usage rows are locked first (in id order), then the blobs are taken in
/// (tenant, hash) order, the order commits lock them in too. A commit naming a blob meanwhile
/// holds its row with `named` set: the delete waits for it and then leaves the blob. The
/// deleted ones are returned in the order of `candidates`.
fn delete_unnamed_blobs(
    db: &Db,
    candidates: &[BlobRecord],
    before: i64,
) -> Result<Vec<BlobRecord>> {
    let mut tenants: Vec<&str> = candidates.iter().map(|c| c.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    for tenant_id in tenants {
        quotas::lock_tenant_usage(db, tenant_id)?;
    }
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        (&a.tenant_id, &a.sha256).cmp(&(&b.tenant_id, &b.sha256))
    });
    let mut deleted: Vec<(usize, BlobRecord)> = Vec::new();
    for i in order {
        let c = &candidates[i];
        let gone = db.query_opt(
            "DELETE FROM blobs WHERE tenant_id = $1 AND sha256 = $2 AND claimed_at < $3
                 AND NOT named
                 AND NOT EXISTS (SELECT 1 FROM blob_refs r
                                 WHERE r.tenant_id = $1 AND r.sha256 = $2)
             RETURNING length, user_id",
            &[&c.tenant_id, &c.sha256, &before],
        )?;
        let Some(gone) = gone else {
            // Named meanwhile (or claimed again): keep the flag true to the refs.
            db.execute(
                "UPDATE blobs SET named = TRUE WHERE tenant_id = $1 AND sha256 = $2 AND NOT named
                     AND EXISTS (SELECT 1 FROM blob_refs r
                                 WHERE r.tenant_id = $1 AND r.sha256 = $2)",
                &[&c.tenant_id, &c.sha256],
            )?;
            continue;
        };
        let blob = BlobRecord {
            length: seq_of(gone.try_get(0)?),
            user_id: gone.try_get(1)?,
            ..c.clone()
        };
        quotas::charge(db, &blob, -1)?;
        deleted.push((i, blob));
    }
    deleted.sort_by_key(|(i, _)| *i);
    Ok(deleted.into_iter().map(|(_, blob)| blob).collect())
}

fn blob_ref_tickets(db: &Db, tenant_id: &str, sha256: &str) -> Result<Vec<String>> {
    db.query(
        "SELECT ticket_id FROM blob_refs WHERE tenant_id = $1 AND sha256 = $2 ORDER BY ticket_id",
        &[&tenant_id, &sha256],
    )?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// The distinct hashes of `shas`, in order: blob rows are locked in this order.
fn sorted_hashes<'a>(shas: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut sorted: Vec<&str> = shas.collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Inside a push's transaction, after its tickets are written: records which tickets name which
/// blobs and marks those blobs named (their rows locked in hash order).
pub(super) fn insert_refs(db: &Db, tenant_id: &str, refs: &[BlobRef]) -> Result<()> {
    for r in refs {
        db.execute(
            "INSERT INTO blob_refs (tenant_id, sha256, ticket_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&tenant_id, &r.sha256, &r.ticket_id],
        )?;
    }
    for sha in sorted_hashes(refs.iter().map(|r| r.sha256.as_str())) {
        db.execute(
            "UPDATE blobs SET named = TRUE WHERE tenant_id = $1 AND sha256 = $2 AND NOT named",
            &[&tenant_id, &sha],
        )?;
    }
    Ok(())
}

/// Drops ticket `ticket_id`'s references to `shas` (erased photos); a blob no ticket names any
/// more is unnamed from now on, for the collector or the erase to remove.
pub(super) fn remove_refs(
    db: &Db,
    tenant_id: &str,
    ticket_id: &str,
    shas: &[String],
) -> Result<()> {
    for sha in sorted_hashes(shas.iter().map(String::as_str)) {
        db.execute(
            "DELETE FROM blob_refs WHERE tenant_id = $1 AND sha256 = $2 AND ticket_id = $3",
            &[&tenant_id, &sha, &ticket_id],
        )?;
        db.execute(
            "UPDATE blobs SET named = FALSE WHERE tenant_id = $1 AND sha256 = $2 AND named
                 AND NOT EXISTS (SELECT 1 FROM blob_refs r
                                 WHERE r.tenant_id = $1 AND r.sha256 = $2)",
            &[&tenant_id, &sha],
        )?;
    }
    Ok(())
}

impl BlobRecords for PgStore {
    fn create_upload(&self, upload: &UploadRecord, limits: &UploadLimits) -> Result<Admission> {
        self.write(|db| create_upload(db, upload, limits))
    }

    fn claim_stored_blob(&self, upload: &UploadRecord) -> Result<Claim> {
        self.write(|db| claim_stored_blob(db, upload))
    }

    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>> {
        self.with_reader(|db| upload(db, upload_id))
    }

    fn open_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Option<UploadRecord>> {
        self.with_reader(|db| open_upload(db, device_id, sha256, length))
    }

    fn record_patch(&self, patch: &PatchRecord) -> Result<()> {
        self.write(|db| record_patch(db, patch))
    }

    fn uploads_created_before(&self, before: i64, limit: usize) -> Result<Vec<UploadRecord>> {
        self.with_reader(|db| uploads_created_before(db, before, limit))
    }

    fn delete_uploads(&self, upload_ids: &[String]) -> Result<()> {
        self.write(|db| delete_uploads(db, upload_ids))
    }

    fn record_server_blob(&self, blob: &BlobRecord, tenant_limit: u64, at: i64) -> Result<()> {
        self.write(|db| record_server_blob(db, blob, tenant_limit, at))
    }

    fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
        self.with_reader(|db| blob(db, tenant_id, sha256))
    }

    fn blob_ref_tickets(&self, tenant_id: &str, sha256: &str) -> Result<Vec<String>> {
        self.with_reader(|db| blob_ref_tickets(db, tenant_id, sha256))
    }

    fn unnamed_blobs(&self, before: i64, limit: usize) -> Result<Vec<BlobRecord>> {
        self.with_reader(|db| unnamed_blobs(db, before, limit))
    }

    fn delete_unnamed_blobs(&self, blobs: &[BlobRecord], before: i64) -> Result<Vec<BlobRecord>> {
        self.write(|db| delete_unnamed_blobs(db, blobs, before))
    }
}
