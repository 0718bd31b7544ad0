//! `fieldwork-core`: everything a Fieldwork device does without a UI.
//!
//! - [`model`]: the vocabulary (kinds, statuses, roles).
//! - [`ticket`]: one Automerge document per ticket, its typed view and typed edits.
//! - [`rules`]: the workflow and role rules, pure functions shared with the server.
//! - [`store`]: the local SQLite store (documents, outbox, query index).
//! - [`bundle`]: change bundles for exchanging work without a server.
//! - [`location`]: validation of location fixes.
//! - [`photo`]: the photo pipeline (decode, orient, strip metadata, downscale, re-encode, hash).

pub mod bundle;
pub mod clock;
pub mod location;
pub mod model;
pub mod photo;
pub mod rules;
pub mod store;
pub mod sync;
pub mod ticket;

pub use clock::{Clock, SystemClock};
pub use model::{Actor, Channel, Priority, Role, Status, TicketKind};
pub use store::{StoreError, TicketStore};
pub use ticket::{Edit, NewTicket, Ticket, TicketDocument};
