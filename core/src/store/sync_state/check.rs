//! Checking tickets listed from the server's summary against their documents
//! (`docs/adr/0018-list-first-check-later.md`). A new ticket in a pull is listed from the
//! summary that came with its snapshot, and its documents are stored as they came, unloaded.
//! Checking one loads its documents, rewrites the index row from them if it differs and records
//! the files they name; a ticket whose documents do not load, break a limit or are filed under
//! another ticket or tenant is removed from the device, as a pull refuses such a snapshot.
//!
//! Anything that loads a listed ticket's documents to change them checks it first
//! ([`settle_now`]), so the row of a ticket that was written since is always from its documents.

use serde::{Deserialize, Serialize};

use rusqlite::Transaction;

use super::super::{Result, StoreError, TicketStore, blobs, persist};
use super::decode::{Decoded, Encoded, load_all};
use crate::ticket::DocumentError;
use fieldwork_protocol::sync::SnapshotSummary;

/// Tickets checked per write transaction: short enough that a help request made meanwhile waits
/// a few milliseconds at most.
pub const CHECK_BATCH: usize = 200;

/// What checking listed tickets did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Tickets whose documents loaded and were compared with their rows.
    pub checked: usize,
    /// Of those, rows that differed from the documents and were rewritten from them.
    pub corrected: usize,
    /// Tickets removed because their documents did not load, broke a limit or were filed under
    /// another ticket or tenant.
    pub dropped: usize,
}

impl CheckReport {
    fn add(&mut self, other: CheckReport) {
        self.checked += other.checked;
        self.corrected += other.corrected;
        self.dropped += other.dropped;
    }
}

impl TicketStore {
    /// How many listed tickets wait to be checked against their documents.
    pub fn unchecked_count(&self) -> Result<usize> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT COUNT(*) FROM unchecked")?
                .query_row([], |r| r.get::<_, i64>(0))? as usize)
        })
    }

    /// Checks every listed ticket waiting for it, [`CHECK_BATCH`] at a time: the documents load
    /// on every core outside the write lock, and each batch is settled in one short
    /// transaction.
    pub fn check_listed(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        loop {
            let batch = self.check_batch(CHECK_BATCH)?;
            if batch.checked + batch.dropped == 0 {
                break;
            }
            report.add(batch);
        }
        if report.corrected + report.dropped > 0 {
            // Files a corrected row no longer names, and a dropped ticket's, go.
            self.collect_garbage()?;
        }
        Ok(report)
    }

    fn check_batch(&self, limit: usize) -> Result<CheckReport> {
        type Stored = (String, Option<Vec<u8>>, Option<Vec<u8>>);
        let stored: Vec<Stored> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT u.ticket_id, p.snapshot, s.snapshot FROM unchecked u
                 LEFT JOIN docs p ON p.ticket_id = u.ticket_id AND p.part = 'public'
                 LEFT JOIN docs s ON s.ticket_id = u.ticket_id AND s.part = 'staff'
                 LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })?;
        // A listed ticket with no public document cannot be: checked, it goes.
        let docs: Vec<Encoded<'_>> = stored
            .iter()
            .filter_map(|(id, public, staff)| {
                Some((id.as_str(), public.as_deref()?, staff.as_deref()))
            })
            .collect();
        let mut loaded = load_all(docs);
        let tenant = self.identity()?.actor.tenant;
        let at = self.clock.now_ms();
        self.write_behind(|tx| {
            let mut report = CheckReport::default();
            for (id, _, _) in &stored {
                let outcome = loaded.remove(id).unwrap_or(Err(StoreError::UnknownTicket));
                settle(tx, &tenant, id, outcome, at, &mut report)?;
            }
            Ok(report)
        })
    }
}

/// Checks ticket `id` now, in this transaction, if it waits for it: before a pulled change or
/// snapshot is merged into its documents.
pub(super) fn settle_now(tx: &Transaction, tenant: &str, id: &str, at: i64) -> Result<()> {
    if !persist::is_unchecked(tx, id)? {
        return Ok(());
    }
    let loaded = persist::load_held(tx, id).and_then(|held| {
        let held = held.ok_or(StoreError::UnknownTicket)?;
        Ok(Decoded {
            view: held.public.view()?,
            doc: held.public,
            staff: held.staff,
        })
    });
    settle(tx, tenant, id, loaded, at, &mut CheckReport::default())
}

/// Settles the check of ticket `id` with its loaded documents: keeps the row if it matches
/// them, rewrites it if not, removes the ticket if they did not load or are someone else's.
fn settle(
    tx: &Transaction,
    tenant: &str,
    id: &str,
    loaded: Result<Decoded>,
    at: i64,
    report: &mut CheckReport,
) -> Result<()> {
    if !persist::set_unchecked(tx, id, false)? {
        // Written since the documents were read (and so checked by whoever wrote it).
        return Ok(());
    }
    let views = loaded.and_then(|decoded| {
        if decoded.view.id != id || decoded.view.tenant != tenant {
            return Err(StoreError::Identity("filed under another ticket".into()));
        }
        Ok((decoded.view.summary(), decoded.full_view()?.summary()))
    });
    let (public, summary) = match views {
        Ok(views) => views,
        Err(e) => {
            let reason = match e {
                StoreError::Document(DocumentError::Limit(_)) => "it is beyond the ticket limits",
                StoreError::Identity(_) => "it is filed under another ticket or tenant",
                StoreError::UnknownTicket => "its document is missing",
                _ => "it is not a ticket document",
            };
            tracing::warn!(
                ticket = id,
                reason,
                "a pulled ticket failed its check and was removed from this device"
            );
            persist::delete_ticket(tx, id)?;
            report.dropped += 1;
            return Ok(());
        }
    };
    report.checked += 1;
    let listed = persist::read_row(tx, id)?;
    let row = SnapshotSummary {
        files: Vec::new(),
        ..summary.clone()
    };
    if listed.as_ref() != Some(&row) {
        // The server summarises the public document; conflicts in the staff document show once
        // checked, which is expected. Anything else means the summary was wrong.
        let expected = SnapshotSummary {
            files: Vec::new(),
            ..public
        };
        if listed.as_ref() != Some(&expected) {
            tracing::warn!(
                ticket = id,
                "a pulled ticket's summary did not match its document; it is listed from the document now"
            );
        }
        persist::write_row(tx, id, &row, at)?;
        report.corrected += 1;
    }
    // The files the documents name, in place of the summary's.
    tx.prepare_cached("DELETE FROM blob_refs WHERE ticket_id = ?1")?
        .execute([id])?;
    blobs::register_files(tx, id, &summary.files, at)
}
