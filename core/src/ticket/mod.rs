//! Tickets: one Automerge document each ([`TicketDocument`]), a typed view of it ([`Ticket`])
//! and the typed edits that change it ([`Edit`], [`NewTicket`]).
//!
//! The mapping between document and types is written by hand (see
//! `docs/adr/0001-hand-written-document-mapping.md`): edits touch exactly the keys they own, so
//! keys written by newer app versions survive, and reads see every conflicting value.

mod document;
mod edit;
mod encoded;
pub mod limits;
mod read;
mod view;

pub use automerge::{ActorId, Change, ChangeHash};
pub use document::{DocumentError, SCHEMA_VERSION, TicketDocument};
pub use edit::{ARRIVED_ON_SITE, Edit, NewAttachment, NewTicket};
pub use encoded::{EncodedError, decode_change};
pub use view::{
    Asset, Attachment, ChecklistItem, Conflict, Csat, Customer, Event, Note, PartUsed, Person,
    Site, Sla, Ticket,
};

#[cfg(test)]
mod tests;
