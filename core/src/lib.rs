//! `fieldwork-core`: Fieldwork's ticket logic, and everything a device does without a UI.
//!
//! Always built (what the server shares):
//! - [`model`]: the vocabulary (kinds, statuses, roles), from the wire contract
//!   (`fieldwork-protocol`, re-exported here).
//! - [`ticket`]: one Automerge document per ticket, its typed view, typed edits and its limits.
//! - [`rules`]: the workflow and role rules and the push judgement, pure functions.
//! - [`bundle`]: change bundles for exchanging work without a server.
//! - [`location`]: validation of location fixes and arrival on site.
//! - [`knowledge`]: who reads a knowledge-base article, suggestions for a ticket, excerpts.
//! - [`search`]: search terms for Chinese and English text (full-text indexes and matching).
//! - [`clock`]: the time source, settable in tests.
//! - [`error_kind`]: [`ErrorKind`], how every error is classified for the CLI and the FFI.
//!
//! With the `device` feature (on by default; the server builds without it):
//! - [`store`]: the local SQLite store (documents, outbox, query index, photo files, sync state).
//! - [`migrate`]: the store's SQLite migration runner.
//! - [`photo`]: the photo pipeline (decode, orient, strip metadata, downscale, re-encode, hash).
//! - [`sync`]: the HTTP client, the sync engine and the blob lane, over `fieldwork-protocol`.
//!
//! The layers run one way: model, ticket and rules at the bottom; the store above them; sync on
//! top. Nothing below imports from above.

pub mod bundle;
pub mod clock;
pub mod error_kind;
pub mod knowledge;
pub mod location;
pub use fieldwork_protocol::model;
#[cfg(feature = "device")]
pub mod migrate;
#[cfg(feature = "photo")]
pub mod photo;
pub mod rules;
pub mod search;
#[cfg(feature = "device")]
pub mod store;
#[cfg(feature = "device")]
pub mod sync;
pub mod ticket;

pub use clock::{Clock, SystemClock};
pub use error_kind::ErrorKind;
pub use model::{Actor, Channel, Priority, Role, Status, TicketKind};
#[cfg(feature = "device")]
pub use store::{StoreError, TicketStore};
pub use ticket::{Edit, NewTicket, Ticket, TicketDocument};
