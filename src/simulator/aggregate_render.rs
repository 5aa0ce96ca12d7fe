//! Rendering of aggregate results: per-metric running statistics, the Genesys
//! `stats` shapes (t* max/min/count/sum in ms, n* count, oServiceLevel
//! ratio/numerator/denominator/target, oServiceTarget current), omission of
//! empty metrics, buckets and groups, and topN/bottomN ranking.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::config::EmptyResults;
use super::conversation::Metric;
use super::query::{AggQuery, QueryType, SortFn};
use crate::timefmt::format_interval;

/// Running statistics of one metric in one group and bucket. For
/// `oServiceLevel`, `count` is the numerator and `sum` the denominator; for
/// `oServiceTarget`, `count` counts events and `target` holds the target.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Acc {
    pub count: i64,
    pub sum: i64,
    pub max: i64,
    pub min: i64,
    pub target: f64,
}

impl Acc {
    pub fn add(&mut self, v: Option<i64>) {
        let v = v.unwrap_or(0);
        if self.count == 0 {
            (self.max, self.min) = (v, v);
        } else {
            self.max = self.max.max(v);
            self.min = self.min.min(v);
        }
        self.count += 1;
        self.sum += v;
    }

    pub fn merge(&mut self, o: &Acc, kind: Kind) {
        match kind {
            Kind::Timed | Kind::Count if o.count > 0 => {
                if self.count == 0 {
                    *self = *o;
                } else {
                    self.count += o.count;
                    self.sum += o.sum;
                    self.max = self.max.max(o.max);
                    self.min = self.min.min(o.min);
                }
            }
            Kind::ServiceLevel | Kind::Target => {
                self.count += o.count;
                self.sum += o.sum;
                self.target = self.target.max(o.target);
            }
            _ => {}
        }
    }
}

/// How a requested metric is computed and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Timed,
    Count,
    ServiceLevel,
    Target,
    /// A valid metric the traffic model never emits.
    Unmodelled,
}

/// Group key: dimension name → value (sorted), and the buckets' statistics.
pub(crate) type Groups = BTreeMap<Vec<(String, String)>, BTreeMap<usize, Vec<Acc>>>;

/// Renders one metric's stats, or `None` when it has no data.
fn stats(kind: Kind, a: &Acc) -> Option<Value> {
    match kind {
        Kind::Timed if a.count > 0 => {
            Some(json!({"max": a.max, "min": a.min, "count": a.count, "sum": a.sum}))
        }
        Kind::Count if a.count > 0 => Some(json!({"count": a.count})),
        Kind::ServiceLevel if a.sum > 0 => Some(json!({
            "ratio": a.count as f64 / a.sum as f64,
            "numerator": a.count,
            "denominator": a.sum,
            "target": a.target,
        })),
        Kind::Target if a.count > 0 => Some(json!({"current": a.target})),
        _ => None,
    }
}

pub(crate) fn render(q: &AggQuery, groups: Groups, empty: EmptyResults) -> Value {
    let kinds = kinds_of(q);
    let mut results: Vec<(Option<f64>, Value)> = Vec::new();
    for (key, buckets) in &groups {
        let mut data = Vec::new();
        for (&b, accs) in buckets {
            let metrics: Vec<Value> = q
                .metrics
                .iter()
                .zip(accs)
                .zip(&kinds)
                .filter_map(|((name, a), &k)| {
                    stats(k, a).map(|s| json!({"metric": name, "stats": s}))
                })
                .collect();
            if !metrics.is_empty() {
                let (from, to) = q.buckets[b];
                data.push(json!({"interval": format_interval(from, to), "metrics": metrics}));
            }
        }
        if data.is_empty() {
            continue;
        }
        let group: Map<String, Value> = key
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let rank = sort_value(q, &kinds, buckets);
        results.push((rank, json!({"group": group, "data": data})));
    }
    rank_results(q, &mut results);
    if results.is_empty() {
        return match empty {
            EmptyResults::Omitted => json!({}),
            EmptyResults::EmptyArray => json!({"results": []}),
        };
    }
    json!({"results": results.into_iter().map(|(_, v)| v).collect::<Vec<_>>()})
}

pub(crate) fn kinds_of(q: &AggQuery) -> Vec<Kind> {
    q.metrics
        .iter()
        .map(|n| match (n.as_str(), Metric::from_name(n)) {
            ("oServiceLevel", _) => Kind::ServiceLevel,
            ("oServiceTarget", _) => Kind::Target,
            (_, Some(_)) if n.starts_with('t') => Kind::Timed,
            (_, Some(_)) => Kind::Count,
            _ => Kind::Unmodelled,
        })
        .collect()
}

/// The topN/bottomN ranking value of a group (its sort metric over all buckets).
fn sort_value(q: &AggQuery, kinds: &[Kind], buckets: &BTreeMap<usize, Vec<Acc>>) -> Option<f64> {
    let (name, f) = q.sort.as_ref()?;
    let i = q.metrics.iter().position(|m| m == name)?;
    let mut total = Acc::default();
    for accs in buckets.values() {
        total.merge(&accs[i], kinds[i]);
    }
    if total.count == 0 {
        return None;
    }
    Some(match f {
        SortFn::Count => total.count as f64,
        SortFn::Sum => total.sum as f64,
        SortFn::Max => total.max as f64,
        SortFn::Min => total.min as f64,
        SortFn::Average => total.sum as f64 / total.count as f64,
    })
}

fn rank_results(q: &AggQuery, results: &mut Vec<(Option<f64>, Value)>) {
    let descending = match q.query_type {
        QueryType::GroupBy => return,
        QueryType::TopN => true,
        QueryType::BottomN => false,
    };
    results.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) if descending => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    if let Some(limit) = q.limit {
        results.truncate(limit);
    }
}
