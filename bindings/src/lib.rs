//! `fieldwork-ffi`: the UniFFI facade that makes `fieldwork-core` usable from Android (Kotlin),
//! iOS (Swift) and Python. Thin wrappers only — no business logic lives here.
//!
//! - [`client`]: [`FieldworkClient`], one device opened on a data directory; every operation.
//! - [`ticket`], [`knowledge`], [`model`], [`sync`]: records and enums mirroring the core's types.
//! - [`observe`]: observers the app implements, and the [`Subscription`] that keeps them.
//! - [`error`]: [`FieldworkError`], the one error apps see, converted from core errors in one place.
//!
//! Bindings are generated from the built library by `scripts/bindings.sh`; see `bindings/README.md`.

pub mod client;
pub mod error;
pub mod knowledge;
pub mod model;
pub mod observe;
pub mod sync;
pub mod ticket;

pub use client::FieldworkClient;
pub use error::FieldworkError;
pub use observe::{Subscription, SyncStatusObserver, TicketObserver};

uniffi::setup_scaffolding!();
