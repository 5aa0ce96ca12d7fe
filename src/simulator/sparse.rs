//! Sparse aggregate groups of `--media-settings all`: real answers carry groups
//! for media a queue never handles (`cobrowse`, `unknown`) holding only zero
//! counts and configuration-like metrics (`oServiceTarget`). No conversation is
//! behind them; the traffic model is untouched.

use super::aggregate_render::{kinds_of, Kind};
use super::filter::Dim;
use super::org::OrgModel;
use super::query::{AggQuery, QueryType};
use crate::timefmt::format_interval;

/// Media types of the sparse groups.
pub(crate) const SPARSE_MEDIA: [&str; 2] = ["cobrowse", "unknown"];

/// The service-level target a sparse group reports (Genesys's default).
const DEFAULT_TARGET: f64 = 0.8;

/// Rendered `{"group":…,"data":[…]}` entries, one per matched queue × sparse
/// media, in the first bucket of the answered window. Empty for ranking
/// queries, queries with nothing answerable yet, filters or groupings on
/// per-conversation dimensions, and metric lists without a count or target.
pub(crate) fn groups(org: &OrgModel, q: &AggQuery, now: i64) -> Vec<String> {
    let root = q.filter.as_ref().map(|f| &f.root);
    let per_conversation = root.is_some_and(|r| !r.is_stream_level())
        || q.group_by
            .iter()
            .any(|g| !Dim::from_name(g).is_stream_level());
    if q.query_type != QueryType::GroupBy || q.end.min(now) <= q.start || per_conversation {
        return Vec::new();
    }
    let metrics: Vec<String> = q
        .metrics
        .iter()
        .zip(kinds_of(q))
        .filter_map(|(name, kind)| match kind {
            Kind::Count => Some(format!(r#"{{"metric":"{name}","stats":{{"count":0}}}}"#)),
            Kind::Target => Some(format!(
                r#"{{"metric":"{name}","stats":{{"current":{DEFAULT_TARGET}}}}}"#
            )),
            _ => None,
        })
        .collect();
    if metrics.is_empty() {
        return Vec::new();
    }
    let (a, b) = q.buckets[0];
    let data = format!(
        r#"[{{"interval":"{}","metrics":[{}]}}]"#,
        format_interval(a, b),
        metrics.join(",")
    );
    let removed = org.removed_set();
    let mut queues: Vec<usize> = match root.and_then(|r| r.queue_ids()) {
        Some(ids) => ids
            .iter()
            .filter_map(|id| org.by_id.get(*id).copied())
            .collect(),
        None => (0..org.queues.len()).collect(),
    };
    queues.sort_unstable();
    let mut out = Vec::new();
    for qi in queues.into_iter().filter(|i| !removed.contains(i)) {
        let queue = &org.queues[qi];
        for media in SPARSE_MEDIA {
            let value = |d: Dim| -> Option<String> {
                match d {
                    Dim::QueueId => Some(queue.id.clone()),
                    Dim::MediaType => Some(media.to_string()),
                    Dim::DivisionId => Some(org.division_ids[queue.division].clone()),
                    _ => None,
                }
            };
            if root.is_some_and(|r| !r.eval(&|d| value(d).map(Into::into))) {
                continue;
            }
            let mut key: Vec<(String, String)> = q
                .group_by
                .iter()
                .filter_map(|g| value(Dim::from_name(g)).map(|v| (g.clone(), v)))
                .collect();
            if !key.iter().any(|(k, _)| k == "mediaType") {
                key.push(("mediaType".into(), media.into()));
            }
            key.sort();
            let group: Vec<String> = key.iter().map(|(k, v)| format!(r#""{k}":"{v}""#)).collect();
            out.push(format!(
                r#"{{"group":{{{}}},"data":{data}}}"#,
                group.join(",")
            ));
        }
    }
    out
}
