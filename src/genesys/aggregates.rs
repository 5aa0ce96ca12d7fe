//! `POST /api/v2/analytics/conversations/aggregates/query`: one request per
//! chunk of queue ids (run concurrently within the client's cap), or one
//! request for the whole org ([`QueryScope::OrgWide`]) whose groups of other
//! queues are dropped; groups read from the returned `group` map, buckets
//! folded into [`kpi::Totals`].

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use reqwest::{Method, Url};

use super::aggregates_fold::{fold_response, BucketSink};
use super::client::{decode_blocking, Client};
use super::endpoint::Endpoint;
use super::error::Error;
use super::model::AggregateResponse;
use super::query::{self, AggregateRequest, QueryScope};
use crate::kpi;
use crate::timefmt;

/// The buckets of one queue × media type.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMediaSeries {
    /// Queue id.
    pub queue_id: String,
    /// Analytics media type.
    pub media_type: String,
    /// Non-empty buckets, in time order.
    pub buckets: Vec<BucketTotals>,
}

/// One bucket's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketTotals {
    /// Bucket start, epoch ms.
    pub start_ms: i64,
    /// Bucket end, epoch ms.
    pub end_ms: i64,
    /// Everything recorded in the bucket.
    pub totals: kpi::Totals,
}

impl QueueMediaSeries {
    /// All buckets merged into one total.
    pub fn total(&self) -> kpi::Totals {
        let mut sum = kpi::Totals::default();
        for b in &self.buckets {
            sum.merge(&b.totals);
        }
        sum
    }
}

/// Folds aggregate responses into per queue × media series. Groups without a
/// `queueId` or `mediaType` (partial groups, conversations outside any queue)
/// are skipped, and so are, for an org-wide request, groups of queues it does
/// not keep; a bucket without a parseable interval counts as the whole request
/// interval when there is no granularity, and is skipped otherwise.
pub fn series_from_responses(
    req: &AggregateRequest,
    responses: impl IntoIterator<Item = AggregateResponse>,
) -> Vec<QueueMediaSeries> {
    let keep: Option<HashSet<&str>> = match &req.scope {
        QueryScope::OrgWide { keep } => Some(keep.iter().map(String::as_str).collect()),
        QueryScope::Queues(_) => None,
    };
    // Buckets are pushed as they come and merged per span at the end: a
    // map per group would cost a whole tree node (11 totals) per group.
    let mut acc: BTreeMap<(String, String), Vec<Span>> = BTreeMap::new();
    for response in responses {
        for group in response.results {
            let (Some(queue), Some(media)) =
                (group.group.get("queueId"), group.group.get("mediaType"))
            else {
                continue;
            };
            if keep.as_ref().is_some_and(|k| !k.contains(queue.as_str())) {
                continue;
            }
            let buckets = acc.entry((queue.clone(), media.clone())).or_default();
            for bucket in group.data {
                let span = bucket
                    .interval
                    .as_deref()
                    .and_then(timefmt::parse_interval)
                    .filter(|(s, e)| s < e)
                    .or_else(|| {
                        req.granularity_ms
                            .is_none()
                            .then_some((req.start_ms, req.end_ms))
                    });
                let Some(span) = span else { continue };
                let mut totals = kpi::Totals::default();
                for m in bucket.metrics {
                    totals.record(&m.metric, &m.stats);
                }
                buckets.push((span, totals));
            }
        }
    }
    acc.into_iter()
        .map(|((queue_id, media_type), buckets)| QueueMediaSeries {
            queue_id,
            media_type,
            buckets: merge_spans(buckets),
        })
        .collect()
}

/// One bucket's span and totals, before buckets of the same span merge.
type Span = ((i64, i64), kpi::Totals);

/// Buckets in time order, those of the same span merged (in arrival order).
fn merge_spans(mut buckets: Vec<Span>) -> Vec<BucketTotals> {
    // Stable, so equal spans keep their arrival order.
    buckets.sort_by_key(|(span, _)| *span);
    let mut out: Vec<BucketTotals> = Vec::with_capacity(buckets.len());
    for ((start_ms, end_ms), totals) in buckets {
        match out.last_mut() {
            Some(last) if (last.start_ms, last.end_ms) == (start_ms, end_ms) => {
                last.totals.merge(&totals);
            }
            _ => out.push(BucketTotals {
                start_ms,
                end_ms,
                totals,
            }),
        }
    }
    out
}

impl Client {
    /// Queries conversation aggregates for the queues of `req.scope`, grouped
    /// by queue and media type: in `ceil(queues / chunk_size)` requests for
    /// [`QueryScope::Queues`], in one for [`QueryScope::OrgWide`].
    pub async fn aggregates(&self, req: &AggregateRequest) -> Result<Vec<QueueMediaSeries>, Error> {
        self.aggregates_with_metrics(req, &kpi::AGGREGATE_METRICS)
            .await
    }

    /// [`Client::aggregates`] requesting only `metrics`.
    pub async fn aggregates_with_metrics(
        &self,
        req: &AggregateRequest,
        metrics: &[&str],
    ) -> Result<Vec<QueueMediaSeries>, Error> {
        if req.end_ms <= req.start_ms {
            return Err(Error::Config(String::from(
                "aggregate interval end must be after its start",
            )));
        }
        let responses: Vec<AggregateResponse> = match &req.scope {
            QueryScope::Queues(ids) if ids.is_empty() => return Ok(Vec::new()),
            QueryScope::OrgWide { keep } if keep.is_empty() => return Ok(Vec::new()),
            QueryScope::Queues(ids) => {
                self.post_chunked(Endpoint::Aggregates, ids, |chunk| {
                    query::aggregate_body(req, Some(chunk), metrics)
                })
                .await?
            }
            QueryScope::OrgWide { .. } => {
                let endpoint = Endpoint::Aggregates;
                let url = Url::parse(&format!("{}{}", self.inner.api_base, endpoint.path()))
                    .map_err(|e| Error::Config(format!("invalid API base URL: {e}")))?;
                let body = query::aggregate_body(req, None, metrics);
                let answer = self
                    .inner
                    .call_json(endpoint, Method::POST, url, Some(&body))
                    .await?;
                vec![answer]
            }
        };
        Ok(series_from_responses(req, responses))
    }
}

impl Client {
    /// [`Client::aggregates_with_metrics`] handing each answer to `sink` as it
    /// arrives ([`fold_response`]) instead of returning the decoded series:
    /// the same requests (chunks, or one org-wide request) and the same rules,
    /// but no answer is ever held decoded. On an error `sink` may hold part
    /// of the answers and must be discarded.
    pub async fn aggregates_folded<S: BucketSink + Send + 'static>(
        &self,
        req: &AggregateRequest,
        metrics: &[&str],
        sink: &Arc<Mutex<S>>,
    ) -> Result<(), Error> {
        if req.end_ms <= req.start_ms {
            return Err(Error::Config(String::from(
                "aggregate interval end must be after its start",
            )));
        }
        let endpoint = Endpoint::Aggregates;
        let decode = {
            let sink = Arc::clone(sink);
            let req = Arc::new(req.clone());
            Arc::new(move |bytes: &[u8]| {
                let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
                fold_response(&req, bytes, &mut *sink).map_err(|e| Error::Decode {
                    endpoint,
                    cause: e.to_string(),
                })
            })
        };
        match &req.scope {
            QueryScope::Queues(ids) if ids.is_empty() => Ok(()),
            QueryScope::OrgWide { keep } if keep.is_empty() => Ok(()),
            QueryScope::Queues(ids) => {
                self.post_chunked_with(
                    endpoint,
                    ids,
                    |chunk| query::aggregate_body(req, Some(chunk), metrics),
                    decode,
                )
                .await?;
                Ok(())
            }
            QueryScope::OrgWide { .. } => {
                let url = Url::parse(&format!("{}{}", self.inner.api_base, endpoint.path()))
                    .map_err(|e| Error::Config(format!("invalid API base URL: {e}")))?;
                let body = query::aggregate_body(req, None, metrics);
                let deadline = self.inner.deadline_from_now();
                self.inner
                    .call_decode_until(endpoint, Method::POST, url, Some(&body), deadline, |b| {
                        decode_blocking(endpoint, decode, b)
                    })
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "results": [
        {
          "group": {"queueId": "3b3c5b1e-0000-4000-8000-000000000001", "mediaType": "voice"},
          "data": [
            {
              "interval": "2025-03-12T00:00:00.000Z/2025-03-12T13:05:00.000Z",
              "metrics": [
                {"metric": "nOffered",       "stats": {"count": 120}},
                {"metric": "tAnswered",      "stats": {"max": 95000, "min": 1200, "count": 104, "sum": 1872000}},
                {"metric": "tAbandon",       "stats": {"max": 300000, "min": 2100, "count": 12, "sum": 540000}},
                {"metric": "tShortAbandon",  "stats": {"max": 4800, "min": 2100, "count": 3, "sum": 10500}},
                {"metric": "tHandle",        "stats": {"max": 1500000, "min": 45000, "count": 101, "sum": 30300000}},
                {"metric": "nOverSla",       "stats": {"count": 20}},
                {"metric": "oServiceTarget", "stats": {"current": 0.8}},
                {"metric": "oServiceLevel",  "stats": {"ratio": 0.7434, "numerator": 84, "denominator": 113, "target": 0.8}}
              ]
            }
          ]
        },
        {"group": {"mediaType": "voice"}, "data": [{"interval": "2025-03-12T00:00:00.000Z/2025-03-12T13:05:00.000Z",
          "metrics": [{"metric": "nOffered", "stats": {"count": 999}}]}]}
      ]
    }"#;

    fn request() -> AggregateRequest {
        AggregateRequest {
            start_ms: timefmt::parse_instant("2025-03-12T00:00:00.000Z").expect("t"),
            end_ms: timefmt::parse_instant("2025-03-12T13:05:00.000Z").expect("t"),
            granularity_ms: None,
            time_zone: None,
            scope: QueryScope::Queues(vec!["3b3c5b1e-0000-4000-8000-000000000001".into()]),
            media_types: vec![],
        }
    }

    /// The documented response folds into the documented KPIs; the partial
    /// group without a queueId is ignored.
    #[test]
    fn documented_response() {
        let parsed: AggregateResponse = serde_json::from_str(EXAMPLE).expect("parses");
        let series = series_from_responses(&request(), [parsed]);
        assert_eq!(series.len(), 1);
        let s = &series[0];
        assert_eq!(s.media_type, "voice");
        assert_eq!(s.buckets.len(), 1);
        let t = s.total();
        assert_eq!(t.offered, 120);
        assert_eq!(t.answered.count, 104);
        assert_eq!(t.asa_seconds(), Some(18.0));
        assert_eq!(t.abandon_ratio(), Some(0.1));
        assert_eq!(t.service_level_ratio(), Some(84.0 / 113.0));
    }

    /// An org-wide answer keeps only the groups of the kept queues; groups of
    /// other queues and groups without a queueId are dropped.
    #[test]
    fn org_wide_keeps_only_exported_queues() {
        let body = r#"{"results":[
          {"group":{"queueId":"a","mediaType":"voice"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":2}}]}]},
          {"group":{"queueId":"b","mediaType":"voice"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":3}}]}]},
          {"group":{"queueId":"c","mediaType":"chat"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":4}}]}]},
          {"group":{"mediaType":"voice"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":50}}]}]}
        ]}"#;
        let parsed: AggregateResponse = serde_json::from_str(body).expect("parses");
        let mut req = request();
        req.scope = QueryScope::OrgWide {
            keep: vec!["a".into(), "c".into()],
        };
        let series = series_from_responses(&req, [parsed]);
        let kept: Vec<(&str, u64)> = series
            .iter()
            .map(|s| (s.queue_id.as_str(), s.total().offered))
            .collect();
        assert_eq!(kept, [("a", 2), ("c", 4)]);
        // The same answer to a filtered request is taken as it comes.
        let parsed: AggregateResponse = serde_json::from_str(body).expect("parses");
        assert_eq!(series_from_responses(&request(), [parsed]).len(), 3);
    }

    /// `{}` and `{"results": []}` both mean no data.
    #[test]
    fn empty_bodies() {
        for body in ["{}", r#"{"results": []}"#] {
            let parsed: AggregateResponse = serde_json::from_str(body).expect("parses");
            assert!(series_from_responses(&request(), [parsed]).is_empty());
        }
    }

    /// Buckets from two chunks and duplicate groups merge; a bucket without an
    /// interval takes the request interval only when there is no granularity.
    #[test]
    fn buckets_merge_and_fallback() {
        let a: AggregateResponse = serde_json::from_str(
            r#"{"results":[{"group":{"queueId":"q","mediaType":"chat"},"data":[
              {"interval":"2025-03-12T01:00:00.000Z/2025-03-12T02:00:00.000Z","metrics":[{"metric":"nOffered","stats":{"count":2}}]},
              {"metrics":[{"metric":"nOffered","stats":{"count":5}}]}]}]}"#,
        )
        .expect("a");
        let b: AggregateResponse = serde_json::from_str(
            r#"{"results":[{"group":{"queueId":"q","mediaType":"chat","extra":"x"},"data":[
              {"interval":"2025-03-12T00:00:00.000Z/2025-03-12T01:00:00.000Z","metrics":[{"metric":"nOffered","stats":{"count":1}}]}]}]}"#,
        )
        .expect("b");
        let series = series_from_responses(&request(), [a, b]);
        assert_eq!(series.len(), 1);
        let starts: Vec<i64> = series[0].buckets.iter().map(|b| b.start_ms).collect();
        assert_eq!(starts.len(), 3);
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(series[0].total().offered, 8);
        let mut granular = request();
        granular.granularity_ms = Some(3_600_000);
        let a: AggregateResponse = serde_json::from_str(
            r#"{"results":[{"group":{"queueId":"q","mediaType":"chat"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":5}}]}]}]}"#,
        )
        .expect("a");
        assert_eq!(series_from_responses(&granular, [a])[0].buckets.len(), 0);
    }
}
