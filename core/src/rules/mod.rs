//! The rules every edit must pass, as plain functions with no I/O: the device checks them before
//! writing, and the server checks them again against the document as the author saw it.
//!
//! [`check_edit`] is the single entry point for changes to an existing ticket and
//! [`check_create`] for new ones; [`can_see`] decides visibility.

pub mod changes;
pub mod imports;
pub mod judge;
pub mod merged;
pub mod roles;
pub mod values;
pub mod workflow;

use crate::location::LocationError;
use crate::model::{Actor, Part, Role, Status, TicketKind};
use crate::ticket::{Edit, NewTicket, Ticket};

pub use roles::{Audience, can_see, sees};

/// Why an edit was refused. Messages name the rule, never the user's data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("a ticket cannot go from {from} to {to}{hint}; allowed next: {allowed}")]
    Transition {
        from: Status,
        to: Status,
        allowed: String,
        hint: &'static str,
    },
    #[error("the ticket is {status}; reopen it first")]
    Finished { status: Status },
    #[error("a {role} may not {action} {reason}")]
    Forbidden {
        role: Role,
        action: &'static str,
        reason: &'static str,
    },
    #[error("a {role} may not create a {kind} ticket")]
    CreateForbidden { role: Role, kind: TicketKind },
    #[error("the ticket belongs to another tenant")]
    OtherTenant,
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("invalid location: {0}")]
    Location(#[from] LocationError),
    #[error("no note with that id on this ticket")]
    UnknownNote,
    #[error("a change that would {edit} belongs in the ticket's {part} document")]
    WrongPart { edit: &'static str, part: Part },
}

/// May `actor` create `new`? Checks the role and every value.
pub fn check_create(actor: &Actor, new: &NewTicket) -> Result<(), Refusal> {
    roles::authorize_create(actor, new.kind)?;
    values::check_new(new)
}

/// May `actor` attach a photo to `ticket` at all? Asked before the photo is processed, so a
/// refusal costs the user no processing time; the attachment itself is judged by [`check_edit`]
/// when it is filed (its values, and whether the ticket has room for it).
pub fn may_attach(actor: &Actor, ticket: &Ticket) -> Result<(), Refusal> {
    if actor.tenant != ticket.tenant {
        return Err(Refusal::OtherTenant);
    }
    roles::may_attach(actor, ticket)
}

/// May `actor` make `edit` on `ticket` (as the actor sees it now)? Checks values, the workflow
/// and the role, in that order, so the message names the most specific problem.
pub fn check_edit(actor: &Actor, ticket: &Ticket, edit: &Edit) -> Result<(), Refusal> {
    if actor.tenant != ticket.tenant {
        return Err(Refusal::OtherTenant);
    }
    values::check_edit(edit)?;
    values::check_room(ticket, edit)?;
    match edit {
        Edit::SetStatus { status } => workflow::check_transition(ticket.status, *status)?,
        Edit::Assign { assignee } => {
            workflow::status_after_assignment(ticket.status, assignee.as_deref())?;
        }
        Edit::RedactNote { note_id } if ticket.note(note_id).is_none() => {
            return Err(Refusal::UnknownNote);
        }
        _ => {}
    }
    roles::authorize(actor, ticket, edit)
}
