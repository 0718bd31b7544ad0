//! What the store keeps of technicians' positions: the last report of each.

use super::Result;

/// A technician's last report (a row of `positions`). Personal data: never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Device time of the fix.
    pub at: i64,
    /// Server time the report arrived.
    pub received_at: i64,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionWrite {
    /// It is now the user's last known position.
    Stored,
    /// The previous report is too recent; try again in this many milliseconds.
    TooSoon { retry_after_ms: i64 },
}

/// Technicians' last known positions. Every method is one transaction.
pub trait PositionLog {
    /// Makes `position` its user's last known one, unless the stored one arrived less than
    /// `min_interval_ms` before it (by `received_at`, server time).
    fn record_position(
        &self,
        position: &PositionRecord,
        min_interval_ms: i64,
    ) -> Result<PositionWrite>;
    /// The last known position of each user of the tenant whose role is technician, by user id.
    fn technician_positions(&self, tenant_id: &str) -> Result<Vec<PositionRecord>>;
}
