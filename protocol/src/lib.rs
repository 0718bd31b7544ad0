//! `fieldwork-protocol`: the contract between a Fieldwork device and the server, as plain types
//! and functions with no storage, no HTTP client, no image code and no async runtime — so the
//! server links only what it serves, and both sides share one definition.
//!
//! - [`model`]: the ticket vocabulary (kinds, channels, priorities, statuses, roles) and the
//!   [`Actor`] an edit is judged for, spelled as in the ticket document and on the wire.
//! - [`sync`]: the messages of `POST /v1/sync` (one round trip: push the outbox, pull what is
//!   newer than the cursor), login, devices and positions, CBOR-encoded with size limits.
//! - [`knowledge`]: published knowledge-base articles as a sync answer brings them.
//! - [`blobs`]: the blob lane (tus 1.0 uploads and ranged downloads of photos): paths, headers,
//!   upload metadata, blob ids (sha256) and `Range` parsing.
//!
//! The whole protocol is specified in `docs/sync-protocol.md`. One round, as both sides see it:
//!
//! ```
//! use fieldwork_protocol::model::Part;
//! use fieldwork_protocol::sync::{
//!     decode, encode, ByteBuf, PullItem, PushChange, SyncRequest, SyncResponse, PROTOCOL_VERSION,
//! };
//!
//! // The device sends its queued changes and the cursor it has everything up to.
//! let request = SyncRequest {
//!     protocol: PROTOCOL_VERSION,
//!     cursor: 41,
//!     changes: vec![PushChange {
//!         ticket_id: "01a2060f-9315-71b0-ae38-1f1ae6836433".into(),
//!         part: Part::Public, // which of the ticket's two documents (public, staff)
//!         change: ByteBuf::from(vec![0x85, 0x6f, 0x4a, 0x83]), // an Automerge change
//!     }],
//!     wait_ms: 0,
//!     max_bytes: 0,
//!     clock_offset_ms: Some(-1_200), // server time minus device time, as last measured
//!     kb_cursor: Some(7), // how far its copy of the knowledge base goes
//! };
//! let body = encode(&request);
//!
//! // The server refuses wrong versions and oversized requests before looking further…
//! let received = SyncRequest::decode_checked(&body).expect("a well-formed request");
//! assert_eq!(received.cursor, 41);
//!
//! // …judges each change, and answers with what it accepted, what is new since the cursor (in
//! // server order) and the cursor to send next time.
//! let answer = SyncResponse {
//!     server_time: 1_764_489_600_000,
//!     accepted: vec!["9f86d081884c7d65".into()],
//!     rejected: vec![],
//!     items: vec![PullItem::Changes {
//!         ticket_id: "01a2060f-9315-71b0-ae38-1f1ae6836433".into(),
//!         part: Part::Public,
//!         changes: vec![ByteBuf::from(vec![0x85, 0x6f, 0x4a, 0x83])],
//!     }],
//!     cursor: 43,
//!     more: false,
//!     people: vec![], // names of the people on these tickets the device may not know yet
//!     kb: None,       // knowledge-base articles published or withdrawn since `kb_cursor`
//! };
//!
//! // The device drops accepted changes from its outbox, applies the items, stores the cursor.
//! let read: SyncResponse = decode(&encode(&answer)).expect("the server's answer");
//! assert_eq!(read.cursor, 43);
//! assert!(!read.more, "nothing left: the next round may long-poll");
//! ```

pub mod blobs;
pub mod knowledge;
pub mod model;
pub mod sync;

pub use model::{Actor, Channel, Part, Priority, Role, Status, TicketKind, UnknownValue};
