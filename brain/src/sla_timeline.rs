//! A ticket's SLA as a timeline: each clock's time from its anchor to when it was met (or to its
//! due time, or now if later) cut into stretches — running (the calendar open, the ticket not
//! paused), paused (a pause status, or resolved before a reopen for the resolution clock) and
//! closed (outside business hours) — so a supervisor sees why a ticket is due when it is. The
//! stretches after now assume the ticket stays as it is, which is how the due time is computed.

use serde::Serialize;

use crate::calendar::{BusinessCalendar, Pauses};
use crate::sla::{Clock, SlaState};

/// Most stretches shown for one clock: a month of weekdays with a lunch break is ~90. A clock
/// with more shows the first ones and says it was cut.
pub const MAX_STRETCHES: usize = 200;

/// What a clock did during a stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StretchKind {
    Running,
    Paused,
    Closed,
}

impl StretchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StretchKind::Running => "running",
            StretchKind::Paused => "paused",
            StretchKind::Closed => "closed",
        }
    }
}

/// `[from, until)` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stretch {
    pub from: i64,
    pub until: i64,
    pub kind: StretchKind,
}

/// One clock with its stretches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockTimeline {
    #[serde(flatten)]
    pub clock: Clock,
    pub stretches: Vec<Stretch>,
    /// More stretches than [`MAX_STRETCHES`]: the rest are not listed.
    pub truncated: bool,
}

/// A ticket's SLA as a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaTimeline {
    pub policy: String,
    pub calendar: String,
    /// The calendar's time zone (IANA name).
    pub time_zone: String,
    pub paused: bool,
    pub now: i64,
    pub clocks: Vec<ClockTimeline>,
}

/// The timeline of `state`, whose clocks run on `calendar`, as of `now`.
pub fn timeline(calendar: &BusinessCalendar, state: &SlaState, now: i64) -> SlaTimeline {
    let clocks = state
        .clocks()
        .map(|clock| {
            let pauses = match clock.target {
                crate::sla::Target::Resolution => &state.resolution_pauses,
                _ => &state.pauses,
            };
            let until = clock
                .met_at
                .unwrap_or_else(|| clock.due.map_or(now, |due| due.max(now)));
            let (stretches, truncated) = stretches(calendar, pauses, clock.anchor, until);
            ClockTimeline {
                clock: clock.clone(),
                stretches,
                truncated,
            }
        })
        .collect();
    SlaTimeline {
        policy: state.policy.clone(),
        calendar: calendar.name().to_owned(),
        time_zone: calendar.time_zone().iana_name().unwrap_or("UTC").to_owned(),
        paused: state.paused,
        now,
        clocks,
    }
}

/// `[from, until)` cut into running, paused and closed stretches; whether it was cut short at
/// [`MAX_STRETCHES`]. Where the calendar is closed during a pause, the stretch is paused: the
/// pause is what the supervisor can act on.
pub fn stretches(
    calendar: &BusinessCalendar,
    pauses: &Pauses,
    from: i64,
    until: i64,
) -> (Vec<Stretch>, bool) {
    let mut out = Stretches::default();
    if until <= from {
        return (out.list, false);
    }
    let mut at = from;
    for (start, end) in calendar.working(from, pauses) {
        if start >= until || out.full() {
            break;
        }
        out.idle(pauses, at, start);
        out.push(start, end.min(until), StretchKind::Running);
        at = end.min(until);
        if at >= until {
            break;
        }
    }
    out.idle(pauses, at, until);
    let truncated = out.cut;
    (out.list, truncated)
}

#[derive(Default)]
struct Stretches {
    list: Vec<Stretch>,
    cut: bool,
}

impl Stretches {
    fn full(&self) -> bool {
        self.list.len() >= MAX_STRETCHES
    }

    fn push(&mut self, from: i64, until: i64, kind: StretchKind) {
        if until <= from {
            return;
        }
        let full = self.full();
        match self.list.last_mut() {
            Some(last) if last.kind == kind && last.until == from => last.until = until,
            _ if full => self.cut = true,
            _ => self.list.push(Stretch { from, until, kind }),
        }
    }

    /// `[from, until)`, where the clock does not run: paused where a pause covers it, else
    /// closed.
    fn idle(&mut self, pauses: &Pauses, from: i64, until: i64) {
        let mut at = from;
        let spans = pauses.spans();
        let first = spans.partition_point(|(_, end)| *end <= from);
        for &(start, end) in &spans[first..] {
            if start >= until {
                break;
            }
            self.push(at, start.max(at), StretchKind::Closed);
            self.push(start.max(at), end.min(until), StretchKind::Paused);
            at = end.min(until);
        }
        self.push(at, until, StretchKind::Closed);
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    use super::*;
    use crate::calendar::OpenRange;
    use StretchKind::{Closed, Paused, Running};

    fn ms(rfc3339: &str) -> i64 {
        rfc3339
            .parse::<Timestamp>()
            .expect("valid")
            .as_millisecond()
    }

    /// Weekdays 09:00–12:00 and 13:00–17:00, UTC.
    fn office() -> BusinessCalendar {
        let day = vec![
            OpenRange {
                start: 540,
                end: 720,
            },
            OpenRange {
                start: 780,
                end: 1020,
            },
        ];
        let week = std::array::from_fn(|i| if i < 5 { day.clone() } else { Vec::new() });
        BusinessCalendar::new("office", TimeZone::UTC, week, Vec::new()).expect("valid")
    }

    fn kinds(stretches: &[Stretch]) -> Vec<(String, String, StretchKind)> {
        let t = |ms: i64| {
            Timestamp::from_millisecond(ms)
                .expect("in range")
                .to_string()
        };
        stretches
            .iter()
            .map(|s| (t(s.from), t(s.until), s.kind))
            .collect()
    }

    #[test]
    fn lunch_and_the_night_show_as_closed_between_running_stretches() {
        // Monday 2026-03-02 11:00 to Tuesday 10:00.
        let (stretches, cut) = stretches(
            &office(),
            &Pauses::none(),
            ms("2026-03-02T11:00:00Z"),
            ms("2026-03-03T10:00:00Z"),
        );
        assert!(!cut);
        let expected = [
            ("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z", Running),
            ("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z", Closed),
            ("2026-03-02T13:00:00Z", "2026-03-02T17:00:00Z", Running),
            ("2026-03-02T17:00:00Z", "2026-03-03T09:00:00Z", Closed),
            ("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z", Running),
        ];
        assert_eq!(
            kinds(&stretches),
            expected.map(|(a, b, k)| (a.to_owned(), b.to_owned(), k))
        );
    }

    #[test]
    fn a_pause_shows_as_paused_even_when_the_calendar_closes_during_it() {
        // Paused Monday 16:30 until Tuesday 09:30.
        let pauses = Pauses::new([(ms("2026-03-02T16:30:00Z"), ms("2026-03-03T09:30:00Z"))]);
        let (stretches, _) = stretches(
            &office(),
            &pauses,
            ms("2026-03-02T16:00:00Z"),
            ms("2026-03-03T10:00:00Z"),
        );
        let expected = [
            ("2026-03-02T16:00:00Z", "2026-03-02T16:30:00Z", Running),
            ("2026-03-02T16:30:00Z", "2026-03-03T09:30:00Z", Paused),
            ("2026-03-03T09:30:00Z", "2026-03-03T10:00:00Z", Running),
        ];
        assert_eq!(
            kinds(&stretches),
            expected.map(|(a, b, k)| (a.to_owned(), b.to_owned(), k))
        );
    }

    #[test]
    fn the_running_stretches_add_up_to_the_business_time_between() {
        let cal = office();
        let pauses = Pauses::new([
            (ms("2026-03-03T10:00:00Z"), ms("2026-03-03T14:00:00Z")),
            (ms("2026-03-05T08:00:00Z"), ms("2026-03-05T09:15:00Z")),
        ]);
        let (from, until) = (ms("2026-03-02T10:17:00Z"), ms("2026-03-09T11:43:00Z"));
        let (stretches, cut) = stretches(&cal, &pauses, from, until);
        assert!(!cut);
        let running: i64 = stretches
            .iter()
            .filter(|s| s.kind == Running)
            .map(|s| s.until - s.from)
            .sum();
        assert_eq!(running, cal.business_ms_between(from, until, &pauses));
        assert_eq!(stretches.first().map(|s| s.from), Some(from));
        assert_eq!(stretches.last().map(|s| s.until), Some(until));
        assert!(
            stretches
                .windows(2)
                .all(|w| w[0].until == w[1].from && w[0].kind != w[1].kind)
        );
    }

    #[test]
    fn a_long_clock_lists_at_most_the_bound_and_says_it_was_cut() {
        let (stretches, cut) = stretches(
            &office(),
            &Pauses::none(),
            ms("2026-01-05T09:00:00Z"),
            ms("2026-12-31T17:00:00Z"),
        );
        assert!(cut);
        assert_eq!(stretches.len(), MAX_STRETCHES);
    }
}
