//! Daily arrival profiles: the share (0–1) of a queue's peak arrival rate at an
//! instant. `office` is a contact centre's working week in UTC; `flat` keeps the
//! peak level around the clock, for demos and tests that need traffic whatever
//! the hour they run at.

/// How arrival rates vary over the day and the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrafficProfile {
    /// Office hours in UTC: weekday morning and afternoon peaks, a lunch dip,
    /// quiet nights (3–4 % of the peak) and weekends at 35 % of a weekday.
    #[default]
    Office,
    /// The weekday peak level at every hour of every day.
    Flat,
}

impl TrafficProfile {
    /// Share (0–1) of the peak arrival rate at `t_ms` (epoch milliseconds).
    pub fn level(self, t_ms: i64) -> f64 {
        match self {
            TrafficProfile::Office => office_level(t_ms),
            TrafficProfile::Flat => 1.0,
        }
    }
}

/// The office profile: linear between hourly anchor points (UTC), weekends
/// scaled down.
fn office_level(t_ms: i64) -> f64 {
    const HOURS: [f64; 25] = [
        0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.30, 0.60, 0.85, 1.00, 0.95, 0.80, 0.85, 0.95,
        0.90, 0.80, 0.60, 0.40, 0.28, 0.20, 0.14, 0.09, 0.06, 0.04,
    ];
    let day_ms = 86_400_000;
    let days = t_ms.div_euclid(day_ms);
    let in_day = t_ms.rem_euclid(day_ms) as f64 / 3_600_000.0;
    let h = in_day.floor() as usize;
    let frac = in_day - h as f64;
    let level = HOURS[h] + (HOURS[h + 1] - HOURS[h]) * frac;
    // 1970-01-01 was a Thursday: (days + 4) % 7 gives 0 = Sunday, 6 = Saturday.
    let weekday = (days + 4).rem_euclid(7);
    if weekday == 0 || weekday == 6 {
        level * 0.35
    } else {
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    /// The office profile peaks on weekday mornings and is low at night and weekends.
    #[test]
    fn office_shape() {
        let monday_10h = 4 * DAY + 10 * HOUR; // 1970-01-05 was a Monday
        let monday_3h = 4 * DAY + 3 * HOUR;
        let saturday_10h = 2 * DAY + 10 * HOUR;
        let office = TrafficProfile::Office;
        assert!((office.level(monday_10h) - 1.0).abs() < 1e-9);
        assert!(office.level(monday_3h) < 0.1);
        assert!(office.level(saturday_10h) < 0.5);
        assert!((office.level(monday_10h + HOUR / 2) - 0.975).abs() < 1e-9);
    }

    /// The flat profile is the office peak at every instant, night and weekend included.
    #[test]
    fn flat_is_the_peak_around_the_clock() {
        let peak = TrafficProfile::Office.level(4 * DAY + 10 * HOUR);
        for t in (0..14 * DAY).step_by((HOUR / 3) as usize) {
            assert_eq!(TrafficProfile::Flat.level(t), peak);
        }
    }
}
