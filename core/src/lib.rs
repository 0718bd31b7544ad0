//! `fieldwork-core`: everything a Fieldwork device does without a UI.
//!
//! - [`model`]: the vocabulary (kinds, statuses, roles).
//! - [`ticket`]: one Automerge document per ticket, its typed view and typed edits.
//! - [`rules`]: the workflow and role rules, pure functions shared with the server.
//! - [`store`]: the local SQLite store (documents, outbox, query index, photo files, sync state).
//! - [`sync`]: the sync protocol's wire types, the HTTP client, the sync engine and the blob lane.
//! - [`bundle`]: change bundles for exchanging work without a server.
//! - [`location`]: validation of location fixes and arrival on site.
//! - [`clock`]: the time source, settable in tests.
//! - [`photo`]: the photo pipeline (decode, orient, strip metadata, downscale, re-encode, hash).
//! - [`search`]: search terms for Chinese and English text (full-text indexes and matching).

pub mod bundle;
pub mod clock;
pub mod location;
pub mod model;
pub mod photo;
pub mod rules;
pub mod search;
pub mod store;
pub mod sync;
pub mod ticket;

pub use clock::{Clock, SystemClock};
pub use model::{Actor, Channel, Priority, Role, Status, TicketKind};
pub use store::{StoreError, TicketStore};
pub use ticket::{Edit, NewTicket, Ticket, TicketDocument};
