//! Genesys-style time strings: instants, `start/end` intervals and ISO-8601 durations.
//!
//! Genesys renders instants as `YYYY-MM-DDTHH:mm:ss.SSSZ` (UTC, milliseconds) and
//! intervals as two such instants joined by `/`. Times inside the crate are epoch
//! milliseconds (`i64`), which keeps window and bucket arithmetic exact.

use jiff::{civil::DateTime, tz::TimeZone, Timestamp};

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:mm:ss.SSSZ` in UTC.
pub fn format_instant(epoch_ms: i64) -> String {
    match Timestamp::from_millisecond(epoch_ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::from("invalid-instant"),
    }
}

/// Formats a half-open interval `[start, end)` as `start/end`.
pub fn format_interval(start_ms: i64, end_ms: i64) -> String {
    format!("{}/{}", format_instant(start_ms), format_instant(end_ms))
}

/// Parses an ISO-8601 instant into epoch milliseconds.
///
/// Accepts an explicit offset or `Z` (RFC 3339), and, as Genesys does for its
/// `YYYY-MM-DDThh:mm:ss` examples, a bare local date-time read as UTC.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let dt: DateTime = text.parse().ok()?;
    let zoned = dt.to_zoned(TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// Parses `start/end` into epoch milliseconds; `None` if either side is not an instant.
pub fn parse_interval(text: &str) -> Option<(i64, i64)> {
    let (a, b) = text.split_once('/')?;
    Some((parse_instant(a)?, parse_instant(b)?))
}

/// Formats a whole number of milliseconds as an ISO-8601 duration made of
/// days, hours, minutes and seconds (`PT30M`, `P1D`, `PT1H30M`, `PT0.5S`).
pub fn format_duration(ms: i64) -> String {
    let ms = ms.max(0);
    let days = ms / 86_400_000;
    let rem = ms % 86_400_000;
    let (h, m) = (rem / 3_600_000, (rem % 3_600_000) / 60_000);
    let s_ms = rem % 60_000;
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rem > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s_ms > 0 || (h == 0 && m == 0) {
            if s_ms % 1000 == 0 {
                out.push_str(&format!("{}S", s_ms / 1000));
            } else {
                out.push_str(&format!("{}.{:03}S", s_ms / 1000, s_ms % 1000));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instants round-trip through the Genesys rendering.
    #[test]
    fn instants_round_trip() {
        let s = "2025-03-12T13:05:00.123Z";
        let ms = parse_instant(s).expect("parses");
        assert_eq!(format_instant(ms), s);
        assert_eq!(
            parse_instant("2025-03-12T13:05:00Z"),
            parse_instant("2025-03-12T14:05:00+01:00")
        );
        assert_eq!(
            parse_instant("2025-03-12T13:05:00"),
            parse_instant("2025-03-12T13:05:00Z")
        );
        assert_eq!(parse_instant("yesterday"), None);
    }

    /// Intervals parse into ordered millisecond pairs.
    #[test]
    fn intervals_parse() {
        let (a, b) =
            parse_interval("2025-03-12T00:00:00.000Z/2025-03-13T00:00:00.000Z").expect("parses");
        assert_eq!(b - a, 86_400_000);
        assert_eq!(
            format_interval(a, b),
            "2025-03-12T00:00:00.000Z/2025-03-13T00:00:00.000Z"
        );
        assert!(parse_interval("2025-03-12T00:00:00.000Z").is_none());
    }

    /// Durations render in the forms Genesys documents.
    #[test]
    fn durations_render() {
        assert_eq!(format_duration(30 * 60_000), "PT30M");
        assert_eq!(format_duration(86_400_000), "P1D");
        assert_eq!(format_duration(86_400_000 + 12 * 3_600_000), "P1DT12H");
        assert_eq!(format_duration(90 * 60_000), "PT1H30M");
        assert_eq!(format_duration(500), "PT0.500S");
        assert_eq!(format_duration(0), "PT0S");
    }
}
