//! Pure builders for request bodies and URLs: aggregate and observation query
//! bodies (queue-id `or` filters, optional media filter), queue-listing URLs,
//! and the [`AggregateRequest`] they are built from, whose [`QueryScope`] says
//! whether it names its queues in chunked filters or asks the whole org.

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

/// Longest interval an org-wide query asks for: Genesys's own query builder
/// allows "an interval of up to seven days for queries with no filter" (API
/// notes §2.7); longer queries name their queues.
pub const MAX_ORG_WIDE_INTERVAL_MS: i64 = 7 * 86_400_000;

/// Which queues an aggregate query asks about, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryScope {
    /// A `queueId` filter naming these queues, split by the client into
    /// chunks of at most [`crate::genesys::Client::chunk_size`] ids.
    Queues(Vec<String>),
    /// One request with no queue filter, grouped by `queueId` for the whole
    /// org; groups of queues outside `keep`, and groups without a `queueId`,
    /// are dropped on arrival.
    OrgWide {
        /// The queues whose groups are kept.
        keep: Vec<String>,
    },
}

impl QueryScope {
    /// The scope for `queue_ids` when one query carries at most `chunk_size`
    /// queue ids: a filter when they fit one chunk, else the whole org (one
    /// request instead of `ceil(queues / chunk_size)`).
    pub fn for_queues(queue_ids: &[String], chunk_size: usize) -> QueryScope {
        if queue_ids.len() > chunk_size.max(1) {
            QueryScope::OrgWide {
                keep: queue_ids.to_vec(),
            }
        } else {
            QueryScope::Queues(queue_ids.to_vec())
        }
    }

    /// The queues whose answers are wanted, either way.
    pub fn queue_ids(&self) -> &[String] {
        match self {
            QueryScope::Queues(ids) | QueryScope::OrgWide { keep: ids } => ids,
        }
    }

    /// True for [`QueryScope::OrgWide`].
    pub fn is_org_wide(&self) -> bool {
        matches!(self, QueryScope::OrgWide { .. })
    }

    /// The same queues, named in chunked filters.
    pub fn chunked(&self) -> QueryScope {
        QueryScope::Queues(self.queue_ids().to_vec())
    }

    /// This scope for a query over `interval_ms`: chunked filters instead of
    /// an org-wide query longer than [`MAX_ORG_WIDE_INTERVAL_MS`].
    pub fn for_interval(&self, interval_ms: i64) -> QueryScope {
        if self.is_org_wide() && interval_ms > MAX_ORG_WIDE_INTERVAL_MS {
            self.chunked()
        } else {
            self.clone()
        }
    }
}

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
    /// The queues asked about and how. No queue = no request at all.
    pub scope: QueryScope,
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

/// The filter of an org-wide query: `mediaType ∈ media_types`, or none at all
/// when `media_types` is empty.
pub fn media_filter(media_types: &[String]) -> Option<Value> {
    (!media_types.is_empty())
        .then(|| json!({"type": "or", "predicates": predicates("mediaType", media_types)}))
}

/// The `conversations/aggregates/query` body for one chunk of queue ids
/// (`None`: the whole org, no queue filter), grouped by `queueId` and
/// `mediaType`, requesting `metrics` (normally every KPI metric,
/// [`crate::kpi::AGGREGATE_METRICS`]; fewer when the org refuses some).
pub fn aggregate_body(
    req: &AggregateRequest,
    queue_ids: Option<&[String]>,
    metrics: &[&str],
) -> Value {
    let mut body = json!({
        "interval": timefmt::format_interval(req.start_ms, req.end_ms),
        "groupBy": ["queueId", "mediaType"],
        "metrics": metrics,
    });
    let filter = match queue_ids {
        Some(ids) => Some(queue_filter(ids, &req.media_types)),
        None => media_filter(&req.media_types),
    };
    if let Some(filter) = filter {
        body["filter"] = filter;
    }
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
            scope: QueryScope::Queues(ids(2)),
            media_types: vec![],
        };
        let body = aggregate_body(&req, Some(req.scope.queue_ids()), &AGGREGATE_METRICS);
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
            scope: QueryScope::Queues(ids(1)),
            media_types: vec!["voice".into(), "chat".into()],
        };
        let body = aggregate_body(&req, Some(req.scope.queue_ids()), &AGGREGATE_METRICS);
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
            scope: QueryScope::Queues(ids(1)),
            media_types: vec![],
        };
        let agg = aggregate_body(&req, Some(req.scope.queue_ids()), &["nOffered"]);
        assert_eq!(agg["metrics"], json!(["nOffered"]));
        let obs = observation_body(&ids(1), &["oWaiting", "oAlerting"]);
        assert_eq!(obs["metrics"], json!(["oWaiting", "oAlerting"]));
        assert_eq!(obs["detailMetrics"], json!(["oWaiting"]));
        let full = observation_body(&ids(1), &OBSERVATION_METRICS);
        assert!(full.get("detailMetrics").is_none());
    }

    /// An org-wide body has no queue filter: none at all, or only the media filter.
    #[test]
    fn org_wide_body_shape() {
        let mut req = AggregateRequest {
            start_ms: 0,
            end_ms: 60_000,
            granularity_ms: None,
            time_zone: None,
            scope: QueryScope::OrgWide { keep: ids(3) },
            media_types: vec![],
        };
        let body = aggregate_body(&req, None, &["nOffered"]);
        assert!(body.get("filter").is_none(), "{body}");
        assert_eq!(body["groupBy"], json!(["queueId", "mediaType"]));
        req.media_types = vec!["voice".into()];
        let body = aggregate_body(&req, None, &["nOffered"]);
        assert_eq!(
            body["filter"],
            json!({"type": "or", "predicates": [
                {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}
            ]})
        );
    }

    /// More queues than one chunk go org-wide; a selection that fits one
    /// chunk is one filtered request; either way the wanted queues are kept.
    #[test]
    fn scope_for_queues() {
        assert_eq!(
            QueryScope::for_queues(&ids(3), 100),
            QueryScope::Queues(ids(3))
        );
        assert_eq!(
            QueryScope::for_queues(&ids(100), 100),
            QueryScope::Queues(ids(100))
        );
        let wide = QueryScope::for_queues(&ids(101), 100);
        assert!(wide.is_org_wide());
        assert_eq!(wide.queue_ids(), &ids(101)[..]);
        assert_eq!(wide.chunked(), QueryScope::Queues(ids(101)));
        assert!(QueryScope::for_queues(&ids(2), 0).is_org_wide());
        let week = MAX_ORG_WIDE_INTERVAL_MS;
        assert_eq!(wide.for_interval(week), wide);
        assert_eq!(wide.for_interval(week + 1), QueryScope::Queues(ids(101)));
        let narrow = QueryScope::Queues(ids(2));
        assert_eq!(narrow.for_interval(4 * week), narrow);
        assert_eq!(QueryScope::for_queues(&[], 100), QueryScope::Queues(vec![]));
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
