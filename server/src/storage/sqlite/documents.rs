//! A ticket's documents in the `docs` table: the public one as a compacted snapshot followed by
//! the ticket's public changes stored after it (ADR 0020) and the staff one whole; and the summary
//! a pull sends beside them, in `ticket_summaries` (migration 32).

use rusqlite::{OptionalExtension, Transaction, params};

use crate::storage::{Result, StorageError, TicketWrite};

/// The public document of ticket `ticket_id` as Automerge loads it: its snapshot, then the bytes
/// of every public change stored after it, in seq order (`changes_ticket_seq`).
pub(super) fn public_document(
    tx: &Transaction,
    tenant_id: &str,
    ticket_id: &str,
) -> Result<Option<Vec<u8>>> {
    let stored: Option<(Vec<u8>, i64)> = tx
        .prepare_cached(
            "SELECT snapshot, snapshot_seq FROM docs WHERE tenant_id = ?1 AND ticket_id = ?2",
        )?
        .query_row([tenant_id, ticket_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((mut document, snapshot_seq)) = stored else {
        return Ok(None);
    };
    let mut tail = tx.prepare_cached(
        "SELECT bytes FROM changes
         WHERE tenant_id = ?1 AND ticket_id = ?2 AND seq > ?3 AND part = 'public'
         ORDER BY seq",
    )?;
    let mut rows = tail.query(params![tenant_id, ticket_id, snapshot_seq])?;
    while let Some(row) = rows.next()? {
        let change = row
            .get_ref(0)?
            .as_blob()
            .map_err(|_| StorageError::Corrupt("a stored change is not a byte string".into()))?;
        document.extend_from_slice(change);
    }
    Ok(Some(document))
}

/// Writes ticket `t`'s documents as its commit leaves them, `new_last` being its `last_seq`
/// after the commit and `summary` the encoded summary of its public document. The public
/// snapshot moves to `new_last` when the commit compacts it (else the commit's changes follow
/// the stored one); a staff document is written only by commits that changed it; the `docs` row
/// is left alone by a commit that changes neither. The summary has its own row
/// (`ticket_summaries`): every commit rewrites it, and beside the snapshot SQLite would copy the
/// snapshot with it.
pub(super) fn write_documents(
    tx: &Transaction,
    tenant_id: &str,
    t: &TicketWrite,
    new_last: i64,
    summary: Option<Vec<u8>>,
) -> Result<()> {
    match (&t.snapshot, &t.staff_snapshot) {
        (Some(snapshot), _) => tx.prepare_cached(
            "INSERT INTO docs (tenant_id, ticket_id, snapshot, snapshot_seq, staff_snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET snapshot = excluded.snapshot,
                 snapshot_seq = excluded.snapshot_seq,
                 staff_snapshot = COALESCE(excluded.staff_snapshot, staff_snapshot)",
        )?
        .execute(params![tenant_id, t.id, snapshot, new_last, t.staff_snapshot])?,
        // A new ticket whose document did not save keeps its changes after an empty snapshot.
        (None, Some(staff)) => tx.prepare_cached(
            "INSERT INTO docs (tenant_id, ticket_id, snapshot, snapshot_seq, staff_snapshot)
             VALUES (?1, ?2, x'', 0, ?3)
             ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET staff_snapshot = excluded.staff_snapshot",
        )?
        .execute(params![tenant_id, t.id, staff])?,
        (None, None) => tx.prepare_cached(
            "INSERT INTO docs (tenant_id, ticket_id, snapshot, snapshot_seq)
             VALUES (?1, ?2, x'', 0) ON CONFLICT (tenant_id, ticket_id) DO NOTHING",
        )?
        .execute(params![tenant_id, t.id])?,
    };
    match summary {
        Some(summary) => tx
            .prepare_cached(
                "INSERT INTO ticket_summaries (tenant_id, ticket_id, summary) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET summary = excluded.summary",
            )?
            .execute(params![tenant_id, t.id, summary])?,
        // Never a summary of an older document: the ticket is filled in again at start.
        None => tx
            .prepare_cached("DELETE FROM ticket_summaries WHERE tenant_id = ?1 AND ticket_id = ?2")?
            .execute(params![tenant_id, t.id])?,
    };
    Ok(())
}
