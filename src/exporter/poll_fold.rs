//! Aggregates answers summed into window totals as they are decoded (pure):
//! each bucket goes straight into the windows of the poll's query plan that
//! contain it, so a poll holds one total per queue × media type × window,
//! never the buckets. Buckets a shared query did not plan are noted instead
//! of summed: a poll with any must not be used.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use super::snapshot::WindowTotals;
use super::window::QueryPlan;
use crate::genesys::decode::fold_response;
use crate::genesys::BucketSink;
use crate::kpi::Totals;

/// A bucket a shared query did not plan: (query index, start, end).
pub type Unplanned = (usize, i64, i64);

/// The window totals of one aggregates poll, filled by every query of its plan.
#[derive(Debug)]
pub struct PollFold {
    plan: Arc<QueryPlan>,
    totals: WindowTotals,
    /// (query index, start, end) of the buckets a shared query did not plan.
    unplanned: BTreeSet<Unplanned>,
    /// The key buffer of lookups.
    key: (String, String),
}

impl PollFold {
    /// An empty fold for `plan`.
    pub fn new(plan: Arc<QueryPlan>) -> PollFold {
        PollFold {
            plan,
            totals: WindowTotals::new(),
            unplanned: BTreeSet::new(),
            key: (String::new(), String::new()),
        }
    }

    /// The sink of query `query` of the plan, folding into `fold`.
    pub fn sink(fold: &Arc<Mutex<PollFold>>, query: usize) -> Arc<Mutex<QuerySink>> {
        Arc::new(Mutex::new(QuerySink {
            fold: Arc::clone(fold),
            query,
        }))
    }

    /// Folds whole answer bodies, each `(query index, body)`, as the poll
    /// does: the totals, the unplanned buckets, or the first decode error.
    pub fn from_bodies(
        plan: QueryPlan,
        bodies: &[(usize, &[u8])],
    ) -> Result<Result<WindowTotals, Vec<Unplanned>>, serde_json::Error> {
        let mut fold = PollFold::new(Arc::new(plan));
        for &(qi, body) in bodies {
            let Some(request) = fold.plan.queries.get(qi).map(|q| q.request.clone()) else {
                continue;
            };
            fold_response(&request, body, &mut Borrowed(&mut fold, qi))?;
        }
        Ok(fold.finish())
    }

    /// The totals, or the unplanned buckets (sorted) when there were any.
    pub fn finish(self) -> Result<WindowTotals, Vec<Unplanned>> {
        if self.unplanned.is_empty() {
            Ok(self.totals)
        } else {
            Err(self.unplanned.into_iter().collect())
        }
    }

    fn entry(&mut self, queue_id: &str, media_type: &str) -> Option<&mut Vec<Totals>> {
        let windows = self.plan.windows.len();
        // The key is built in a reused buffer: most buckets find their entry,
        // and only a new entry allocates its own key.
        let key = &mut self.key;
        key.0.clear();
        key.0.push_str(queue_id);
        key.1.clear();
        key.1.push_str(media_type);
        if !self.totals.contains_key(key) {
            self.totals
                .insert(key.clone(), vec![Totals::default(); windows]);
        }
        self.totals.get_mut(&self.key)
    }

    fn add(
        &mut self,
        query: usize,
        queue_id: &str,
        media_type: &str,
        span: (i64, i64),
        t: &Totals,
    ) {
        let Some(q) = self.plan.queries.get(query) else {
            return;
        };
        if !q.planned_bucket(span.0, span.1) {
            self.unplanned.insert((query, span.0, span.1));
            return;
        }
        if !self.unplanned.is_empty() {
            return;
        }
        let windows = self.plan.windows_for_bucket(query, span.0, span.1);
        let Some(entry) = self.entry(queue_id, media_type) else {
            return;
        };
        for w in windows {
            if let Some(slot) = entry.get_mut(w) {
                slot.merge(t);
            }
        }
    }
}

/// One query's view of a [`PollFold`].
#[derive(Debug)]
pub struct QuerySink {
    fold: Arc<Mutex<PollFold>>,
    query: usize,
}

impl QuerySink {
    fn fold(&self) -> MutexGuard<'_, PollFold> {
        lock(&self.fold)
    }
}

impl BucketSink for QuerySink {
    fn group(&mut self, queue_id: &str, media_type: &str) {
        self.fold().entry(queue_id, media_type);
    }

    fn bucket(&mut self, queue_id: &str, media_type: &str, start: i64, end: i64, t: &Totals) {
        self.fold()
            .add(self.query, queue_id, media_type, (start, end), t);
    }
}

/// A [`PollFold`] borrowed for query `.1`.
struct Borrowed<'a>(&'a mut PollFold, usize);

impl BucketSink for Borrowed<'_> {
    fn group(&mut self, queue_id: &str, media_type: &str) {
        self.0.entry(queue_id, media_type);
    }

    fn bucket(&mut self, queue_id: &str, media_type: &str, start: i64, end: i64, t: &Totals) {
        self.0.add(self.1, queue_id, media_type, (start, end), t);
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked.
fn lock(m: &Mutex<PollFold>) -> MutexGuard<'_, PollFold> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::window::{PlannedQuery, ResolvedWindow};
    use crate::genesys::{AggregateRequest, QueryScope};

    /// 1970-01-01T00:00Z / 00:30Z / 01:00Z as the API writes intervals.
    const T0: &str = "1970-01-01T00:00:00.000Z";
    const T30: &str = "1970-01-01T00:30:00.000Z";
    const T60: &str = "1970-01-01T01:00:00.000Z";

    /// A 30m and a 1h window sharing one query of 30-minute buckets.
    fn plan() -> QueryPlan {
        QueryPlan {
            windows: vec![
                ResolvedWindow {
                    label: "30m".into(),
                    start_ms: 1_800_000,
                    end_ms: 3_600_000,
                },
                ResolvedWindow {
                    label: "1h".into(),
                    start_ms: 0,
                    end_ms: 3_600_000,
                },
            ],
            queries: vec![PlannedQuery {
                request: AggregateRequest {
                    start_ms: 0,
                    end_ms: 3_600_000,
                    granularity_ms: Some(1_800_000),
                    time_zone: None,
                    scope: QueryScope::Queues(vec![String::from("q")]),
                    media_types: Vec::new(),
                },
                windows: vec![0, 1],
            }],
        }
    }

    fn body(buckets: &[(&str, &str, u32)]) -> String {
        let data: Vec<String> = buckets
            .iter()
            .map(|(s, e, n)| {
                format!(
                    r#"{{"interval":"{s}/{e}","metrics":[{{"metric":"nOffered","stats":{{"count":{n}}}}}]}}"#
                )
            })
            .collect();
        format!(
            r#"{{"results":[{{"group":{{"queueId":"q","mediaType":"voice"}},"data":[{}]}}]}}"#,
            data.join(",")
        )
    }

    /// Buckets of a shared query are summed into every window containing them.
    #[test]
    fn folds_buckets_into_windows() {
        let answer = body(&[(T0, T30, 2), (T30, T60, 3)]);
        let totals = PollFold::from_bodies(plan(), &[(0, answer.as_bytes())])
            .expect("decodes")
            .expect("planned");
        let per_window = &totals[&("q".to_string(), "voice".to_string())];
        assert_eq!((per_window[0].offered, per_window[1].offered), (3, 5));
    }

    /// Buckets a shared query did not plan are reported, and the poll's
    /// totals are not given out.
    #[test]
    fn reports_unplanned_buckets() {
        let answer = body(&[(T0, T30, 2), ("1970-01-01T00:10:00.000Z", T60, 3)]);
        let unplanned = PollFold::from_bodies(plan(), &[(0, answer.as_bytes())])
            .expect("decodes")
            .expect_err("unplanned");
        assert_eq!(unplanned, [(0, 600_000, 3_600_000)]);
    }

    /// A group without buckets still has (zero) totals, as every answered
    /// group does; a body that is not JSON is an error.
    #[test]
    fn empty_groups_and_bad_bodies() {
        let answer = r#"{"results":[{"group":{"queueId":"q","mediaType":"chat"},"data":[]}]}"#;
        let totals = PollFold::from_bodies(plan(), &[(0, answer.as_bytes())])
            .expect("decodes")
            .expect("planned");
        assert_eq!(
            totals[&("q".to_string(), "chat".to_string())],
            vec![Totals::default(); 2]
        );
        assert!(PollFold::from_bodies(plan(), &[(0, b"{\"results\":[".as_slice())]).is_err());
    }

    /// The sinks of concurrent queries fill one fold.
    #[test]
    fn query_sinks_share_the_fold() {
        let fold = Arc::new(Mutex::new(PollFold::new(Arc::new(plan()))));
        let sink = PollFold::sink(&fold, 0);
        let answer = body(&[(T0, T30, 4)]);
        let request = plan().queries[0].request.clone();
        fold_response(
            &request,
            answer.as_bytes(),
            &mut *sink.lock().expect("sink"),
        )
        .expect("decodes");
        drop(sink);
        let fold = Arc::try_unwrap(fold).expect("sole owner");
        let totals = fold.into_inner().expect("fold").finish().expect("planned");
        assert_eq!(
            totals[&("q".to_string(), "voice".to_string())][1].offered,
            4
        );
    }
}
