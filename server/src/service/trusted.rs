//! Applying a change the server wrote itself (the brain, intake): no role rule applies — the
//! server may write what it owns (number, SLA, its own events) — but the change must still be
//! one the store can keep: it builds on what is stored, keeps the ticket within its limits, and
//! leaves a document that saves and loads back. Plain functions over a document and a change.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fieldwork_core::rules::judge::Refused;
use fieldwork_core::ticket::limits;
use fieldwork_core::ticket::{ActorId, Change, DocumentError, Part, Ticket, TicketDocument};
use fieldwork_protocol::sync::RejectCode;

fn refused(code: RejectCode, message: &str) -> Refused {
    Refused {
        code,
        message: message.to_owned(),
    }
}

fn unusable(error: &DocumentError, message: &str) -> Refused {
    let code = match error {
        DocumentError::Limit(_) => RejectCode::TooLarge,
        _ => RejectCode::Malformed,
    };
    refused(code, message)
}

/// Automerge panics on some inputs it should refuse; the server's own change is no exception.
fn guarded<T>(work: impl FnOnce() -> Result<T, Refused>) -> Result<T, Refused> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        tracing::error!("applying a server-authored change panicked inside Automerge");
        Err(refused(
            RejectCode::Malformed,
            "the change cannot be applied to the ticket safely",
        ))
    })
}

/// The document as the store keeps it must load back ([`TicketDocument::storable`]).
fn storable(doc: &mut TicketDocument) -> Result<(), Refused> {
    if doc.storable() {
        return Ok(());
    }
    Err(refused(
        RejectCode::Malformed,
        "the change leaves a ticket that cannot be stored",
    ))
}

/// A server-authored change that creates ticket `ticket_id`: the new document (authored further
/// by `doc_actor`) and its view.
pub(crate) fn server_creation(
    ticket_id: &str,
    change: &Change,
    doc_actor: ActorId,
) -> Result<(TicketDocument, Ticket), Refused> {
    guarded(|| {
        if !change.deps().is_empty() {
            return Err(refused(
                RejectCode::MissingDependencies,
                "the change builds on changes the server does not have",
            ));
        }
        let mut doc = TicketDocument::empty(Part::Public, doc_actor);
        const NOT_A_TICKET: &str = "the change does not make a ticket";
        doc.apply_changes(vec![change.clone()])
            .map_err(|e| unusable(&e, NOT_A_TICKET))?;
        let view = doc.view().map_err(|e| unusable(&e, NOT_A_TICKET))?;
        if view.id != ticket_id {
            return Err(refused(
                RejectCode::Malformed,
                "the change is filed under the wrong ticket",
            ));
        }
        doc.check_limits(true)
            .map_err(|e| unusable(&e, NOT_A_TICKET))?;
        Ok((doc, view))
    })
}

/// A server-authored change to `doc` (either document of a ticket): applied if it builds on what
/// is stored and the document stays within its limits; returns the new view of a public
/// document (`None` for a staff one). On refusal `doc` is unchanged.
pub(crate) fn server_edit(
    doc: &mut TicketDocument,
    change: &Change,
) -> Result<Option<Ticket>, Refused> {
    guarded(|| {
        if change.deps().is_empty() {
            return Err(refused(
                RejectCode::Forbidden,
                "the ticket exists already; a change to it must build on it",
            ));
        }
        if change.deps().iter().any(|dep| !doc.has_change(dep)) {
            return Err(refused(
                RejectCode::MissingDependencies,
                "the change builds on changes the server does not have",
            ));
        }
        limits::check_ticket_size(
            doc.ops() + change.len() as u64,
            doc.history_bytes() + change.raw_bytes().len(),
        )
        .and_then(|()| limits::check_change_count(doc.changes() + 1))
        .map_err(|e| unusable(&DocumentError::Limit(e), "the ticket is full"))?;
        if change.seq() != doc.changes_by(change.actor_id()) + 1 {
            return Err(refused(
                RejectCode::Malformed,
                "the change's sequence number does not follow the server's previous change",
            ));
        }
        const UNREADABLE: &str = "the change does not leave a readable ticket";
        let mut next = doc.fork();
        next.apply_changes(vec![change.clone()])
            .map_err(|e| unusable(&e, UNREADABLE))?;
        next.check_limits(true)
            .map_err(|e| unusable(&e, UNREADABLE))?;
        let view = match next.part() {
            Part::Public => Some(next.view().map_err(|e| unusable(&e, UNREADABLE))?),
            Part::Staff => {
                next.staff_view().map_err(|e| unusable(&e, UNREADABLE))?;
                None
            }
        };
        storable(&mut next)?;
        *doc = next;
        Ok(view)
    })
}
