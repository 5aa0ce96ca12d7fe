//! Granularity buckets: consecutive sub-intervals stepped in the query's
//! `timeZone` so `P1D` follows DST (23 h / 25 h days) and `P1M` follows calendar
//! months. Buckets start at the interval start, or (clock alignment) at multiples
//! of the granularity counted from midnight of the zone, with the first bucket
//! clipped to the interval start. The last bucket ends at the interval end.

use jiff::{tz::TimeZone, Span, Timestamp, Zoned};

use super::errors::ApiError;
use super::variants::BucketAlignment;

/// Splits `[start_ms, end_ms)` into buckets of `granularity` (ISO-8601
/// duration) stepped in `time_zone` (IANA name, default UTC) and aligned as
/// `alignment` says. Without a granularity there is one bucket, the whole interval.
pub(crate) fn split(
    start_ms: i64,
    end_ms: i64,
    granularity: Option<&str>,
    time_zone: Option<&str>,
    alignment: BucketAlignment,
    max_buckets: usize,
) -> Result<Vec<(i64, i64)>, ApiError> {
    let tz = zone(time_zone)?;
    let Some(g) = granularity else {
        return Ok(vec![(start_ms, end_ms)]);
    };
    let span = parse_granularity(g)?;
    let at_start = Timestamp::from_millisecond(start_ms)
        .map_err(|_| ApiError::invalid_date())?
        .to_zoned(tz);
    let (origin, mut k) = match alignment {
        BucketAlignment::Interval => (at_start, 1),
        BucketAlignment::Clock => {
            let midnight = at_start.start_of_day().map_err(|_| bad_granularity(g))?;
            let k = first_after(&midnight, span, start_ms).ok_or_else(|| bad_granularity(g))?;
            (midnight, k)
        }
    };
    let mut out = Vec::new();
    let mut from = start_ms;
    loop {
        let to = step(&origin, span, k).ok_or_else(|| bad_granularity(g))?;
        if to <= from {
            return Err(bad_granularity(g));
        }
        out.push((from, to.min(end_ms)));
        if to >= end_ms {
            break;
        }
        if out.len() >= max_buckets {
            return Err(ApiError::bad_request(format!(
                "The granularity [{g}] splits the interval into more than {max_buckets} buckets."
            )));
        }
        from = to;
        k += 1;
    }
    Ok(out)
}

/// The smallest `k >= 1` whose boundary `origin + k × span` lies after `after_ms`.
/// Fixed-length spans (no calendar units) jump straight to the estimate.
fn first_after(origin: &Zoned, span: Span, after_ms: i64) -> Option<i64> {
    let calendar = span.get_years() != 0
        || span.get_months() != 0
        || span.get_weeks() != 0
        || span.get_days() != 0;
    let mut k = 1;
    if !calendar {
        let len = span.total(jiff::Unit::Millisecond).ok()? as i64;
        let elapsed = after_ms - origin.timestamp().as_millisecond();
        if len > 0 {
            k = (elapsed / len).max(1);
        }
    }
    for _ in 0..64 {
        if step(origin, span, k)? > after_ms {
            return Some(k);
        }
        k += 1;
    }
    None
}

/// Resolves the query's time zone.
pub(crate) fn zone(name: Option<&str>) -> Result<TimeZone, ApiError> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid timeZone [{n}]; use an IANA time zone name such as Europe/Paris."
            ))
        }),
    }
}

/// Parses an ISO-8601 duration such as `PT30M`, `P1D`, `P1DT12H`, `P1M`, `P1W`.
pub(crate) fn parse_granularity(g: &str) -> Result<Span, ApiError> {
    if !g.starts_with('P') && !g.starts_with('p') {
        return Err(bad_granularity(g));
    }
    let span: Span = g.parse().map_err(|_| bad_granularity(g))?;
    if span.is_zero() || span.is_negative() {
        return Err(bad_granularity(g));
    }
    Ok(span)
}

fn step(origin: &Zoned, span: Span, k: i64) -> Option<i64> {
    let total = span.checked_mul(k).ok()?;
    Some(origin.checked_add(total).ok()?.timestamp().as_millisecond())
}

fn bad_granularity(g: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid granularity [{g}]; use a positive ISO-8601 duration such as PT30M, PT1H, P1D or P1M."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_instant;

    fn ms(s: &str) -> i64 {
        parse_instant(s).expect("instant")
    }

    /// P1D across the spring DST change in Paris gives a 23-hour day.
    #[test]
    fn days_follow_dst() {
        let b = split(
            ms("2025-03-29T00:00:00+01:00"),
            ms("2025-04-01T00:00:00+02:00"),
            Some("P1D"),
            Some("Europe/Paris"),
            BucketAlignment::Interval,
            100,
        )
        .expect("valid");
        let lens: Vec<i64> = b.iter().map(|(a, z)| (z - a) / 3_600_000).collect();
        assert_eq!(lens, vec![24, 23, 24]);
    }

    /// P1M steps by calendar month; the last bucket is cut at the interval end.
    #[test]
    fn months_and_truncation() {
        let b = split(
            ms("2025-01-31T00:00:00Z"),
            ms("2025-04-15T00:00:00Z"),
            Some("P1M"),
            None,
            BucketAlignment::Interval,
            100,
        )
        .expect("valid");
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].1, ms("2025-02-28T00:00:00Z"));
        assert_eq!(b[1].1, ms("2025-03-31T00:00:00Z"));
        assert_eq!(b[2].1, ms("2025-04-15T00:00:00Z"));
    }

    /// Nonsense granularities and zones are 400s.
    #[test]
    fn rejects_bad_input() {
        const I: BucketAlignment = BucketAlignment::Interval;
        assert!(split(0, 1000, Some("30 minutes"), None, I, 10).is_err());
        assert!(split(0, 1000, Some("PT0S"), None, I, 10).is_err());
        assert!(split(0, 1000, None, Some("Mars/Olympus"), I, 10).is_err());
        assert!(split(0, 86_400_000, Some("PT1S"), None, I, 10).is_err());
    }

    /// Clock buckets start at multiples of the granularity from local midnight
    /// (Kolkata is UTC+05:30), clipped to the interval at both ends.
    #[test]
    fn clock_alignment_in_a_zone() {
        let b = split(
            ms("2025-03-12T10:10:00Z"),
            ms("2025-03-12T12:40:00Z"),
            Some("PT1H"),
            Some("Asia/Kolkata"),
            BucketAlignment::Clock,
            100,
        )
        .expect("valid");
        let want = [
            ("2025-03-12T10:10:00Z", "2025-03-12T10:30:00Z"),
            ("2025-03-12T10:30:00Z", "2025-03-12T11:30:00Z"),
            ("2025-03-12T11:30:00Z", "2025-03-12T12:30:00Z"),
            ("2025-03-12T12:30:00Z", "2025-03-12T12:40:00Z"),
        ];
        let want: Vec<(i64, i64)> = want.iter().map(|(a, z)| (ms(a), ms(z))).collect();
        assert_eq!(b, want);
        let day = split(
            ms("2025-03-12T10:10:00Z"),
            ms("2025-03-14T00:00:00Z"),
            Some("P1D"),
            None,
            BucketAlignment::Clock,
            100,
        )
        .expect("valid");
        assert_eq!(
            day,
            vec![
                (ms("2025-03-12T10:10:00Z"), ms("2025-03-13T00:00:00Z")),
                (ms("2025-03-13T00:00:00Z"), ms("2025-03-14T00:00:00Z")),
            ]
        );
    }
}
