//! The three things we keep from a photo's EXIF: its orientation (applied, then forgotten), when
//! it was taken and where. Everything else in the EXIF block is discarded with it.
//!
//! EXIF is read with kamadak-exif, continuing past broken entries: a damaged block costs only
//! the fields it damages.

use exif::{DateTime, Field, In, Reader, Tag, Value};

use crate::location::{LocationError, LocationFix};

/// What the pipeline keeps from the EXIF block.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Metadata {
    /// EXIF orientation, 1–8 (1 when absent or out of range).
    pub orientation: u16,
    pub captured_at: Option<i64>,
    pub location: Option<LocationFix>,
}

impl Default for Metadata {
    fn default() -> Self {
        Self {
            orientation: 1,
            captured_at: None,
            location: None,
        }
    }
}

/// Reads a TIFF-structured EXIF block (without the `Exif\0\0` prefix).
pub(super) fn read(tiff: Option<&[u8]>) -> Metadata {
    let Some(tiff) = tiff else {
        return Metadata::default();
    };
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_raw(tiff.to_vec())
        .or_else(|error| error.distill_partial_result(|_ignored| {}))
    {
        Ok(exif) => exif,
        Err(_) => return Metadata::default(),
    };
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    Metadata {
        orientation: field(Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o))
            .unwrap_or(1),
        captured_at: captured_at(&field),
        location: location(&field),
    }
}

/// `DateTimeOriginal` + `SubSecTimeOriginal`, minus `OffsetTimeOriginal` when present; without
/// an offset the wall-clock time is read as UTC (see the module docs).
fn captured_at<'a>(field: &impl Fn(Tag) -> Option<&'a Field>) -> Option<i64> {
    let mut time = DateTime::from_ascii(ascii(field(Tag::DateTimeOriginal)?)?).ok()?;
    if let Some(subsec) = field(Tag::SubSecTimeOriginal).and_then(ascii) {
        // A malformed fraction is ignored, not the whole time.
        if time.parse_subsec(subsec).is_err() {
            time.nanosecond = None;
        }
    }
    if let Some(offset) = field(Tag::OffsetTimeOriginal).and_then(ascii)
        && time.parse_offset(offset).is_err()
    {
        time.offset = None;
    }
    if time.hour > 23 || time.minute > 59 || time.second > 60 {
        return None;
    }
    let local_ms = civil_to_ms(
        i64::from(time.year),
        u32::from(time.month),
        u32::from(time.day),
        u32::from(time.hour) * 3600 + u32::from(time.minute) * 60 + u32::from(time.second),
    )?;
    let millis = i64::from(time.nanosecond.unwrap_or(0) / 1_000_000);
    let offset_minutes = time
        .offset
        .filter(|m| (-14 * 60..=14 * 60).contains(m))
        .map_or(0, i64::from);
    Some(local_ms + millis - offset_minutes * 60_000)
}

/// The GPS position, if complete and valid. The accuracy comes from `GPSHPositioningError`, the
/// time from `GPSDateStamp` + `GPSTimeStamp` (UTC by definition).
fn location<'a>(field: &impl Fn(Tag) -> Option<&'a Field>) -> Option<LocationFix> {
    let lat =
        degrees(field(Tag::GPSLatitude)?)? * hemisphere(field(Tag::GPSLatitudeRef)?, b'N', b'S')?;
    let lon =
        degrees(field(Tag::GPSLongitude)?)? * hemisphere(field(Tag::GPSLongitudeRef)?, b'E', b'W')?;
    let accuracy_m = field(Tag::GPSHPositioningError).and_then(|f| rationals(f)?.first().copied());
    // 1e-7° is about 1 cm: more digits are rational-arithmetic noise (31.2304 stays 31.2304).
    let round = |degrees: f64| (degrees * 1e7).round() / 1e7;
    let mut fix = LocationFix {
        lat: round(lat),
        lon: round(lon),
        accuracy_m,
        at: gps_time(field),
    };
    // No clock here: only the lower bound of the time is checked (the caller checks the
    // future). A bad time costs the time; a bad position or accuracy costs the fix.
    match fix.validate(i64::MAX) {
        Ok(()) => Some(fix),
        Err(LocationError::Time) => {
            fix.at = None;
            fix.validate(i64::MAX).ok().map(|()| fix)
        }
        Err(_) => None,
    }
}

fn gps_time<'a>(field: &impl Fn(Tag) -> Option<&'a Field>) -> Option<i64> {
    let date = ascii(field(Tag::GPSDateStamp)?)?;
    let hms = rationals(field(Tag::GPSTimeStamp)?)?;
    if date.len() < 10 || date[4] != b':' || date[7] != b':' || hms.len() != 3 {
        return None;
    }
    let number = |digits: &[u8]| std::str::from_utf8(digits).ok()?.parse::<u32>().ok();
    let seconds = hms[0] * 3600.0 + hms[1] * 60.0 + hms[2];
    if !(0.0..86_401.0).contains(&seconds) {
        return None;
    }
    let whole = seconds.trunc();
    let ms = civil_to_ms(
        i64::from(number(&date[0..4])?),
        number(&date[5..7])?,
        number(&date[8..10])?,
        whole as u32,
    )?;
    Some(ms + ((seconds - whole) * 1000.0).round() as i64)
}

/// Degrees, minutes, seconds (some writers give only degrees, or degrees and minutes).
fn degrees(field: &Field) -> Option<f64> {
    let parts = rationals(field)?;
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    Some(
        parts
            .iter()
            .zip([1.0, 60.0, 3600.0])
            .map(|(value, per_degree)| value / per_degree)
            .sum(),
    )
}

/// +1 or -1 from a reference letter; `None` for anything else (a missing hemisphere would put
/// the position in the wrong half of the world).
fn hemisphere(field: &Field, positive: u8, negative: u8) -> Option<f64> {
    match ascii(field)?.first()?.to_ascii_uppercase() {
        b if b == positive => Some(1.0),
        b if b == negative => Some(-1.0),
        _ => None,
    }
}

fn ascii(field: &Field) -> Option<&[u8]> {
    match &field.value {
        Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

/// Unsigned rationals as numbers; `None` if any has a zero denominator.
fn rationals(field: &Field) -> Option<Vec<f64>> {
    match &field.value {
        Value::Rational(values) => values
            .iter()
            .map(|r| (r.denom != 0).then(|| f64::from(r.num) / f64::from(r.denom)))
            .collect(),
        _ => None,
    }
}

/// Milliseconds since the epoch of a UTC civil date and second of the day; `None` for dates that
/// do not exist or lie outside 1900–9999.
fn civil_to_ms(year: i64, month: u32, day: u32, second_of_day: u32) -> Option<i64> {
    if !(1900..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > month_days[month as usize - 1] {
        return None;
    }
    // Howard Hinnant's days_from_civil, for years ≥ 0 (guaranteed above).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400_000 + i64::from(second_of_day) * 1000)
}

#[cfg(test)]
mod tests {
    use super::civil_to_ms;

    #[test]
    fn civil_dates_convert_like_the_calendar() {
        assert_eq!(civil_to_ms(1970, 1, 1, 0), Some(0));
        assert_eq!(civil_to_ms(2000, 3, 1, 0), Some(951_868_800_000));
        assert_eq!(civil_to_ms(2024, 2, 29, 1), Some(1_709_164_801_000));
        assert_eq!(civil_to_ms(1969, 12, 31, 0), Some(-86_400_000));
        assert_eq!(civil_to_ms(2023, 2, 29, 0), None);
        assert_eq!(civil_to_ms(2023, 13, 1, 0), None);
        assert_eq!(civil_to_ms(0, 1, 1, 0), None);
    }
}
