//! Ground truth folded straight from the simulator's conversation events
//! (emission-time semantics, API notes §2.6 and §3), without any exporter,
//! client, `kpi` or simulator-aggregation code: per-metric statistics per
//! bucket, the one service-level formula, and the expected window gauges.

use std::collections::BTreeMap;

use genesys_exporter::simulator::{OrgModel, SlOptions};
use genesys_exporter::timefmt::format_interval;

/// Statistics of one metric's events: count, and sum, max and min of their
/// durations in ms (0 for count-only metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub count: i64,
    pub sum: i64,
    pub max: i64,
    pub min: i64,
}

impl Stat {
    fn add(&mut self, v: i64) {
        if self.count == 0 {
            self.max = v;
            self.min = v;
        }
        self.count += 1;
        self.sum += v;
        self.max = self.max.max(v);
        self.min = self.min.min(v);
    }
}

/// The events of one queue × media type in one interval, metric by metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally(pub BTreeMap<&'static str, Stat>);

impl Tally {
    /// Folds every event of the model's conversations emitted in `[from, to)`.
    pub fn compute(model: &OrgModel, queue_id: &str, media: &str, from: i64, to: i64) -> Tally {
        fold(model, queue_id, media, &[(from, to)])
            .pop()
            .unwrap_or_default()
    }

    /// Events of `metric`.
    pub fn count(&self, metric: &str) -> i64 {
        self.0.get(metric).map_or(0, |s| s.count)
    }

    /// Sum of `metric`'s durations in seconds.
    pub fn seconds(&self, metric: &str) -> f64 {
        self.0.get(metric).map_or(0, |s| s.sum) as f64 / 1000.0
    }

    /// Mean of `metric` in seconds, `None` without events.
    pub fn mean_seconds(&self, metric: &str) -> Option<f64> {
        let n = self.count(metric);
        (n > 0).then(|| self.seconds(metric) / n as f64)
    }

    /// Service level per API notes §3.2 with the org's options:
    /// (answered within the target, eligible contacts).
    pub fn service_level(&self, sl: &SlOptions) -> (i64, i64) {
        let answered = self.count("tAnswered");
        let met = answered - self.count("nOverSla");
        let mut eligible = answered;
        if sl.include_abandons {
            eligible += self.count("tAbandon");
            if !sl.include_short_abandons {
                eligible -= self.count("tShortAbandon");
            }
        }
        if sl.include_flowouts {
            eligible += self.count("tFlowOut");
        }
        (met, eligible)
    }

    /// The service-level ratio, `None` when nothing was eligible.
    pub fn service_level_ratio(&self, sl: &SlOptions) -> Option<f64> {
        let (met, eligible) = self.service_level(sl);
        (eligible > 0).then(|| met as f64 / eligible as f64)
    }

    /// True when nothing at all was emitted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Folds the events of one queue × media type into one [`Tally`] per bucket
/// (`[start, end)` in ms, in order); events outside every bucket are ignored.
pub fn fold(model: &OrgModel, queue_id: &str, media: &str, buckets: &[(i64, i64)]) -> Vec<Tally> {
    let mut out = vec![Tally::default(); buckets.len()];
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return out;
    };
    for conv in model.conversations(queue_id, media, first.0, last.1) {
        for e in conv.events() {
            let Some(i) = buckets
                .iter()
                .position(|&(a, b)| a <= e.at_ms && e.at_ms < b)
            else {
                continue;
            };
            out[i]
                .0
                .entry(e.metric)
                .or_default()
                .add(e.value_ms.unwrap_or(0));
        }
    }
    out
}

/// Ground truth of one queue × media type as an aggregate response shows it:
/// bucket interval → metric → stats, empty buckets left out. `oServiceLevel`
/// is reported as `count` = numerator, `sum` = denominator.
pub fn aggregate_truth(
    model: &OrgModel,
    queue_id: &str,
    media: &str,
    buckets: &[(i64, i64)],
    sl: SlOptions,
) -> BTreeMap<String, BTreeMap<String, Stat>> {
    let mut out = BTreeMap::new();
    for (&(a, b), tally) in buckets.iter().zip(fold(model, queue_id, media, buckets)) {
        if tally.is_empty() {
            continue;
        }
        let (met, eligible) = tally.service_level(&sl);
        let mut metrics: BTreeMap<String, Stat> = tally
            .0
            .into_iter()
            .map(|(metric, stat)| (metric.to_string(), stat))
            .collect();
        if eligible > 0 {
            metrics.insert(
                "oServiceLevel".into(),
                Stat {
                    count: met,
                    sum: eligible,
                    max: 0,
                    min: 0,
                },
            );
        }
        out.insert(format_interval(a, b), metrics);
    }
    out
}

/// Expected value of every window family for one queue × media × window;
/// `None` = the series must be absent.
pub fn expected_window(
    model: &OrgModel,
    queue_id: &str,
    media: &str,
    start_ms: i64,
    end_ms: i64,
) -> BTreeMap<&'static str, Option<f64>> {
    let t = Tally::compute(model, queue_id, media, start_ms, end_ms);
    let (met, eligible) = t.service_level(&model.service_level_options());
    let answered = t.count("tAnswered");
    let abandoned = t.count("tAbandon");
    let offered = t.count("nOffered");
    // As the README documents: absent without a denominator, clamped to
    // 0–1 (abandons emitted in a window can outnumber its offers).
    let ratio = |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64).min(1.0));
    let c = |m: &str| Some(t.count(m) as f64);
    let secs = |m: &str| Some(t.seconds(m));
    BTreeMap::from([
        ("genesys_queue_offered", Some(offered as f64)),
        ("genesys_queue_answered", Some(answered as f64)),
        ("genesys_queue_abandoned", Some(abandoned as f64)),
        ("genesys_queue_short_abandoned", c("tShortAbandon")),
        ("genesys_queue_flowouts", c("tFlowOut")),
        ("genesys_queue_transferred", c("nTransferred")),
        ("genesys_queue_handled", c("tHandle")),
        ("genesys_queue_answer_time_seconds", secs("tAnswered")),
        ("genesys_queue_handle_time_seconds", secs("tHandle")),
        ("genesys_queue_wait_time_seconds", secs("tWait")),
        ("genesys_queue_waited", c("tWait")),
        ("genesys_queue_talk_time_seconds", secs("tTalkComplete")),
        ("genesys_queue_talked", c("tTalkComplete")),
        ("genesys_queue_hold_time_seconds", secs("tHeldComplete")),
        ("genesys_queue_held", c("tHeldComplete")),
        ("genesys_queue_acw_time_seconds", secs("tAcw")),
        ("genesys_queue_wrapped_up", c("tAcw")),
        ("genesys_queue_service_level_met", Some(met as f64)),
        (
            "genesys_queue_service_level_eligible",
            Some(eligible as f64),
        ),
        ("genesys_queue_abandon_ratio", ratio(abandoned, offered)),
        ("genesys_queue_service_level_ratio", ratio(met, eligible)),
    ])
}

/// True when two exported values agree (exact for counts; a relative 1e-9
/// for sums of milliseconds turned into seconds).
pub fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
