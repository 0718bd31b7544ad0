//! Instants as people write them: RFC 3339 in, RFC 3339 UTC (`…Z`) out, milliseconds since the
//! Unix epoch inside.

use jiff::Timestamp;

/// Milliseconds of an RFC 3339 instant (`2026-03-09T09:00:00+08:00`, `2026-03-09T01:00:00Z`).
pub fn parse(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<Timestamp>()
        .map(Timestamp::as_millisecond)
        .map_err(|_| {
            format!(
                "'{}' is not an RFC 3339 instant such as 2026-03-09T09:00:00+08:00",
                text.chars().take(40).collect::<String>()
            )
        })
}

/// RFC 3339 in UTC, ending in `Z`.
pub fn format(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_are_read_and_utc_is_written() {
        let ms = super::parse("2026-03-09T09:00:00+08:00").expect("valid");
        assert_eq!(super::format(ms), "2026-03-09T01:00:00Z");
        assert!(super::parse("2026-03-09 09:00").is_err());
        assert!(super::parse("yesterday").is_err());
    }
}
