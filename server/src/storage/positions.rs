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

/// Whether a report `p` comes too soon after the stored one, which arrived at `last_received_at`
/// (server time; `None` when the user has none): [`PositionWrite::TooSoon`] until
/// `min_interval_ms` have passed since it, `None` when `p` may be stored.
pub(crate) fn too_soon(
    last_received_at: Option<i64>,
    p: &PositionRecord,
    min_interval_ms: i64,
) -> Option<PositionWrite> {
    let last = last_received_at?;
    let wait = last.saturating_add(min_interval_ms) - p.received_at;
    (wait > 0).then_some(PositionWrite::TooSoon {
        retry_after_ms: wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_waits_out_the_interval_after_the_last_one() {
        let p = PositionRecord {
            tenant_id: "t".into(),
            user_id: "u".into(),
            lat: 0.0,
            lon: 0.0,
            accuracy_m: None,
            at: 0,
            received_at: 1_000,
        };
        assert_eq!(too_soon(None, &p, 500), None);
        assert_eq!(too_soon(Some(500), &p, 500), None);
        assert_eq!(
            too_soon(Some(700), &p, 500),
            Some(PositionWrite::TooSoon {
                retry_after_ms: 200
            })
        );
        assert!(too_soon(Some(i64::MAX), &p, 500).is_some());
    }
}
