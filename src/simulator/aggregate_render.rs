//! Rendering of aggregate results: per-metric running statistics, the Genesys
//! `stats` shapes (t* max/min/count/sum in ms, n* count, oServiceLevel
//! ratio/numerator/denominator/target, oServiceTarget current), omission of
//! empty metrics, buckets and groups, and topN/bottomN ranking.

use std::collections::BTreeMap;

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

/// Renders one metric's stats object, or `None` when it has no data.
fn stats(kind: Kind, a: &Acc) -> Option<String> {
    match kind {
        Kind::Timed if a.count > 0 => Some(format!(
            r#"{{"max":{},"min":{},"count":{},"sum":{}}}"#,
            a.max, a.min, a.count, a.sum
        )),
        Kind::Count if a.count > 0 => Some(format!(r#"{{"count":{}}}"#, a.count)),
        Kind::ServiceLevel if a.sum > 0 => Some(format!(
            r#"{{"ratio":{},"numerator":{},"denominator":{},"target":{}}}"#,
            number(a.count as f64 / a.sum as f64),
            a.count,
            a.sum,
            number(a.target)
        )),
        Kind::Target if a.count > 0 => Some(format!(r#"{{"current":{}}}"#, number(a.target))),
        _ => None,
    }
}

/// A finite float as JSON.
fn number(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "0".to_string())
}

/// A string as a JSON string literal.
fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Renders the response body, with `extra` already-rendered result entries
/// after the computed groups. The JSON is written directly (no `Value` tree):
/// this is the hot path of large queries.
pub(crate) fn render(
    q: &AggQuery,
    groups: Groups,
    extra: Vec<String>,
    empty: EmptyResults,
) -> String {
    let kinds = kinds_of(q);
    let names: Vec<String> = q.metrics.iter().map(|m| string(m)).collect();
    let intervals: Vec<String> = q
        .buckets
        .iter()
        .map(|&(a, b)| string(&format_interval(a, b)))
        .collect();
    let mut results: Vec<(Option<f64>, String)> = Vec::new();
    for (key, buckets) in &groups {
        let mut data: Vec<String> = Vec::new();
        for (&b, accs) in buckets {
            let metrics: Vec<String> = names
                .iter()
                .zip(accs)
                .zip(&kinds)
                .filter_map(|((name, a), &k)| {
                    stats(k, a).map(|s| format!(r#"{{"metric":{name},"stats":{s}}}"#))
                })
                .collect();
            if !metrics.is_empty() {
                data.push(format!(
                    r#"{{"interval":{},"metrics":[{}]}}"#,
                    intervals[b],
                    metrics.join(",")
                ));
            }
        }
        if data.is_empty() {
            continue;
        }
        let group: Vec<String> = key
            .iter()
            .map(|(k, v)| format!("{}:{}", string(k), string(v)))
            .collect();
        let rank = sort_value(q, &kinds, buckets);
        let text = format!(
            r#"{{"group":{{{}}},"data":[{}]}}"#,
            group.join(","),
            data.join(",")
        );
        results.push((rank, text));
    }
    results.extend(extra.into_iter().map(|text| (None, text)));
    rank_results(q, &mut results);
    if results.is_empty() {
        return match empty {
            EmptyResults::Omitted => "{}".to_string(),
            EmptyResults::EmptyArray => r#"{"results":[]}"#.to_string(),
        };
    }
    let all: Vec<String> = results.into_iter().map(|(_, v)| v).collect();
    format!(r#"{{"results":[{}]}}"#, all.join(","))
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

fn rank_results(q: &AggQuery, results: &mut Vec<(Option<f64>, String)>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rendered stats are valid JSON of the documented shapes; empty ones vanish.
    #[test]
    fn stats_shapes() {
        let a = Acc {
            count: 3,
            sum: 30,
            max: 20,
            min: 1,
            target: 0.8,
        };
        let parse = |s: Option<String>| {
            serde_json::from_str::<serde_json::Value>(&s.expect("data")).expect("json")
        };
        assert_eq!(
            parse(stats(Kind::Timed, &a)),
            serde_json::json!({"max": 20, "min": 1, "count": 3, "sum": 30})
        );
        assert_eq!(
            parse(stats(Kind::Count, &a)),
            serde_json::json!({"count": 3})
        );
        assert_eq!(
            parse(stats(Kind::ServiceLevel, &a)),
            serde_json::json!({"ratio": 0.1, "numerator": 3, "denominator": 30, "target": 0.8})
        );
        assert_eq!(
            parse(stats(Kind::Target, &a)),
            serde_json::json!({"current": 0.8})
        );
        assert_eq!(stats(Kind::Timed, &Acc::default()), None);
        assert_eq!(stats(Kind::Unmodelled, &a), None);
        assert_eq!(
            string("Support \"VIP\" \\ Billing"),
            r#""Support \"VIP\" \\ Billing""#
        );
    }
}
