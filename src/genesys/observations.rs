//! `POST /api/v2/analytics/queues/observations/query`: real-time counts per
//! queue × media type and users per queue, in chunks of queue ids, with
//! `oLongestWaiting` normalised from an epoch timestamp or a duration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::client::{decode, Client};
use super::endpoint::Endpoint;
use super::error::Error;
use super::model::ObservationResponse;
use super::query;

/// Values above this are epoch milliseconds (2001-09-09 onwards), not durations.
const EPOCH_MS_THRESHOLD: f64 = 1e12;

/// A real-time snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationSnapshot {
    /// Per queue × media type, sorted.
    pub media: Vec<MediaObs>,
    /// Per queue, sorted.
    pub queues: Vec<QueueObs>,
}

/// Interactions of one queue × media type right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaObs {
    /// Queue id.
    pub queue_id: String,
    /// Analytics media type.
    pub media_type: String,
    /// oWaiting.
    pub waiting: u64,
    /// oInteracting.
    pub interacting: u64,
    /// oAlerting.
    pub alerting: u64,
    /// How long the oldest waiting interaction has waited, in ms (a duration).
    pub longest_waiting_ms: Option<i64>,
}

/// Users of one queue right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueObs {
    /// Queue id.
    pub queue_id: String,
    /// oMemberUsers.
    pub members: Option<u64>,
    /// oActiveUsers.
    pub active: Option<u64>,
    /// oOnQueueUsers by routing status (IDLE, INTERACTING, COMMUNICATING, NOT_RESPONDING).
    pub on_queue: BTreeMap<String, u64>,
}

/// Normalises an `oLongestWaiting` value to a wait duration in ms: a value
/// above 1e12 is the epoch-ms start of the wait (so `now − value`), anything
/// else is already a duration; negatives become 0, non-finite values `None`.
pub fn longest_waiting_duration(value: f64, now_ms: i64) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let duration = if value > EPOCH_MS_THRESHOLD {
        now_ms as f64 - value
    } else {
        value
    };
    Some(duration.max(0.0).min(i64::MAX as f64 / 2.0).round() as i64)
}

fn count(v: Option<f64>) -> u64 {
    v.filter(|c| c.is_finite() && *c > 0.0)
        .map(|c| c.round() as u64)
        .unwrap_or(0)
}

/// Folds observation responses into a snapshot taken at `now_ms`. Groups with
/// a `queueId` and a `mediaType` give [`MediaObs`]; groups with only a
/// `queueId` give [`QueueObs`]; anything else is ignored.
pub fn snapshot_from_responses(
    responses: impl IntoIterator<Item = ObservationResponse>,
    now_ms: i64,
) -> ObservationSnapshot {
    let mut fold = ObservationFold::new(now_ms);
    for response in responses {
        fold.add(response, now_ms);
    }
    fold.finish()
}

/// One metric of an observation group, borrowed from wherever it is held
/// (a decoded answer or the merged pushed state).
#[derive(Debug, Clone, Copy)]
pub struct MetricRef<'a> {
    /// Metric name, e.g. `oWaiting`.
    pub metric: &'a str,
    /// Routing status for `oOnQueueUsers`.
    pub qualifier: Option<&'a str>,
    /// `stats.count`.
    pub count: Option<f64>,
    /// `stats.calculatedMetricValue`.
    pub value: Option<f64>,
    /// The first observation's `observationDate` (the oldest waiting
    /// interaction, when details were asked for).
    pub oldest: Option<&'a str>,
}

/// A snapshot folded one group at a time, so the answers of a chunked call
/// are never all held decoded at once, and the merged pushed state folds
/// through the same rules without building an answer first.
#[derive(Debug)]
pub struct ObservationFold {
    now_ms: i64,
    media: BTreeMap<(String, String), MediaObs>,
    queues: BTreeMap<String, QueueObs>,
}

impl ObservationFold {
    /// An empty fold of values taken at `now_ms`.
    pub fn new(now_ms: i64) -> ObservationFold {
        ObservationFold {
            now_ms,
            media: BTreeMap::new(),
            queues: BTreeMap::new(),
        }
    }

    /// Folds one response taken at `now_ms`.
    fn add(&mut self, response: ObservationResponse, now_ms: i64) {
        self.now_ms = now_ms;
        for group in response.results {
            let Some(queue_id) = group.group.get("queueId") else {
                continue;
            };
            let metrics = group.data.iter().map(|m| MetricRef {
                metric: &m.metric,
                qualifier: m.qualifier.as_deref(),
                count: m.stats.count,
                value: m.stats.calculated_metric_value,
                oldest: m
                    .observations
                    .first()
                    .and_then(|o| o.observation_date.as_deref()),
            });
            let media_type = group.group.get("mediaType").map(String::as_str);
            self.group(queue_id, media_type, metrics);
        }
    }

    /// Folds the metrics of one group: of a queue × media type, or of the
    /// queue's users when `media_type` is `None`.
    pub fn group<'a>(
        &mut self,
        queue_id: &str,
        media_type: Option<&str>,
        metrics: impl IntoIterator<Item = MetricRef<'a>>,
    ) {
        match media_type {
            Some(media_type) => self.media_group(queue_id, media_type, metrics),
            None => self.user_group(queue_id, metrics),
        }
    }

    fn media_group<'a>(
        &mut self,
        queue_id: &str,
        media_type: &str,
        metrics: impl IntoIterator<Item = MetricRef<'a>>,
    ) {
        let now_ms = self.now_ms;
        let entry = self
            .media
            .entry((queue_id.to_string(), media_type.to_string()))
            .or_insert_with(|| MediaObs {
                queue_id: queue_id.to_string(),
                media_type: media_type.to_string(),
                ..MediaObs::default()
            });
        for m in metrics {
            let longest = match m.metric {
                "oWaiting" => {
                    entry.waiting = entry.waiting.saturating_add(count(m.count));
                    // Details (asked for only without oLongestWaiting) list
                    // the oldest waiting interaction first.
                    m.oldest
                        .and_then(crate::timefmt::parse_instant)
                        .and_then(|at| longest_waiting_duration(at as f64, now_ms))
                }
                "oInteracting" => {
                    entry.interacting = entry.interacting.saturating_add(count(m.count));
                    None
                }
                "oAlerting" => {
                    entry.alerting = entry.alerting.saturating_add(count(m.count));
                    None
                }
                "oLongestWaiting" => m.value.and_then(|v| longest_waiting_duration(v, now_ms)),
                _ => None,
            };
            if let Some(d) = longest {
                entry.longest_waiting_ms = Some(entry.longest_waiting_ms.map_or(d, |o| o.max(d)));
            }
        }
    }

    fn user_group<'a>(&mut self, queue_id: &str, metrics: impl IntoIterator<Item = MetricRef<'a>>) {
        let entry = self
            .queues
            .entry(queue_id.to_string())
            .or_insert_with(|| QueueObs {
                queue_id: queue_id.to_string(),
                ..QueueObs::default()
            });
        for m in metrics {
            let n = count(m.count);
            match (m.metric, m.qualifier) {
                ("oMemberUsers", _) => entry.members = Some(n),
                ("oActiveUsers", _) => entry.active = Some(n),
                ("oOnQueueUsers", Some(status)) if !status.is_empty() => {
                    let total = entry
                        .on_queue
                        .entry(status.to_ascii_uppercase())
                        .or_default();
                    *total = total.saturating_add(n);
                }
                _ => {}
            }
        }
    }

    /// The snapshot of every group folded.
    pub fn finish(self) -> ObservationSnapshot {
        ObservationSnapshot {
            media: self.media.into_values().collect(),
            queues: self.queues.into_values().collect(),
        }
    }
}

impl Client {
    /// Observes `queue_ids` now, in `ceil(queues / chunk size)` requests (chunks of up to 200 ids).
    pub async fn observations(&self, queue_ids: &[String]) -> Result<ObservationSnapshot, Error> {
        self.observations_with_metrics(queue_ids, &query::OBSERVATION_METRICS)
            .await
    }

    /// [`Client::observations`] requesting only `metrics`.
    pub async fn observations_with_metrics(
        &self,
        queue_ids: &[String],
        metrics: &[&str],
    ) -> Result<ObservationSnapshot, Error> {
        if queue_ids.is_empty() {
            return Ok(ObservationSnapshot::default());
        }
        // Each chunk's answer is folded as it arrives, taken at that instant.
        let builder = Arc::new(Mutex::new(ObservationFold::new(0)));
        let decode = {
            let builder = Arc::clone(&builder);
            Arc::new(move |bytes: &[u8]| {
                let response: ObservationResponse = decode(Endpoint::Observations, bytes)?;
                let now_ms = jiff::Timestamp::now().as_millisecond();
                lock(&builder).add(response, now_ms);
                Ok(())
            })
        };
        self.post_chunked_with(
            Endpoint::Observations,
            queue_ids,
            |chunk| query::observation_body(chunk, metrics),
            decode,
        )
        .await?;
        let fold = std::mem::replace(&mut *lock(&builder), ObservationFold::new(0));
        Ok(fold.finish())
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked.
fn lock(m: &Mutex<ObservationFold>) -> MutexGuard<'_, ObservationFold> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "systemToOrganizationMappings": {
        "ON_QUEUE": ["e08eaf1b-ee47-4fa9-a231-1200e284798f"],
        "AVAILABLE": ["6a3af858-942f-489d-9700-5f9bcdcdae9b"],
        "OFFLINE": ["ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5"]
      },
      "results": [
        {"group": {"queueId": "3b3c5b1e-0000-4000-8000-000000000001"},
         "data": [
           {"metric": "oMemberUsers", "stats": {"count": 23}},
           {"metric": "oActiveUsers", "stats": {"count": 23}},
           {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}},
           {"metric": "oUserRoutingStatuses", "qualifier": "IDLE", "stats": {"count": 4}},
           {"metric": "oUserRoutingStatuses", "qualifier": "OFF_QUEUE", "stats": {"count": 19}},
           {"metric": "oUserPresences", "qualifier": "e08eaf1b-ee47-4fa9-a231-1200e284798f", "stats": {"count": 4}},
           {"metric": "oOffQueueUsers", "qualifier": "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5", "stats": {"count": 18}}
         ]},
        {"group": {"queueId": "3b3c5b1e-0000-4000-8000-000000000001", "mediaType": "voice"},
         "data": [
           {"metric": "oInteracting", "stats": {"count": 2}},
           {"metric": "oWaiting", "stats": {"count": 1}, "truncated": false,
            "observations": [{"observationDate": "2025-03-12T13:04:11.000Z",
                              "conversationId": "9f1d", "sessionId": "77ab",
                              "direction": "inbound", "routingPriority": 0}]},
           {"metric": "oAlerting", "stats": {"count": 0}},
           {"metric": "oLongestWaiting", "stats": {"calculatedMetricValue": 1741784651000}}
         ]},
        {"group": {"mediaType": "chat"}, "data": [{"metric": "oWaiting", "stats": {"count": 9}}]}
      ]
    }"#;

    /// The documented example parses into per-media counts and per-queue users.
    #[test]
    fn documented_response() {
        let parsed: ObservationResponse = serde_json::from_str(EXAMPLE).expect("parses");
        let now = 1_741_784_700_000; // 49 s after the oldest wait began
        let snap = snapshot_from_responses([parsed], now);
        assert_eq!(snap.media.len(), 1);
        let m = &snap.media[0];
        assert_eq!((m.waiting, m.interacting, m.alerting), (1, 2, 0));
        assert_eq!(m.longest_waiting_ms, Some(49_000));
        assert_eq!(snap.queues.len(), 1);
        let q = &snap.queues[0];
        assert_eq!((q.members, q.active), (Some(23), Some(23)));
        assert_eq!(q.on_queue.get("IDLE"), Some(&4));
        assert_eq!(q.on_queue.len(), 1);
    }

    /// Without oLongestWaiting the oldest `observationDate` of the oWaiting
    /// details gives the longest wait.
    #[test]
    fn longest_wait_from_details() {
        let body = r#"{"results": [
          {"group": {"queueId": "q", "mediaType": "chat"},
           "data": [{"metric": "oWaiting", "stats": {"count": 2}, "observations": [
             {"observationDate": "2025-03-12T13:04:00.000Z"},
             {"observationDate": "2025-03-12T13:04:40.000Z"}]}]}]}"#;
        let parsed: ObservationResponse = serde_json::from_str(body).expect("parses");
        let now = crate::timefmt::parse_instant("2025-03-12T13:05:00Z").expect("instant");
        let snap = snapshot_from_responses([parsed], now);
        assert_eq!(snap.media[0].longest_waiting_ms, Some(60_000));
    }

    /// Epoch values become durations, durations stay, negatives clamp to 0.
    #[test]
    fn longest_waiting_normalisation() {
        let now = 1_741_784_700_000;
        assert_eq!(
            longest_waiting_duration(1_741_784_640_000.0, now),
            Some(60_000)
        );
        assert_eq!(longest_waiting_duration(45_000.0, now), Some(45_000));
        assert_eq!(longest_waiting_duration(now as f64 + 5_000.0, now), Some(0));
        assert_eq!(longest_waiting_duration(-3.0, now), Some(0));
        assert_eq!(longest_waiting_duration(f64::NAN, now), None);
    }

    /// `{}` is an empty snapshot.
    #[test]
    fn empty_body() {
        let parsed: ObservationResponse = serde_json::from_str("{}").expect("parses");
        assert_eq!(
            snapshot_from_responses([parsed], 0),
            ObservationSnapshot::default()
        );
    }
}
