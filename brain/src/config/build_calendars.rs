//! Checking `[[calendars]]`: time zones, weekly hours, holidays and special days, each problem
//! with its line and key.

use std::collections::BTreeSet;

use jiff::tz::TimeZone;
use toml::Spanned;

use super::build::Builder;
use super::raw::{OneOrMany, RawCalendar, RawWeek};
use super::{ALWAYS_OPEN, limits};
use crate::calendar::{BusinessCalendar, CalendarError, OpenRange, civil_day, format_range};

pub(super) fn calendar(
    b: &mut Builder<'_>,
    entry: &Spanned<RawCalendar>,
) -> Option<BusinessCalendar> {
    let raw = entry.get_ref();
    let name = b.name(&raw.name, "calendars.name")?;
    if name == ALWAYS_OPEN {
        b.problem(
            &raw.name.span(),
            "calendars.name",
            "the calendar '24x7' is built in (open all the time, UTC); choose another name",
        );
        return None;
    }
    if b.calendars.contains(&name) {
        b.problem(
            &raw.name.span(),
            "calendars.name",
            format!("calendar '{name}' is defined twice"),
        );
        return None;
    }
    let zone_name = raw.time_zone.get_ref().trim();
    let tz = match TimeZone::get(zone_name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            b.problem(
                &raw.time_zone.span(),
                "calendars.time_zone",
                format!(
                    "unknown time zone '{}' in calendar '{name}'; use an IANA name such as \
                        Asia/Shanghai or Europe/Berlin",
                    zone_name.chars().take(60).collect::<String>()
                ),
            );
            None
        }
    };
    let week = match &raw.hours {
        Some(hours) => week(b, hours.get_ref(), &name),
        None => {
            b.problem(
                &entry.span(),
                "calendars.hours",
                format!(
                    "calendar '{name}' has no \
                hours; give at least one day, e.g. mon = \"09:00-18:00\""
                ),
            );
            None
        }
    };
    if b.too_many(
        raw.holidays.len() + raw.special_days.len(),
        limits::MAX_SPECIAL_DAYS,
        "calendars.holidays",
    ) {
        return None;
    }
    let mut special = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for holiday in &raw.holidays {
        match date(b, holiday, "calendars.holidays") {
            Some(day) if seen.insert(day) => special.push((day, Vec::new())),
            Some(_) => {
                b.problem(
                    &holiday.span(),
                    "calendars.holidays",
                    format!("{} is listed twice", holiday.get_ref().trim()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    for entry in &raw.special_days {
        let raw_day = entry.get_ref();
        let day = date(b, &raw_day.date, "calendars.special_days.date");
        let ranges = ranges(b, &raw_day.hours, "calendars.special_days.hours", &name);
        match (day, ranges) {
            (Some(day), Some(ranges)) if seen.insert(day) => special.push((day, ranges)),
            (Some(_), Some(_)) => {
                b.problem(
                    &raw_day.date.span(),
                    "calendars.special_days.date",
                    format!(
                        "{} is listed twice (as a holiday or a special day)",
                        raw_day.date.get_ref().trim()
                    ),
                );
                ok = false;
            }
            _ => ok = false,
        }
    }
    let (tz, week) = (tz?, week?);
    if !ok {
        return None;
    }
    match BusinessCalendar::new(name.clone(), tz, week, special) {
        Ok(calendar) => Some(calendar),
        Err(err) => {
            let message = match err {
                CalendarError::NeverOpen => {
                    format!("calendar '{name}' is never open; give at least one day opening hours")
                }
                other => other.to_string(),
            };
            b.problem(&entry.span(), "calendars.hours", message);
            None
        }
    }
}

fn week(b: &mut Builder<'_>, raw: &RawWeek, calendar: &str) -> Option<[Vec<OpenRange>; 7]> {
    let days = [
        &raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun,
    ];
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut week: [Vec<OpenRange>; 7] = Default::default();
    let mut ok = true;
    for (i, day) in days.iter().enumerate() {
        if let Some(hours) = day {
            match ranges(b, hours, &format!("calendars.hours.{}", names[i]), calendar) {
                Some(ranges) => week[i] = ranges,
                None => ok = false,
            }
        }
    }
    ok.then_some(week)
}

/// `"HH:MM-HH:MM"` or a list of them: in order, not overlapping.
fn ranges(
    b: &mut Builder<'_>,
    hours: &Spanned<OneOrMany>,
    key: &str,
    calendar: &str,
) -> Option<Vec<OpenRange>> {
    let span = hours.span();
    let mut out: Vec<OpenRange> = Vec::new();
    for text in hours.get_ref().clone().into_vec() {
        let Some(range) = parse_range(&text) else {
            b.problem(
                &span,
                key,
                format!(
                    "'{}' in calendar '{calendar}' is not a range like \
                \"09:00-18:00\" (24:00 may end a day; split a night shift at \
                    midnight)",
                    text.chars().take(40).collect::<String>()
                ),
            );
            return None;
        };
        if let Some(previous) = out.last()
            && range.start < previous.end
        {
            let message = format!(
                "ranges in calendar '{calendar}' overlap or are out of order ({} then {}); list \
                    them from morning to night without overlaps",
                format_range(*previous),
                format_range(range)
            );
            b.problem(&span, key, message);
            return None;
        }
        out.push(range);
    }
    Some(out)
}

fn parse_range(text: &str) -> Option<OpenRange> {
    let (start, end) = text.trim().split_once('-')?;
    let minutes = |hm: &str| -> Option<u16> {
        let (h, m) = hm.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let (start, end) = (minutes(start)?, minutes(end)?);
    (start < end && start < 1440).then_some(OpenRange { start, end })
}

fn date(b: &mut Builder<'_>, text: &Spanned<String>, key: &str) -> Option<i64> {
    let trimmed = text.get_ref().trim();
    let parsed = (trimmed.len() == 10)
        .then(|| trimmed.parse::<jiff::civil::Date>().ok())
        .flatten()
        .filter(|d| (1970..=2200).contains(&d.year()));
    match parsed.and_then(civil_day) {
        Some(day) => Some(day),
        None => {
            b.problem(
                &text.span(),
                key,
                format!(
                    "'{}' is not a date like \"2026-10-01\" (years 1970 to 2200)",
                    trimmed.chars().take(40).collect::<String>()
                ),
            );
            None
        }
    }
}
