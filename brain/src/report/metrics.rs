//! A report over [`TicketFacts`]: for a period of whole days in a time zone, grouped by category,
//! channel, team, assignee or day, the numbers `docs/reports.md` defines. Each ticket counts in
//! a metric by the moment that metric is about: volume by its creation, first-response time by
//! its first response, resolution time, first-contact resolution, reopens and CSAT by its
//! resolution, the backlog at the end of the period (of each day, by day).

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::facts::TicketFacts;
use crate::calendar::MINUTE_MS;

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;
/// Categories listed in [`Report::top_categories`].
pub const TOP_CATEGORIES: usize = 10;
/// The key of a ticket without a value for the grouping (no category, no team, unassigned).
pub const NONE_KEY: &str = "(none)";

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupBy {
    Category,
    Channel,
    Team,
    Assignee,
    Day,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Category,
        GroupBy::Channel,
        GroupBy::Team,
        GroupBy::Assignee,
        GroupBy::Day,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Category => "category",
            GroupBy::Channel => "channel",
            GroupBy::Team => "team",
            GroupBy::Assignee => "assignee",
            GroupBy::Day => "day",
        }
    }

    pub fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

/// Why a period cannot be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    TimeZone(String),
    #[error("the period ends before it starts")]
    Backwards,
    #[error("a report covers at most {MAX_DAYS} days")]
    TooLong,
    #[error("{0} is a date, YYYY-MM-DD")]
    Date(&'static str),
    #[error("the dates are out of range")]
    OutOfRange,
}

/// Whole days `from..=to` in a time zone, with the instant each day starts.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: Date,
    pub to: Date,
    pub time_zone: String,
    /// The start of each day and, last, the end of `to`: `days + 1` instants (ms).
    day_starts: Vec<i64>,
}

impl Period {
    pub fn new(from: Date, to: Date, time_zone: &str) -> Result<Period, PeriodError> {
        let tz = TimeZone::get(time_zone).map_err(|_| PeriodError::TimeZone(time_zone.into()))?;
        if to < from {
            return Err(PeriodError::Backwards);
        }
        let days = (to - from).get_days() as i64 + 1;
        if days > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        let mut day_starts = Vec::with_capacity(usize::try_from(days + 1).unwrap_or(0));
        let mut day = from;
        for _ in 0..=days {
            let start = day
                .to_zoned(tz.clone())
                .map_err(|_| PeriodError::OutOfRange)?;
            day_starts.push(start.timestamp().as_millisecond());
            day = day.tomorrow().map_err(|_| PeriodError::OutOfRange)?;
        }
        Ok(Period {
            from,
            to,
            time_zone: time_zone.to_owned(),
            day_starts,
        })
    }

    /// The period from two `YYYY-MM-DD` dates in `time_zone`.
    pub fn parse(from: &str, to: &str, time_zone: &str) -> Result<Period, PeriodError> {
        let from = from.parse().map_err(|_| PeriodError::Date("from"))?;
        let to = to.parse().map_err(|_| PeriodError::Date("to"))?;
        Period::new(from, to, time_zone)
    }

    pub fn start(&self) -> i64 {
        self.day_starts[0]
    }

    pub fn end(&self) -> i64 {
        self.day_starts[self.day_starts.len() - 1]
    }

    /// How long the period lasts (ms): the period before it, for the volume trend, is as long.
    pub fn length(&self) -> i64 {
        self.end() - self.start()
    }

    pub fn contains(&self, at: i64) -> bool {
        self.start() <= at && at < self.end()
    }

    /// The day `at` falls on (0 = `from`), when it is in the period.
    fn day_of(&self, at: i64) -> Option<usize> {
        if !self.contains(at) {
            return None;
        }
        Some(self.day_starts.partition_point(|s| *s <= at) - 1)
    }

    fn days(&self) -> usize {
        self.day_starts.len() - 1
    }

    fn day_name(&self, day: usize) -> String {
        self.from
            .checked_add(jiff::Span::new().days(i64::try_from(day).unwrap_or(0)))
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}

/// Mean, median and 90th percentile of some durations, in minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
}

impl Stats {
    /// Of `minutes`; `None` when there are none. Percentiles by nearest rank (a value that
    /// occurred), the mean to a tenth of a minute.
    fn of(mut minutes: Vec<f64>) -> Option<Stats> {
        if minutes.is_empty() {
            return None;
        }
        minutes.sort_by(f64::total_cmp);
        let n = minutes.len();
        let rank = |q: f64| {
            // Nearest rank: the smallest value with at least q of them at or below it.
            let r = (q * n as f64).ceil() as usize;
            minutes[r.clamp(1, n) - 1]
        };
        Some(Stats {
            count: n as u64,
            mean: round(minutes.iter().sum::<f64>() / n as f64, 1),
            p50: rank(0.5),
            p90: rank(0.9),
        })
    }
}

/// A duration measured two ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    /// On the SLA policy's business calendar, pauses deducted (tickets with a policy only).
    pub business: Option<Stats>,
    /// Elapsed wall-clock minutes.
    pub wall: Option<Stats>,
}

/// The numbers of one group (or of every ticket, for the total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Row {
    pub key: String,
    /// Tickets created in the period.
    pub created: u64,
    /// Tickets resolved in the period (their last resolution).
    pub resolved: u64,
    /// Tickets open at the end of the period (by day: at the end of that day).
    pub backlog: u64,
    pub first_response: Durations,
    pub resolution: Durations,
    /// Tickets created in the period under an SLA policy, and those of them that missed a
    /// target.
    pub sla_tickets: u64,
    pub sla_breached: u64,
    pub sla_breach_rate: Option<f64>,
    /// Resolved tickets that were never reopened and never passed from one assignee to another.
    pub first_contact_resolved: u64,
    pub first_contact_resolution_rate: Option<f64>,
    /// Resolved tickets that had been reopened at least once.
    pub reopened: u64,
    pub reopen_rate: Option<f64>,
    /// Resolved tickets the reporter rated, their mean score, and the share rated.
    pub csat_responses: u64,
    pub csat_mean: Option<f64>,
    pub csat_response_rate: Option<f64>,
}

/// The columns of a report as a table (CSV, the CLI), in the order of [`Row::cells`].
pub const COLUMNS: &[&str] = &[
    "key",
    "created",
    "resolved",
    "backlog",
    "first_response_business_mean",
    "first_response_business_p50",
    "first_response_business_p90",
    "first_response_wall_mean",
    "first_response_wall_p50",
    "first_response_wall_p90",
    "resolution_business_mean",
    "resolution_business_p50",
    "resolution_business_p90",
    "resolution_wall_mean",
    "resolution_wall_p50",
    "resolution_wall_p90",
    "sla_tickets",
    "sla_breached",
    "sla_breach_rate",
    "first_contact_resolved",
    "first_contact_resolution_rate",
    "reopened",
    "reopen_rate",
    "csat_responses",
    "csat_mean",
    "csat_response_rate",
];

impl Row {
    /// The row as table cells ([`COLUMNS`]); a number that has nothing to count is empty.
    pub fn cells(&self) -> Vec<String> {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let stats = |s: &Option<Stats>| {
            [
                opt(s.as_ref().map(|s| s.mean)),
                opt(s.as_ref().map(|s| s.p50)),
                opt(s.as_ref().map(|s| s.p90)),
            ]
        };
        let mut cells = vec![
            self.key.clone(),
            self.created.to_string(),
            self.resolved.to_string(),
            self.backlog.to_string(),
        ];
        for durations in [&self.first_response, &self.resolution] {
            cells.extend(stats(&durations.business));
            cells.extend(stats(&durations.wall));
        }
        cells.extend([
            self.sla_tickets.to_string(),
            self.sla_breached.to_string(),
            opt(self.sla_breach_rate),
            self.first_contact_resolved.to_string(),
            opt(self.first_contact_resolution_rate),
            self.reopened.to_string(),
            opt(self.reopen_rate),
            self.csat_responses.to_string(),
            opt(self.csat_mean),
            opt(self.csat_response_rate),
        ]);
        cells
    }
}

/// A category and the tickets created in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    pub category: String,
    pub created: u64,
    pub share: f64,
}

/// A report: its period, its rows, the total, and the monthly-review numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub group_by: GroupBy,
    pub rows: Vec<Row>,
    pub total: Row,
    /// Tickets created in the period of the same length just before (the volume trend).
    pub previous_period_created: u64,
    /// The categories with the most tickets created, most first.
    pub top_categories: Vec<CategoryCount>,
}

/// Where a ticket counts for one thing: a day of the period, a group, or nowhere (a day
/// outside the period).
enum Slot<'k> {
    Day(usize),
    Key(&'k str),
    Outside,
}

/// What a group collects before its numbers are worked out.
#[derive(Debug, Default)]
struct Tally {
    created: u64,
    resolved: u64,
    backlog: u64,
    first_response_business: Vec<f64>,
    first_response_wall: Vec<f64>,
    resolution_business: Vec<f64>,
    resolution_wall: Vec<f64>,
    sla_tickets: u64,
    sla_breached: u64,
    first_contact: u64,
    reopened: u64,
    csat: Vec<u8>,
}

impl Tally {
    fn row(self, key: String) -> Row {
        let rate =
            |part: u64, whole: u64| (whole > 0).then(|| round(part as f64 / whole as f64, 4));
        let csat_responses = self.csat.len() as u64;
        Row {
            key,
            created: self.created,
            resolved: self.resolved,
            backlog: self.backlog,
            first_response: Durations {
                business: Stats::of(self.first_response_business),
                wall: Stats::of(self.first_response_wall),
            },
            resolution: Durations {
                business: Stats::of(self.resolution_business),
                wall: Stats::of(self.resolution_wall),
            },
            sla_tickets: self.sla_tickets,
            sla_breached: self.sla_breached,
            sla_breach_rate: rate(self.sla_breached, self.sla_tickets),
            first_contact_resolved: self.first_contact,
            first_contact_resolution_rate: rate(self.first_contact, self.resolved),
            reopened: self.reopened,
            reopen_rate: rate(self.reopened, self.resolved),
            csat_responses,
            csat_mean: (csat_responses > 0).then(|| {
                round(
                    self.csat.iter().map(|s| f64::from(*s)).sum::<f64>() / csat_responses as f64,
                    2,
                )
            }),
            csat_response_rate: rate(csat_responses, self.resolved),
        }
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

fn wall_minutes(from: i64, to: i64) -> f64 {
    round((to - from) as f64 / MINUTE_MS as f64, 1)
}

/// The report over `tickets` for `period`, grouped `by`. `tickets` must hold every ticket open
/// at some point of the period or created in it or in the period before it (more is fine).
pub fn report<'a>(
    tickets: impl IntoIterator<Item = &'a TicketFacts>,
    period: &Period,
    by: GroupBy,
) -> Report {
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut days: Vec<Tally> = (0..period.days()).map(|_| Tally::default()).collect();
    let mut total = Tally::default();
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut previous = 0;
    let previous_start = period.start() - period.length();
    let last_instant = period.end() - 1;

    for t in tickets {
        // The group a ticket counts in for something that happened at `at`.
        let slot = |at: i64| -> Slot<'_> {
            let key = match by {
                GroupBy::Day => return period.day_of(at).map_or(Slot::Outside, Slot::Day),
                GroupBy::Category => t.category.as_deref(),
                GroupBy::Channel => Some(t.channel.as_str()),
                GroupBy::Team => t.team.as_deref(),
                GroupBy::Assignee => t.assignee.as_deref(),
            };
            Slot::Key(key.unwrap_or(NONE_KEY))
        };
        let mut count = |at: i64, add: &dyn Fn(&mut Tally)| {
            add(&mut total);
            match slot(at) {
                Slot::Day(day) => add(&mut days[day]),
                Slot::Key(key) => match groups.get_mut(key) {
                    Some(tally) => add(tally),
                    None => add(groups.entry(key.to_owned()).or_default()),
                },
                Slot::Outside => {}
            }
        };

        if previous_start <= t.created_at && t.created_at < period.start() {
            previous += 1;
        }
        if period.contains(t.created_at) {
            *categories
                .entry(t.category.clone().unwrap_or_else(|| NONE_KEY.to_owned()))
                .or_default() += 1;
            let with_policy = t.sla_policy.is_some();
            count(t.created_at, &|g| {
                g.created += 1;
                if with_policy {
                    g.sla_tickets += 1;
                    g.sla_breached += u64::from(t.breached);
                }
            });
        }
        if let Some(at) = t.first_response_at.filter(|at| period.contains(*at)) {
            let wall = wall_minutes(t.created_at, at);
            let business = t.first_response_business_min.map(|m| m as f64);
            count(at, &|g| {
                g.first_response_wall.push(wall);
                g.first_response_business.extend(business);
            });
        }
        if let Some(at) = t.resolved_at.filter(|at| period.contains(*at)) {
            let wall = wall_minutes(t.created_at, at);
            let business = t.resolution_business_min.map(|m| m as f64);
            let first_contact = t.reopens == 0 && t.assignees <= 1;
            count(at, &|g| {
                g.resolved += 1;
                g.resolution_wall.push(wall);
                g.resolution_business.extend(business);
                g.first_contact += u64::from(first_contact);
                g.reopened += u64::from(t.reopens > 0);
                g.csat.extend(t.csat_score);
            });
        }
        if by == GroupBy::Day {
            for (day, tally) in days.iter_mut().enumerate() {
                tally.backlog += u64::from(t.open_at(period.day_starts[day + 1] - 1));
            }
            total.backlog += u64::from(t.open_at(last_instant));
        } else if t.open_at(last_instant) {
            count(last_instant, &|g| g.backlog += 1);
        }
    }

    let created = total.created;
    let rows = match by {
        GroupBy::Day => days
            .into_iter()
            .enumerate()
            .map(|(day, tally)| tally.row(period.day_name(day)))
            .collect(),
        _ => groups
            .into_iter()
            .map(|(key, tally)| tally.row(key))
            .collect(),
    };
    let mut top: Vec<(String, u64)> = categories.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Report {
        from: period.from.to_string(),
        to: period.to.to_string(),
        time_zone: period.time_zone.clone(),
        group_by: by,
        rows,
        total: total.row("total".to_owned()),
        previous_period_created: previous,
        top_categories: top
            .into_iter()
            .take(TOP_CATEGORIES)
            .map(|(category, n)| CategoryCount {
                category,
                created: n,
                share: round(n as f64 / created.max(1) as f64, 4),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_values_that_occurred_by_nearest_rank() {
        let stats = Stats::of(vec![
            10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
        ])
        .expect("stats");
        assert_eq!((stats.p50, stats.p90, stats.mean), (50.0, 90.0, 55.0));
        let one = Stats::of(vec![7.0]).expect("stats");
        assert_eq!((one.p50, one.p90), (7.0, 7.0));
        assert!(Stats::of(vec![]).is_none());
    }

    #[test]
    fn a_period_is_whole_local_days_and_the_day_summer_time_ends_has_25_hours() {
        let d = |s: &str| s.parse::<Date>().expect("date");
        // Europe/Berlin leaves summer time on 2026-10-25.
        let period = Period::new(d("2026-10-24"), d("2026-10-26"), "Europe/Berlin").expect("ok");
        let hours: Vec<i64> = period
            .day_starts
            .windows(2)
            .map(|w| (w[1] - w[0]) / 3_600_000)
            .collect();
        assert_eq!(hours, vec![24, 25, 24]);
        assert_eq!(
            Period::new(d("2026-10-24"), d("2026-10-23"), "UTC").unwrap_err(),
            PeriodError::Backwards
        );
        assert_eq!(
            Period::new(d("2025-01-01"), d("2026-10-23"), "UTC").unwrap_err(),
            PeriodError::TooLong
        );
        assert!(matches!(
            Period::new(d("2026-10-24"), d("2026-10-24"), "Mars/Base"),
            Err(PeriodError::TimeZone(_))
        ));
    }
}
