//! Real-time state derived from the same conversation log: who is waiting,
//! alerting or interacting at an instant, and what the queue's members are doing.
//!
//! A conversation is *waiting* from its offer until alerting starts, *alerting*
//! for the last seconds before the answer, *interacting* from the answer to the
//! end of talk and hold, then in ACW. Each state covers `(start, end]`, so at
//! `now` the state agrees with the events emitted strictly before `now`.

use std::collections::BTreeMap;

use super::media::MediaKind;
use super::names::SYSTEM_PRESENCES;
use super::org::{OrgModel, QueueDef};
use super::rng::Rng;
use super::traffic::{ConvCore, Outcome, Stream};

/// Conversation counts of one queue × media type at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaObservation {
    /// Waiting in queue (offered, not yet alerting, answered, abandoned or flowed out).
    pub waiting: u64,
    /// Connected to an agent (answered, talk or hold not over).
    pub interacting: u64,
    /// Ringing at an agent.
    pub alerting: u64,
    /// Offer time of the oldest waiting conversation (epoch ms).
    pub oldest_waiting_since_ms: Option<i64>,
    /// Answer time of the oldest interacting conversation (epoch ms).
    pub oldest_interacting_since_ms: Option<i64>,
    /// In after-call work (agents busy, not interacting).
    pub acw: u64,
}

/// What a queue's members are doing at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueUsers {
    /// Queue members.
    pub members: u64,
    /// Members whose queue membership is active (joined).
    pub active: u64,
    /// On-queue members by routing status: IDLE, INTERACTING, COMMUNICATING,
    /// NOT_RESPONDING (all four keys present).
    pub on_queue: BTreeMap<String, u64>,
    /// Members by routing status, OFF_QUEUE included (zero counts left out).
    pub routing_statuses: BTreeMap<String, u64>,
    /// Members by organization presence id (zero counts left out).
    pub presences: BTreeMap<String, u64>,
    /// Members not on queue, by organization presence id (zero counts left out).
    pub off_queue: BTreeMap<String, u64>,
}

/// Where one conversation is at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Waiting { since: i64 },
    Alerting { since: i64 },
    Interacting { since: i64 },
    Acw,
}

/// State of `c` at `now`, or `None` when it has not started or is over.
pub(crate) fn state_at(c: &ConvCore, now: i64) -> Option<State> {
    if now <= c.offered {
        return None;
    }
    let alert_start = c.wait_end - c.alert;
    if now <= alert_start {
        return Some(State::Waiting { since: c.offered });
    }
    if now <= c.wait_end {
        return (c.outcome == Outcome::Answered).then_some(State::Alerting { since: alert_start });
    }
    if c.outcome != Outcome::Answered {
        return None;
    }
    if now <= c.talk_end() {
        return Some(State::Interacting { since: c.wait_end });
    }
    (now <= c.last_event()).then_some(State::Acw)
}

impl Stream<'_> {
    /// Every live conversation at `now`, with its state.
    pub(crate) fn live(&self, now: i64) -> Vec<(ConvCore, State)> {
        let mut out = Vec::new();
        self.for_each(now - 1, now, |c| {
            if let Some(s) = state_at(c, now) {
                out.push((*c, s));
            }
        });
        out
    }
}

/// Folds live conversations into counts.
pub(crate) fn summarize(live: &[(ConvCore, State)]) -> MediaObservation {
    let mut o = MediaObservation::default();
    for (_, s) in live {
        match *s {
            State::Waiting { since } => {
                o.waiting += 1;
                o.oldest_waiting_since_ms =
                    Some(o.oldest_waiting_since_ms.map_or(since, |x| x.min(since)));
            }
            State::Alerting { .. } => o.alerting += 1,
            State::Interacting { since } => {
                o.interacting += 1;
                o.oldest_interacting_since_ms = Some(
                    o.oldest_interacting_since_ms
                        .map_or(since, |x| x.min(since)),
                );
            }
            State::Acw => o.acw += 1,
        }
    }
    o
}

impl OrgModel {
    /// Conversation counts of one active queue × media type at `now_ms`
    /// (all zero for unknown, removed or unserved combinations).
    pub fn observe(&self, queue_id: &str, media_type: &str, now_ms: i64) -> MediaObservation {
        match self.stream(queue_id, media_type) {
            Some(s) => summarize(&s.live(now_ms)),
            None => MediaObservation::default(),
        }
    }

    /// What the members of an active queue are doing at `now_ms`. Agents
    /// alerting, interacting or in ACW are INTERACTING; the rest of the
    /// on-queue staff (which follows the daily profile) is IDLE, with a few
    /// COMMUNICATING (non-ACD calls) or NOT_RESPONDING.
    pub fn users(&self, queue_id: &str, now_ms: i64) -> QueueUsers {
        let Some(qi) = self.active_index(queue_id) else {
            return QueueUsers::default();
        };
        let q = &self.queues[qi];
        let busy: u64 = MediaKind::ALL
            .iter()
            .filter_map(|m| self.stream(queue_id, m.analytics_name()))
            .map(|s| {
                let o = summarize(&s.live(now_ms));
                o.alerting + o.interacting + o.acw
            })
            .sum();
        let members = u64::from(q.members);
        let active = active_members(self, q, now_ms);
        let away = members - active;
        let period = now_ms.div_euclid(15 * 60_000) as u64;
        let mut rng = Rng::new(&[self.seed, 0x05F, q.index, period]);
        let staffed =
            (active as f64 * (0.25 + 0.65 * self.traffic_profile.level(now_ms))).round() as u64;
        let interacting = busy.min(active);
        let communicating = u64::from(rng.chance(0.3)).min(active - interacting);
        let not_responding = u64::from(rng.chance(0.1)).min(active - interacting - communicating);
        let on_queue_total = staffed
            .max(interacting + communicating + not_responding)
            .min(active);
        let idle = on_queue_total - interacting - communicating - not_responding;
        let on_queue: BTreeMap<String, u64> = [
            ("IDLE", idle),
            ("INTERACTING", interacting),
            ("COMMUNICATING", communicating),
            ("NOT_RESPONDING", not_responding),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut routing_statuses: BTreeMap<String, u64> = on_queue
            .iter()
            .filter(|(_, &v)| v > 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if members > on_queue_total {
            routing_statuses.insert("OFF_QUEUE".to_string(), members - on_queue_total);
        }
        // Off-queue presences: unjoined members are OFFLINE, the rest spread over
        // the ordinary presences.
        let mut off_counts = vec![0u64; SYSTEM_PRESENCES.len()];
        off_counts[presence_index("OFFLINE")] = away;
        const SPREAD: [&str; 7] = [
            "AVAILABLE",
            "AWAY",
            "BUSY",
            "BREAK",
            "MEAL",
            "MEETING",
            "TRAINING",
        ];
        for _ in 0..(active - on_queue_total) {
            let pick = SPREAD[rng.range(0, SPREAD.len() as i64 - 1) as usize];
            off_counts[presence_index(pick)] += 1;
        }
        let mut off_queue = BTreeMap::new();
        let mut presences = BTreeMap::new();
        for (i, &n) in off_counts.iter().enumerate() {
            if n > 0 {
                off_queue.insert(self.presence_ids[i].clone(), n);
                presences.insert(self.presence_ids[i].clone(), n);
            }
        }
        if on_queue_total > 0 {
            presences.insert(
                self.presence_ids[presence_index("ON_QUEUE")].clone(),
                on_queue_total,
            );
        }
        QueueUsers {
            members,
            active,
            on_queue,
            routing_statuses,
            presences,
            off_queue,
        }
    }
}

/// Members with an active (joined) membership at `now_ms`; changes every 15 minutes.
pub(crate) fn active_members(org: &OrgModel, q: &QueueDef, now_ms: i64) -> u64 {
    let members = u64::from(q.members);
    let period = now_ms.div_euclid(15 * 60_000) as u64;
    let mut rng = Rng::new(&[org.seed, 0x05E, q.index, period]);
    members - rng.range(0, (members / 6) as i64) as u64
}

fn presence_index(name: &str) -> usize {
    SYSTEM_PRESENCES
        .iter()
        .position(|p| *p == name)
        .unwrap_or(0)
}
