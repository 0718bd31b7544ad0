//! The service brain of Fieldwork as pure functions: the tenant's configuration, business
//! calendars, SLA clocks, classification, routing and automation rules. No I/O, no clock: the
//! server hands in tickets, times and state, and gets back [`Decisions`] as plain values that it
//! writes as one server-authored Automerge change (docs/brain.md, docs/adr/0008-service-brain.md).
//!
//! ```no_run
//! use fieldwork_brain::{Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
//! # fn ticket() -> fieldwork_core::ticket::Ticket { unimplemented!() }
//! let config = TenantConfig::from_toml(r#"
//!     [[sla_policies]]
//!     name = "standard"
//!     first_response_minutes = 60
//!     resolution_minutes = 480
//! "#)?;
//! let brain = Brain::new(config);
//! let ctx = Context {
//!     times: &EffectiveTimes::device_clocks(),
//!     routing: &RoutingState::default(),
//!     reporter_history: &[],
//! };
//! let decisions = brain.on_new_ticket(&ticket(), &ctx, 1_795_400_100_000);
//! # Ok::<(), fieldwork_brain::ConfigError>(())
//! ```

pub mod actions;
mod brain;
pub mod calendar;
pub mod classify;
pub mod config;
pub mod decisions;
pub mod facts;
pub mod instant;
pub mod report;
pub mod routing;
pub mod rules;
pub mod schedule;
pub mod sla;
pub mod sla_timeline;
pub mod text;
pub mod timeline;
pub mod write;

pub use brain::{Brain, Context};
pub use config::{ConfigError, NotificationSettings, Problem, TenantConfig};
pub use decisions::{BRAIN_ACTOR, Decisions, SlaFields};
pub use routing::{RoundRobinState, RoutingOutcome, RoutingState, TurnTaken};
pub use schedule::{TimedAction, TimedKind};
pub use sla::SlaState;
pub use timeline::{EffectiveTimes, Timeline, effective_time};
