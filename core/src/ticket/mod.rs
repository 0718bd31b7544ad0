//! Tickets: two Automerge documents each ([`TicketDocument`], one per [`Part`]: the public one
//! and the staff companion, `docs/staff-data.md`), a typed view of them ([`Ticket`], merged from
//! the public document and, for staff, the [`StaffView`]) and the typed edits that change them
//! ([`Edit`], [`NewTicket`]).
//!
//! The mapping between document and types is written by hand (see
//! `docs/adr/0001-hand-written-document-mapping.md`): edits touch exactly the keys they own, so
//! keys written by newer app versions survive, and reads see every conflicting value.

mod appended;
mod compaction;
mod document;
mod edit;
mod encoded;
pub mod limits;
mod read;
pub mod rewrite;
mod server_edit;
mod summary;
mod tip;
mod view;
mod walk;
mod write;

pub use crate::model::Part;
pub use automerge::{ActorId, Change, ChangeHash};
pub use compaction::compacts;
pub use document::{
    DocumentError, SCHEMA_VERSION, STAFF_GENESIS_ACTOR, STAFF_SCHEMA_VERSION, TicketDocument,
    seen_public_heads,
};
pub use edit::{ARRIVED_ON_SITE, Edit, NewAttachment, NewTicket};
pub use encoded::{EncodedError, decode_change};
pub use server_edit::ServerBatch;
pub use tip::Tip;
pub use view::{
    AlertFold, Asset, AssetHistoryEntry, Attachment, ChecklistItem, Conflict, Csat, Customer,
    Event, Note, PartUsed, Person, Site, Sla, StaffView, Ticket,
};

#[cfg(test)]
mod change_checks_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
