//! What the store keeps of technicians' positions: the last report of each.

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
