//! Metrics an org refuses: a 400 `invalid.value` naming a requested metric
//! drops that metric from its query kind for the process lifetime, and the
//! window families whose values read it are left out instead of showing a
//! false zero. The core ([`rejected_metric`], [`families_reading`]) is pure;
//! [`MetricSupport`] keeps what was learnt.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::families::{self, WINDOW_FAMILIES};
use crate::genesys::{self, OBSERVATION_METRICS};
use crate::kpi::{StatValues, Totals, AGGREGATE_METRICS};

/// The query kind a metric belongs to (the `query` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueryKind {
    /// Conversation aggregates.
    Aggregates,
    /// Queue observations.
    Observations,
}

impl QueryKind {
    /// Both kinds.
    pub const ALL: [QueryKind; 2] = [QueryKind::Aggregates, QueryKind::Observations];

    /// The `query` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Aggregates => "aggregates",
            QueryKind::Observations => "observations",
        }
    }

    /// Every metric the exporter asks for in this kind of query.
    pub fn catalogue(self) -> &'static [&'static str] {
        match self {
            QueryKind::Aggregates => &AGGREGATE_METRICS,
            QueryKind::Observations => &OBSERVATION_METRICS,
        }
    }
}

/// The real-time families and the observation metric each shows.
const REALTIME_SOURCES: [(&str, &str); 4] = [
    ("oWaiting", families::WAITING.name),
    ("oInteracting", families::INTERACTING.name),
    ("oAlerting", families::ALERTING.name),
    ("oOnQueueUsers", families::AGENTS.name),
];

/// The metric of `asked` that a 400 `invalid.value` answer names, if any.
pub fn rejected_metric(err: &genesys::Error, asked: &[&'static str]) -> Option<&'static str> {
    let value = err.invalid_value()?;
    asked.iter().copied().find(|m| *m == value)
}

/// Names of the window families whose value depends on `metric`: those whose
/// value changes when the metric is recorded once more on top of totals that
/// have every metric, or when it is left out of such totals (a ratio capped
/// at 1 may not move the first way).
pub fn families_reading(metric: &str) -> Vec<&'static str> {
    let first = StatValues {
        count: Some(1.0),
        sum: Some(1_000.0),
        numerator: Some(1.0),
        denominator: Some(2.0),
        target: Some(0.5),
        current: Some(0.5),
        ..Default::default()
    };
    let again = StatValues {
        count: Some(2.0),
        sum: Some(5_000.0),
        numerator: Some(3.0),
        denominator: Some(3.0),
        target: Some(0.9),
        current: Some(0.9),
        ..Default::default()
    };
    let many = StatValues {
        count: Some(10.0),
        sum: Some(20_000.0),
        numerator: Some(4.0),
        denominator: Some(10.0),
        target: Some(0.8),
        current: Some(0.4),
        ..Default::default()
    };
    let mut base = Totals::default();
    let mut without = Totals::default();
    for m in AGGREGATE_METRICS {
        base.record(m, &first);
        if m != metric {
            without.record(m, &many);
        }
    }
    let mut changed = base;
    changed.record(metric, &again);
    let mut with = without;
    with.record(metric, &many);
    WINDOW_FAMILIES
        .iter()
        .filter(|f| {
            (f.value)(&base) != (f.value)(&changed) || (f.value)(&without) != (f.value)(&with)
        })
        .map(|f| f.family.name)
        .collect()
}

/// The metrics refused so far, per query kind.
#[derive(Debug, Default)]
pub struct MetricSupport {
    rejected: Mutex<BTreeSet<(QueryKind, &'static str)>>,
}

impl MetricSupport {
    /// The metrics still asked for in `kind` queries, in catalogue order.
    pub fn metrics(&self, kind: QueryKind) -> Vec<&'static str> {
        let rejected = self.lock();
        kind.catalogue()
            .iter()
            .copied()
            .filter(|m| !rejected.contains(&(kind, *m)))
            .collect()
    }

    /// Learns from a failed `kind` query that asked for `asked`: the refused
    /// metric when `err` names one not yet known (so the query should be
    /// retried without it), else `None`. Never drops the last metric.
    pub fn learn(
        &self,
        kind: QueryKind,
        err: &genesys::Error,
        asked: &[&'static str],
    ) -> Option<&'static str> {
        if asked.len() < 2 {
            return None;
        }
        let metric = rejected_metric(err, asked)?;
        self.lock().insert((kind, metric)).then_some(metric)
    }

    /// Window families left out because a metric they read was refused.
    pub fn hidden_window_families(&self) -> Vec<&'static str> {
        let rejected = self.lock();
        let mut hidden: Vec<&'static str> = rejected
            .iter()
            .filter(|(k, _)| *k == QueryKind::Aggregates)
            .flat_map(|(_, m)| families_reading(m))
            .collect();
        hidden.sort_unstable();
        hidden.dedup();
        hidden
    }

    /// Real-time families left out because the observation metric they
    /// show was refused (`oLongestWaiting` has a stand-in and hides nothing).
    pub fn hidden_realtime_families(&self) -> Vec<&'static str> {
        let rejected = self.lock();
        REALTIME_SOURCES
            .iter()
            .filter(|(metric, _)| rejected.contains(&(QueryKind::Observations, *metric)))
            .map(|(_, family)| *family)
            .collect()
    }

    /// True when `metric` of `kind` was refused.
    pub fn is_rejected(&self, kind: QueryKind, metric: &str) -> bool {
        self.lock().iter().any(|(k, m)| *k == kind && *m == metric)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<(QueryKind, &'static str)>> {
        self.rejected.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::{ApiDetail, Endpoint, Error};

    fn invalid(value: &str) -> Error {
        Error::Rejected {
            endpoint: Endpoint::Observations,
            status: 400,
            detail: ApiDetail {
                message: Some(format!(
                    "Value [{value}] is not valid for field type [QueueObservationMetric]. \
                     Allowable values are: oWaiting, oInteracting"
                )),
                code: Some("invalid.value".into()),
                context_id: None,
                value: Some(value.into()),
            },
        }
    }

    /// A refused metric is learnt once, dropped from its kind only, and the
    /// same error does not teach anything twice.
    #[test]
    fn learns_each_refused_metric_once() {
        let support = MetricSupport::default();
        let asked = support.metrics(QueryKind::Observations);
        let err = invalid("oLongestWaiting");
        assert_eq!(
            support.learn(QueryKind::Observations, &err, &asked),
            Some("oLongestWaiting")
        );
        let now = support.metrics(QueryKind::Observations);
        assert_eq!(now.len(), asked.len() - 1);
        assert!(!now.contains(&"oLongestWaiting"));
        assert_eq!(support.learn(QueryKind::Observations, &err, &now), None);
        assert_eq!(
            support.metrics(QueryKind::Aggregates).len(),
            AGGREGATE_METRICS.len()
        );
        assert!(support.hidden_window_families().is_empty());
        assert!(support.hidden_realtime_families().is_empty());
        support.learn(QueryKind::Observations, &invalid("oAlerting"), &now);
        assert_eq!(
            support.hidden_realtime_families(),
            ["genesys_queue_alerting"]
        );
    }

    /// Errors that do not name a requested metric teach nothing.
    #[test]
    fn other_errors_teach_nothing() {
        let support = MetricSupport::default();
        let asked = support.metrics(QueryKind::Aggregates);
        assert_eq!(
            support.learn(QueryKind::Aggregates, &invalid("PT5M"), &asked),
            None
        );
        let server = Error::Server {
            endpoint: Endpoint::Aggregates,
            status: 503,
            detail: ApiDetail::default(),
        };
        assert_eq!(support.learn(QueryKind::Aggregates, &server, &asked), None);
    }

    /// A refused aggregate metric hides exactly the window families reading it.
    #[test]
    fn hides_families_reading_a_refused_metric() {
        assert_eq!(
            families_reading("tShortAbandon"),
            ["genesys_queue_short_abandoned"]
        );
        assert_eq!(
            families_reading("tAbandon"),
            ["genesys_queue_abandoned", "genesys_queue_abandon_ratio"],
            "the ratio capped at 1 reads it too"
        );
        let offered = families_reading("nOffered");
        assert!(offered.contains(&"genesys_queue_offered"));
        assert!(offered.contains(&"genesys_queue_abandon_ratio"));
        let support = MetricSupport::default();
        let asked = support.metrics(QueryKind::Aggregates);
        support.learn(QueryKind::Aggregates, &invalid("tShortAbandon"), &asked);
        assert_eq!(
            support.hidden_window_families(),
            ["genesys_queue_short_abandoned"]
        );
        assert!(support.is_rejected(QueryKind::Aggregates, "tShortAbandon"));
    }
}
