//! Report time range (pure): resolving `--window` or `--from`/`--to` in a time
//! zone to epoch milliseconds, and splitting a long range into adjacent
//! chunks no longer than the API's per-query maximum.

use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A half-open range `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start, epoch ms (inclusive).
    pub start_ms: i64,
    /// End, epoch ms (exclusive).
    pub end_ms: i64,
}

/// Resolves the time zone name (`--time-zone`).
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name.trim()).map_err(|_| {
        format!("--time-zone {name:?} is not an IANA time zone (e.g. UTC, Europe/Berlin)")
    })
}

/// Parses `--from`/`--to`: RFC 3339 (`2025-03-01T08:00:00Z`, `…+01:00`), or a
/// local date-time (`2025-03-01T08:00`) or date (`2025-03-01`, midnight) in `tz`.
pub fn parse_point(text: &str, tz: &TimeZone, flag: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let local = text.parse::<DateTime>().ok().or_else(|| {
        text.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    });
    local
        .and_then(|dt| tz.to_ambiguous_zoned(dt).compatible().ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| {
            format!("{flag} {text:?} is not an RFC 3339 time (e.g. 2025-03-01T00:00:00Z) or a date (2025-03-01)")
        })
}

/// The report range: `--from`..`--to` (to defaults to now), or the `window`
/// ending now. Errors name the flag to fix.
pub fn resolve(
    window: Option<Duration>,
    from: Option<&str>,
    to: Option<&str>,
    tz: &TimeZone,
    now_ms: i64,
) -> Result<Range, String> {
    let range = match from {
        Some(from) => Range {
            start_ms: parse_point(from, tz, "--from")?,
            end_ms: match to {
                Some(to) => parse_point(to, tz, "--to")?,
                None => now_ms,
            },
        },
        None => {
            if to.is_some() {
                return Err(String::from("--to needs --from"));
            }
            let window = window.unwrap_or(Duration::from_secs(7 * 86_400));
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            if window_ms <= 0 {
                return Err(String::from("--window must be longer than zero"));
            }
            Range {
                start_ms: now_ms.saturating_sub(window_ms),
                end_ms: now_ms,
            }
        }
    };
    if range.start_ms >= range.end_ms {
        return Err(String::from("--from must be before --to"));
    }
    Ok(range)
}

/// Splits `range` into adjacent chunks of at most `max_ms` each, in order;
/// there are exactly `ceil(length / max_ms)` of them.
pub fn split(range: Range, max_ms: i64) -> Vec<Range> {
    let max_ms = max_ms.max(1);
    let mut chunks = Vec::new();
    let mut start = range.start_ms;
    while start < range.end_ms {
        let end = start.saturating_add(max_ms).min(range.end_ms);
        chunks.push(Range {
            start_ms: start,
            end_ms: end,
        });
        start = end;
    }
    chunks
}

/// Renders an epoch-ms instant in `tz` for the report header.
pub fn display(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|ts| {
            ts.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    /// Splitting gives ceil(length / max) adjacent chunks covering the range exactly.
    #[test]
    fn split_is_exact() {
        let r = Range {
            start_ms: 1_000,
            end_ms: 1_000 + 17 * DAY + 5,
        };
        let chunks = split(r, 7 * DAY);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].start_ms, r.start_ms);
        assert_eq!(chunks[2].end_ms, r.end_ms);
        assert!(chunks.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
        assert!(chunks.iter().all(|c| c.end_ms - c.start_ms <= 7 * DAY));
        for (len, max, n) in [
            (7 * DAY, 7 * DAY, 1),
            (7 * DAY + 1, 7 * DAY, 2),
            (1, DAY, 1),
        ] {
            let r = Range {
                start_ms: 0,
                end_ms: len,
            };
            assert_eq!(split(r, max).len(), n);
            assert_eq!(split(r, max).len() as i64, (len + max - 1) / max);
        }
    }

    /// The default window is the last 7 days; --from/--to accept RFC 3339 and local dates.
    #[test]
    fn resolve_forms() {
        let now = 1_741_784_700_000;
        let r = resolve(None, None, None, &utc(), now).expect("default");
        assert_eq!(r.end_ms - r.start_ms, 7 * DAY);
        let r = resolve(Some(Duration::from_secs(3600)), None, None, &utc(), now).expect("1h");
        assert_eq!(r.end_ms - r.start_ms, 3_600_000);
        let berlin = time_zone("Europe/Berlin").expect("tz");
        let r = resolve(
            None,
            Some("2025-03-01"),
            Some("2025-03-02T00:00:00Z"),
            &berlin,
            now,
        )
        .expect("dates");
        assert_eq!(
            r.start_ms,
            parse_point("2025-02-28T23:00:00Z", &utc(), "f").expect("t")
        );
        assert_eq!(r.end_ms - r.start_ms, DAY + 3_600_000);
    }

    /// A day in a DST-changing zone is 23 hours long from local midnight to midnight.
    #[test]
    fn local_days_follow_dst() {
        let berlin = time_zone("Europe/Berlin").expect("tz");
        let r = resolve(None, Some("2025-03-30"), Some("2025-03-31"), &berlin, 0).expect("dst");
        assert_eq!(r.end_ms - r.start_ms, 23 * 3_600_000);
    }

    /// Bad input names the flag to fix.
    #[test]
    fn bad_input() {
        let now = 1_741_784_700_000;
        let e = resolve(None, Some("yesterday"), None, &utc(), now).expect_err("bad");
        assert!(e.contains("--from"));
        let e =
            resolve(None, Some("2025-03-02"), Some("2025-03-01"), &utc(), now).expect_err("order");
        assert!(e.contains("before"));
        assert!(resolve(None, None, Some("2025-03-01"), &utc(), now).is_err());
        assert!(resolve(Some(Duration::ZERO), None, None, &utc(), now).is_err());
        assert!(time_zone("Mars/Olympus")
            .expect_err("tz")
            .contains("--time-zone"));
    }

    /// Instants display in the chosen zone.
    #[test]
    fn display_in_zone() {
        let ms = parse_point("2025-03-12T13:05:00Z", &utc(), "f").expect("t");
        assert_eq!(display(ms, &utc()), "2025-03-12 13:05:00 UTC");
        let berlin = time_zone("Europe/Berlin").expect("tz");
        assert_eq!(display(ms, &berlin), "2025-03-12 14:05:00 CET");
    }
}
