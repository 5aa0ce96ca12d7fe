//! Window maths (pure): where each exported window starts and ends at a given
//! instant, and which aggregate queries one poll needs to fill them all.
//!
//! A rolling window of length L is `[end − L, end)` with
//! `end = floor(now − delay, align)` (epoch milliseconds, UTC). `today` is
//! `[local midnight of end's day in the time zone, end)`. Rolling windows share
//! one query over `[end − longest, end)` split into buckets of the greatest
//! common divisor of their lengths; each window sums the buckets it covers.
//! `today` gets a query of its own (one bucket).
//!
//! A query is shared only at a granularity known to work (`PT15M`, `PT30M`,
//! `PT1H`, `P1D` by default) that divides every member's length. A group
//! whose shared answer came back with buckets it did not plan (an org that
//! aligns buckets to the clock) or whose granularity was refused is planned
//! from then on as one single-bucket query per window ([`WindowSet::plan_with`]).

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::{tz::TimeZone, Timestamp};

use crate::genesys::{AggregateRequest, QueryScope};

/// Most buckets one shared query may ask for; windows whose common divisor
/// would need more get a query of their own.
pub const MAX_BUCKETS_PER_QUERY: i64 = 96;

/// Granularities a shared query may use unless configured otherwise, in ms:
/// `PT15M`, `PT30M`, `PT1H`, `P1D`.
pub const DEFAULT_GRANULARITIES_MS: [i64; 4] = [900_000, 1_800_000, 3_600_000, 86_400_000];

/// One configured window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    /// The `window` label value (`30m`, `1h30m`, `today`).
    pub label: String,
    /// Rolling or calendar day.
    pub kind: WindowKind,
}

/// The kind of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The last `length` before the window end.
    Rolling(Duration),
    /// Since local midnight in the configured time zone.
    Today,
}

/// The configured windows plus the rules that place them in time.
#[derive(Debug, Clone)]
pub struct WindowSet {
    specs: Vec<WindowSpec>,
    delay_ms: i64,
    align_ms: i64,
    tz: TimeZone,
    granularities_ms: Vec<i64>,
}

/// A window placed in time: `[start_ms, end_ms)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedWindow {
    /// The `window` label value.
    pub label: String,
    /// Inclusive start, epoch ms.
    pub start_ms: i64,
    /// Exclusive end, epoch ms.
    pub end_ms: i64,
}

/// One aggregates query of a poll (the client splits it into queue chunks).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    /// The request as the client takes it; a bucket length is set only when
    /// several windows share the query.
    pub request: AggregateRequest,
    /// Indices into [`QueryPlan::windows`] this query fills.
    pub windows: Vec<usize>,
}

/// Everything one aggregates poll asks for, and how answers map back.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    /// Every configured window, in configuration order.
    pub windows: Vec<ResolvedWindow>,
    /// The queries to run; windows of zero length need none.
    pub queries: Vec<PlannedQuery>,
}

impl WindowSet {
    /// Builds a window set. `align` must be at least 1 ms.
    pub fn new(specs: Vec<WindowSpec>, delay: Duration, align: Duration, tz: TimeZone) -> Self {
        WindowSet {
            specs,
            delay_ms: millis(delay),
            align_ms: millis(align).max(1),
            tz,
            granularities_ms: DEFAULT_GRANULARITIES_MS.to_vec(),
        }
    }

    /// The same set sharing queries only at `granularities` (each at least 1 ms).
    pub fn with_granularities(mut self, granularities: &[Duration]) -> Self {
        self.granularities_ms = granularities
            .iter()
            .map(|g| millis(*g))
            .filter(|g| *g > 0)
            .collect();
        self.granularities_ms.sort_unstable();
        self.granularities_ms.dedup();
        self
    }

    /// The granularities a shared query may use, in ms.
    pub fn granularities_ms(&self) -> &[i64] {
        &self.granularities_ms
    }

    /// The largest accepted granularity dividing `gcd` that splits `longest`
    /// into at most [`MAX_BUCKETS_PER_QUERY`] buckets.
    fn shared_granularity(&self, longest: i64, gcd: i64) -> Option<i64> {
        self.granularities_ms
            .iter()
            .copied()
            .filter(|g| gcd % g == 0 && longest / g <= MAX_BUCKETS_PER_QUERY)
            .max()
    }

    /// The configured windows.
    pub fn specs(&self) -> &[WindowSpec] {
        &self.specs
    }

    /// The configured delay.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms as u64)
    }

    /// The configured alignment.
    pub fn align(&self) -> Duration {
        Duration::from_millis(self.align_ms as u64)
    }

    /// The common end of every window at `now_ms`.
    pub fn end_ms(&self, now_ms: i64) -> i64 {
        (now_ms - self.delay_ms).div_euclid(self.align_ms) * self.align_ms
    }

    /// Every window placed in time at `now_ms`.
    pub fn resolve(&self, now_ms: i64) -> Vec<ResolvedWindow> {
        let end = self.end_ms(now_ms);
        self.specs
            .iter()
            .map(|spec| ResolvedWindow {
                label: spec.label.clone(),
                start_ms: match spec.kind {
                    WindowKind::Rolling(len) => end - millis(len),
                    WindowKind::Today => local_midnight(end, &self.tz),
                },
                end_ms: end,
            })
            .collect()
    }

    /// The queries for a poll at `now_ms` of the queues of `scope` (each
    /// query asks them the same way, see [`QueryScope::for_queues`]), keeping
    /// `media_types` (empty = all).
    pub fn plan(&self, now_ms: i64, scope: &QueryScope, media_types: &[String]) -> QueryPlan {
        self.plan_with(now_ms, scope, media_types, &BTreeSet::new())
    }

    /// [`WindowSet::plan`] where each rolling group named in `split` (by its
    /// window labels, see [`PlannedQuery::group`]) gets one single-bucket
    /// query per window instead of a shared one.
    pub fn plan_with(
        &self,
        now_ms: i64,
        scope: &QueryScope,
        media_types: &[String],
        split: &BTreeSet<Vec<String>>,
    ) -> QueryPlan {
        let windows = self.resolve(now_ms);
        let query = |start_ms: i64, end_ms: i64, granularity_ms, windows| PlannedQuery {
            request: AggregateRequest {
                start_ms,
                end_ms,
                granularity_ms,
                time_zone: None,
                scope: scope.for_interval(end_ms - start_ms),
                media_types: media_types.to_vec(),
            },
            windows,
        };
        let mut queries = Vec::new();
        for group in self.rolling_groups() {
            let longest = group.iter().map(|&i| windows[i].len()).max().unwrap_or(0);
            let end = windows[group[0]].end_ms;
            let labels: Vec<String> = group.iter().map(|&i| windows[i].label.clone()).collect();
            let granularity = (group.len() > 1)
                .then(|| group.iter().map(|&i| windows[i].len()).fold(0, gcd))
                .and_then(|g| self.shared_granularity(longest, g));
            match granularity {
                Some(g) if !split.contains(&labels) => {
                    queries.push(query(end - longest, end, Some(g), group));
                }
                _ => {
                    for i in group {
                        queries.push(query(windows[i].start_ms, end, None, vec![i]));
                    }
                }
            }
        }
        for (i, spec) in self.specs.iter().enumerate() {
            if spec.kind == WindowKind::Today && !windows[i].is_empty() {
                queries.push(query(windows[i].start_ms, windows[i].end_ms, None, vec![i]));
            }
        }
        QueryPlan { windows, queries }
    }

    /// Rolling windows grouped so each group's bucket count stays bounded;
    /// longest first, each joining the first group it fits.
    fn rolling_groups(&self) -> Vec<Vec<usize>> {
        let mut rolling: Vec<(usize, i64)> = self
            .specs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.kind {
                WindowKind::Rolling(len) => Some((i, millis(len))),
                WindowKind::Today => None,
            })
            .collect();
        rolling.sort_by_key(|&(i, len)| (std::cmp::Reverse(len), i));
        let mut groups: Vec<(Vec<usize>, i64, i64)> = Vec::new(); // (members, longest, gcd)
        for (i, len) in rolling {
            let fit = groups
                .iter_mut()
                .find(|(_, longest, g)| self.shared_granularity(*longest, gcd(*g, len)).is_some());
            match fit {
                Some((members, _, g)) => {
                    members.push(i);
                    *g = gcd(*g, len);
                }
                None => groups.push((vec![i], len, len)),
            }
        }
        groups
            .into_iter()
            .map(|(mut members, _, _)| {
                members.sort_unstable();
                members
            })
            .collect()
    }
}

impl ResolvedWindow {
    /// Length in ms (0 for an empty `today` right at midnight).
    pub fn len(&self) -> i64 {
        (self.end_ms - self.start_ms).max(0)
    }

    /// True when the window covers no time.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PlannedQuery {
    /// The labels of the windows this query fills: the key of its rolling
    /// group for [`WindowSet::plan_with`].
    pub fn group(&self, windows: &[ResolvedWindow]) -> Vec<String> {
        self.windows
            .iter()
            .filter_map(|&i| windows.get(i).map(|w| w.label.clone()))
            .collect()
    }

    /// True when `[start_ms, end_ms)` is a bucket this query planned: any
    /// interval for a single-bucket query, else one whole granularity step
    /// from the query start inside the query interval.
    pub fn planned_bucket(&self, start_ms: i64, end_ms: i64) -> bool {
        let r = &self.request;
        match r.granularity_ms {
            None => true,
            Some(g) => {
                g > 0
                    && (start_ms - r.start_ms).rem_euclid(g) == 0
                    && end_ms - start_ms == g
                    && start_ms >= r.start_ms
                    && end_ms <= r.end_ms
            }
        }
    }
}

impl QueryPlan {
    /// The windows (indices into [`QueryPlan::windows`]) that a bucket
    /// `[start_ms, end_ms)` returned for query `query` counts towards.
    ///
    /// A bucket of a single-bucket query counts towards its window whatever
    /// interval the API echoes; a bucket of a shared query counts towards each
    /// window that contains it entirely.
    pub fn windows_for_bucket(&self, query: usize, start_ms: i64, end_ms: i64) -> Vec<usize> {
        let Some(q) = self.queries.get(query) else {
            return Vec::new();
        };
        if q.request.granularity_ms.is_none() {
            return q.windows.clone();
        }
        q.windows
            .iter()
            .copied()
            .filter(|&w| {
                let win = &self.windows[w];
                start_ms >= win.start_ms && end_ms <= win.end_ms
            })
            .collect()
    }
}

/// Epoch ms of local midnight starting the day that contains `at_ms` (the
/// instant before it when `at_ms` is itself midnight is not used: a window
/// ending exactly at midnight is today's empty window).
pub fn local_midnight(at_ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(at_ms)
        .ok()
        .map(|ts| ts.to_zoned(tz.clone()))
        .and_then(|z| z.start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(at_ms)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn ms(text: &str) -> i64 {
        crate::timefmt::parse_instant(text).expect("instant")
    }

    fn set(windows: &[(&str, WindowKind)], delay: i64, align: i64, tz: &str) -> WindowSet {
        let specs = windows
            .iter()
            .map(|(label, kind)| WindowSpec {
                label: (*label).to_owned(),
                kind: *kind,
            })
            .collect();
        let d = |ms: i64| Duration::from_millis(ms as u64);
        WindowSet::new(specs, d(delay), d(align), TimeZone::get(tz).expect("tz"))
    }

    fn none() -> QueryScope {
        QueryScope::Queues(Vec::new())
    }

    fn rolling(minutes: u64) -> WindowKind {
        WindowKind::Rolling(Duration::from_secs(minutes * 60))
    }

    /// Window ends are now minus delay, floored to the alignment.
    #[test]
    fn end_is_delayed_and_floored() {
        let w = set(&[("30m", rolling(30))], 2 * MIN, 5 * MIN, "UTC");
        let now = ms("2025-03-12T13:08:59.999Z");
        let r = w.resolve(now);
        assert_eq!(r[0].end_ms, ms("2025-03-12T13:05:00Z"));
        assert_eq!(r[0].start_ms, ms("2025-03-12T12:35:00Z"));
        // Two replicas polling within the same aligned period agree.
        assert_eq!(w.resolve(ms("2025-03-12T13:07:00.001Z")), r);
    }

    /// `today` starts at local midnight on a spring-forward day (23-hour day).
    #[test]
    fn today_on_spring_forward_day() {
        let w = set(&[("today", WindowKind::Today)], 0, MIN, "Europe/Berlin");
        let r = &w.resolve(ms("2025-03-30T12:00:30+02:00"))[0];
        assert_eq!(r.start_ms, ms("2025-03-29T23:00:00Z"));
        assert_eq!(r.len(), 11 * HOUR, "12 local hours minus the skipped one");
    }

    /// `today` starts at local midnight on a fall-back day (25-hour day).
    #[test]
    fn today_on_fall_back_day() {
        let w = set(&[("today", WindowKind::Today)], 0, MIN, "Europe/Berlin");
        let r = &w.resolve(ms("2025-10-26T12:00:00+01:00"))[0];
        assert_eq!(r.start_ms, ms("2025-10-25T22:00:00Z"));
        assert_eq!(r.len(), 13 * HOUR);
    }

    /// A day whose midnight does not exist starts at the first valid instant.
    #[test]
    fn today_when_midnight_is_skipped() {
        let w = set(&[("today", WindowKind::Today)], 0, MIN, "America/Sao_Paulo");
        let r = &w.resolve(ms("2018-11-04T10:00:00-02:00"))[0];
        assert_eq!(r.start_ms, ms("2018-11-04T01:00:00-02:00"));
    }

    /// Right at midnight `today` is empty and needs no query.
    #[test]
    fn today_empty_at_midnight() {
        let w = set(&[("today", WindowKind::Today)], 0, MIN, "UTC");
        let plan = w.plan(ms("2025-03-12T00:00:40Z"), &none(), &[]);
        assert!(plan.windows[0].is_empty());
        assert!(plan.queries.is_empty());
    }

    /// The delay can push the end into yesterday; `today` follows the end.
    #[test]
    fn delay_crossing_midnight() {
        let w = set(&[("today", WindowKind::Today)], 10 * MIN, MIN, "UTC");
        let r = &w.resolve(ms("2025-03-12T00:05:00Z"))[0];
        assert_eq!(r.end_ms, ms("2025-03-11T23:55:00Z"));
        assert_eq!(r.start_ms, ms("2025-03-11T00:00:00Z"));
    }

    /// Rolling windows share one query at their gcd; today has its own.
    #[test]
    fn plan_shares_rolling_windows() {
        let w = set(
            &[
                ("30m", rolling(30)),
                ("today", WindowKind::Today),
                ("1h", rolling(60)),
                ("15m", rolling(15)),
            ],
            0,
            MIN,
            "UTC",
        );
        let now = ms("2025-03-12T13:05:10Z");
        let ids = vec![String::from("q1"), String::from("q2")];
        let wide = QueryScope::for_queues(&ids, 1);
        let plan = w.plan(now, &wide, &[String::from("voice")]);
        assert_eq!(plan.queries.len(), 2);
        assert!(plan.queries.iter().all(|q| q.request.scope == wide
            && q.request.scope.queue_ids() == ids
            && q.request.media_types == ["voice"]
            && q.request.time_zone.is_none()));
        let (shared, windows) = (&plan.queries[0].request, &plan.queries[0].windows);
        assert_eq!(*windows, vec![0, 2, 3]);
        assert_eq!(shared.granularity_ms, Some(15 * MIN));
        assert_eq!(shared.end_ms - shared.start_ms, HOUR);
        assert_eq!(plan.queries[1].windows, vec![1]);
        assert_eq!(plan.queries[1].request.start_ms, ms("2025-03-12T00:00:00Z"));
        // Every bucket of the shared query lands in the windows containing it.
        let end = shared.end_ms;
        let mut counted = [0_i64; 4];
        for b in 0..4 {
            let start = shared.start_ms + b * 15 * MIN;
            for w in plan.windows_for_bucket(0, start, start + 15 * MIN) {
                counted[w] += 15 * MIN;
            }
        }
        assert_eq!(counted, [30 * MIN, 0, HOUR, 15 * MIN]);
        assert_eq!(plan.windows[3].end_ms, end);
    }

    /// Windows whose common divisor is no accepted granularity get one query
    /// each; a split group gets one single-bucket query per window; planned
    /// buckets are whole steps from the query start.
    #[test]
    fn granularities_and_split_groups() {
        let w = set(&[("5m", rolling(5)), ("30m", rolling(30))], 0, MIN, "UTC");
        let plan = w.plan(ms("2025-03-12T13:05:10Z"), &none(), &[]);
        assert_eq!(plan.queries.len(), 2);
        assert!(plan
            .queries
            .iter()
            .all(|q| q.request.granularity_ms.is_none()));
        let w = set(&[("30m", rolling(30)), ("1h", rolling(60))], 0, MIN, "UTC");
        let now = ms("2025-03-12T13:05:10Z");
        let shared = w.plan(now, &none(), &[]);
        assert_eq!(shared.queries.len(), 1);
        let q = &shared.queries[0];
        assert_eq!(q.request.granularity_ms, Some(30 * MIN));
        assert_eq!(q.group(&shared.windows), ["30m", "1h"]);
        let start = q.request.start_ms;
        assert!(q.planned_bucket(start + 30 * MIN, start + HOUR));
        assert!(
            !q.planned_bucket(start + 25 * MIN, start + 55 * MIN),
            "clock-aligned"
        );
        assert!(!q.planned_bucket(start, start + 25 * MIN), "clipped");
        let split = BTreeSet::from([q.group(&shared.windows)]);
        let apart = w.plan_with(now, &none(), &[], &split);
        assert_eq!(apart.queries.len(), 2);
        for (i, q) in apart.queries.iter().enumerate() {
            assert_eq!(q.request.granularity_ms, None);
            assert_eq!(q.request.start_ms, apart.windows[i].start_ms);
            assert_eq!(q.windows, vec![i]);
        }
        let wide = w.with_granularities(&[Duration::from_secs(600)]);
        assert_eq!(
            wide.plan(now, &none(), &[]).queries[0]
                .request
                .granularity_ms,
            Some(10 * MIN)
        );
    }

    /// An org-wide scope reaches every query of at most 7 days; a longer
    /// window names its queues.
    #[test]
    fn org_wide_scope_per_query() {
        let w = set(
            &[("8d", rolling(8 * 1440)), ("today", WindowKind::Today)],
            0,
            MIN,
            "UTC",
        );
        let ids: Vec<String> = (0..3).map(|i| format!("q{i}")).collect();
        let wide = QueryScope::for_queues(&ids, 2);
        let plan = w.plan(ms("2025-03-12T13:05:10Z"), &wide, &[]);
        assert_eq!(plan.queries.len(), 2);
        assert_eq!(
            plan.queries[0].request.scope,
            QueryScope::Queues(ids.clone())
        );
        assert_eq!(plan.queries[1].request.scope, wide);
    }

    /// A lone rolling window is one bucket; windows whose gcd would need too
    /// many buckets are split into separate queries.
    #[test]
    fn plan_splits_when_buckets_would_explode() {
        let w = set(&[("1d", rolling(1440)), ("7m", rolling(7))], 0, MIN, "UTC");
        let plan = w.plan(ms("2025-03-12T13:05:10Z"), &none(), &[]);
        assert_eq!(plan.queries.len(), 2);
        assert!(plan
            .queries
            .iter()
            .all(|q| q.request.granularity_ms.is_none()));
        let single = set(&[("30m", rolling(30))], 0, MIN, "UTC").plan(0, &none(), &[]);
        assert_eq!(single.queries.len(), 1);
        assert_eq!(single.queries[0].request.granularity_ms, None);
        assert_eq!(single.windows_for_bucket(0, 1, 2), vec![0]);
        assert!(single.windows_for_bucket(5, 1, 2).is_empty());
    }
}
