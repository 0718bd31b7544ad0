//! Location fixes from the phone's OS: validated before they touch a ticket.
//!
//! Error messages never repeat the coordinates: a position is personal data.

use serde::{Deserialize, Serialize};

/// The worst accuracy we still accept as a position (a fix worse than this is a guess).
pub const MAX_ACCURACY_M: f64 = 50_000.0;

/// One position reading: where, how sure, and when the device took it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Device time of the fix, milliseconds since the Unix epoch.
    pub at: Option<i64>,
}

/// Why a fix was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    #[error("latitude must be a number between -90 and 90")]
    Latitude,
    #[error("longitude must be a number between -180 and 180")]
    Longitude,
    #[error("accuracy must be a positive number of metres no larger than {MAX_ACCURACY_M}")]
    Accuracy,
    #[error("the fix time must be a real time, not before 2000 or in the future")]
    Time,
}

/// 2000-01-01T00:00:00Z in milliseconds; older fixes come from a device with no clock set.
const EARLIEST_FIX_MS: i64 = 946_684_800_000;
/// Device clocks drift; a fix may be this far ahead of ours before we call it wrong.
const FUTURE_TOLERANCE_MS: i64 = 24 * 60 * 60 * 1000;

impl LocationFix {
    /// Checks ranges, accuracy and time against `now_ms` (device time).
    pub fn validate(&self, now_ms: i64) -> Result<(), LocationError> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(LocationError::Latitude);
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(LocationError::Longitude);
        }
        if let Some(acc) = self.accuracy_m
            && (!acc.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&acc))
        {
            return Err(LocationError::Accuracy);
        }
        if let Some(at) = self.at
            && (at < EARLIEST_FIX_MS || at > now_ms.saturating_add(FUTURE_TOLERANCE_MS))
        {
            return Err(LocationError::Time);
        }
        Ok(())
    }
}

/// How close to a site counts as being there, when the site does not say (metres).
pub const DEFAULT_SITE_RADIUS_M: f64 = 150.0;
/// A fix vaguer than this never proves an arrival (a cell-tower fix could be a street away).
pub const MAX_ARRIVAL_ACCURACY_M: f64 = 100.0;
/// The most a site's own uncertainty widens its radius.
const MAX_SITE_SLACK_M: f64 = 100.0;

/// Great-circle distance between two points, in metres (haversine on the mean Earth radius).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// If `fix` puts the device at the site (`site_lat`, `site_lon`, known to within
/// `site_accuracy_m`), how far from its centre it is; `None` if it is outside the radius or the fix
/// is too vague to tell. The radius is [`DEFAULT_SITE_RADIUS_M`] widened by the site's own
/// uncertainty (at most 100 m).
pub fn arrival_distance(
    fix: &LocationFix,
    site_lat: f64,
    site_lon: f64,
    site_accuracy_m: Option<f64>,
) -> Option<f64> {
    if fix.accuracy_m.is_some_and(|a| a > MAX_ARRIVAL_ACCURACY_M) {
        return None;
    }
    let radius =
        DEFAULT_SITE_RADIUS_M + site_accuracy_m.unwrap_or(0.0).clamp(0.0, MAX_SITE_SLACK_M);
    let distance = distance_m((fix.lat, fix.lon), (site_lat, site_lon));
    (distance <= radius).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    fn fix(lat: f64, lon: f64) -> LocationFix {
        LocationFix {
            lat,
            lon,
            accuracy_m: Some(8.0),
            at: Some(NOW),
        }
    }

    #[test]
    fn accepts_the_corners_of_the_world() {
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (31.23, 121.47)] {
            assert_eq!(fix(lat, lon).validate(NOW), Ok(()));
        }
    }

    #[test]
    fn refuses_out_of_range_and_nonsense_without_echoing_it() {
        assert_eq!(fix(91.0, 0.0).validate(NOW), Err(LocationError::Latitude));
        assert_eq!(
            fix(f64::NAN, 0.0).validate(NOW),
            Err(LocationError::Latitude)
        );
        assert_eq!(
            fix(0.0, -180.5).validate(NOW),
            Err(LocationError::Longitude)
        );
        let msg = fix(91.0, 0.0).validate(NOW).unwrap_err().to_string();
        assert!(!msg.contains("91"), "message leaks the coordinate: {msg}");
    }

    #[test]
    fn refuses_bad_accuracy_and_time() {
        let mut f = fix(1.0, 1.0);
        f.accuracy_m = Some(-1.0);
        assert_eq!(f.validate(NOW), Err(LocationError::Accuracy));
        f.accuracy_m = None;
        f.at = Some(0);
        assert_eq!(f.validate(NOW), Err(LocationError::Time));
        f.at = Some(NOW + 2 * FUTURE_TOLERANCE_MS);
        assert_eq!(f.validate(NOW), Err(LocationError::Time));
    }

    #[test]
    fn distances_match_known_values() {
        // One degree of latitude is about 111.2 km everywhere.
        let d = distance_m((0.0, 0.0), (1.0, 0.0));
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
        assert!(distance_m((31.23, 121.47), (31.23, 121.47)) < 1e-6);
    }

    #[test]
    fn an_arrival_needs_a_precise_fix_inside_the_radius() {
        let site = (31.2304, 121.4737);
        let at = |dlat: f64, acc: f64| LocationFix {
            lat: site.0 + dlat,
            lon: site.1,
            accuracy_m: Some(acc),
            at: Some(NOW),
        };
        // ~55 m north: inside.
        let d = arrival_distance(&at(0.0005, 10.0), site.0, site.1, None).expect("inside");
        assert!((50.0..60.0).contains(&d), "{d}");
        // ~220 m north: outside, unless the site itself is known only roughly.
        assert_eq!(
            arrival_distance(&at(0.002, 10.0), site.0, site.1, None),
            None
        );
        assert!(arrival_distance(&at(0.002, 10.0), site.0, site.1, Some(80.0)).is_some());
        // Right on the site, but the fix is a guess.
        assert_eq!(
            arrival_distance(&at(0.0, 500.0), site.0, site.1, None),
            None
        );
    }
}
