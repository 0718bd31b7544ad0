//! Row-level reads and writes of documents, chunks, the outbox and the query index. Writers take
//! a `&Transaction`, readers a `&Connection`, so every user-visible write is one transaction.

use automerge::{Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::ticket::{Part, Ticket, TicketDocument, compacts};
use fieldwork_protocol::sync::SnapshotSummary;

/// A ticket's documents as this device holds them: the public one, and the staff one when the
/// device's user reads staff data and the ticket has some.
pub(super) struct Held {
    pub public: TicketDocument,
    pub staff: Option<TicketDocument>,
}

impl Held {
    /// The ticket as this device's user reads it: the public view, with the staff document
    /// merged in when held.
    pub fn view(&self) -> Result<Ticket, StoreError> {
        let public = self.public.view()?;
        Ok(match &self.staff {
            Some(staff) => public.with_staff(staff.staff_view()?),
            None => public,
        })
    }

    /// The view after this device's own edits to the ticket whose view was `before`
    /// (`TicketDocument::view_after_own_edits`: no conflicts looked for when it had none).
    pub fn view_after_own_edits(&self, before: &Ticket) -> Result<Ticket, StoreError> {
        let had = !before.conflicts.is_empty();
        let public = self.public.view_after_own_edits(had)?;
        Ok(match &self.staff {
            Some(staff) => public.with_staff(staff.staff_view_after_own_edits(had)?),
            None => public,
        })
    }

    /// [`Self::view_after_own_edits`] after one own `change` to document `part`: a note appended
    /// to a ticket without staff data is read on its own
    /// (`TicketDocument::view_after_own_change`).
    pub fn view_after_own_change(
        &self,
        before: &Ticket,
        part: Part,
        change: &Change,
    ) -> Result<Ticket, StoreError> {
        if part == Part::Public && self.staff.is_none() {
            return Ok(self.public.view_after_own_change(before, change)?);
        }
        self.view_after_own_edits(before)
    }

    /// The document `part` of the ticket: the staff one starts from its genesis, authored by
    /// `actor` (the device's first staff edit of this ticket).
    /// The staff document's edits name the public heads they were made against.
    pub fn part_mut(&mut self, part: Part, actor: &crate::ticket::ActorId) -> &mut TicketDocument {
        match part {
            Part::Public => &mut self.public,
            Part::Staff => {
                let seen = self.public.heads();
                let staff = self
                    .staff
                    .get_or_insert_with(|| TicketDocument::staff(actor.clone()));
                staff.seen_public(seen);
                staff
            }
        }
    }
}

/// Loads both documents of a ticket, or `None` if the store does not have it.
pub(super) fn load_held(conn: &Connection, id: &str) -> Result<Option<Held>, StoreError> {
    let Some(public) = load_doc(conn, id, Part::Public)? else {
        return Ok(None);
    };
    Ok(Some(Held {
        public,
        staff: load_doc(conn, id, Part::Staff)?,
    }))
}

/// The view of ticket `id` as [`Held::view`] reads it, or `None` if the store does not have it.
pub(super) fn load_view(conn: &Connection, id: &str) -> Result<Option<Ticket>, StoreError> {
    load_held(conn, id)?.map(|held| held.view()).transpose()
}

/// Loads one document of a ticket (snapshot plus chunks), or `None` if the store does not have
/// it.
pub(super) fn load_doc(
    conn: &Connection,
    id: &str,
    part: Part,
) -> Result<Option<TicketDocument>, StoreError> {
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT snapshot FROM docs WHERE ticket_id = ?1 AND part = ?2")?
        .query_row(params![id, part.as_str()], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut doc = TicketDocument::load_part(part, &snapshot)?;
    let mut stmt = conn.prepare_cached(
        "SELECT chunk FROM doc_chunks WHERE ticket_id = ?1 AND part = ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![id, part.as_str()])?;
    while let Some(row) = rows.next()? {
        let chunk: Vec<u8> = row.get(0)?;
        doc.load_incremental(&chunk)?;
    }
    Ok(Some(doc))
}

/// Stores a brand-new document as its first snapshot.
pub(super) fn insert_doc(
    tx: &Transaction,
    id: &str,
    doc: &mut TicketDocument,
) -> Result<(), StoreError> {
    let snapshot = doc.save();
    let heads = doc.heads();
    insert_doc_bytes(tx, id, doc.part(), &snapshot, &heads)
}

/// Stores `doc` as it is now: a new document, or what it gained since `before` (the heads it
/// had when loaded; `None` for a document the store does not have yet).
pub(super) fn store_doc(
    tx: &Transaction,
    id: &str,
    doc: &mut TicketDocument,
    before: Option<&[ChangeHash]>,
) -> Result<(), StoreError> {
    match before {
        Some(before) => append_doc(tx, id, doc, before),
        None => insert_doc(tx, id, doc),
    }
}

/// Stores a brand-new document from bytes Automerge can load: a saved document, or (on the
/// help-request path, to skip a save) the raw bytes of its creation change.
pub(super) fn insert_doc_bytes(
    tx: &Transaction,
    id: &str,
    part: Part,
    bytes: &[u8],
    heads: &[ChangeHash],
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO docs (ticket_id, part, snapshot, heads, chunks) VALUES (?1, ?2, ?3, ?4, 0)",
    )?
    .execute(params![id, part.as_str(), bytes, encode_heads(heads)])?;
    Ok(())
}

/// Appends what changed since `before` to a stored document, compacting when its chunks would
/// be due ([`crate::ticket::compacts`]).
pub(super) fn append_doc(
    tx: &Transaction,
    id: &str,
    doc: &mut TicketDocument,
    before: &[ChangeHash],
) -> Result<(), StoreError> {
    let heads = doc.heads();
    if heads == before {
        return Ok(());
    }
    let part = doc.part().as_str();
    let chunks: i64 = tx
        .prepare_cached("SELECT chunks FROM docs WHERE ticket_id = ?1 AND part = ?2")?
        .query_row(params![id, part], |r| r.get(0))?;
    if compacts(
        doc.changes(),
        u64::try_from(chunks + 1).unwrap_or(u64::MAX),
        id,
    ) {
        return rewrite_snapshot(tx, id, doc);
    }
    tx.prepare_cached("INSERT INTO doc_chunks (ticket_id, part, chunk) VALUES (?1, ?2, ?3)")?
        .execute(params![id, part, doc.save_after(before)])?;
    tx.prepare_cached(
        "UPDATE docs SET heads = ?3, chunks = chunks + 1 WHERE ticket_id = ?1 AND part = ?2",
    )?
    .execute(params![id, part, encode_heads(&heads)])?;
    Ok(())
}

/// Replaces snapshot and chunks with one compact snapshot.
pub(super) fn rewrite_snapshot(
    tx: &Transaction,
    id: &str,
    doc: &mut TicketDocument,
) -> Result<(), StoreError> {
    let heads = encode_heads(&doc.heads());
    let part = doc.part().as_str();
    tx.prepare_cached(
        "UPDATE docs SET snapshot = ?3, heads = ?4, chunks = 0 WHERE ticket_id = ?1 AND part = ?2",
    )?
    .execute(params![id, part, doc.save(), heads])?;
    tx.prepare_cached("DELETE FROM doc_chunks WHERE ticket_id = ?1 AND part = ?2")?
        .execute(params![id, part])?;
    Ok(())
}

/// Replaces a stored document with `doc` (the server's version after a refusal), or stores it
/// if the device did not have this part yet.
pub(super) fn replace_doc(
    tx: &Transaction,
    id: &str,
    doc: &mut TicketDocument,
) -> Result<(), StoreError> {
    if holds(tx, id, doc.part())? {
        rewrite_snapshot(tx, id, doc)
    } else {
        insert_doc(tx, id, doc)
    }
}

/// Removes a ticket from this device: both documents, chunks and index row.
pub(super) fn delete_ticket(tx: &Transaction, id: &str) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM doc_chunks WHERE ticket_id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM docs WHERE ticket_id = ?1")?
        .execute([id])?;
    let rowid: Option<i64> = tx
        .prepare_cached("DELETE FROM tickets WHERE id = ?1 RETURNING rowid")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(rowid) = rowid {
        super::search_index::forget(tx, rowid)?;
    }
    tx.prepare_cached("DELETE FROM unverified_changes WHERE ticket_id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM unchecked WHERE ticket_id = ?1")?
        .execute([id])?;
    // Its files stay until garbage collection finds no other ticket naming them.
    tx.prepare_cached("DELETE FROM blob_refs WHERE ticket_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Queues a change made on this device to document `part` of ticket `id` for the server.
pub(super) fn push_outbox(
    tx: &Transaction,
    id: &str,
    part: Part,
    change: &Change,
    at: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO outbox (hash, ticket_id, part, change, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        change.hash().to_string(),
        id,
        part.as_str(),
        change.raw_bytes(),
        at
    ])?;
    Ok(())
}

/// Rewrites a ticket's index row from its view, and notes the files its attachments name. The
/// view was read from the documents, so the row is checked from now on.
pub(super) fn upsert_index(tx: &Transaction, ticket: &Ticket, at: i64) -> Result<(), StoreError> {
    let summary = ticket.summary();
    write_row(tx, &ticket.id, &summary, at)?;
    set_unchecked(tx, &ticket.id, false)?;
    super::blobs::register_files(tx, &ticket.id, &summary.files, at)
}

/// Marks ticket `id`'s index row as written from the server's summary, not yet checked against
/// its documents (`docs/adr/0018-list-first-check-later.md`), or as checked. Returns whether the
/// mark changed.
pub(super) fn set_unchecked(
    tx: &Transaction,
    id: &str,
    unchecked: bool,
) -> Result<bool, StoreError> {
    let sql = if unchecked {
        "INSERT OR IGNORE INTO unchecked (ticket_id) VALUES (?1)"
    } else {
        "DELETE FROM unchecked WHERE ticket_id = ?1"
    };
    Ok(tx.prepare_cached(sql)?.execute([id])? > 0)
}

/// Whether ticket `id`'s index row waits to be checked against its documents.
pub(super) fn is_unchecked(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM unchecked WHERE ticket_id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether the store holds document `part` of ticket `id`.
pub(super) fn holds(conn: &Connection, id: &str, part: Part) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM docs WHERE ticket_id = ?1 AND part = ?2")?
        .query_row(params![id, part.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Writes ticket `id`'s index row from `summary` (its files are not the row's: see
/// [`super::blobs::register_files`]). Every write takes the next `updated_seq`.
pub(super) fn write_row(
    tx: &Transaction,
    id: &str,
    summary: &SnapshotSummary,
    at: i64,
) -> Result<(), StoreError> {
    let seq: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(updated_seq), 0) + 1 FROM tickets")?
        .query_row([], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO tickets (id, number, kind, status, priority, priority_rank, assignee, category,
             title, reporter_id, created_at, updated_at, updated_seq, sla_due_key, lat, lon, conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT(id) DO UPDATE SET
             number = excluded.number, kind = excluded.kind, status = excluded.status,
             priority = excluded.priority, priority_rank = excluded.priority_rank,
             assignee = excluded.assignee, category = excluded.category, title = excluded.title,
             updated_at = excluded.updated_at, updated_seq = excluded.updated_seq,
             sla_due_key = excluded.sla_due_key, lat = excluded.lat, lon = excluded.lon,
             conflicts = excluded.conflicts",
    )?
    .execute(params![
        id,
        summary.number,
        summary.kind.as_str(),
        summary.status.as_str(),
        summary.priority.as_str(),
        summary.priority.rank(),
        summary.assignee,
        summary.category,
        summary.title,
        summary.reporter_id,
        summary.created_at,
        at,
        seq,
        summary.due.unwrap_or(i64::MAX),
        summary.site.map(|s| s.0),
        summary.site.map(|s| s.1),
        i64::from(summary.conflicts),
    ])?;
    Ok(())
}

/// Ticket `id`'s index row as a summary (with no files), or `None` if the store does not list it.
pub(super) fn read_row(conn: &Connection, id: &str) -> Result<Option<SnapshotSummary>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, kind, status, priority, assignee, category, title, reporter_id,
                 created_at, sla_due_key, lat, lon, conflicts
             FROM tickets WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let due: i64 = r.get(9)?;
            let (lat, lon): (Option<f64>, Option<f64>) = (r.get(10)?, r.get(11)?);
            Ok(SnapshotSummary {
                number: r.get(0)?,
                kind: vocabulary(r, 1)?,
                status: vocabulary(r, 2)?,
                priority: vocabulary(r, 3)?,
                assignee: r.get(4)?,
                category: r.get(5)?,
                title: r.get(6)?,
                reporter_id: r.get(7)?,
                created_at: r.get(8)?,
                due: (due != i64::MAX).then_some(due),
                site: lat.zip(lon),
                conflicts: u32::try_from(r.get::<_, i64>(12)?).unwrap_or(u32::MAX),
                files: Vec::new(),
            })
        })
        .optional()?)
}

/// Column `i` of `row`, spelled as one of a closed vocabulary (a kind, a status, a priority).
fn vocabulary<T>(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = crate::model::UnknownValue>,
{
    row.get::<_, String>(i)?.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}
