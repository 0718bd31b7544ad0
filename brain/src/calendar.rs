//! Business calendars: a time zone, weekly opening hours and holidays, and the two questions the
//! SLA clocks ask of them — how many business minutes lie between two instants, and which instant
//! is N business minutes after another — with paused intervals deducted, correct across
//! daylight-saving changes (docs/adr/0008-service-brain.md).
//!
//! Instants are milliseconds since the Unix epoch (like every time in a ticket). The walk goes
//! day by day in the calendar's civil time and turns each opening range into a pair of instants;
//! the time zone's offset is cached between its transitions, so a year of calendar costs a few
//! hundred integer steps and jiff is consulted only on the days around a transition.

use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Milliseconds in a minute and a day.
pub const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// How far a walk goes before it gives up: ten years of days. A target that does not fit (a
/// calendar open one hour a week asked for a year of business time) has no due time.
pub const MAX_WALK_DAYS: i64 = 3_660;

/// The instants a calendar can reason about (years 1900 to 2200): wider than any ticket's life,
/// narrow enough that no arithmetic near them overflows.
const MIN_INSTANT_MS: i64 = -2_208_988_800_000;
const MAX_INSTANT_MS: i64 = 7_258_118_400_000;

/// Offset changes are never larger than this; a civil time farther than this from a transition
/// has exactly one instant under the cached offset.
const TRANSITION_MARGIN_MS: i64 = 2 * DAY_MS;

/// One opening range of a day, in minutes after local midnight: `[start, end)`, `end` ≤ 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenRange {
    pub start: u16,
    pub end: u16,
}

/// Intervals during which a clock does not run (a ticket waiting for parts, say): sorted,
/// merged, non-empty `[start, end)` pairs in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pauses {
    spans: Vec<(i64, i64)>,
}

impl Pauses {
    /// No pauses.
    pub fn none() -> Self {
        Pauses::default()
    }

    /// Pauses from any list of `[start, end)` intervals: empty ones are dropped, overlapping
    /// and touching ones merged.
    pub fn new(spans: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let mut spans: Vec<(i64, i64)> = spans.into_iter().filter(|(s, e)| e > s).collect();
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Pauses { spans: merged }
    }

    /// The merged intervals.
    pub fn spans(&self) -> &[(i64, i64)] {
        &self.spans
    }

    /// Whether `at` lies inside a pause.
    pub fn contains(&self, at: i64) -> bool {
        let i = self.spans.partition_point(|(_, end)| *end <= at);
        self.spans.get(i).is_some_and(|(start, _)| *start <= at)
    }

    /// These pauses and `other`'s together.
    pub fn union(&self, other: &Pauses) -> Pauses {
        Pauses::new(self.spans.iter().chain(other.spans.iter()).copied())
    }
}

/// A named business calendar, checked and ready to compute with.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    name: String,
    tz: TimeZone,
    /// Opening ranges per weekday, Monday first; sorted and disjoint.
    week: [Vec<OpenRange>; 7],
    /// Days whose hours differ from their weekday's (civil days since 1970-01-01, sorted,
    /// unique): a holiday has no ranges, a make-up working day or a half day has its own.
    special: Vec<(i64, Vec<OpenRange>)>,
    /// Open every minute of every day: business time is wall time, whatever the zone.
    always_open: bool,
}

/// Why a calendar cannot be built (the configuration check words these for the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar is never open: give at least one day opening hours")]
    NeverOpen,
    #[error(
        "opening ranges of one day must be in order and must not overlap ({earlier} then {later})"
    )]
    Overlap { earlier: String, later: String },
    #[error("an opening range must end after it starts ({range})")]
    Empty { range: String },
}

impl BusinessCalendar {
    /// The calendar named `24x7`: open all the time, in UTC.
    pub fn always_open(name: impl Into<String>) -> Self {
        let all_day = vec![OpenRange {
            start: 0,
            end: 1440,
        }];
        BusinessCalendar {
            name: name.into(),
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| all_day.clone()),
            special: Vec::new(),
            always_open: true,
        }
    }

    /// A calendar from its parts. `week` is Monday first; each day's ranges must be in order and
    /// disjoint (touching is fine). `special` days (civil days since 1970-01-01, see
    /// [`civil_day`]) replace their weekday's hours: no ranges for a holiday; a later entry for
    /// the same day wins.
    pub fn new(
        name: impl Into<String>,
        tz: TimeZone,
        week: [Vec<OpenRange>; 7],
        special: Vec<(i64, Vec<OpenRange>)>,
    ) -> Result<Self, CalendarError> {
        for day in week.iter().chain(special.iter().map(|(_, ranges)| ranges)) {
            for range in day {
                if range.end <= range.start || range.end > 1440 {
                    return Err(CalendarError::Empty {
                        range: format_range(*range),
                    });
                }
            }
            for pair in day.windows(2) {
                if pair[1].start < pair[0].end {
                    return Err(CalendarError::Overlap {
                        earlier: format_range(pair[0]),
                        later: format_range(pair[1]),
                    });
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError::NeverOpen);
        }
        let mut special = special;
        // Stable sort, then keep the last entry of each day.
        special.sort_by_key(|(day, _)| *day);
        let mut unique: Vec<(i64, Vec<OpenRange>)> = Vec::with_capacity(special.len());
        for entry in special {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        let always_open =
            unique.is_empty() && week.iter().all(|day| covers_whole_day(day.as_slice()));
        Ok(BusinessCalendar {
            name: name.into(),
            tz,
            week,
            special: unique,
            always_open,
        })
    }

    /// The calendar's name in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Whether the calendar is open at `at` (inside an opening range, not on a holiday).
    pub fn is_open_at(&self, at: i64) -> bool {
        if self.always_open {
            return true;
        }
        let Some(ts) = timestamp(at) else {
            return false;
        };
        let civil = at + i64::from(self.tz.to_offset(ts).seconds()) * 1000;
        let day = civil.div_euclid(DAY_MS);
        let minute = civil.rem_euclid(DAY_MS) / MINUTE_MS;
        self.hours_of(day)
            .iter()
            .any(|r| i64::from(r.start) <= minute && minute < i64::from(r.end))
    }

    /// Business milliseconds in `[from, to)` outside `pauses`; zero when `to` ≤ `from`.
    pub fn business_ms_between(&self, from: i64, to: i64, pauses: &Pauses) -> i64 {
        if to <= from {
            return 0;
        }
        let from = from.clamp(MIN_INSTANT_MS, MAX_INSTANT_MS);
        let to = to.clamp(MIN_INSTANT_MS, MAX_INSTANT_MS);
        let mut total = 0;
        for (start, end) in self.working(from, pauses) {
            if start >= to {
                break;
            }
            total += end.min(to) - start;
            if end >= to {
                break;
            }
        }
        total
    }

    /// Business minutes in `[from, to)` outside `pauses`, counting a started minute as a whole
    /// one (so a response 30 s past the target reads as one minute late, never on time).
    pub fn business_minutes_between(&self, from: i64, to: i64, pauses: &Pauses) -> i64 {
        let ms = self.business_ms_between(from, to, pauses);
        (ms + MINUTE_MS - 1).div_euclid(MINUTE_MS)
    }

    /// The instant `amount_ms` business milliseconds after `from`, outside `pauses`. A target
    /// that ends exactly when the calendar closes is due at the closing time, not at the next
    /// opening. `None` when the walk passes [`MAX_WALK_DAYS`] or leaves the years 1900–2200.
    pub fn add_business_ms(&self, from: i64, amount_ms: i64, pauses: &Pauses) -> Option<i64> {
        if !(MIN_INSTANT_MS..=MAX_INSTANT_MS).contains(&from) {
            return None;
        }
        if amount_ms <= 0 {
            return Some(from);
        }
        let mut left = amount_ms;
        for (start, end) in self.working(from, pauses) {
            let len = end - start;
            if left <= len {
                return Some(start + left);
            }
            left -= len;
        }
        None
    }

    /// [`Self::add_business_ms`] in whole minutes.
    pub fn add_business_minutes(&self, from: i64, minutes: i64, pauses: &Pauses) -> Option<i64> {
        self.add_business_ms(from, minutes.checked_mul(MINUTE_MS)?, pauses)
    }

    /// The calendar's open intervals from `from` on, minus `pauses`.
    pub(crate) fn working<'a>(&'a self, from: i64, pauses: &'a Pauses) -> Working<'a> {
        Working {
            open: self.open_intervals(from),
            pauses: pauses.spans(),
            next_pause: pauses.spans().partition_point(|(_, end)| *end <= from),
            pending: None,
        }
    }

    /// The calendar's open intervals (UTC milliseconds) that end after `from`, clipped to start
    /// no earlier than `from`, in order.
    fn open_intervals(&self, from: i64) -> OpenIntervals<'_> {
        if self.always_open {
            return OpenIntervals::Always {
                next: Some(from),
                until: from.saturating_add(MAX_WALK_DAYS * DAY_MS),
            };
        }
        let localizer = Localizer::new(&self.tz, from);
        // Start a day early: a range of the previous civil day may still be running at `from`
        // when a transition sits at midnight.
        let day = (from + localizer.offset_ms).div_euclid(DAY_MS) - 1;
        OpenIntervals::Walk(Box::new(Walk {
            cal: self,
            localizer,
            day,
            range: 0,
            from,
            last_day: day + MAX_WALK_DAYS,
        }))
    }

    /// The opening ranges of a civil day: its special hours, else its weekday's.
    fn hours_of(&self, day: i64) -> &[OpenRange] {
        match self.special.binary_search_by_key(&day, |(d, _)| *d) {
            Ok(i) => &self.special[i].1,
            Err(_) => &self.week[weekday(day)],
        }
    }
}

fn covers_whole_day(day: &[OpenRange]) -> bool {
    let mut reached = 0;
    for range in day {
        if range.start > reached {
            return false;
        }
        reached = reached.max(range.end);
    }
    reached >= 1440
}

/// `HH:MM-HH:MM` for messages.
pub fn format_range(range: OpenRange) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        range.start / 60,
        range.start % 60,
        range.end / 60,
        range.end % 60
    )
}

/// Days since 1970-01-01 of a civil date (the unit of a calendar's special days).
pub fn civil_day(date: jiff::civil::Date) -> Option<i64> {
    let midnight = TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()));
    midnight.ok().map(|ts| ts.as_second().div_euclid(86_400))
}

/// Monday = 0 for a civil day since 1970-01-01 (a Thursday).
fn weekday(day: i64) -> usize {
    // rem_euclid(7) is in 0..7, so the cast cannot truncate.
    (day + 3).rem_euclid(7) as usize
}

fn timestamp(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

enum OpenIntervals<'a> {
    Always { next: Option<i64>, until: i64 },
    Walk(Box<Walk<'a>>),
}

impl Iterator for OpenIntervals<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        match self {
            // One interval, bounded like the walk so no caller loops forever.
            OpenIntervals::Always { next, until } => next.take().map(|start| (start, *until)),
            OpenIntervals::Walk(walk) => walk.next(),
        }
    }
}

struct Walk<'a> {
    cal: &'a BusinessCalendar,
    localizer: Localizer<'a>,
    day: i64,
    range: usize,
    from: i64,
    last_day: i64,
}

impl Walk<'_> {
    fn next(&mut self) -> Option<(i64, i64)> {
        loop {
            if self.day > self.last_day {
                return None;
            }
            let ranges = self.cal.hours_of(self.day);
            if self.range >= ranges.len() {
                self.day += 1;
                self.range = 0;
                continue;
            }
            let range = ranges[self.range];
            self.range += 1;
            let midnight = self.day * DAY_MS;
            let start = self
                .localizer
                .instant_of(midnight + i64::from(range.start) * MINUTE_MS)?;
            let end = self
                .localizer
                .instant_of(midnight + i64::from(range.end) * MINUTE_MS)?;
            if end <= self.from || end <= start {
                continue;
            }
            return Some((start.max(self.from), end));
        }
    }
}

/// Open intervals minus pauses.
pub(crate) struct Working<'a> {
    open: OpenIntervals<'a>,
    pauses: &'a [(i64, i64)],
    next_pause: usize,
    /// The rest of an open interval after a pause that ended inside it.
    pending: Option<(i64, i64)>,
}

impl Iterator for Working<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        loop {
            let (mut start, end) = match self.pending.take() {
                Some(rest) => rest,
                None => self.open.next()?,
            };
            // Skip pauses that end before this interval starts.
            while self
                .pauses
                .get(self.next_pause)
                .is_some_and(|(_, pause_end)| *pause_end <= start)
            {
                self.next_pause += 1;
            }
            match self.pauses.get(self.next_pause) {
                Some(&(pause_start, pause_end)) if pause_start < end => {
                    if pause_start > start {
                        // Work until the pause, then resume after it (if still open).
                        if pause_end < end {
                            self.pending = Some((pause_end, end));
                        }
                        return Some((start, pause_start));
                    }
                    // Paused at the start: resume after the pause, if inside this interval.
                    start = pause_end;
                    if start < end {
                        self.pending = Some((start, end));
                    }
                }
                _ => return Some((start, end)),
            }
        }
    }
}

/// Civil milliseconds (local wall time read as if UTC) to instants, with the zone's offset
/// cached for the stretch between two transitions.
struct Localizer<'a> {
    tz: &'a TimeZone,
    offset_ms: i64,
    /// The cached offset holds for instants in `[valid_from, valid_until)`.
    valid_from: i64,
    valid_until: i64,
}

impl<'a> Localizer<'a> {
    fn new(tz: &'a TimeZone, at: i64) -> Self {
        let mut localizer = Localizer {
            tz,
            offset_ms: 0,
            valid_from: i64::MAX,
            valid_until: i64::MIN,
        };
        localizer.refresh(at);
        localizer
    }

    fn refresh(&mut self, at: i64) {
        let Some(ts) = timestamp(at) else {
            return;
        };
        self.offset_ms = i64::from(self.tz.to_offset(ts).seconds()) * 1000;
        self.valid_until = self
            .tz
            .following(ts)
            .next()
            .map_or(i64::MAX, |t| t.timestamp().as_millisecond());
        // `at + 1 ms`, so a transition exactly at `at` counts as the segment's start.
        self.valid_from = timestamp(at.saturating_add(1))
            .and_then(|next| self.tz.preceding(next).next())
            .map_or(i64::MIN, |t| t.timestamp().as_millisecond());
    }

    /// The instant of a civil time. A civil time skipped by a transition (spring forward) maps
    /// to the transition itself — the first instant at or after it; a repeated one (fall back)
    /// to its first occurrence.
    fn instant_of(&mut self, civil: i64) -> Option<i64> {
        let guess = civil - self.offset_ms;
        if guess >= self.valid_from.saturating_add(TRANSITION_MARGIN_MS)
            && guess < self.valid_until.saturating_sub(TRANSITION_MARGIN_MS)
        {
            return Some(guess);
        }
        let instant = self.resolve(civil)?;
        if instant < self.valid_from || instant >= self.valid_until {
            self.refresh(instant);
        }
        Some(instant)
    }

    fn resolve(&self, civil: i64) -> Option<i64> {
        let datetime = TimeZone::UTC.to_datetime(timestamp(civil)?);
        let ambiguous = self.tz.to_ambiguous_timestamp(datetime);
        match ambiguous.offset() {
            AmbiguousOffset::Gap { after, .. } => {
                // Just before the gap under the new offset; the next transition is the gap.
                let before_gap = civil - i64::from(after.seconds()) * 1000;
                let transition = self.tz.following(timestamp(before_gap)?).next()?;
                Some(transition.timestamp().as_millisecond())
            }
            _ => ambiguous.compatible().ok().map(Timestamp::as_millisecond),
        }
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
