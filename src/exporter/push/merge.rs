//! The merged real-time state (pure): per queue × media type (or the queue's
//! user group) the latest statistics of each (metric, qualifier), seeded and
//! replaced by every REST observations answer and updated by pushed events.
//!
//! Whether an event carries the whole state of its group or only what
//! changed is not documented, so both are handled: an event that repeats a
//! value the state already holds is a whole-state event and replaces the
//! group (metrics it leaves out are gone); otherwise only the metrics it
//! names change (a vanished count arrives as 0). An event with a negative,
//! non-finite or absurd count is refused whole and reported as a bad group.
//! [`Merged::snapshot`] folds the state into an [`ObservationSnapshot`] by
//! the REST decoder's rules ([`ObservationFold`]), so the real-time render
//! path is the polled one.

use std::collections::{BTreeMap, BTreeSet};

use super::message::{QueueEvent, Stats};
use crate::exporter::bad_values::BadGroup;
use crate::genesys::{MetricRef, ObservationFold, ObservationSnapshot};
use crate::kpi::{BadValue, BadValues, MAX_COUNT};

/// (queue id, media type; `None` for the user group).
type GroupKey = (String, Option<String>);
/// (metric, qualifier).
type MetricKey = (String, Option<String>);

/// The statistics of one group by (metric, qualifier), sorted by key: a
/// handful of entries, so a vector (a tree's node would hold room for
/// eleven, in an org of 10,000 queues some 70,000 times over).
#[derive(Debug, Clone, Default, PartialEq)]
struct Group(Vec<(MetricKey, Stats)>);

impl Group {
    fn new() -> Group {
        Group::default()
    }

    fn find(&self, metric: &str, qualifier: Option<&str>) -> Result<usize, usize> {
        self.0
            .binary_search_by(|((m, q), _)| (m.as_str(), q.as_deref()).cmp(&(metric, qualifier)))
    }

    fn get(&self, metric: &str, qualifier: Option<&str>) -> Option<&Stats> {
        let i = self.find(metric, qualifier).ok()?;
        Some(&self.0[i].1)
    }

    fn insert(&mut self, key: MetricKey, stats: Stats) {
        match self.find(&key.0, key.1.as_deref()) {
            Ok(i) => self.0[i].1 = stats,
            Err(i) => self.0.insert(i, (key, stats)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&MetricKey, &Stats)> {
        self.0.iter().map(|(k, s)| (k, s))
    }

    /// Drops spare capacity (a group is kept until it changes).
    fn compact(mut self) -> Group {
        self.0.shrink_to_fit();
        self
    }
}

/// What applying one event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The state changed.
    Changed,
    /// The event repeated what the state held.
    Same,
    /// The event was refused: its group and why.
    Bad(BadGroup),
}

/// The merged state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    groups: BTreeMap<GroupKey, Group>,
    /// Queues whose groups changed since [`Merged::take_changed`].
    changed: BTreeSet<String>,
    /// Every queue may have changed (a whole seed) since then.
    all_changed: bool,
}

fn key(m: &str, q: Option<&str>) -> MetricKey {
    (m.to_string(), q.map(str::to_string))
}

fn count(n: u64) -> Stats {
    Stats {
        count: Some(n as f64),
        value: None,
    }
}

impl Merged {
    /// Replaces the whole state with a REST observations answer.
    pub fn seed(&mut self, snap: &ObservationSnapshot) {
        self.groups.clear();
        self.all_changed = true;
        for m in &snap.media {
            let mut g = Group::new();
            g.insert(key("oWaiting", None), count(m.waiting));
            g.insert(key("oInteracting", None), count(m.interacting));
            g.insert(key("oAlerting", None), count(m.alerting));
            if let Some(ms) = m.longest_waiting_ms {
                let value = Some(ms as f64);
                g.insert(key("oLongestWaiting", None), Stats { count: None, value });
            }
            self.groups.insert(
                (m.queue_id.clone(), Some(m.media_type.clone())),
                g.compact(),
            );
        }
        for q in &snap.queues {
            let mut g = Group::new();
            if let Some(n) = q.members {
                g.insert(key("oMemberUsers", None), count(n));
            }
            if let Some(n) = q.active {
                g.insert(key("oActiveUsers", None), count(n));
            }
            for (status, n) in &q.on_queue {
                g.insert(key("oOnQueueUsers", Some(status)), count(*n));
            }
            self.groups.insert((q.queue_id.clone(), None), g.compact());
        }
    }

    /// Replaces the state of the queues in `queues` with a REST observations
    /// answer about them; other queues keep theirs.
    pub fn seed_queues(&mut self, snap: &ObservationSnapshot, queues: &BTreeSet<String>) {
        let mut part = Merged::default();
        part.seed(snap);
        self.groups.retain(|(q, _), _| !queues.contains(q));
        self.changed.extend(queues.iter().cloned());
        self.groups.extend(
            part.groups
                .into_iter()
                .filter(|((q, _), _)| queues.contains(q)),
        );
    }

    /// Applies one pushed event.
    pub fn apply(&mut self, event: QueueEvent) -> Applied {
        let mut reasons = BadValues::default();
        for (_, _, s) in &event.metrics {
            match s.count {
                Some(c) if !c.is_finite() => reasons.insert(BadValue::NonFinite),
                Some(c) if c < 0.0 => reasons.insert(BadValue::Negative),
                Some(c) if c > MAX_COUNT as f64 => reasons.insert(BadValue::Overflow),
                _ => {}
            }
            if s.value.is_some_and(|v| !v.is_finite()) {
                reasons.insert(BadValue::NonFinite);
            }
        }
        if !reasons.is_empty() {
            return Applied::Bad(BadGroup {
                queue_id: event.queue_id,
                media_type: event.media_type.unwrap_or_else(|| String::from("-")),
                reasons,
            });
        }
        let group = self
            .groups
            .entry((event.queue_id.clone(), event.media_type))
            .or_default();
        let whole = event
            .metrics
            .iter()
            .any(|(m, q, s)| group.get(m, q.as_deref()) == Some(s));
        let mut next = if whole { Group::new() } else { group.clone() };
        for (m, q, s) in event.metrics {
            next.insert((m, q), s);
        }
        if next == *group {
            Applied::Same
        } else {
            *group = next.compact();
            self.changed.insert(event.queue_id);
            Applied::Changed
        }
    }

    /// Forgets the groups of queues not in `keep`.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.groups.retain(|(q, _), _| keep(q));
    }

    /// The queues to render again since the last call: those whose groups
    /// changed, and those whose longest wait grows with the clock (something
    /// waits and the age came as a value); `None` after a whole seed, when
    /// every queue is.
    pub fn take_changed(&mut self) -> Option<BTreeSet<String>> {
        let mut changed = std::mem::take(&mut self.changed);
        if std::mem::take(&mut self.all_changed) {
            return None;
        }
        let ticking = self
            .groups
            .iter()
            .filter(|(_, metrics)| {
                waiting(metrics) > 0.0 && metrics.iter().any(|(k, _)| is_longest(k))
            })
            .map(|((queue, _), _)| queue);
        for queue in ticking {
            if !changed.contains(queue) {
                changed.insert(queue.clone());
            }
        }
        Some(changed)
    }

    /// The state as an observations answer taken at `now_ms`, folded by the
    /// REST decoder's own rules. Nothing waiting means no longest wait,
    /// whatever an older event said.
    pub fn snapshot(&self, now_ms: i64) -> ObservationSnapshot {
        let mut fold = ObservationFold::new(now_ms);
        for ((queue, media), metrics) in &self.groups {
            fold_group(&mut fold, queue, media.as_deref(), metrics);
        }
        fold.finish()
    }

    /// [`Merged::snapshot`] of the queues in `queues` only.
    pub fn snapshot_of(&self, now_ms: i64, queues: &BTreeSet<String>) -> ObservationSnapshot {
        let mut fold = ObservationFold::new(now_ms);
        for queue in queues {
            let from = (queue.clone(), None);
            let groups = self
                .groups
                .range(from..)
                .take_while(|((q, _), _)| q == queue);
            for ((_, media), metrics) in groups {
                fold_group(&mut fold, queue, media.as_deref(), metrics);
            }
        }
        fold.finish()
    }
}

/// The group's current `oWaiting` count (0 when absent).
fn waiting(metrics: &Group) -> f64 {
    metrics
        .get("oWaiting", None)
        .and_then(|s| s.count)
        .unwrap_or(0.0)
}

fn is_longest((metric, _): &MetricKey) -> bool {
    metric == "oLongestWaiting"
}

/// Folds one group; its longest wait only while something waits.
fn fold_group(fold: &mut ObservationFold, queue: &str, media: Option<&str>, metrics: &Group) {
    let waits = waiting(metrics) > 0.0;
    let data = metrics
        .iter()
        .filter(|(key, _)| waits || !is_longest(key))
        .map(|((metric, qualifier), s)| MetricRef {
            metric,
            qualifier: qualifier.as_deref(),
            count: s.count,
            value: s.value,
            oldest: None,
        });
    fold.group(queue, media, data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::{MediaObs, QueueObs};

    fn stat(n: f64) -> Stats {
        Stats {
            count: Some(n),
            value: None,
        }
    }

    fn event(media: Option<&str>, metrics: &[(&str, Option<&str>, f64)]) -> QueueEvent {
        QueueEvent {
            queue_id: "q1".into(),
            media_type: media.map(str::to_string),
            metrics: metrics
                .iter()
                .map(|(m, q, n)| (m.to_string(), q.map(str::to_string), stat(*n)))
                .collect(),
        }
    }

    fn seeded() -> (Merged, ObservationSnapshot) {
        let snap = ObservationSnapshot {
            media: vec![MediaObs {
                queue_id: "q1".into(),
                media_type: "voice".into(),
                waiting: 2,
                interacting: 1,
                alerting: 0,
                longest_waiting_ms: Some(30_000),
            }],
            queues: vec![QueueObs {
                queue_id: "q1".into(),
                members: Some(5),
                active: Some(4),
                on_queue: BTreeMap::from([("IDLE".into(), 2), ("INTERACTING".into(), 1)]),
            }],
        };
        let mut m = Merged::default();
        m.seed(&snap);
        (m, snap)
    }

    /// A seed round-trips to the same snapshot.
    #[test]
    fn seed_round_trips() {
        let (m, snap) = seeded();
        assert_eq!(m.snapshot(0), snap);
    }

    /// Changed style: only named metrics change; a 0 count is kept as 0.
    #[test]
    fn changed_events() {
        let (mut m, _) = seeded();
        let e = event(
            None,
            &[
                ("oOnQueueUsers", Some("IDLE"), 0.0),
                ("oActiveUsers", None, 3.0),
            ],
        );
        assert_eq!(m.apply(e), Applied::Changed);
        let q = &m.snapshot(0).queues[0];
        assert_eq!(q.on_queue.get("IDLE"), Some(&0));
        assert_eq!(q.on_queue.get("INTERACTING"), Some(&1), "untouched");
        assert_eq!((q.members, q.active), (Some(5), Some(3)));
        let e = event(Some("voice"), &[("oWaiting", None, 3.0)]);
        assert_eq!(m.apply(e), Applied::Changed);
        let v = &m.snapshot(0).media[0];
        assert_eq!(
            (v.waiting, v.interacting, v.longest_waiting_ms),
            (3, 1, Some(30_000))
        );
    }

    /// Full style: an event repeating a held value replaces the group, so a
    /// vanished qualifier is gone; an identical event changes nothing.
    #[test]
    fn full_events() {
        let (mut m, _) = seeded();
        let e = event(
            None,
            &[
                ("oMemberUsers", None, 5.0),
                ("oActiveUsers", None, 4.0),
                ("oOnQueueUsers", Some("INTERACTING"), 3.0),
            ],
        );
        assert_eq!(m.apply(e.clone()), Applied::Changed);
        let q = &m.snapshot(0).queues[0];
        assert_eq!(q.on_queue.get("IDLE"), None);
        assert_eq!(q.on_queue.get("INTERACTING"), Some(&3));
        assert_eq!(m.apply(e), Applied::Same);
        // Nothing waits any more: the older longest wait is not shown.
        let e = event(
            Some("voice"),
            &[
                ("oWaiting", None, 0.0),
                ("oInteracting", None, 1.0),
                ("oAlerting", None, 0.0),
            ],
        );
        assert_eq!(m.apply(e), Applied::Changed);
        assert_eq!(m.snapshot(0).media[0].longest_waiting_ms, None);
    }

    /// Bad counts are refused whole and named; the state is untouched.
    #[test]
    fn bad_values_refused() {
        let (mut m, snap) = seeded();
        for (n, reason) in [
            (-1.0, BadValue::Negative),
            (1e17, BadValue::Overflow),
            (f64::NAN, BadValue::NonFinite),
        ] {
            let e = event(
                Some("voice"),
                &[("oWaiting", None, n), ("oAlerting", None, 1.0)],
            );
            match m.apply(e) {
                Applied::Bad(g) => {
                    assert_eq!(
                        (g.queue_id.as_str(), g.media_type.as_str()),
                        ("q1", "voice")
                    );
                    assert!(g.reasons.contains(reason));
                }
                other => panic!("{n}: {other:?}"),
            }
        }
        assert_eq!(m.snapshot(0), snap);
        m.retain(|q| q != "q1");
        assert_eq!(m.snapshot(0), ObservationSnapshot::default());
    }

    /// Seeding some queues replaces theirs only.
    #[test]
    fn partial_seed() {
        let (mut m, snap) = seeded();
        let e = event(Some("chat"), &[("oWaiting", None, 1.0)]);
        let mut other = e.clone();
        other.queue_id = "q2".into();
        m.apply(e);
        m.apply(other);
        m.seed_queues(&snap, &BTreeSet::from([String::from("q1")]));
        let s = m.snapshot(0);
        let media: Vec<(&str, &str)> = s
            .media
            .iter()
            .map(|g| (g.queue_id.as_str(), g.media_type.as_str()))
            .collect();
        assert_eq!(media, [("q1", "voice"), ("q2", "chat")]);
        assert_eq!(s.queues, snap.queues);
    }

    /// An event for a group never seen starts it.
    #[test]
    fn new_group() {
        let mut m = Merged::default();
        let e = event(Some("chat"), &[("oWaiting", None, 1.0)]);
        assert_eq!(m.apply(e), Applied::Changed);
        let s = m.snapshot(0);
        assert_eq!(
            (s.media[0].media_type.as_str(), s.media[0].waiting),
            ("chat", 1)
        );
    }
}
