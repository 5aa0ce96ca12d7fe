//! Queue observation events (`v2.analytics.queues.{id}.observations`, model
//! `StatEventQueueTopicStatsNotification`): the state of every queue × media
//! group, taken from the very answer of `POST /api/v2/analytics/queues/observations/query`
//! at the same instant, and the difference between two states. Pure.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::super::catalog::OBSERVATION_METRICS;
use super::super::config::NotifyStyle;
use super::super::observations::{self, ObsOptions};
use super::super::org::OrgModel;
use crate::timefmt::format_instant;

const TOPIC_PREFIX: &str = "v2.analytics.queues.";
const TOPIC_SUFFIX: &str = ".observations";

/// The queue id of a queue observation topic.
pub fn queue_of_topic(topic: &str) -> Option<&str> {
    let id = topic
        .strip_prefix(TOPIC_PREFIX)?
        .strip_suffix(TOPIC_SUFFIX)?;
    (!id.is_empty() && !id.contains('.')).then_some(id)
}

/// The topic of a queue's observations.
pub fn topic_of_queue(queue_id: &str) -> String {
    format!("{TOPIC_PREFIX}{queue_id}{TOPIC_SUFFIX}")
}

/// A group of an event: queue and media type (`None` for the queue's user group).
pub type GroupKey = (String, Option<String>);

/// One metric of a group: `{"metric", "qualifier", "stats"}` as in the event body.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Metric name (`oWaiting`, …).
    pub metric: String,
    /// Qualifier (a routing status, presence id, …) or `None`.
    pub qualifier: Option<String>,
    /// Statistic name → value.
    pub stats: serde_json::Map<String, Value>,
}

/// Every group of the given queues at `now`, as the REST observations query
/// for all observation metrics answers it.
pub fn snapshot(
    org: &OrgModel,
    queue_ids: &[&str],
    now: i64,
    opts: ObsOptions,
) -> BTreeMap<GroupKey, Vec<Metric>> {
    let mut out = BTreeMap::new();
    if queue_ids.is_empty() {
        return out;
    }
    let predicates: Vec<Value> = queue_ids
        .iter()
        .map(|id| json!({"dimension": "queueId", "value": id}))
        .collect();
    let body = json!({
        "filter": {"type": "or", "predicates": predicates},
        "metrics": OBSERVATION_METRICS,
    });
    let Ok(q) = observations::parse(body.to_string().as_bytes(), usize::MAX) else {
        return out;
    };
    let answer = observations::answer(org, &q, now, opts);
    for r in answer["results"].as_array().into_iter().flatten() {
        let Some(queue) = r["group"]["queueId"].as_str() else {
            continue;
        };
        let media = r["group"]["mediaType"].as_str().map(str::to_string);
        let metrics = r["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                Some(Metric {
                    metric: d["metric"].as_str()?.to_string(),
                    qualifier: d["qualifier"].as_str().map(str::to_string),
                    stats: d["stats"].as_object()?.clone(),
                })
            })
            .collect();
        out.insert((queue.to_string(), media), metrics);
    }
    out
}

/// What an event for a group whose state went from `prev` to `next` carries,
/// or `None` when nothing changed. `Changed` sends changed metrics only; a
/// count metric that disappeared (e.g. no member IDLE any more) is sent as 0.
pub fn diff(prev: Option<&[Metric]>, next: &[Metric], style: NotifyStyle) -> Option<Vec<Metric>> {
    let Some(prev) = prev else {
        return Some(next.to_vec());
    };
    if prev == next {
        return None;
    }
    if style == NotifyStyle::Full {
        return Some(next.to_vec());
    }
    let same_key = |a: &Metric, b: &Metric| a.metric == b.metric && a.qualifier == b.qualifier;
    let mut out: Vec<Metric> = next
        .iter()
        .filter(|n| !prev.iter().any(|p| p == *n))
        .cloned()
        .collect();
    for gone in prev.iter().filter(|p| !next.iter().any(|n| same_key(p, n))) {
        if gone.stats.contains_key("count") {
            let mut zero = gone.clone();
            zero.stats = serde_json::Map::from_iter([("count".to_string(), json!(0))]);
            out.push(zero);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The whole WebSocket message of one queue observation event.
pub fn message(group: &GroupKey, metrics: &[Metric], now: i64, correlation_id: &str) -> Value {
    let (queue, media) = group;
    let mut g = json!({"queueId": queue});
    if let Some(m) = media {
        g["mediaType"] = json!(m);
    }
    let at = format_instant(now);
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|m| {
            // Like the REST answer, an unqualified metric has no `qualifier` key.
            let mut v = json!({"metric": m.metric, "stats": m.stats});
            if let Some(q) = &m.qualifier {
                v["qualifier"] = json!(q);
            }
            v
        })
        .collect();
    json!({
        "topicName": topic_of_queue(queue),
        "version": "2",
        "eventBody": {
            "group": g,
            "data": [{"interval": format!("{at}/{at}"), "metrics": metrics}],
        },
        "metadata": {"CorrelationId": correlation_id},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, qualifier: Option<&str>, count: u64) -> Metric {
        Metric {
            metric: name.to_string(),
            qualifier: qualifier.map(str::to_string),
            stats: serde_json::Map::from_iter([("count".to_string(), json!(count))]),
        }
    }

    /// Topic names round-trip and reject other topics.
    #[test]
    fn topic_names() {
        assert_eq!(queue_of_topic(&topic_of_queue("q-1")), Some("q-1"));
        assert_eq!(queue_of_topic("v2.analytics.queues.q-1.activity"), None);
        assert_eq!(queue_of_topic("v2.analytics.queues..observations"), None);
    }

    /// The first state is sent whole, an unchanged one not at all; `Full`
    /// resends everything, `Changed` only the difference with vanished counts as 0.
    #[test]
    fn diff_styles() {
        let a = vec![
            metric("oWaiting", None, 2),
            metric("oOnQueueUsers", Some("IDLE"), 1),
        ];
        let b = vec![metric("oWaiting", None, 3)];
        assert_eq!(diff(None, &a, NotifyStyle::Changed), Some(a.clone()));
        assert_eq!(diff(Some(&a), &a, NotifyStyle::Full), None);
        assert_eq!(diff(Some(&a), &b, NotifyStyle::Full), Some(b.clone()));
        assert_eq!(
            diff(Some(&a), &b, NotifyStyle::Changed),
            Some(vec![
                metric("oWaiting", None, 3),
                metric("oOnQueueUsers", Some("IDLE"), 0)
            ])
        );
    }
}
