//! Pure builders for request bodies and URLs: aggregate and observation query
//! bodies (queue-id `or` filters, optional media filter), queue-listing URLs,
//! and the [`AggregateRequest`] they are built from.

use reqwest::Url;
use serde_json::{json, Value};

use crate::timefmt;

/// The observation metrics requested: per queue × media counts and the longest
/// wait, and per queue the member, active and on-queue (by routing status) users.
pub const OBSERVATION_METRICS: [&str; 7] = [
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oMemberUsers",
    "oActiveUsers",
    "oOnQueueUsers",
];

/// One aggregate query over `[start_ms, end_ms)` for some queues.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRequest {
    /// Interval start, epoch ms (inclusive).
    pub start_ms: i64,
    /// Interval end, epoch ms (exclusive).
    pub end_ms: i64,
    /// Bucket size; `None` = one bucket for the whole interval.
    pub granularity_ms: Option<i64>,
    /// IANA zone for bucket boundaries (`timeZone`); `None` = UTC.
    pub time_zone: Option<String>,
    /// Queues to query (chunked by the client). Empty = no request at all.
    pub queue_ids: Vec<String>,
    /// Media types to keep; empty = all.
    pub media_types: Vec<String>,
}

fn predicates(dimension: &str, values: &[String]) -> Vec<Value> {
    values
        .iter()
        .map(|v| {
            json!({"type": "dimension", "dimension": dimension, "operator": "matches", "value": v})
        })
        .collect()
}

/// The filter `queueId ∈ ids` (and, when `media_types` is not empty, `mediaType ∈ media_types`).
pub fn queue_filter(queue_ids: &[String], media_types: &[String]) -> Value {
    if media_types.is_empty() {
        json!({"type": "or", "predicates": predicates("queueId", queue_ids)})
    } else {
        json!({"type": "and", "clauses": [
            {"type": "or", "predicates": predicates("queueId", queue_ids)},
            {"type": "or", "predicates": predicates("mediaType", media_types)},
        ]})
    }
}

/// The `conversations/aggregates/query` body for one chunk of queue ids,
/// grouped by `queueId` and `mediaType`, requesting `metrics` (normally
/// every KPI metric, [`crate::kpi::AGGREGATE_METRICS`]; fewer when the org refuses some).
pub fn aggregate_body(req: &AggregateRequest, queue_ids: &[String], metrics: &[&str]) -> Value {
    let mut body = json!({
        "interval": timefmt::format_interval(req.start_ms, req.end_ms),
        "groupBy": ["queueId", "mediaType"],
        "filter": queue_filter(queue_ids, &req.media_types),
        "metrics": metrics,
    });
    if let Some(g) = req.granularity_ms.filter(|g| *g > 0) {
        body["granularity"] = json!(timefmt::format_duration(g));
    }
    if let Some(tz) = req.time_zone.as_deref().filter(|tz| !tz.is_empty()) {
        body["timeZone"] = json!(tz);
    }
    body
}

/// The `queues/observations/query` body for one chunk of queue ids,
/// requesting `metrics` (normally [`OBSERVATION_METRICS`]; fewer when the
/// org refuses some).
///
/// Without `oLongestWaiting` the body asks for `detailMetrics: ["oWaiting"]`
/// instead: the oldest waiting interaction's `observationDate` gives the
/// longest wait.
pub fn observation_body(queue_ids: &[String], metrics: &[&str]) -> Value {
    let mut body = json!({
        "filter": queue_filter(queue_ids, &[]),
        "metrics": metrics,
    });
    if !metrics.contains(&"oLongestWaiting") && metrics.contains(&"oWaiting") {
        body["detailMetrics"] = json!(["oWaiting"]);
    }
    body
}

/// The first queue-listing page URL: `pageSize`, `pageNumber=1`, and one
/// repeated `divisionId` parameter per division.
pub fn queues_url(api_base: &str, page_size: u32, division_ids: &[String]) -> Option<Url> {
    let mut url = Url::parse(&format!("{api_base}/api/v2/routing/queues")).ok()?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("pageSize", &page_size.to_string());
        q.append_pair("pageNumber", "1");
        for d in division_ids {
            q.append_pair("divisionId", d);
        }
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::AGGREGATE_METRICS;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i}")).collect()
    }

    /// The aggregate body has the documented shape: interval, groupBy, or-filter, metrics.
    #[test]
    fn aggregate_body_shape() {
        let req = AggregateRequest {
            start_ms: 1_741_737_600_000,
            end_ms: 1_741_784_700_000,
            granularity_ms: None,
            time_zone: None,
            queue_ids: ids(2),
            media_types: vec![],
        };
        let body = aggregate_body(&req, &req.queue_ids, &AGGREGATE_METRICS);
        assert_eq!(
            body["interval"],
            "2025-03-12T00:00:00.000Z/2025-03-12T13:05:00.000Z"
        );
        assert_eq!(body["groupBy"], json!(["queueId", "mediaType"]));
        assert_eq!(body["filter"]["type"], "or");
        assert_eq!(body["filter"]["predicates"][1]["value"], "q1");
        assert_eq!(body["filter"]["predicates"][0]["dimension"], "queueId");
        assert_eq!(body["metrics"].as_array().map(Vec::len), Some(14));
        assert!(body.get("granularity").is_none() && body.get("timeZone").is_none());
    }

    /// Granularity, time zone and a media filter appear when asked for.
    #[test]
    fn aggregate_body_options() {
        let req = AggregateRequest {
            start_ms: 0,
            end_ms: 86_400_000,
            granularity_ms: Some(1_800_000),
            time_zone: Some("Europe/Berlin".into()),
            queue_ids: ids(1),
            media_types: vec!["voice".into(), "chat".into()],
        };
        let body = aggregate_body(&req, &req.queue_ids, &AGGREGATE_METRICS);
        assert_eq!(body["granularity"], "PT30M");
        assert_eq!(body["timeZone"], "Europe/Berlin");
        assert_eq!(body["filter"]["type"], "and");
        assert_eq!(
            body["filter"]["clauses"][1]["predicates"][1]["value"],
            "chat"
        );
        assert_eq!(
            body["filter"]["clauses"][1]["predicates"][0]["dimension"],
            "mediaType"
        );
    }

    /// Observation bodies carry only queueId predicates and valid metrics.
    #[test]
    fn observation_body_shape() {
        let body = observation_body(&ids(3), &OBSERVATION_METRICS);
        assert_eq!(
            body["filter"]["predicates"].as_array().map(Vec::len),
            Some(3)
        );
        assert!(body.get("groupBy").is_none());
        assert_eq!(body["metrics"][3], "oLongestWaiting");
    }

    /// A reduced metric list replaces the full one in both bodies.
    #[test]
    fn reduced_metric_lists() {
        let req = AggregateRequest {
            start_ms: 0,
            end_ms: 60_000,
            granularity_ms: None,
            time_zone: None,
            queue_ids: ids(1),
            media_types: vec![],
        };
        let agg = aggregate_body(&req, &req.queue_ids, &["nOffered"]);
        assert_eq!(agg["metrics"], json!(["nOffered"]));
        let obs = observation_body(&ids(1), &["oWaiting", "oAlerting"]);
        assert_eq!(obs["metrics"], json!(["oWaiting", "oAlerting"]));
        assert_eq!(obs["detailMetrics"], json!(["oWaiting"]));
        let full = observation_body(&ids(1), &OBSERVATION_METRICS);
        assert!(full.get("detailMetrics").is_none());
    }

    /// Division ids are repeated query keys and values are encoded.
    #[test]
    fn queues_url_params() {
        let url = queues_url("http://127.0.0.1:1", 100, &["a b".into(), "c".into()]).expect("url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/api/v2/routing/queues?pageSize=100&pageNumber=1&divisionId=a+b&divisionId=c"
        );
    }
}
