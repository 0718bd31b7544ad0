//! Changes that came in a bundle and that the server has not sent back yet: the device shows
//! their tickets as unverified until it does. A pulled change with the same hash, or a server
//! snapshot that holds it, confirms a change; a snapshot that resets the ticket drops what the
//! server never took.

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::ticket::TicketDocument;

type Result<T> = std::result::Result<T, StoreError>;

/// Records imported changes of `ticket_id` as unverified and updates its index row.
pub(super) fn mark(
    tx: &Transaction,
    ticket_id: &str,
    hashes: &[ChangeHash],
    at: i64,
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO unverified_changes (hash, ticket_id, imported_at) VALUES (?1, ?2, ?3)",
    )?;
    for hash in hashes {
        insert.execute(params![hash.to_string(), ticket_id, at])?;
    }
    refresh_index(tx, ticket_id)
}

/// Whether any ticket waits for confirmation (one cheap read, so a sync round pays nothing
/// more on a device that never imported anything).
pub(super) fn any(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM unverified_changes LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Confirms the changes of `ticket_id` among `hashes` (pulled from the server). Returns whether
/// the ticket's mark changed.
pub(super) fn confirm(tx: &Transaction, ticket_id: &str, hashes: &[ChangeHash]) -> Result<bool> {
    let mut delete =
        tx.prepare_cached("DELETE FROM unverified_changes WHERE hash = ?1 AND ticket_id = ?2")?;
    let mut removed = 0;
    for hash in hashes {
        removed += delete.execute(params![hash.to_string(), ticket_id])?;
    }
    if removed > 0 {
        refresh_index(tx, ticket_id)?;
    }
    Ok(removed > 0)
}

/// Confirms the changes of `ticket_id` that the server's snapshot `server` holds.
pub(super) fn confirm_held(
    tx: &Transaction,
    ticket_id: &str,
    server: &mut TicketDocument,
) -> Result<bool> {
    let held: Vec<ChangeHash> = pending(tx, ticket_id)?
        .into_iter()
        .filter(|hash| server.has_change(hash))
        .collect();
    confirm(tx, ticket_id, &held)
}

/// Forgets every unverified change of `ticket_id`: its document was replaced by the server's,
/// which holds the ones it took and not the others.
pub(super) fn clear(tx: &Transaction, ticket_id: &str) -> Result<bool> {
    let removed = tx
        .prepare_cached("DELETE FROM unverified_changes WHERE ticket_id = ?1")?
        .execute([ticket_id])?;
    if removed > 0 {
        refresh_index(tx, ticket_id)?;
    }
    Ok(removed > 0)
}

/// How many changes of `ticket_id` wait for the server's confirmation (from its index row).
pub(super) fn count(conn: &Connection, ticket_id: &str) -> Result<u32> {
    let n: Option<i64> = conn
        .prepare_cached("SELECT unverified FROM tickets WHERE id = ?1")?
        .query_row([ticket_id], |r| r.get(0))
        .optional()?;
    n.ok_or(StoreError::UnknownTicket)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn pending(conn: &Connection, ticket_id: &str) -> Result<Vec<ChangeHash>> {
    let mut stmt =
        conn.prepare_cached("SELECT hash FROM unverified_changes WHERE ticket_id = ?1")?;
    let hashes: Vec<String> = stmt
        .query_map([ticket_id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    // A row that does not parse names no change any document could hold; it is dropped below
    // with the others when the ticket is reset.
    Ok(hashes.iter().filter_map(|h| h.parse().ok()).collect())
}

fn refresh_index(tx: &Transaction, ticket_id: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE tickets SET unverified =
             (SELECT count(*) FROM unverified_changes WHERE ticket_id = ?1)
         WHERE id = ?1",
    )?
    .execute([ticket_id])?;
    Ok(())
}
