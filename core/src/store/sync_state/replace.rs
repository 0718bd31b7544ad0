//! Taking the server's rewrite of a ticket after an erase (`docs/staff-data.md`, "Erase"; ADR
//! 0011): the device's copy holds a history the server no longer has, so it is replaced — not
//! merged — and the device's unsent changes are carried over onto the rewrite by path
//! (`ticket::rewrite::rebase`), dropping what touches erased content. The outbox then holds the
//! carried changes in place of the old ones; the old documents are deleted (the database zeroes
//! what it deletes) and the caller scrubs the write-ahead log and removes the files of erased
//! photos.

use rusqlite::{Transaction, params};

use super::{Decoded, pending_changes};
use crate::model::Erasure;
use crate::store::{Result, TicketStore, persist, unverified};
use crate::ticket::{Change, Part, TicketDocument, rewrite};

impl TicketStore {
    /// Replaces ticket `id` with `server` (a rewrite naming `erased`) if the device's copy
    /// predates it, carrying unsent changes over. Returns false, changing nothing, when the
    /// device does not hold the ticket or its copy already builds on the rewrite (then the
    /// snapshot merges as any other).
    pub(super) fn replace_after_erase(
        &self,
        tx: &Transaction,
        id: &str,
        server: &mut Decoded,
        erased: &[Erasure],
        at: i64,
    ) -> Result<bool> {
        // A kept copy holds what was erased: it goes now, whatever follows.
        self.held.forget(id);
        let Some(mut held) = persist::load_held(tx, id)? else {
            return Ok(false);
        };
        let identity = self.identity()?;
        let actor = TicketStore::actor_id(&identity)?;
        let pending_public = pending_changes(tx, id, Part::Public)?;
        let pending_staff = pending_changes(tx, id, Part::Staff)?;
        let reads_staff = identity.actor.role.reads_staff_data();
        let public_predates = rewrite::predates(&mut held.public, &pending_public, &mut server.doc);
        let staff_predates = match (&mut held.staff, &mut server.staff) {
            (Some(local), Some(new)) if reads_staff => {
                rewrite::predates(local, &pending_staff, new)
            }
            _ => false,
        };
        if !public_predates && !staff_predates {
            return Ok(false);
        }
        let mut public = std::mem::replace(
            &mut server.doc,
            TicketDocument::empty(Part::Public, actor.clone()),
        );
        public.set_actor(actor.clone());
        take_part(
            tx,
            id,
            &mut held.public,
            &mut public,
            &pending_public,
            erased,
            public_predates,
            at,
        )?;
        let staff = match (held.staff.as_mut(), server.staff.take()) {
            (Some(local), Some(mut new)) if reads_staff => {
                new.set_actor(actor.clone());
                new.seen_public(public.heads());
                take_part(
                    tx,
                    id,
                    local,
                    &mut new,
                    &pending_staff,
                    erased,
                    staff_predates,
                    at,
                )?;
                Some(new)
            }
            (None, Some(mut new)) if reads_staff => {
                persist::replace_doc(tx, id, &mut new)?;
                Some(new)
            }
            // The server holds no staff data for the ticket: what the device has is its own.
            (Some(_), None) => held.staff.take(),
            _ => None,
        };
        // Bundle-imported changes the server never confirmed were built on the old history.
        unverified::clear(tx, id)?;
        // The ticket names its files again below, without the erased photos.
        tx.prepare_cached("DELETE FROM blob_refs WHERE ticket_id = ?1")?
            .execute([id])?;
        let view = match &staff {
            Some(staff) => public.view()?.with_staff(staff.staff_view()?),
            None => public.view()?,
        };
        persist::upsert_index(tx, &view, at)?;
        tracing::info!(
            ticket = id,
            "a ticket rewritten after an erase replaced this device's copy"
        );
        Ok(true)
    }
}

/// Remembers the hashes of the changes `local` holds that `new` (the rewrite) does not: an import
/// leaves them out from now on (`store::exchange`).
fn forget_old_history(
    tx: &Transaction,
    id: &str,
    local: &mut TicketDocument,
    new: &mut TicketDocument,
) -> Result<()> {
    let mut remember = tx.prepare_cached(
        "INSERT OR IGNORE INTO forgotten_changes (ticket_id, hash) VALUES (?1, ?2)",
    )?;
    for change in local.changes_since(&[]) {
        if !new.has_change(&change.hash()) {
            remember.execute(params![id, change.hash().to_string()])?;
        }
    }
    Ok(())
}

/// Takes `new`, the server's version of one document of ticket `id`, in place of `local`:
/// replacing it and carrying `pending` over when `local` predates it, merging otherwise.
#[allow(clippy::too_many_arguments)]
fn take_part(
    tx: &Transaction,
    id: &str,
    local: &mut TicketDocument,
    new: &mut TicketDocument,
    pending: &[Change],
    erased: &[Erasure],
    predates: bool,
    at: i64,
) -> Result<()> {
    if predates {
        forget_old_history(tx, id, local, new)?;
        let carried = rewrite::rebase(local, pending, new, erased, at)?;
        let part = new.part();
        tx.prepare_cached("DELETE FROM outbox WHERE ticket_id = ?1 AND part = ?2")?
            .execute(params![id, part.as_str()])?;
        for change in &carried {
            persist::push_outbox(tx, id, part, change, at)?;
        }
    } else {
        new.merge(local)?;
    }
    persist::replace_doc(tx, id, new)
}
