use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

fn ms(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<Timestamp>()
        .expect("test instants are valid RFC 3339")
        .as_millisecond()
}

fn at(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .expect("test instants are in range")
        .to_string()
}

fn range(text: &str) -> OpenRange {
    let minutes = |hm: &str| -> u16 {
        let (h, m) = hm.split_once(':').expect("HH:MM");
        h.parse::<u16>().expect("hour") * 60 + m.parse::<u16>().expect("minute")
    };
    let (start, end) = text.split_once('-').expect("HH:MM-HH:MM");
    OpenRange {
        start: minutes(start),
        end: minutes(end),
    }
}

fn weekdays(zone: &str, hours: &[&str]) -> BusinessCalendar {
    calendar(
        zone,
        hours,
        [true, true, true, true, true, false, false],
        &[],
    )
}

fn calendar(
    zone: &str,
    hours: &[&str],
    open: [bool; 7],
    special: &[(i64, &[&str])],
) -> BusinessCalendar {
    let day: Vec<OpenRange> = hours.iter().map(|h| range(h)).collect();
    let week = std::array::from_fn(|i| if open[i] { day.clone() } else { Vec::new() });
    let special = special
        .iter()
        .map(|(d, hours)| (*d, hours.iter().map(|h| range(h)).collect()))
        .collect();
    BusinessCalendar::new(
        "test",
        TimeZone::get(zone).expect("zone exists"),
        week,
        special,
    )
    .expect("valid calendar")
}

fn day(y: i16, m: i8, d: i8) -> i64 {
    civil_day(date(y, m, d)).expect("date in range")
}

#[test]
fn a_target_crosses_the_weekend() {
    let cal = weekdays("UTC", &["09:00-17:00"]);
    // Friday 2026-03-06 16:00: one hour left on Friday, one more on Monday.
    let due = cal.add_business_minutes(ms("2026-03-06T16:00:00Z"), 120, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-03-09T10:00:00Z"));
    let minutes = cal.business_minutes_between(
        ms("2026-03-06T16:00:00Z"),
        ms("2026-03-09T10:00:00Z"),
        &Pauses::none(),
    );
    assert_eq!(minutes, 120);
}

#[test]
fn a_target_that_ends_at_closing_time_is_due_at_closing_time() {
    let cal = weekdays("UTC", &["09:00-17:00"]);
    let due = cal.add_business_minutes(ms("2026-03-06T16:00:00Z"), 60, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-03-06T17:00:00Z"));
}

#[test]
fn created_outside_hours_starts_counting_at_the_next_opening() {
    let cal = weekdays("UTC", &["09:00-17:00"]);
    // Saturday night → Monday 09:00 + 30 min.
    let due = cal.add_business_minutes(ms("2026-03-07T22:00:00Z"), 30, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-03-09T09:30:00Z"));
}

#[test]
fn a_holiday_run_in_shanghai_is_skipped() {
    // National Day week 2026-10-01..07 off; the make-up Saturday 2026-10-10 is a working day.
    let holidays: Vec<(i64, &[&str])> = (1..=7).map(|d| (day(2026, 10, d), &[][..])).collect();
    let mut special = holidays;
    special.push((day(2026, 10, 10), &["09:00-18:00"][..]));
    let cal = calendar(
        "Asia/Shanghai",
        &["09:00-12:00", "13:00-18:00"],
        [true, true, true, true, true, false, false],
        &special,
    );
    // Wednesday 2026-09-30 17:00 local (09:00Z): 60 minutes that day, 120 on Thursday 10-08.
    let due = cal.add_business_minutes(ms("2026-09-30T09:00:00Z"), 180, &Pauses::none());
    // 2026-10-08 11:00 local = 03:00Z.
    assert_eq!(due.map(at).as_deref(), Some("2026-10-08T03:00:00Z"));
    // Friday 10-09 17:00 local + 120 min: one hour Friday, then the make-up Saturday 09:00-10:00.
    let due = cal.add_business_minutes(ms("2026-10-09T09:00:00Z"), 120, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-10-10T02:00:00Z"));
    // The lunch break does not count.
    let due = cal.add_business_minutes(ms("2026-10-12T03:00:00Z"), 120, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-10-12T06:00:00Z"));
}

#[test]
fn business_hours_follow_the_clock_across_spring_forward() {
    // Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29.
    let cal = weekdays("Europe/Berlin", &["09:00-17:00"]);
    // Friday 16:00 CET (15:00Z) + 120 min = Monday 10:00 CEST (08:00Z), not 09:00Z.
    let due = cal.add_business_minutes(ms("2026-03-27T15:00:00Z"), 120, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-03-30T08:00:00Z"));
    assert!(cal.is_open_at(ms("2026-03-30T07:00:00Z")));
    assert!(!cal.is_open_at(ms("2026-03-30T06:59:00Z")));
}

#[test]
fn a_whole_sunday_has_23_hours_in_spring_and_25_in_autumn() {
    let sundays = calendar(
        "Europe/Berlin",
        &["00:00-24:00"],
        [false, false, false, false, false, false, true],
        &[],
    );
    let spring = sundays.business_minutes_between(
        ms("2026-03-28T00:00:00Z"),
        ms("2026-03-30T00:00:00Z"),
        &Pauses::none(),
    );
    assert_eq!(spring, 23 * 60);
    let autumn = sundays.business_minutes_between(
        ms("2026-10-24T00:00:00Z"),
        ms("2026-10-27T00:00:00Z"),
        &Pauses::none(),
    );
    assert_eq!(autumn, 25 * 60);
}

#[test]
fn a_range_starting_in_the_skipped_hour_opens_when_the_clock_jumps() {
    // 02:00-04:00 local on the spring-forward Sunday: 02:00-03:00 does not exist.
    let cal = calendar(
        "Europe/Berlin",
        &["02:00-04:00"],
        [false, false, false, false, false, false, true],
        &[],
    );
    let minutes = cal.business_minutes_between(
        ms("2026-03-29T00:00:00Z"),
        ms("2026-03-29T06:00:00Z"),
        &Pauses::none(),
    );
    assert_eq!(minutes, 60);
    let opens = cal.add_business_minutes(ms("2026-03-28T12:00:00Z"), 1, &Pauses::none());
    // 03:00 CEST = 01:00Z, plus one minute.
    assert_eq!(opens.map(at).as_deref(), Some("2026-03-29T01:01:00Z"));
}

#[test]
fn new_york_office_across_its_dst_change() {
    // New York moves from UTC-5 to UTC-4 on Sunday 2026-03-08.
    let cal = weekdays("America/New_York", &["08:00-18:00"]);
    // Friday 17:00 EST (22:00Z) + 90 min → Monday 08:30 EDT (12:30Z).
    let due = cal.add_business_minutes(ms("2026-03-06T22:00:00Z"), 90, &Pauses::none());
    assert_eq!(due.map(at).as_deref(), Some("2026-03-09T12:30:00Z"));
}

#[test]
fn pauses_are_deducted() {
    let cal = weekdays("UTC", &["09:00-17:00"]);
    let pauses = Pauses::new([(ms("2026-03-09T10:00:00Z"), ms("2026-03-09T14:00:00Z"))]);
    // 09-10 and 14-17 make 240 minutes.
    let due = cal.add_business_minutes(ms("2026-03-09T09:00:00Z"), 240, &pauses);
    assert_eq!(due.map(at).as_deref(), Some("2026-03-09T17:00:00Z"));
    let minutes = cal.business_minutes_between(
        ms("2026-03-09T09:00:00Z"),
        ms("2026-03-09T17:00:00Z"),
        &pauses,
    );
    assert_eq!(minutes, 240);
    // A pause over the night and into Tuesday morning only costs the business part.
    let overnight = Pauses::new([(ms("2026-03-09T16:00:00Z"), ms("2026-03-10T10:00:00Z"))]);
    let due = cal.add_business_minutes(ms("2026-03-09T09:00:00Z"), 480, &overnight);
    assert_eq!(due.map(at).as_deref(), Some("2026-03-10T11:00:00Z"));
}

#[test]
fn pauses_merge_and_answer_contains() {
    let pauses = Pauses::new([(10, 20), (15, 30), (30, 40), (50, 50), (60, 70)]);
    assert_eq!(pauses.spans(), &[(10, 40), (60, 70)]);
    assert!(pauses.contains(10) && pauses.contains(39) && pauses.contains(65));
    assert!(!pauses.contains(40) && !pauses.contains(9) && !pauses.contains(70));
}

#[test]
fn always_open_is_wall_time_minus_pauses() {
    let cal = BusinessCalendar::always_open("24x7");
    let pauses = Pauses::new([(ms("2026-03-29T01:00:00Z"), ms("2026-03-29T02:00:00Z"))]);
    let due = cal.add_business_minutes(ms("2026-03-29T00:00:00Z"), 120, &pauses);
    assert_eq!(due.map(at).as_deref(), Some("2026-03-29T03:00:00Z"));
    assert!(cal.is_open_at(ms("2026-03-29T01:30:00Z")));
}

#[test]
fn adding_and_counting_agree() {
    let cal = calendar(
        "Europe/Berlin",
        &["08:00-12:00", "13:00-17:30"],
        [true, true, true, true, true, true, false],
        &[
            (day(2026, 4, 3), &[]),
            (day(2026, 12, 24), &["09:00-12:00"]),
        ],
    );
    let pauses = Pauses::new([
        (ms("2026-03-30T09:00:00Z"), ms("2026-03-31T12:00:00Z")),
        (ms("2026-10-20T00:00:00Z"), ms("2026-10-29T00:00:00Z")),
    ]);
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let base = ms("2026-01-01T00:00:00Z");
    for _ in 0..300 {
        // `next` is below 2^31, so these casts keep their value.
        let from = base + (next() % (365 * 1440)) as i64 * MINUTE_MS;
        let minutes = (next() % 20_000) as i64 + 1;
        let due = cal
            .add_business_minutes(from, minutes, &pauses)
            .expect("within the horizon");
        assert_eq!(
            cal.business_minutes_between(from, due, &pauses),
            minutes,
            "from {}",
            at(from)
        );
        assert!(
            cal.is_open_at(due - 1),
            "due {} ends business time",
            at(due)
        );
    }
}

#[test]
fn a_target_beyond_ten_years_has_no_due_time() {
    let cal = calendar(
        "UTC",
        &["09:00-10:00"],
        [true, false, false, false, false, false, false],
        &[],
    );
    // One hour a week: 600 weeks is more than ten years.
    let due = cal.add_business_minutes(ms("2026-01-01T00:00:00Z"), 600 * 60, &Pauses::none());
    assert_eq!(due, None);
    assert!(
        cal.add_business_minutes(ms("2026-01-01T00:00:00Z"), 50 * 60, &Pauses::none())
            .is_some()
    );
}

#[test]
fn bad_calendars_are_refused() {
    let tz = TimeZone::UTC;
    let never: [Vec<OpenRange>; 7] = std::array::from_fn(|_| Vec::new());
    assert_eq!(
        BusinessCalendar::new("x", tz.clone(), never, Vec::new()).err(),
        Some(CalendarError::NeverOpen)
    );
    let overlapping: [Vec<OpenRange>; 7] =
        std::array::from_fn(|_| vec![range("09:00-13:00"), range("12:00-17:00")]);
    assert!(matches!(
        BusinessCalendar::new("x", tz.clone(), overlapping, Vec::new()),
        Err(CalendarError::Overlap { .. })
    ));
    let backwards: [Vec<OpenRange>; 7] = std::array::from_fn(|_| vec![range("17:00-09:00")]);
    assert!(matches!(
        BusinessCalendar::new("x", tz, backwards, Vec::new()),
        Err(CalendarError::Empty { .. })
    ));
}

#[test]
fn civil_days_count_from_the_epoch() {
    assert_eq!(civil_day(date(1970, 1, 1)), Some(0));
    assert_eq!(civil_day(date(1970, 1, 2)), Some(1));
    assert_eq!(civil_day(date(1969, 12, 31)), Some(-1));
    // 2026-03-09 is a Monday.
    assert_eq!(weekday(day(2026, 3, 9)), 0);
}
