//! Contact-center KPI arithmetic on Genesys conversation-aggregate statistics.
//!
//! This is the pure core shared by `report` and the exporter: it knows which
//! Genesys metrics feed which KPI (§3 of the API notes), how to merge buckets and
//! intervals exactly (counts and sums add, max/min combine, service-level
//! numerators and denominators add, ratios are never averaged), and how to derive
//! ratios and averages only when their denominator is non-zero.

use serde::Deserialize;

/// The conversation-aggregate metrics every KPI below is built from, in the
/// order they are requested from `POST /api/v2/analytics/conversations/aggregates/query`.
pub const AGGREGATE_METRICS: [&str; 14] = [
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "nTransferred",
    "tHandle",
    "tWait",
    "tTalkComplete",
    "tHeldComplete",
    "tAcw",
    "nOverSla",
    "oServiceLevel",
    "oServiceTarget",
];

/// One `stats` object of an aggregate response (`StatisticalSummary`), reduced
/// to the fields the KPIs use. Unknown fields are ignored; absent ones are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct StatValues {
    /// Largest single value (ms for `t*` metrics).
    pub max: Option<f64>,
    /// Smallest single value (ms for `t*` metrics).
    pub min: Option<f64>,
    /// Number of events (n* metrics carry only this).
    pub count: Option<f64>,
    /// Sum of values (ms for `t*` metrics).
    pub sum: Option<f64>,
    /// oServiceLevel numerator.
    pub numerator: Option<f64>,
    /// oServiceLevel denominator.
    pub denominator: Option<f64>,
    /// oServiceLevel target (0–1).
    pub target: Option<f64>,
    /// oServiceTarget current target (0–1).
    pub current: Option<f64>,
    /// oServiceLevel ratio (never averaged; kept for reference only).
    pub ratio: Option<f64>,
}

/// Count, sum and extremes of one duration metric, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timed {
    /// Number of events.
    pub count: u64,
    /// Sum of durations in milliseconds.
    pub sum_ms: f64,
    /// Largest duration in milliseconds, if any event was seen.
    pub max_ms: Option<f64>,
    /// Smallest duration in milliseconds, if any event was seen.
    pub min_ms: Option<f64>,
}

impl Timed {
    fn record(&mut self, s: &StatValues) {
        let other = Timed {
            count: to_count(s.count),
            sum_ms: s.sum.unwrap_or(0.0),
            max_ms: s.max,
            min_ms: s.min,
        };
        self.merge(&other);
    }

    /// Adds another interval's events to this one, exactly.
    pub fn merge(&mut self, other: &Timed) {
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        self.max_ms = combine(self.max_ms, other.max_ms, f64::max);
        self.min_ms = combine(self.min_ms, other.min_ms, f64::min);
    }

    /// Sum in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_ms / 1000.0
    }

    /// Average in seconds, or `None` when there were no events.
    pub fn mean_seconds(&self) -> Option<f64> {
        ratio(self.sum_ms / 1000.0, self.count as f64)
    }
}

/// Everything known about one queue × media type over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// nOffered count.
    pub offered: u64,
    /// tAnswered: speed of answer.
    pub answered: Timed,
    /// tAbandon: time to abandon.
    pub abandoned: Timed,
    /// tShortAbandon: abandons under the org's short-abandon threshold.
    pub short_abandoned: Timed,
    /// tFlowOut: interactions that left the queue unanswered (not abandoned).
    pub flowouts: Timed,
    /// nTransferred count.
    pub transferred: u64,
    /// tHandle: talk + hold + ACW per handled interaction.
    pub handled: Timed,
    /// tWait: time in queue before answer, abandon or flow-out.
    pub wait: Timed,
    /// tTalkComplete: talk time per interaction.
    pub talk: Timed,
    /// tHeldComplete: hold time per interaction that was held.
    pub hold: Timed,
    /// tAcw: after-call work.
    pub acw: Timed,
    /// nOverSla count: answered after the service-level threshold.
    pub over_sla: u64,
    /// oServiceLevel numerator: answered within the threshold.
    pub sl_numerator: f64,
    /// oServiceLevel denominator: interactions the service level counts.
    pub sl_denominator: f64,
    /// Service-level target (0–1) as reported by oServiceTarget or oServiceLevel.
    pub sl_target: Option<f64>,
}

impl Totals {
    /// Folds one metric's statistics from an aggregate response into the totals.
    /// Metrics that no KPI uses are ignored, so a response may carry extras.
    pub fn record(&mut self, metric: &str, s: &StatValues) {
        match metric {
            "nOffered" => self.offered += to_count(s.count),
            "tAnswered" => self.answered.record(s),
            "tAbandon" => self.abandoned.record(s),
            "tShortAbandon" => self.short_abandoned.record(s),
            "tFlowOut" => self.flowouts.record(s),
            "nTransferred" => self.transferred += to_count(s.count),
            "tHandle" => self.handled.record(s),
            "tWait" => self.wait.record(s),
            "tTalkComplete" => self.talk.record(s),
            "tHeldComplete" => self.hold.record(s),
            "tAcw" => self.acw.record(s),
            "nOverSla" => self.over_sla += to_count(s.count),
            "oServiceLevel" => {
                self.sl_numerator += finite_or_zero(s.numerator);
                self.sl_denominator += finite_or_zero(s.denominator);
                if let Some(t) = s.target.filter(|t| t.is_finite()) {
                    self.sl_target = Some(t);
                }
            }
            "oServiceTarget" => {
                if let Some(t) = s.current.filter(|t| t.is_finite()) {
                    self.sl_target = Some(t);
                }
            }
            _ => {}
        }
    }

    /// Adds another interval (an adjacent bucket or query chunk) to this one.
    pub fn merge(&mut self, other: &Totals) {
        self.offered += other.offered;
        self.answered.merge(&other.answered);
        self.abandoned.merge(&other.abandoned);
        self.short_abandoned.merge(&other.short_abandoned);
        self.flowouts.merge(&other.flowouts);
        self.transferred += other.transferred;
        self.handled.merge(&other.handled);
        self.wait.merge(&other.wait);
        self.talk.merge(&other.talk);
        self.hold.merge(&other.hold);
        self.acw.merge(&other.acw);
        self.over_sla += other.over_sla;
        self.sl_numerator += other.sl_numerator;
        self.sl_denominator += other.sl_denominator;
        if other.sl_target.is_some() {
            self.sl_target = other.sl_target;
        }
    }

    /// Abandoned / offered (0–1), `None` when nothing was offered.
    pub fn abandon_ratio(&self) -> Option<f64> {
        ratio(self.abandoned.count as f64, self.offered as f64)
    }

    /// Average speed of answer in seconds (tAnswered sum / count).
    pub fn asa_seconds(&self) -> Option<f64> {
        self.answered.mean_seconds()
    }

    /// Average handle time in seconds (tHandle sum / count).
    pub fn aht_seconds(&self) -> Option<f64> {
        self.handled.mean_seconds()
    }

    /// Average wait in seconds (tWait sum / count).
    pub fn avg_wait_seconds(&self) -> Option<f64> {
        self.wait.mean_seconds()
    }

    /// Service level (0–1): oServiceLevel numerator / denominator.
    pub fn service_level_ratio(&self) -> Option<f64> {
        ratio(self.sl_numerator, self.sl_denominator)
    }

    /// True when no metric recorded anything.
    pub fn is_empty(&self) -> bool {
        *self == Totals::default()
    }
}

/// `num / den`, or `None` when the denominator is zero or either side is not finite.
pub fn ratio(num: f64, den: f64) -> Option<f64> {
    if den > 0.0 && num.is_finite() && den.is_finite() {
        Some(num / den)
    } else {
        None
    }
}

fn to_count(v: Option<f64>) -> u64 {
    match v {
        Some(c) if c.is_finite() && c > 0.0 => c.round() as u64,
        _ => 0,
    }
}

fn finite_or_zero(v: Option<f64>) -> f64 {
    v.filter(|x| x.is_finite()).unwrap_or(0.0)
}

fn combine(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(count: f64, sum: f64, max: f64, min: f64) -> StatValues {
        StatValues {
            count: Some(count),
            sum: Some(sum),
            max: Some(max),
            min: Some(min),
            ..StatValues::default()
        }
    }

    /// The worked example of the API notes (§2.5) gives the documented KPIs.
    #[test]
    fn documented_example_kpis() {
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(120.0),
                ..Default::default()
            },
        );
        t.record("tAnswered", &timed(104.0, 1_872_000.0, 95_000.0, 1_200.0));
        t.record("tAbandon", &timed(12.0, 540_000.0, 300_000.0, 2_100.0));
        t.record(
            "tHandle",
            &timed(101.0, 30_300_000.0, 1_500_000.0, 45_000.0),
        );
        let sl = StatValues {
            ratio: Some(0.7434),
            numerator: Some(84.0),
            denominator: Some(113.0),
            target: Some(0.8),
            ..Default::default()
        };
        t.record("oServiceLevel", &sl);
        assert_eq!(t.abandon_ratio(), Some(0.1));
        assert_eq!(t.asa_seconds(), Some(18.0));
        assert_eq!(t.aht_seconds(), Some(300.0));
        assert_eq!(t.service_level_ratio(), Some(84.0 / 113.0));
        assert_eq!(t.sl_target, Some(0.8));
    }

    /// Ratios and averages are absent, never NaN, when their denominator is zero.
    #[test]
    fn empty_denominators_give_none() {
        let t = Totals::default();
        assert!(t.is_empty());
        assert_eq!(t.abandon_ratio(), None);
        assert_eq!(t.asa_seconds(), None);
        assert_eq!(t.service_level_ratio(), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    /// Merging two adjacent intervals equals recording both into one.
    #[test]
    fn merge_is_exact() {
        let mut a = Totals::default();
        a.record("tAnswered", &timed(2.0, 10_000.0, 8_000.0, 2_000.0));
        a.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(1.0),
                denominator: Some(2.0),
                ..Default::default()
            },
        );
        let mut b = Totals::default();
        b.record("tAnswered", &timed(1.0, 30_000.0, 30_000.0, 30_000.0));
        b.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(0.0),
                denominator: Some(1.0),
                ..Default::default()
            },
        );
        let mut both = Totals::default();
        both.record("tAnswered", &timed(2.0, 10_000.0, 8_000.0, 2_000.0));
        both.record("tAnswered", &timed(1.0, 30_000.0, 30_000.0, 30_000.0));
        both.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(1.0),
                denominator: Some(3.0),
                ..Default::default()
            },
        );
        a.merge(&b);
        assert_eq!(a, both);
        assert_eq!(a.answered.max_ms, Some(30_000.0));
        assert_eq!(a.answered.min_ms, Some(2_000.0));
        assert_eq!(a.service_level_ratio(), Some(1.0 / 3.0));
    }

    /// Garbage from the API (negative, NaN) cannot corrupt the totals.
    #[test]
    fn hostile_values_are_neutralised() {
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(-5.0),
                ..Default::default()
            },
        );
        t.record(
            "nOffered",
            &StatValues {
                count: Some(f64::NAN),
                ..Default::default()
            },
        );
        t.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(f64::INFINITY),
                ..Default::default()
            },
        );
        t.record(
            "unknownMetric",
            &StatValues {
                count: Some(3.0),
                ..Default::default()
            },
        );
        assert_eq!(t.offered, 0);
        assert_eq!(t.sl_numerator, 0.0);
    }
}
