//! The budget plan: from the exported queues, the chunk sizes, the number of
//! aggregates queries, the queue-list paging and the intervals, the requests
//! per minute each poll kind needs, and, when their sum exceeds the client's
//! budget (`--api.requests-per-minute`, or 90 % of the limit Genesys
//! announces), the stretched intervals that fit it. Pure: the poller feeds it
//! and applies the result ([`super::planner`]).
//!
//! # What is stretched, in order
//! 1. The queue-list poll is never stretched: its need (the listing pages
//!    plus the served-media lookback) is reserved first.
//! 2. The real-time interval: the observations poll, stretched as far as the
//!    aggregates interval at most (real-time gauges are never refreshed more
//!    rarely than the window gauges); with push, the reconcile interval,
//!    stretched as far as needed.
//! 3. Then the aggregates interval, with polled observations following it
//!    once they reached it (both at the same interval).
//!
//! Intervals are whole seconds, rounded up, and at most a day
//! ([`MAX_INTERVAL`]). When even the queue-list poll alone needs the whole
//! budget, or a day is not long enough, the plan says it does not fit: the
//! other polls are stretched to a day and the client's limiter still never
//! sends more than the budget — it holds requests back, so polls take longer
//! (and may reach their deadline) instead of overspending.
//!
//! Token requests (about one a day) and retries are not planned: they use
//! the room between the planned rate and the budget, and the limiter holds
//! back whatever would not fit.
//!
//! # Why a plan never piles up requests
//! Each poll kind runs in one loop that never starts a poll before the
//! previous one of its kind ended ([`super::poll_loop::run_loop`]), and each
//! poll sends a bounded number of requests (its chunks), all admitted by the
//! client's shared limiter, which paces them to the budget. So at most one
//! poll per kind waits for the limiter at any time, and the plan only decides
//! how often polls start so that the limiter rarely has to hold one back.

use std::fmt;
use std::time::Duration;

/// The longest interval the plan stretches to (the longest accepted poll interval).
pub const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

/// How the real-time gauges are fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realtime {
    /// No real-time gauges.
    Off,
    /// Observations polled every `interval`.
    Poll {
        /// Time between observations polls.
        interval: Duration,
    },
    /// Notifications pushed; observations queried once per (re)connect to
    /// seed, and every `reconcile` to reconcile.
    Push {
        /// Time between reconciling observations queries.
        reconcile: Duration,
    },
}

impl Realtime {
    /// The interval of its REST queries, if it has any.
    pub fn interval(self) -> Option<Duration> {
        match self {
            Realtime::Off => None,
            Realtime::Poll { interval } => Some(interval),
            Realtime::Push { reconcile } => Some(reconcile),
        }
    }

    /// The same mode with another REST interval.
    fn with_interval(self, to: Duration) -> Realtime {
        match self {
            Realtime::Off => Realtime::Off,
            Realtime::Poll { .. } => Realtime::Poll { interval: to },
            Realtime::Push { .. } => Realtime::Push { reconcile: to },
        }
    }

    /// What its REST interval is called in the log.
    pub fn name(self) -> &'static str {
        match self {
            Realtime::Off | Realtime::Poll { .. } => "observations",
            Realtime::Push { .. } => "reconcile",
        }
    }
}

/// Whether an aggregates query over `queues` is sent org-wide (one request,
/// grouped by queue) rather than in chunks of queue ids: the rule of
/// [`crate::genesys::QueryScope::for_queues`].
pub fn org_wide(queues: usize, chunk: usize) -> bool {
    queues > chunk.max(1)
}

/// Requests `queries` aggregates queries over `queues` cost: one each when
/// sent org-wide, else one per chunk of `chunk` queue ids; none without queues.
pub fn aggregates_requests(queries: usize, queues: usize, chunk: usize, org_wide: bool) -> u64 {
    if queues == 0 {
        return 0;
    }
    let per_query = if org_wide { 1 } else { chunks(queues, chunk) };
    (queries as u64).saturating_mul(per_query)
}

/// Requests to query `queues` in chunks of `chunk` ids (0 without queues).
pub fn chunks(queues: usize, chunk: usize) -> u64 {
    queues.div_ceil(chunk.max(1)) as u64
}

/// The shape of the org and of the exporter's queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Org {
    /// Queues exported (after the name filters).
    pub queues: usize,
    /// Queues the listing returns (before the name filters): its pages.
    pub listed: usize,
    /// Queues per listing page (`--api.page-size`).
    pub page_size: usize,
    /// Queue ids per aggregates request.
    pub aggregates_chunk: usize,
    /// Queue ids per observations request.
    pub observations_chunk: usize,
    /// Aggregates queries per poll (from the window plan).
    pub queries: usize,
    /// The org refused an org-wide answer since the last queue-list refresh,
    /// so aggregates queries go in chunks.
    pub chunked: bool,
}

/// Requests one poll of each kind sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// The queue list (every page) and the served-media lookback query.
    pub queues: u64,
    /// The aggregates queries.
    pub aggregates: u64,
    /// One observations poll, or one push reconcile.
    pub realtime: u64,
}

impl Demand {
    /// The requests per poll of `org` with real-time mode `realtime`.
    pub fn of(org: &Org, realtime: Realtime) -> Demand {
        let pages = chunks(org.listed, org.page_size).max(1);
        let chunk = org.aggregates_chunk;
        let wide = !org.chunked && org_wide(org.queues, chunk);
        let lookback = aggregates_requests(1, org.queues, chunk, wide);
        let aggregates = aggregates_requests(org.queries, org.queues, chunk, wide);
        let realtime = match realtime {
            Realtime::Off => 0,
            // A reconcile is the same observations query as a poll.
            Realtime::Poll { .. } | Realtime::Push { .. } => {
                chunks(org.queues, org.observations_chunk)
            }
        };
        Demand {
            queues: pages + lookback,
            aggregates,
            realtime,
        }
    }
}

/// The intervals asked for (or in force).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Queue-list refresh.
    pub queues: Duration,
    /// Aggregates; `None` when they are not polled.
    pub aggregates: Option<Duration>,
    /// Real-time mode and its REST interval.
    pub realtime: Realtime,
}

/// Requests per minute of each poll kind.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// Queue-list polls.
    pub queues: f64,
    /// Aggregates polls.
    pub aggregates: f64,
    /// Observations polls or push reconciles.
    pub realtime: f64,
}

impl Cost {
    /// The cost of `demand` at `intervals`.
    pub fn of(demand: &Demand, intervals: &Intervals) -> Cost {
        Cost {
            queues: per_minute(demand.queues, Some(intervals.queues)),
            aggregates: per_minute(demand.aggregates, intervals.aggregates),
            realtime: per_minute(demand.realtime, intervals.realtime.interval()),
        }
    }

    /// Every kind together.
    pub fn total(&self) -> f64 {
        self.queues + self.aggregates + self.realtime
    }
}

/// One interval the plan lengthened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    /// `aggregates`, `observations` or `reconcile`.
    pub poll: &'static str,
    /// The interval asked for.
    pub from: Duration,
    /// The interval in force.
    pub to: Duration,
}

/// The outcome: the intervals in force and what they cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Requests per rolling minute the client allows itself.
    pub budget: u32,
    /// Requests per minute at the intervals asked for.
    pub needed: f64,
    /// Requests per minute at the intervals in force.
    pub planned: Cost,
    /// The intervals in force.
    pub intervals: Intervals,
    /// The intervals lengthened to fit, in the order they were.
    pub stretched: Vec<Stretch>,
    /// False when even the longest intervals need more than the budget.
    pub fits: bool,
}

/// Tolerance of the budget comparison (rounding of whole seconds is exact
/// maths but not exact floating point).
const EPSILON: f64 = 1e-9;

/// Plans `demand` at `asked` within `budget` requests per minute.
pub fn plan(demand: &Demand, asked: &Intervals, budget: u32) -> Plan {
    let b = f64::from(budget);
    let needed = Cost::of(demand, asked).total();
    let mut intervals = *asked;
    let mut fits = needed <= b + EPSILON;
    if !fits {
        let (aggregates, realtime, fit) = stretch(demand, asked, b);
        intervals.aggregates = aggregates;
        intervals.realtime = asked.realtime.with_interval_opt(realtime);
        fits = fit;
    }
    let planned = Cost::of(demand, &intervals);
    let mut stretched = Vec::new();
    if let (Some(from), Some(to)) = (asked.realtime.interval(), intervals.realtime.interval()) {
        if to != from {
            let poll = asked.realtime.name();
            stretched.push(Stretch { poll, from, to });
        }
    }
    if let (Some(from), Some(to)) = (asked.aggregates, intervals.aggregates) {
        if to != from {
            let poll = "aggregates";
            stretched.push(Stretch { poll, from, to });
        }
    }
    Plan {
        budget,
        needed,
        fits: fits && planned.total() <= b + EPSILON,
        planned,
        intervals,
        stretched,
    }
}

impl Realtime {
    fn with_interval_opt(self, to: Option<Duration>) -> Realtime {
        match to {
            Some(to) => self.with_interval(to),
            None => self,
        }
    }
}

/// The aggregates and real-time intervals that fit `budget`, and whether they do.
fn stretch(
    demand: &Demand,
    asked: &Intervals,
    budget: f64,
) -> (Option<Duration>, Option<Duration>, bool) {
    let (a, o) = (demand.aggregates, demand.realtime);
    let ta = asked.aggregates.filter(|_| a > 0);
    let to = asked.realtime.interval().filter(|_| o > 0);
    let keep = |x: Option<Duration>, y: Option<Duration>| {
        (x.or(asked.aggregates), y.or(asked.realtime.interval()))
    };
    let room = budget - per_minute(demand.queues, Some(asked.queues));
    if room <= EPSILON {
        let (x, y) = keep(ta.map(|_| MAX_INTERVAL), to.map(|_| MAX_INTERVAL));
        return (x, y, false);
    }
    // How far the real-time interval stretches before the aggregates one does.
    let cap = match (asked.realtime, ta, to) {
        (Realtime::Poll { interval }, Some(ta), Some(_)) => interval.max(ta),
        _ => MAX_INTERVAL,
    };
    // 1. The real-time interval alone.
    if let Some(to) = to {
        let left = room - per_minute(a, ta);
        if left > EPSILON {
            let t = interval_for(o, left).max(to);
            if t <= cap {
                let (x, y) = keep(None, Some(t));
                return (x, y, true);
            }
        }
    }
    let Some(ta) = ta else {
        // Nothing else to stretch: the real-time interval alone must fit.
        let t = to.map(|to| interval_for(o, room).max(to));
        let fit = t.is_none_or(|t| t <= MAX_INTERVAL);
        let (x, y) = keep(None, t.map(|t| t.min(MAX_INTERVAL)));
        return (x, y, fit);
    };
    // 2. Real time at its cap, the aggregates interval up to that cap.
    let rt_at_cap = per_minute(o, to.map(|_| cap));
    let left = room - rt_at_cap;
    if left > EPSILON {
        let t = interval_for(a, left).max(ta);
        if t <= cap || cap == MAX_INTERVAL {
            let fit = t <= MAX_INTERVAL;
            let (x, y) = keep(Some(t.min(MAX_INTERVAL)), to.map(|_| cap));
            return (x, y, fit);
        }
    }
    // 3. Both together past the cap (polled observations follow aggregates).
    let t = interval_for(a + o, room).max(ta).max(cap);
    let fit = t <= MAX_INTERVAL;
    let t = t.min(MAX_INTERVAL);
    let (x, y) = keep(Some(t), to.map(|_| t));
    (x, y, fit)
}

/// Requests per minute of `requests` every `interval` (0 when not polled).
pub fn per_minute(requests: u64, interval: Option<Duration>) -> f64 {
    match interval {
        Some(i) if !i.is_zero() => requests as f64 * 60.0 / i.as_secs_f64(),
        _ => 0.0,
    }
}

/// The shortest whole-second interval at which `requests` per poll cost at
/// most `per_minute` (at least 1 s; `per_minute` > 0).
fn interval_for(requests: u64, per_minute: f64) -> Duration {
    let secs = (requests as f64 * 60.0 / per_minute).ceil();
    if secs.is_finite() && secs < MAX_INTERVAL.as_secs_f64() * 2.0 {
        Duration::from_secs((secs as u64).max(1))
    } else {
        MAX_INTERVAL * 2
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget plan: {:.1} requests per minute needed at the requested intervals, budget {}",
            self.needed, self.budget
        )?;
        if self.stretched.is_empty() {
            return write!(f, "; no interval stretched");
        }
        for (i, s) in self.stretched.iter().enumerate() {
            let lead = if i == 0 { ": " } else { ", then " };
            write!(
                f,
                "{lead}{} interval stretched from {} to {}",
                s.poll,
                humantime::format_duration(s.from),
                humantime::format_duration(s.to)
            )?;
        }
        write!(
            f,
            " to fit ({:.1} per minute planned: queues {:.1}, aggregates {:.1}, {} {:.1})",
            self.planned.total(),
            self.planned.queues,
            self.planned.aggregates,
            self.intervals.realtime.name(),
            self.planned.realtime
        )?;
        if !self.fits {
            write!(
                f,
                "; even so the polls need more than the budget: the client holds requests back \
                 so polls take longer than their interval (raise --poll.queues-interval or \
                 --api.page-size, or narrow --queues.* / --metrics.*)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// 2 windows (2 queries), the default chunk and page sizes.
    fn org(queues: usize) -> Org {
        Org {
            queues,
            listed: queues,
            page_size: 100,
            aggregates_chunk: 100,
            observations_chunk: 200,
            queries: 2,
            chunked: false,
        }
    }

    fn defaults() -> Intervals {
        Intervals {
            queues: s(600),
            aggregates: Some(s(60)),
            realtime: Realtime::Poll { interval: s(15) },
        }
    }

    #[test]
    fn aggregates_requests_per_poll() {
        assert_eq!(
            aggregates_requests(2, 0, 100, false),
            0,
            "no queues, no request"
        );
        assert_eq!(aggregates_requests(2, 0, 100, true), 0);
        assert_eq!(aggregates_requests(2, 100, 100, false), 2);
        assert_eq!(aggregates_requests(2, 101, 100, false), 4);
        assert_eq!(aggregates_requests(2, 2_000, 100, false), 40);
        assert_eq!(aggregates_requests(2, 10_000, 100, true), 2);
        assert_eq!(aggregates_requests(0, 500, 100, true), 0);
        assert_eq!(
            aggregates_requests(3, 7, 0, false),
            21,
            "chunk 0 reads as 1"
        );
        assert!(!org_wide(100, 100));
        assert!(org_wide(101, 100));
    }

    #[test]
    fn demand_of_an_org() {
        let d = Demand::of(&org(2_000), Realtime::Poll { interval: s(15) });
        // 20 pages + 1 org-wide lookback; 2 org-wide queries; 10 chunks of 200.
        assert_eq!(
            d,
            Demand {
                queues: 21,
                aggregates: 2,
                realtime: 10
            }
        );
        let small = Demand::of(&org(40), Realtime::Poll { interval: s(15) });
        assert_eq!((small.queues, small.aggregates, small.realtime), (2, 2, 1));
        let push = Demand::of(&org(401), Realtime::Push { reconcile: s(300) });
        assert_eq!(push.realtime, 3);
        assert_eq!(Demand::of(&org(401), Realtime::Off).realtime, 0);
        let listed_more = Org {
            listed: 950,
            ..org(3)
        };
        assert_eq!(Demand::of(&listed_more, Realtime::Off).queues, 10 + 1);
    }

    /// No queues: one listing page per refresh and nothing else.
    #[test]
    fn zero_queues() {
        let d = Demand::of(&org(0), Realtime::Poll { interval: s(15) });
        assert_eq!(
            d,
            Demand {
                queues: 1,
                aggregates: 0,
                realtime: 0
            }
        );
        let p = plan(&d, &defaults(), 120);
        assert!(p.fits && p.stretched.is_empty());
        assert!((p.needed - 0.1).abs() < 1e-9, "{}", p.needed);
        assert_eq!(p.intervals, defaults());
        // Even a budget of 1 holds one page every 10 minutes.
        assert!(plan(&d, &defaults(), 1).fits);
    }

    /// The default intervals at 2,000 queues: 2.1 + 2 + 40 = 44.1 per minute.
    #[test]
    fn defaults_fit_the_default_budget() {
        let d = Demand::of(&org(2_000), Realtime::Poll { interval: s(15) });
        let p = plan(&d, &defaults(), 120);
        assert!(p.fits);
        assert!(p.stretched.is_empty());
        assert!((p.needed - 44.1).abs() < 1e-9, "{}", p.needed);
        assert_eq!(p.planned, Cost::of(&d, &defaults()));
        assert!(p.to_string().contains("no interval stretched"), "{p}");
    }

    /// Exactly at the budget fits; one request more stretches observations.
    #[test]
    fn exactly_at_the_budget() {
        // 1 + 2 + 60 = 63 per minute.
        let d = Demand {
            queues: 1,
            aggregates: 2,
            realtime: 1,
        };
        let asked = Intervals {
            queues: s(60),
            aggregates: Some(s(60)),
            realtime: Realtime::Poll { interval: s(1) },
        };
        let p = plan(&d, &asked, 63);
        assert!((p.needed - 63.0).abs() < 1e-9);
        assert!(p.fits && p.stretched.is_empty(), "{p}");
        let p = plan(&d, &asked, 62);
        assert!(p.fits, "{p}");
        // 59 left for observations: 60/59 s, rounded up to 2 s.
        assert_eq!(p.intervals.realtime, Realtime::Poll { interval: s(2) });
        assert_eq!(
            p.stretched,
            [Stretch {
                poll: "observations",
                from: s(1),
                to: s(2)
            }]
        );
        assert!((p.planned.total() - 33.0).abs() < 1e-9);
    }

    /// 10,000 queues at the default intervals: observations (50 chunks every
    /// 15 s = 200/min) stretch to fit 120/min; aggregates stay.
    #[test]
    fn huge_org_stretches_observations() {
        let d = Demand::of(&org(10_000), Realtime::Poll { interval: s(15) });
        assert_eq!((d.queues, d.aggregates, d.realtime), (101, 2, 50));
        let p = plan(&d, &defaults(), 120);
        assert!(p.fits, "{p}");
        // 120 - 10.1 - 2 = 107.9 left: 50 × 60 / 107.9 = 27.8 → 28 s.
        assert_eq!(p.intervals.realtime, Realtime::Poll { interval: s(28) });
        assert_eq!(p.intervals.aggregates, Some(s(60)));
        assert_eq!(p.intervals.queues, s(600), "never stretched");
        assert!(p.planned.total() <= 120.0);
        let line = p.to_string();
        assert!(
            line.contains("observations interval stretched from 15s to 28s"),
            "{line}"
        );
        assert!(line.contains("budget 120"), "{line}");
        // With Genesys's full 300 (270 after headroom) nothing stretches.
        assert!(plan(&d, &defaults(), 270).stretched.is_empty());
    }

    /// Chunked aggregates of a huge org: observations reach the aggregates
    /// interval, then aggregates (and observations with them) stretch.
    #[test]
    fn then_aggregates_stretch() {
        let d = Demand {
            queues: 101,
            aggregates: 200,
            realtime: 50,
        };
        let p = plan(&d, &defaults(), 120);
        assert!(p.fits, "{p}");
        // 109.9 left for 250 requests per poll at one interval: 136.5 → 137 s.
        assert_eq!(p.intervals.aggregates, Some(s(137)));
        assert_eq!(p.intervals.realtime, Realtime::Poll { interval: s(137) });
        assert_eq!(p.stretched.len(), 2);
        assert_eq!(p.stretched[0].poll, "observations");
        assert_eq!(p.stretched[1].poll, "aggregates");
        assert!(p.planned.total() <= 120.0);

        // Aggregates stretch alone up to the observations interval when
        // observations were asked for more rarely than aggregates.
        let slow_rt = Intervals {
            realtime: Realtime::Poll { interval: s(120) },
            ..defaults()
        };
        let d = Demand {
            queues: 10,
            aggregates: 100,
            realtime: 10,
        };
        let p = plan(&d, &slow_rt, 60);
        // 59 - 5 = 54 left for aggregates: 111.1 → 112 s ≤ 120 s.
        assert_eq!(p.intervals.aggregates, Some(s(112)));
        assert_eq!(p.intervals.realtime, Realtime::Poll { interval: s(120) });
        assert!(p.fits);
    }

    /// Observations off: only aggregates can stretch.
    #[test]
    fn observations_off() {
        let asked = Intervals {
            realtime: Realtime::Off,
            ..defaults()
        };
        let d = Demand::of(&org(2_000), Realtime::Off);
        assert_eq!(d.realtime, 0);
        assert!(plan(&d, &asked, 120).stretched.is_empty());
        let chunked = Demand {
            aggregates: 40,
            ..d
        };
        let p = plan(&chunked, &asked, 20);
        // 20 - 2.1 = 17.9 left: 40 × 60 / 17.9 = 134.08 → 135 s.
        assert_eq!(p.intervals.aggregates, Some(s(135)));
        assert_eq!(p.intervals.realtime, Realtime::Off);
        assert_eq!(
            p.stretched,
            [Stretch {
                poll: "aggregates",
                from: s(60),
                to: s(135)
            }]
        );
        assert!(p.fits);
    }

    /// Aggregates not polled (every window family filtered out): the
    /// observations interval stretches as far as it must.
    #[test]
    fn aggregates_off() {
        let asked = Intervals {
            aggregates: None,
            realtime: Realtime::Poll { interval: s(1) },
            ..defaults()
        };
        let d = Demand {
            queues: 1,
            aggregates: 0,
            realtime: 5,
        };
        let p = plan(&d, &asked, 30);
        // 29.9 left: 300 / 29.9 = 10.03 → 11 s.
        assert_eq!(p.intervals.realtime, Realtime::Poll { interval: s(11) });
        assert_eq!(p.intervals.aggregates, None);
        assert!(p.fits);
    }

    /// Push: the reconcile interval stretches first, without the aggregates cap.
    #[test]
    fn push_reconcile_stretches() {
        let asked = Intervals {
            realtime: Realtime::Push { reconcile: s(300) },
            ..defaults()
        };
        let d = Demand::of(&org(10_000), Realtime::Push { reconcile: s(300) });
        assert_eq!(d.realtime, 50);
        let p = plan(&d, &asked, 120);
        assert!(p.stretched.is_empty(), "10.1 + 2 + 10 fit: {p}");
        let p = plan(&d, &asked, 15);
        // 15 - 10.1 - 2 = 2.9 left: 3000 / 2.9 = 1034.5 → 1035 s.
        assert_eq!(p.intervals.realtime, Realtime::Push { reconcile: s(1035) });
        assert_eq!(p.stretched[0].poll, "reconcile");
        assert_eq!(p.intervals.aggregates, Some(s(60)));
        assert!(p.fits);
        assert!(
            p.to_string().contains("reconcile interval stretched"),
            "{p}"
        );
    }

    /// The queue list alone exceeding the budget: it is kept, the others go to
    /// a day, and the plan says it does not fit.
    #[test]
    fn queue_list_alone_too_much() {
        let d = Demand {
            queues: 1_001,
            aggregates: 2,
            realtime: 500,
        };
        let p = plan(&d, &defaults(), 100);
        assert!(!p.fits);
        assert_eq!(p.intervals.queues, s(600));
        assert_eq!(p.intervals.aggregates, Some(MAX_INTERVAL));
        assert_eq!(
            p.intervals.realtime,
            Realtime::Poll {
                interval: MAX_INTERVAL
            }
        );
        assert!(p.to_string().contains("need more than the budget"), "{p}");
    }

    /// A day is not long enough for absurd chunk counts: clamped, not fitting.
    #[test]
    fn clamped_at_a_day() {
        let d = Demand {
            queues: 1,
            aggregates: 1_000_000,
            realtime: 1_000_000,
        };
        let p = plan(&d, &defaults(), 10);
        assert!(!p.fits);
        assert_eq!(p.intervals.aggregates, Some(MAX_INTERVAL));
        assert_eq!(
            p.intervals.realtime,
            Realtime::Poll {
                interval: MAX_INTERVAL
            }
        );
        assert!(p.planned.total().is_finite());
    }

    /// Stretching never shortens an interval and never exceeds the budget
    /// when it fits, over a grid of orgs, budgets and intervals.
    #[test]
    fn never_shorter_never_over_budget() {
        for queues in [0, 1, 99, 100, 101, 250, 2_000, 10_000, 50_000] {
            for budget in [1, 7, 30, 120, 270, 6_000] {
                for (ta, to) in [(1, 1), (60, 15), (10, 120), (3600, 1)] {
                    for realtime in [
                        Realtime::Off,
                        Realtime::Poll { interval: s(to) },
                        Realtime::Push { reconcile: s(to) },
                    ] {
                        let asked = Intervals {
                            queues: s(60),
                            aggregates: Some(s(ta)),
                            realtime,
                        };
                        let d = Demand::of(
                            &Org {
                                aggregates_chunk: 7,
                                ..org(queues)
                            },
                            realtime,
                        );
                        let p = plan(&d, &asked, budget);
                        let ctx = format!("{queues} {budget} {ta} {to} {realtime:?}: {p}");
                        assert!(p.intervals.aggregates >= asked.aggregates, "{ctx}");
                        assert!(
                            p.intervals.realtime.interval() >= realtime.interval(),
                            "{ctx}"
                        );
                        assert_eq!(p.intervals.queues, asked.queues, "{ctx}");
                        if p.fits {
                            assert!(p.planned.total() <= f64::from(budget) + 1e-9, "{ctx}");
                        }
                        if p.needed <= f64::from(budget) {
                            assert!(p.stretched.is_empty(), "{ctx}");
                        }
                        for i in [p.intervals.aggregates, p.intervals.realtime.interval()] {
                            assert!(i.is_none_or(|i| i <= MAX_INTERVAL), "{ctx}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn per_minute_maths() {
        assert_eq!(per_minute(5, None), 0.0);
        assert_eq!(per_minute(5, Some(Duration::ZERO)), 0.0);
        assert_eq!(per_minute(2, Some(s(60))), 2.0);
        assert_eq!(per_minute(1, Some(Duration::from_millis(500))), 120.0);
        assert_eq!(interval_for(50, 107.9), s(28));
        assert_eq!(interval_for(1, 1e9), s(1), "at least a second");
        assert_eq!(interval_for(1, 1e-30), MAX_INTERVAL * 2);
    }
}
