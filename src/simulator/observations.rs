//! `POST /api/v2/analytics/queues/observations/query` (API notes §4, §10.6):
//! validation, then a snapshot of the traffic model at the simulator's now.

use serde_json::{json, Map, Value};

use super::catalog::{OBSERVATION_DETAIL_METRICS, OBSERVATION_DIMENSIONS, OBSERVATION_METRICS};
use super::config::LongestMode;
use super::errors::ApiError;
use super::filter::{self, Dim, Filter, Grammar};
use super::org::OrgModel;
use super::query::{string_list, too_many_predicates};
use super::realtime::{summarize, State};
use super::rng::uuid;
use super::traffic::{ConvCore, Stream};
use crate::timefmt::format_instant;

const GRAMMAR: Grammar = Grammar {
    dimension_type: "QueueObservationQueryDimension",
    dimensions: OBSERVATION_DIMENSIONS,
    extra: &[],
};

/// A validated observation query.
#[derive(Debug, Clone)]
pub(crate) struct ObsQuery {
    pub filter: Filter,
    pub metrics: Vec<String>,
    pub detail: Vec<String>,
}

/// How the answer is shaped (from the simulator's configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ObsOptions {
    pub longest: LongestMode,
    pub detail_cap: usize,
    /// Answer every media group of [`ALL_MEDIA_GROUPS`], with zeros where the
    /// queue has no such media (`--media-settings all`).
    pub all_media: bool,
}

/// The media groups a real org answers for every queue (the queue's own media
/// plus the rest, `video` included), in answer order.
pub(crate) const ALL_MEDIA_GROUPS: [&str; 6] =
    ["voice", "callback", "chat", "email", "message", "video"];

/// One media group of a queue's answer: a real traffic stream, or a media type
/// the queue does not serve (always zero).
enum MediaGroup<'a> {
    Live(Stream<'a>),
    Idle(&'static str),
}

impl MediaGroup<'_> {
    fn name(&self) -> &str {
        match self {
            MediaGroup::Live(s) => s.media.kind.analytics_name(),
            MediaGroup::Idle(name) => name,
        }
    }
}

/// Parses and validates a request body.
pub(crate) fn parse(body: &[u8], max_predicates: usize) -> Result<ObsQuery, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed())?;
    let obj = v.as_object().ok_or_else(ApiError::malformed)?;
    let metrics = string_list(obj, "metrics")?.unwrap_or_default();
    if metrics.is_empty() {
        // What Genesys answers for an empty metric list (API notes §4.2).
        return Err(ApiError::invalid_value(
            "",
            "QueryFilterType",
            &["and", "or"],
        ));
    }
    for m in &metrics {
        if !OBSERVATION_METRICS.contains(&m.as_str()) {
            return Err(ApiError::invalid_value(
                m,
                "QueueObservationMetric",
                OBSERVATION_METRICS,
            ));
        }
    }
    let detail = string_list(obj, "detailMetrics")?.unwrap_or_default();
    for m in &detail {
        if !OBSERVATION_DETAIL_METRICS.contains(&m.as_str()) {
            return Err(ApiError::invalid_value(
                m,
                "QueueObservationDetailMetric",
                OBSERVATION_DETAIL_METRICS,
            ));
        }
    }
    let filter = match obj.get("filter") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "The filter is required and must name at least one queue.",
            ))
        }
        Some(f) => filter::parse(f, &GRAMMAR)?,
    };
    if filter.predicates > max_predicates {
        return Err(too_many_predicates(filter.predicates, max_predicates));
    }
    Ok(ObsQuery {
        filter,
        metrics,
        detail,
    })
}

/// Answers `q` at `now`.
pub(crate) fn answer(org: &OrgModel, q: &ObsQuery, now: i64, opts: ObsOptions) -> Value {
    let mappings: Map<String, Value> = org
        .presence_mappings()
        .into_iter()
        .map(|(sys, id)| (sys.to_string(), json!([id])))
        .collect();
    let removed = org.removed_set();
    let mut candidates: Vec<usize> = match q.filter.root.queue_ids() {
        Some(ids) => ids
            .iter()
            .filter_map(|id| org.by_id.get(*id).copied())
            .collect(),
        None => (0..org.queues.len()).collect(),
    };
    candidates.sort_by_key(|&i| &org.queues[i].id);
    let mut results = Vec::new();
    for qi in candidates.into_iter().filter(|i| !removed.contains(i)) {
        let queue = &org.queues[qi];
        let mut groups: Vec<MediaGroup<'_>> = queue
            .media
            .iter()
            .map(|media| MediaGroup::Live(Stream { org, queue, media }))
            .collect();
        if opts.all_media {
            for name in ALL_MEDIA_GROUPS {
                if !groups.iter().any(|g| g.name() == name) {
                    groups.push(MediaGroup::Idle(name));
                }
            }
        }
        groups.retain(|g| {
            q.filter.root.eval(&|d| match d {
                Dim::QueueId => Some(queue.id.as_str().into()),
                Dim::MediaType => Some(g.name().into()),
                _ => None,
            })
        });
        if groups.is_empty() {
            continue;
        }
        if let Some(group) = user_group(org, &queue.id, q, now) {
            results.push(group);
        }
        for g in &groups {
            results.push(match g {
                MediaGroup::Live(s) => media_group(s, q, now, opts),
                MediaGroup::Idle(name) => idle_group(&queue.id, name, q),
            });
        }
    }
    json!({"systemToOrganizationMappings": mappings, "results": results})
}

fn user_group(org: &OrgModel, queue_id: &str, q: &ObsQuery, now: i64) -> Option<Value> {
    const USER_METRICS: [&str; 6] = [
        "oMemberUsers",
        "oActiveUsers",
        "oOnQueueUsers",
        "oOffQueueUsers",
        "oUserPresences",
        "oUserRoutingStatuses",
    ];
    if !q.metrics.iter().any(|m| USER_METRICS.contains(&m.as_str())) {
        return None;
    }
    let u = org.users(queue_id, now);
    let mut data = Vec::new();
    let qualified =
        |data: &mut Vec<Value>, metric: &str, map: &std::collections::BTreeMap<String, u64>| {
            for (k, v) in map.iter().filter(|(_, &v)| v > 0) {
                data.push(json!({"metric": metric, "qualifier": k, "stats": {"count": v}}));
            }
        };
    for m in &q.metrics {
        match m.as_str() {
            "oMemberUsers" => data.push(json!({"metric": m, "stats": {"count": u.members}})),
            "oActiveUsers" => data.push(json!({"metric": m, "stats": {"count": u.active}})),
            "oOnQueueUsers" => qualified(&mut data, m, &u.on_queue),
            "oOffQueueUsers" => qualified(&mut data, m, &u.off_queue),
            "oUserPresences" => qualified(&mut data, m, &u.presences),
            "oUserRoutingStatuses" => qualified(&mut data, m, &u.routing_statuses),
            _ => {}
        }
    }
    Some(json!({"group": {"queueId": queue_id}, "data": data}))
}

fn media_group(s: &Stream<'_>, q: &ObsQuery, now: i64, opts: ObsOptions) -> Value {
    let live = s.live(now);
    let counts = summarize(&live);
    let mut data = Vec::new();
    for m in &q.metrics {
        let (count, longest) = match m.as_str() {
            "oWaiting" => (counts.waiting, None),
            "oInteracting" => (counts.interacting, None),
            "oAlerting" => (counts.alerting, None),
            "oLongestWaiting" => (0, Some(counts.oldest_waiting_since_ms)),
            "oLongestInteracting" => (0, Some(counts.oldest_interacting_since_ms)),
            _ => continue,
        };
        match longest {
            Some(Some(since)) => {
                let value = match opts.longest {
                    LongestMode::EpochMs => since,
                    LongestMode::DurationMs => now - since,
                };
                data.push(json!({"metric": m, "stats": {"calculatedMetricValue": value}}));
            }
            Some(None) => {}
            None => {
                let mut entry = json!({"metric": m, "stats": {"count": count}});
                if q.detail.contains(m) {
                    let (obs, truncated) = details(s, &live, m, opts.detail_cap);
                    entry["truncated"] = json!(truncated);
                    entry["observations"] = Value::Array(obs);
                }
                data.push(entry);
            }
        }
    }
    json!({
        "group": {"queueId": s.queue.id, "mediaType": s.media.kind.analytics_name()},
        "data": data,
    })
}

/// The group of a media type the queue does not serve: zero counts, no
/// oLongest* value (nobody waits), empty details.
fn idle_group(queue_id: &str, media: &str, q: &ObsQuery) -> Value {
    let data: Vec<Value> = q
        .metrics
        .iter()
        .filter(|m| matches!(m.as_str(), "oWaiting" | "oInteracting" | "oAlerting"))
        .map(|m| {
            let mut entry = json!({"metric": m, "stats": {"count": 0}});
            if q.detail.contains(m) {
                entry["truncated"] = json!(false);
                entry["observations"] = json!([]);
            }
            entry
        })
        .collect();
    json!({"group": {"queueId": queue_id, "mediaType": media}, "data": data})
}

/// `observations[]` for a conversation metric: ascending by date, capped with
/// the oldest half and the newest half kept.
fn details(
    s: &Stream<'_>,
    live: &[(ConvCore, State)],
    metric: &str,
    cap: usize,
) -> (Vec<Value>, bool) {
    let mut items: Vec<(i64, &ConvCore)> = live
        .iter()
        .filter_map(|(c, st)| match (metric, *st) {
            ("oWaiting", State::Waiting { since }) => Some((since, c)),
            ("oAlerting", State::Alerting { since }) => Some((since, c)),
            ("oInteracting", State::Interacting { since }) => Some((since, c)),
            _ => None,
        })
        .collect();
    items.sort_by_key(|(t, c)| (*t, c.slot, c.k));
    let truncated = items.len() > cap;
    if truncated {
        let head = cap / 2;
        let tail = cap - head;
        let cut = items.len() - tail;
        items.drain(head..cut);
    }
    let obs = items
        .into_iter()
        .map(|(t, c)| {
            let key = s.conversation_key(c.slot, c.k);
            let mut o = json!({
                "observationDate": format_instant(t),
                "conversationId": uuid(&key),
                "sessionId": uuid(&[key[0], key[1], key[2], key[3], key[4], key[5], 0x5E55]),
                "routingPriority": 0,
                "direction": "inbound",
                "requestedRoutings": ["Standard"],
                "usedRouting": "Standard",
            });
            if metric != "oWaiting" {
                o["userId"] = json!(s.org.user_id(s.queue.index, c.agent));
            }
            o
        })
        .collect();
    (obs, truncated)
}
