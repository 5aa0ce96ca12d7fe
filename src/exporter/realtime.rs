//! The real-time snapshot (pure): queue observations turned into rows for every
//! exported queue × media type, zero-filled, plus on-queue agents by status.
//!
//! A count above [`MAX_COUNT`] (the decoder saturates rather than wraps, so an
//! absurd or overflowing count arrives as a huge number) is bad data: that
//! row is left out, and [`bad_groups`] names it for the bad-value counter.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::bad_values::BadGroup;
use super::snapshot::QueueSet;
use crate::genesys::{MediaObs, ObservationSnapshot, QueueObs};
use crate::kpi::{BadValue, BadValues, MAX_COUNT};

/// Routing statuses exported by `genesys_queue_agents`: (Genesys qualifier, label).
pub const AGENT_STATUSES: [(&str, &str); 4] = [
    ("COMMUNICATING", "communicating"),
    ("IDLE", "idle"),
    ("INTERACTING", "interacting"),
    ("NOT_RESPONDING", "not_responding"),
];

/// Real-time values of one queue × media type.
#[derive(Debug, Clone, PartialEq)]
pub struct RealtimeRow {
    /// `queue` label.
    pub queue: Arc<str>,
    /// `media_type` label.
    pub media_type: Arc<str>,
    /// oWaiting.
    pub waiting: f64,
    /// oInteracting.
    pub interacting: f64,
    /// oAlerting.
    pub alerting: f64,
    /// Longest current wait in seconds: 0 when nothing waits, `None` when
    /// something waits but the API gave no age.
    pub longest_waiting_seconds: Option<f64>,
}

/// On-queue agents of one queue by routing status.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    /// `queue` label.
    pub queue: Arc<str>,
    /// (status label, agents), in [`AGENT_STATUSES`] order.
    pub statuses: Vec<(&'static str, f64)>,
}

/// The real-time rows of one exported queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRealtime {
    /// The queue's id.
    pub queue_id: String,
    /// One row per media type, sorted by media type.
    pub media: Vec<RealtimeRow>,
    /// On-queue agents, `None` when the answer's counts cannot be served.
    pub agents: Option<AgentRow>,
}

/// The result of one observations poll: the exported queues in label order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RealtimeSnapshot {
    /// One entry per exported queue the answer is about, sorted by label.
    pub queues: Vec<QueueRealtime>,
}

impl RealtimeSnapshot {
    /// Every media row, sorted by queue label and media type.
    pub fn media(&self) -> impl Iterator<Item = &RealtimeRow> {
        self.queues.iter().flat_map(|q| q.media.iter())
    }

    /// Every agents row, one per queue, in label order.
    pub fn agents(&self) -> impl Iterator<Item = &AgentRow> {
        self.queues.iter().filter_map(|q| q.agents.as_ref())
    }
}

/// Builds the real-time rows for every exported queue.
pub fn realtime_snapshot(
    queues: &QueueSet,
    obs: &ObservationSnapshot,
    keep_media: impl Fn(&str) -> bool,
) -> RealtimeSnapshot {
    realtime_snapshot_of(queues, |_| true, obs, keep_media)
}

/// Builds the real-time rows for the exported queues whose id `keep_queue`
/// accepts (those the answer is about).
pub fn realtime_snapshot_of(
    queues: &QueueSet,
    keep_queue: impl Fn(&str) -> bool,
    obs: &ObservationSnapshot,
    keep_media: impl Fn(&str) -> bool,
) -> RealtimeSnapshot {
    let mut by_queue: HashMap<&str, BTreeMap<&str, &MediaObs>> = HashMap::new();
    let mut bad_media: HashSet<(&str, &str)> = HashSet::new();
    for m in &obs.media {
        if !media_is_valid(m) {
            bad_media.insert((m.queue_id.as_str(), m.media_type.as_str()));
        } else if keep_media(&m.media_type) {
            by_queue
                .entry(m.queue_id.as_str())
                .or_default()
                .insert(m.media_type.as_str(), m);
        }
    }
    let agents_by_queue: HashMap<&str, &QueueObs> = obs
        .queues
        .iter()
        .map(|q| (q.queue_id.as_str(), q))
        .collect();

    let mut snap = RealtimeSnapshot::default();
    for q in queues.queues().iter().filter(|q| keep_queue(&q.id)) {
        let observed = by_queue.remove(q.id.as_str()).unwrap_or_default();
        let mut media: BTreeMap<Arc<str>, Option<&MediaObs>> = q
            .media
            .iter()
            .filter(|m| !bad_media.contains(&(q.id.as_str(), &*m.media_type)))
            .map(|m| (m.media_type.clone(), None))
            .collect();
        for (name, m) in observed {
            media.insert(Arc::from(name), Some(m));
        }
        let mut rows = QueueRealtime {
            queue_id: q.id.clone(),
            media: Vec::with_capacity(media.len()),
            agents: None,
        };
        for (media_type, m) in media {
            let (waiting, interacting, alerting, longest) = match m {
                Some(m) => (m.waiting, m.interacting, m.alerting, m.longest_waiting_ms),
                None => (0, 0, 0, None),
            };
            let longest_waiting_seconds = match (longest, waiting) {
                (Some(ms), _) => Some(ms.max(0) as f64 / 1000.0),
                (None, 0) => Some(0.0),
                (None, _) => None,
            };
            rows.media.push(RealtimeRow {
                queue: q.name.clone(),
                media_type,
                waiting: waiting as f64,
                interacting: interacting as f64,
                alerting: alerting as f64,
                longest_waiting_seconds,
            });
        }
        let observed_agents = agents_by_queue.get(q.id.as_str());
        if observed_agents.is_none_or(|o| agents_are_valid(o)) {
            let on_queue = observed_agents.map(|o| &o.on_queue);
            rows.agents = Some(AgentRow {
                queue: q.name.clone(),
                statuses: AGENT_STATUSES
                    .iter()
                    .map(|(key, label)| {
                        let n = on_queue.and_then(|m| m.get(*key)).copied().unwrap_or(0);
                        (*label, n as f64)
                    })
                    .collect(),
            });
        }
        snap.queues.push(rows);
    }
    snap
}

/// True when every count of a media row is at most [`MAX_COUNT`].
fn media_is_valid(m: &MediaObs) -> bool {
    [m.waiting, m.interacting, m.alerting]
        .iter()
        .all(|&n| n <= MAX_COUNT)
}

/// True when every on-queue agent count is at most [`MAX_COUNT`].
fn agents_are_valid(q: &QueueObs) -> bool {
    q.on_queue.values().all(|&n| n <= MAX_COUNT)
}

/// The queue × media type groups of an observations answer with counts that
/// cannot be served, sorted; per-queue agent counts are named with the media
/// type `-` (they belong to no media type).
pub fn bad_groups(obs: &ObservationSnapshot) -> Vec<BadGroup> {
    let mut overflow = BadValues::default();
    overflow.insert(BadValue::Overflow);
    let media = obs
        .media
        .iter()
        .filter(|m| !media_is_valid(m))
        .map(|m| (m.queue_id.as_str(), m.media_type.as_str()));
    let agents = obs
        .queues
        .iter()
        .filter(|q| !agents_are_valid(q))
        .map(|q| (q.queue_id.as_str(), "-"));
    let found: BTreeSet<(&str, &str)> = media.chain(agents).collect();
    found
        .into_iter()
        .map(|(queue_id, media_type)| BadGroup {
            queue_id: queue_id.to_owned(),
            media_type: media_type.to_owned(),
            reasons: overflow,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::snapshot::{MediaInfo, QueueInfo};

    fn set() -> QueueSet {
        let media = |m: &str| MediaInfo {
            media_type: Arc::from(m),
            sl_target: None,
            sl_threshold_ms: None,
        };
        QueueSet::new(vec![QueueInfo {
            id: "q1".into(),
            name: Arc::from("One"),
            division: "Home".into(),
            member_count: None,
            media: vec![media("voice"), media("chat")],
        }])
    }

    /// Observed values map to rows; unobserved media and statuses are zero;
    /// unknown queues are dropped; an unknown age of a waiting item is absent.
    #[test]
    fn zero_fill_and_longest_wait() {
        let obs = ObservationSnapshot {
            media: vec![
                MediaObs {
                    queue_id: "q1".into(),
                    media_type: "voice".into(),
                    waiting: 2,
                    interacting: 3,
                    alerting: 1,
                    longest_waiting_ms: None,
                },
                MediaObs {
                    queue_id: "elsewhere".into(),
                    media_type: "voice".into(),
                    waiting: 9,
                    interacting: 0,
                    alerting: 0,
                    longest_waiting_ms: Some(5_000),
                },
            ],
            queues: vec![QueueObs {
                queue_id: "q1".into(),
                members: Some(5),
                active: Some(4),
                on_queue: BTreeMap::from([("IDLE".to_string(), 2), ("OFF_QUEUE".to_string(), 7)]),
            }],
        };
        let snap = realtime_snapshot(&set(), &obs, |_| true);
        let media: Vec<_> = snap.media().collect();
        assert_eq!(media.len(), 2);
        let chat = media[0];
        assert_eq!(
            (
                &*chat.media_type,
                chat.waiting,
                chat.longest_waiting_seconds
            ),
            ("chat", 0.0, Some(0.0))
        );
        let voice = media[1];
        assert_eq!(
            (voice.waiting, voice.interacting, voice.alerting),
            (2.0, 3.0, 1.0)
        );
        assert_eq!(voice.longest_waiting_seconds, None);
        assert_eq!(
            snap.agents().next().expect("agents row").statuses,
            vec![
                ("communicating", 0.0),
                ("idle", 2.0),
                ("interacting", 0.0),
                ("not_responding", 0.0)
            ]
        );
    }

    /// Saturated counts (absurd or overflowing in the API answer) leave
    /// their row out and are reported as overflow; good rows stay.
    #[test]
    fn saturated_counts_are_left_out() {
        let obs = ObservationSnapshot {
            media: vec![MediaObs {
                queue_id: "q1".into(),
                media_type: "voice".into(),
                waiting: u64::MAX,
                ..MediaObs::default()
            }],
            queues: vec![QueueObs {
                queue_id: "q1".into(),
                on_queue: BTreeMap::from([("IDLE".to_string(), MAX_COUNT + 1)]),
                ..QueueObs::default()
            }],
        };
        let snap = realtime_snapshot(&set(), &obs, |_| true);
        let media: Vec<_> = snap.media().map(|r| r.media_type.to_string()).collect();
        assert_eq!(media, ["chat"]);
        assert_eq!(snap.agents().count(), 0);
        let bad = bad_groups(&obs);
        let keys: Vec<_> = bad
            .iter()
            .map(|g| (g.queue_id.as_str(), g.media_type.as_str()))
            .collect();
        assert_eq!(keys, [("q1", "-"), ("q1", "voice")]);
        assert!(bad.iter().all(|g| g.reasons.contains(BadValue::Overflow)));
    }
}
