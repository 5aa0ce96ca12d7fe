//! Contact-center KPI arithmetic on Genesys conversation-aggregate statistics.
//!
//! This is the pure core shared by `report` and the exporter: it knows which
//! Genesys metrics feed which KPI (§3 of the API notes), how to merge buckets and
//! intervals exactly (counts and sums add, max/min combine, service-level
//! numerators and denominators add, ratios are never averaged), and how to derive
//! ratios and averages only when their denominator is non-zero.
//!
//! Values the API should never send — a negative or non-finite count, sum,
//! extreme, numerator or denominator, a count above 2^53 (not exact as a
//! float), or a sum that overflows when merged — are not numbers to serve:
//! they mark the totals bad ([`Totals::bad`]) with the [`BadValue`] reason, and
//! every derived ratio and average of bad totals is `None`.

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

/// The largest count taken as exact: 2^53, above which an `f64` skips integers.
pub const MAX_COUNT: u64 = 1 << 53;

/// Why a statistic from the API was refused as bad data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadValue {
    /// A count, sum, extreme, numerator or denominator below zero.
    Negative,
    /// NaN or an infinity (JSON cannot carry these, but decoders may produce them).
    NonFinite,
    /// A count above [`MAX_COUNT`], or counts or sums that overflow when added.
    Overflow,
}

impl BadValue {
    /// Every reason, in label order.
    pub const ALL: [BadValue; 3] = [BadValue::Negative, BadValue::NonFinite, BadValue::Overflow];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BadValue::Negative => "negative",
            BadValue::NonFinite => "non_finite",
            BadValue::Overflow => "overflow",
        }
    }

    fn bit(self) -> u8 {
        match self {
            BadValue::Negative => 1,
            BadValue::NonFinite => 2,
            BadValue::Overflow => 4,
        }
    }
}

/// A set of [`BadValue`] reasons; empty for good data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct BadValues(u8);

impl BadValues {
    /// Adds a reason.
    pub fn insert(&mut self, reason: BadValue) {
        self.0 |= reason.bit();
    }

    /// Adds every reason of `other`.
    pub fn extend(&mut self, other: BadValues) {
        self.0 |= other.0;
    }

    /// True when no reason was recorded.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when `reason` was recorded.
    pub fn contains(self, reason: BadValue) -> bool {
        self.0 & reason.bit() != 0
    }

    /// The recorded reasons, in [`BadValue::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = BadValue> {
        BadValue::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

/// Checks one API number that must be finite and not negative.
fn checked_amount(v: Option<f64>, bad: &mut BadValues) -> f64 {
    match v {
        None => 0.0,
        Some(x) if !x.is_finite() => {
            bad.insert(BadValue::NonFinite);
            0.0
        }
        Some(x) if x < 0.0 => {
            bad.insert(BadValue::Negative);
            0.0
        }
        Some(x) => x,
    }
}

/// Checks an API count: finite, not negative, at most [`MAX_COUNT`]; rounded.
fn checked_count(v: Option<f64>, bad: &mut BadValues) -> u64 {
    let x = checked_amount(v, bad);
    if x > MAX_COUNT as f64 {
        bad.insert(BadValue::Overflow);
        return 0;
    }
    // In 0..=2^53 after the checks above, so the conversion is exact.
    x.round() as u64
}

/// Checks an optional extreme (max/min): absent stays absent, bad is dropped.
fn checked_extreme(v: Option<f64>, bad: &mut BadValues) -> Option<f64> {
    let before = *bad;
    let x = checked_amount(v, bad);
    (v.is_some() && *bad == before).then_some(x)
}

/// Adds two counts, marking an overflow past [`MAX_COUNT`] instead of wrapping.
fn add_count(a: u64, b: u64, bad: &mut BadValues) -> u64 {
    match a.checked_add(b) {
        Some(n) if n <= MAX_COUNT => n,
        _ => {
            bad.insert(BadValue::Overflow);
            MAX_COUNT
        }
    }
}

/// Adds two finite sums, marking an overflow to infinity instead of keeping it.
fn add_sum(a: f64, b: f64, bad: &mut BadValues) -> f64 {
    let s = a + b;
    if s.is_finite() {
        s
    } else {
        bad.insert(BadValue::Overflow);
        f64::MAX
    }
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
    fn record(&mut self, s: &StatValues, bad: &mut BadValues) {
        let other = Timed {
            count: checked_count(s.count, bad),
            sum_ms: checked_amount(s.sum, bad),
            max_ms: checked_extreme(s.max, bad),
            min_ms: checked_extreme(s.min, bad),
        };
        *bad = self.merge_checked(&other).with(*bad);
    }

    /// Adds another interval's events to this one, exactly; the reasons of
    /// any overflow (the values are then meaningless) are returned.
    pub fn merge_checked(&mut self, other: &Timed) -> BadValues {
        let mut bad = BadValues::default();
        self.count = add_count(self.count, other.count, &mut bad);
        self.sum_ms = add_sum(self.sum_ms, other.sum_ms, &mut bad);
        self.max_ms = combine(self.max_ms, other.max_ms, f64::max);
        self.min_ms = combine(self.min_ms, other.min_ms, f64::min);
        bad
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

impl BadValues {
    /// This set with every reason of `other` added.
    fn with(mut self, other: BadValues) -> BadValues {
        self.extend(other);
        self
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
    /// Why these totals are bad data (empty when good): a bad value was
    /// recorded or merged, so the other fields must not be served.
    pub bad: BadValues,
}

impl Totals {
    /// Folds one metric's statistics from an aggregate response into the totals.
    /// Metrics that no KPI uses are ignored, so a response may carry extras.
    pub fn record(&mut self, metric: &str, s: &StatValues) {
        let bad = &mut self.bad;
        match metric {
            "nOffered" => {
                let n = checked_count(s.count, bad);
                self.offered = add_count(self.offered, n, bad);
            }
            "tAnswered" => self.answered.record(s, bad),
            "tAbandon" => self.abandoned.record(s, bad),
            "tShortAbandon" => self.short_abandoned.record(s, bad),
            "tFlowOut" => self.flowouts.record(s, bad),
            "nTransferred" => {
                let n = checked_count(s.count, bad);
                self.transferred = add_count(self.transferred, n, bad);
            }
            "tHandle" => self.handled.record(s, bad),
            "tWait" => self.wait.record(s, bad),
            "tTalkComplete" => self.talk.record(s, bad),
            "tHeldComplete" => self.hold.record(s, bad),
            "tAcw" => self.acw.record(s, bad),
            "nOverSla" => {
                let n = checked_count(s.count, bad);
                self.over_sla = add_count(self.over_sla, n, bad);
            }
            "oServiceLevel" => {
                let num = checked_amount(s.numerator, bad);
                let den = checked_amount(s.denominator, bad);
                self.sl_numerator = add_sum(self.sl_numerator, num, bad);
                self.sl_denominator = add_sum(self.sl_denominator, den, bad);
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

    /// Adds another interval (an adjacent bucket or query chunk) to this one;
    /// bad data on either side, or an overflow, makes the result bad.
    pub fn merge(&mut self, other: &Totals) {
        let mut bad = self.bad.with(other.bad);
        self.offered = add_count(self.offered, other.offered, &mut bad);
        for (mine, theirs) in [
            (&mut self.answered, &other.answered),
            (&mut self.abandoned, &other.abandoned),
            (&mut self.short_abandoned, &other.short_abandoned),
            (&mut self.flowouts, &other.flowouts),
            (&mut self.handled, &other.handled),
            (&mut self.wait, &other.wait),
            (&mut self.talk, &other.talk),
            (&mut self.hold, &other.hold),
            (&mut self.acw, &other.acw),
        ] {
            bad.extend(mine.merge_checked(theirs));
        }
        self.transferred = add_count(self.transferred, other.transferred, &mut bad);
        self.over_sla = add_count(self.over_sla, other.over_sla, &mut bad);
        self.sl_numerator = add_sum(self.sl_numerator, other.sl_numerator, &mut bad);
        self.sl_denominator = add_sum(self.sl_denominator, other.sl_denominator, &mut bad);
        if other.sl_target.is_some() {
            self.sl_target = other.sl_target;
        }
        self.bad = bad;
    }

    /// True when every recorded value was good (see [`Totals::bad`]).
    pub fn is_valid(&self) -> bool {
        self.bad.is_empty()
    }

    /// Abandoned / offered (0–1), `None` when nothing was offered.
    pub fn abandon_ratio(&self) -> Option<f64> {
        self.valid(fraction(self.abandoned.count as f64, self.offered as f64))
    }

    /// Average speed of answer in seconds (tAnswered sum / count).
    pub fn asa_seconds(&self) -> Option<f64> {
        self.valid(self.answered.mean_seconds())
    }

    /// Average handle time in seconds (tHandle sum / count).
    pub fn aht_seconds(&self) -> Option<f64> {
        self.valid(self.handled.mean_seconds())
    }

    /// Average wait in seconds (tWait sum / count).
    pub fn avg_wait_seconds(&self) -> Option<f64> {
        self.valid(self.wait.mean_seconds())
    }

    /// Service level (0–1): oServiceLevel numerator / denominator.
    pub fn service_level_ratio(&self) -> Option<f64> {
        self.valid(fraction(self.sl_numerator, self.sl_denominator))
    }

    /// `value`, or `None` when these totals are bad data.
    fn valid(&self, value: Option<f64>) -> Option<f64> {
        value.filter(|_| self.is_valid())
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

/// A part-of-whole ratio clamped to 0–1 (the API's own counts may disagree
/// slightly across interval edges), `None` like [`ratio`].
pub fn fraction(part: f64, whole: f64) -> Option<f64> {
    ratio(part, whole).map(|r| r.clamp(0.0, 1.0))
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

    /// Negative and non-finite API numbers are not served as numbers: the
    /// totals are marked bad with the reason, and their ratios are absent.
    #[test]
    fn hostile_values_mark_totals_bad() {
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(4.0),
                ..Default::default()
            },
        );
        t.record("tAnswered", &timed(2.0, -80_000.0, 1.0, 1.0));
        assert!(t.bad.contains(BadValue::Negative), "{:?}", t.bad);
        assert_eq!(t.abandon_ratio(), None, "bad totals derive nothing");
        let mut sl = Totals::default();
        sl.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(1.0),
                denominator: Some(-3.0),
                ..Default::default()
            },
        );
        assert_eq!(sl.bad.iter().collect::<Vec<_>>(), [BadValue::Negative]);
        let mut nan = Totals::default();
        nan.record(
            "nOffered",
            &StatValues {
                count: Some(f64::NAN),
                ..Default::default()
            },
        );
        nan.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(f64::INFINITY),
                ..Default::default()
            },
        );
        assert_eq!(nan.bad.iter().collect::<Vec<_>>(), [BadValue::NonFinite]);
        let mut ignored = Totals::default();
        ignored.record(
            "unknownMetric",
            &StatValues {
                count: Some(-3.0),
                ..Default::default()
            },
        );
        assert!(ignored.is_valid() && ignored.is_empty());
    }

    /// Sums that overflow to infinity and counts past 2^53 (or past u64 when
    /// added) are overflows, never `inf` or a wrapped count.
    #[test]
    fn overflow_is_bad_not_wrapped() {
        let mut sums = Totals::default();
        sums.record("tHandle", &timed(1.0, f64::MAX, 1.0, 1.0));
        assert!(sums.is_valid(), "one huge finite sum is still a number");
        sums.record("tHandle", &timed(1.0, f64::MAX, 1.0, 1.0));
        assert_eq!(sums.bad.iter().collect::<Vec<_>>(), [BadValue::Overflow]);
        assert!(sums.handled.sum_ms.is_finite());

        let mut huge = Totals::default();
        huge.record(
            "nOffered",
            &StatValues {
                count: Some(1.8e19),
                ..Default::default()
            },
        );
        assert!(huge.bad.contains(BadValue::Overflow));

        let big = Totals {
            offered: MAX_COUNT,
            ..Totals::default()
        };
        let mut merged = big;
        merged.merge(&big);
        assert!(merged.bad.contains(BadValue::Overflow));
        assert!(merged.offered <= MAX_COUNT);

        let mut a = Totals::default();
        let mut b = Totals::default();
        b.bad.insert(BadValue::Negative);
        a.merge(&b);
        assert!(
            a.bad.contains(BadValue::Negative),
            "bad data stays bad when merged"
        );
    }

    /// Ratios stay within 0–1 even when the API's parts exceed their whole.
    #[test]
    fn ratios_are_clamped() {
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(2.0),
                ..Default::default()
            },
        );
        t.record("tAbandon", &timed(3.0, 9_000.0, 3_000.0, 3_000.0));
        t.record(
            "oServiceLevel",
            &StatValues {
                numerator: Some(5.0),
                denominator: Some(4.0),
                ..Default::default()
            },
        );
        assert_eq!(t.abandon_ratio(), Some(1.0));
        assert_eq!(t.service_level_ratio(), Some(1.0));
        assert_eq!(fraction(f64::MAX, f64::MIN_POSITIVE), Some(1.0));
    }
}
