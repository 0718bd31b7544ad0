//! Reports (`docs/reports.md`): what is counted about each ticket ([`facts`]) and the numbers a
//! report works out from those facts for a period ([`metrics`]). Pure functions; the server keeps
//! the facts of every ticket and answers reports from them.

pub mod facts;
pub mod metrics;

pub use facts::TicketFacts;
pub use metrics::{GroupBy, Period, PeriodError, Report, Row, report};
