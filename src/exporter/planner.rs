//! Applies the [`budget`] plan: holds the interval in force of
//! each poll kind (a `watch` channel each [`Schedule`](super::poll_loop::Schedule)
//! follows), the interval freshness is judged by ([`Shared::set_interval`]),
//! and the `genesys_exporter_poll_interval_seconds` /
//! `genesys_exporter_api_requests_planned_per_minute` gauges, and logs the
//! plan once per change. The poller calls [`Planner::replan`] at start and
//! whenever what the plan depends on may have changed (a queue-list refresh,
//! a poll that learnt a smaller chunk, a split query or a lower budget).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::budget::{self, Demand, Intervals, Org, Plan};
use super::selfmetrics::SelfMetrics;
use super::state::{PollKind, Shared};

/// The last plan and what it was computed from.
#[derive(Debug)]
struct Last {
    org: Org,
    /// Intervals asked for (the real-time mode changes between push and poll).
    asked: Intervals,
    /// The demand and plan last applied (and logged).
    applied: Option<(Demand, Plan)>,
}

/// The budget plan in force, and where it is applied.
#[derive(Debug)]
pub struct Planner {
    /// Interval in force per kind, in [`PollKind::ALL`] order.
    intervals: [watch::Sender<Duration>; 3],
    shared: Arc<Shared>,
    metrics: Arc<SelfMetrics>,
    last: Mutex<Last>,
}

impl Planner {
    /// A planner for the intervals `asked` (`None` / [`budget::Realtime::Off`] for
    /// kinds that do not run); nothing is applied until [`Planner::replan`].
    pub fn new(
        asked: Intervals,
        org: Org,
        shared: Arc<Shared>,
        metrics: Arc<SelfMetrics>,
    ) -> Planner {
        let initial = [
            Some(asked.queues),
            asked.aggregates,
            asked.realtime.interval(),
        ];
        Planner {
            intervals: initial.map(|i| watch::channel(i.unwrap_or(budget::MAX_INTERVAL)).0),
            shared,
            metrics,
            last: Mutex::new(Last {
                org,
                asked,
                applied: None,
            }),
        }
    }

    /// The interval in force for `kind`, as it changes.
    pub fn interval(&self, kind: PollKind) -> watch::Receiver<Duration> {
        self.intervals[kind as usize].subscribe()
    }

    /// Plans again with `update` applied to the org shape, within `budget`
    /// requests per minute; applies and logs the plan when it changed.
    pub fn replan(&self, budget: u32, update: impl FnOnce(&mut Org)) -> Plan {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        update(&mut last.org);
        let demand = Demand::of(&last.org, last.asked.realtime);
        let plan = budget::plan(&demand, &last.asked, budget);
        let changed = last
            .applied
            .as_ref()
            .is_none_or(|(d, p)| !same_plan(d, p, &demand, &plan));
        if changed {
            self.apply(&plan);
            log(&plan, last.org.queues);
            last.applied = Some((demand, plan.clone()));
        }
        plan
    }

    /// Switches how the real-time gauges are fed (push with a reconcile
    /// interval, or polling) and plans again within `budget`. A kind that is
    /// off stays off.
    pub fn set_realtime(&self, realtime: budget::Realtime, budget: u32) -> Plan {
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            if last.asked.realtime != budget::Realtime::Off {
                last.asked.realtime = realtime;
            }
        }
        self.replan(budget, |_| {})
    }

    fn apply(&self, plan: &Plan) {
        let i = &plan.intervals;
        let effective = [Some(i.queues), i.aggregates, i.realtime.interval()];
        let cost = [
            plan.planned.queues,
            plan.planned.aggregates,
            plan.planned.realtime,
        ];
        for (k, kind) in PollKind::ALL.into_iter().enumerate() {
            if let Some(interval) = effective[k] {
                // Lengthen freshness before the schedule waits longer, so a
                // stretched poll never reads as stale in between.
                self.shared.set_interval(kind, Some(interval));
                self.intervals[k].send_if_modified(|now| {
                    let new = *now != interval;
                    *now = interval;
                    new
                });
            }
            self.metrics.set_plan(kind, effective[k], cost[k]);
        }
    }
}

/// True when two plans send the same requests at the same intervals within
/// the same budget (so the second is not logged again).
fn same_plan(d1: &Demand, p1: &Plan, d2: &Demand, p2: &Plan) -> bool {
    d1 == d2 && p1.intervals == p2.intervals && p1.budget == p2.budget && p1.fits == p2.fits
}

fn log(plan: &Plan, queues: usize) {
    let stretched = plan
        .stretched
        .iter()
        .map(|s| s.poll)
        .collect::<Vec<_>>()
        .join(",");
    if plan.stretched.is_empty() {
        tracing::info!(
            queues,
            needed_per_minute = plan.needed,
            budget = plan.budget,
            "{plan}"
        );
    } else if plan.fits {
        tracing::warn!(
            queues,
            needed_per_minute = plan.needed,
            budget = plan.budget,
            planned_per_minute = plan.planned.total(),
            stretched,
            "{plan}"
        );
    } else {
        tracing::error!(
            queues,
            needed_per_minute = plan.needed,
            budget = plan.budget,
            planned_per_minute = plan.planned.total(),
            stretched,
            "{plan}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::budget::Realtime;

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

    /// A plan that stretches observations changes the schedule's interval,
    /// freshness and the gauges; an unchanged plan is applied once.
    #[tokio::test]
    async fn applies_stretched_intervals() {
        let s = Duration::from_secs;
        let shared = Arc::new(Shared::new([Some(s(60)), Some(s(10)), Some(s(1))], s(1)));
        let metrics = Arc::new(SelfMetrics::new());
        let asked = Intervals {
            queues: s(60),
            aggregates: Some(s(10)),
            realtime: Realtime::Poll { interval: s(1) },
        };
        let planner = Planner::new(asked, org(0), Arc::clone(&shared), Arc::clone(&metrics));
        let mut rx = planner.interval(PollKind::Observations);
        let first = planner.replan(6_000, |_| {});
        assert!(first.stretched.is_empty());
        assert_eq!(*rx.borrow_and_update(), s(1));
        let plan = planner.replan(30, |o| *o = org(50));
        // 30 - 2 (queues) - 12 (aggregates) = 16 left: 60 / 16 → 4 s.
        assert_eq!(plan.intervals.realtime, Realtime::Poll { interval: s(4) });
        assert!(rx.has_changed().expect("sender alive"));
        assert_eq!(*rx.borrow_and_update(), s(4));
        assert_eq!(shared.status()[2].interval, Some(s(4)));
        let text = String::from_utf8(metrics.render()).expect("utf8");
        assert!(
            text.contains("genesys_exporter_poll_interval_seconds{poll=\"observations\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("genesys_exporter_poll_interval_seconds{poll=\"aggregates\"} 10\n"),
            "{text}"
        );
        assert!(text.contains(
            "genesys_exporter_api_requests_planned_per_minute{poll=\"observations\"} 15\n"
        ));
        planner.replan(30, |_| {});
        assert!(!rx.has_changed().expect("sender alive"), "same plan");
        // No queues again: the interval goes back to the one asked for.
        planner.replan(30, |o| *o = org(0));
        assert_eq!(*rx.borrow_and_update(), s(1));
        // Push: the observations schedule follows the reconcile interval.
        let plan = planner.set_realtime(Realtime::Push { reconcile: s(300) }, 6_000);
        assert_eq!(
            plan.intervals.realtime,
            Realtime::Push { reconcile: s(300) }
        );
        assert_eq!(*rx.borrow_and_update(), s(300));
        planner.set_realtime(Realtime::Poll { interval: s(1) }, 6_000);
        assert_eq!(*rx.borrow_and_update(), s(1));
    }

    /// A kind that does not run has no interval gauge.
    #[tokio::test]
    async fn kinds_off_have_no_gauge() {
        let s = Duration::from_secs;
        let shared = Arc::new(Shared::new([Some(s(60)), None, Some(s(15))], s(1)));
        let metrics = Arc::new(SelfMetrics::new());
        let asked = Intervals {
            queues: s(60),
            aggregates: None,
            realtime: Realtime::Poll { interval: s(15) },
        };
        let planner = Planner::new(asked, org(10), shared, Arc::clone(&metrics));
        planner.replan(120, |_| {});
        let text = String::from_utf8(metrics.render()).expect("utf8");
        assert!(!text.contains("poll_interval_seconds{poll=\"aggregates\"}"));
        assert!(text.contains("poll_interval_seconds{poll=\"queues\"} 60\n"));
    }
}
