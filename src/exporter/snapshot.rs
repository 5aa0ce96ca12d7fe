//! Immutable snapshots (pure): the exported queue set, and per-poll rows of
//! window values and real-time values, built from API answers.
//!
//! Rules: every exported queue × each media type it is configured for gets a
//! row (all-zero totals when the API returned nothing); the metric catalogue
//! turns totals into exported values. Data for
//! queues outside the queue set is dropped, so a removed or filtered queue
//! vanishes with the next snapshot. Totals marked bad (see
//! [`Totals::bad`]) give no row at all: their series are left out, never
//! zero-filled or served wrong.
//!
//! `queue` labels are unique by construction (see [`QueueSet::new`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use super::window::ResolvedWindow;
use crate::kpi::Totals;

/// One exported queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueInfo {
    /// Genesys queue id.
    pub id: String,
    /// The `queue` label: the queue name (made unique if two queues share it).
    pub name: Arc<str>,
    /// Division name (or id when the name is unknown).
    pub division: String,
    /// Members according to the queue list.
    pub member_count: Option<u64>,
    /// Exported media types with their service-level settings, sorted.
    pub media: Vec<MediaInfo>,
}

/// A media type a queue is configured for.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Analytics media type (`voice`, `chat`, …).
    pub media_type: Arc<str>,
    /// Service-level target, 0–1.
    pub sl_target: Option<f64>,
    /// Service-level threshold in milliseconds.
    pub sl_threshold_ms: Option<u64>,
}

/// The exported queues, sorted by label, indexed by id.
#[derive(Debug, Clone, Default)]
pub struct QueueSet {
    queues: Vec<QueueInfo>,
    by_id: HashMap<String, usize>,
}

impl QueueSet {
    /// Builds the set: drops repeated ids (the first by name, then id, stays),
    /// sorts by label and gives every queue a unique `queue` label:
    ///
    /// 1. A name only one queue has is its label, as is the name of the queue
    ///    with the smallest id among those sharing a name.
    /// 2. Every other queue of a shared name, in id order, gets `<name> (<id>)`;
    ///    when that text is already a label, ` (2)`, ` (3)`, … is appended
    ///    until it is not.
    ///
    /// Step 1 labels are distinct names; step 2 checks each candidate against
    /// every label given so far, so no two queues share a label whatever the
    /// names and ids are. A queue's label depends only on the names and ids
    /// listed, so it stays the same from poll to poll while they do.
    pub fn new(mut queues: Vec<QueueInfo>) -> QueueSet {
        queues.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let mut ids = HashSet::new();
        queues.retain(|q| ids.insert(q.id.clone()));
        for q in &mut queues {
            q.media.sort_by(|a, b| a.media_type.cmp(&b.media_type));
            q.media.dedup_by(|a, b| a.media_type == b.media_type);
        }
        let labels = unique_labels(queues.iter().map(|q| (&*q.name, q.id.as_str())));
        for (q, label) in queues.iter_mut().zip(labels) {
            q.name = label;
        }
        queues.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let by_id = queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i))
            .collect();
        QueueSet { queues, by_id }
    }

    /// The queue with this id, if exported.
    pub fn get(&self, id: &str) -> Option<&QueueInfo> {
        self.by_id.get(id).map(|&i| &self.queues[i])
    }

    /// All exported queues, sorted by label.
    pub fn queues(&self) -> &[QueueInfo] {
        &self.queues
    }

    /// Queue ids, in label order.
    pub fn ids(&self) -> Vec<String> {
        self.queues.iter().map(|q| q.id.clone()).collect()
    }

    /// The queues of this set whose id is in `ids` (labels unchanged).
    pub fn retain_ids(&self, ids: &std::collections::HashSet<String>) -> QueueSet {
        let queues: Vec<QueueInfo> = self
            .queues
            .iter()
            .filter(|q| ids.contains(&q.id))
            .cloned()
            .collect();
        let by_id = queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i))
            .collect();
        QueueSet { queues, by_id }
    }

    /// Number of exported queues.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// True when no queue is exported.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

/// The `queue` label of each (name, id), in input order, by the rule of
/// [`QueueSet::new`]. Input must be sorted by (name, id) with distinct ids.
fn unique_labels<'a>(queues: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Vec<Arc<str>> {
    let mut taken: HashSet<Arc<str>> = HashSet::new();
    let mut labels: Vec<Option<Arc<str>>> = Vec::new();
    let mut previous: Option<&str> = None;
    for (name, _) in queues.clone() {
        // Sorted input: the first of a run of equal names has the smallest id.
        let first_of_name = previous != Some(name);
        previous = Some(name);
        if first_of_name {
            let label: Arc<str> = Arc::from(name);
            taken.insert(label.clone());
            labels.push(Some(label));
        } else {
            labels.push(None);
        }
    }
    queues
        .zip(labels)
        .map(|((name, id), label)| {
            label.unwrap_or_else(|| {
                let base = format!("{name} ({id})");
                let mut candidate = base.clone();
                // The candidates are distinct and `taken` is finite, so this ends.
                let mut n: u64 = 1;
                while taken.contains(candidate.as_str()) {
                    n += 1;
                    candidate = format!("{base} ({n})");
                }
                let label: Arc<str> = Arc::from(candidate);
                taken.insert(label.clone());
                label
            })
        })
        .collect()
}

/// Window totals keyed by (queue id, media type), one entry per window index.
pub type WindowTotals = HashMap<(String, String), Vec<Totals>>;

/// The totals of a queue × media type × window the API returned nothing for.
static NOTHING: LazyLock<Totals> = LazyLock::new(Totals::default);

/// One queue × media type × window, borrowing its totals from [`WindowTotals`].
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow<'a> {
    /// `queue` label.
    pub queue: Arc<str>,
    /// `media_type` label.
    pub media_type: Arc<str>,
    /// Index into [`WindowSnapshot::windows`].
    pub window: usize,
    /// What the API returned (all zero when it returned nothing); the
    /// catalogue's window families read their values from it.
    pub totals: &'a Totals,
}

/// The result of one aggregates poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowSnapshot<'a> {
    /// The windows, as placed in time for this poll.
    pub windows: Vec<ResolvedWindow>,
    /// Rows sorted by queue label, media type, window.
    pub rows: Vec<WindowRow<'a>>,
}

/// Builds the window rows for every exported queue × media type × window.
///
/// A media type the queue is not configured for still gets rows when the API
/// returned data for it and `keep_media` accepts it.
pub fn window_snapshot<'a>(
    queues: &QueueSet,
    windows: Vec<ResolvedWindow>,
    totals: &'a WindowTotals,
    keep_media: impl Fn(&str) -> bool,
) -> WindowSnapshot<'a> {
    let mut extra: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (queue_id, media) in totals.keys() {
        if keep_media(media) {
            extra
                .entry(queue_id.as_str())
                .or_default()
                .insert(media.as_str());
        }
    }
    let mut rows = Vec::new();
    for q in queues.queues() {
        let mut media: Vec<Arc<str>> = q.media.iter().map(|m| m.media_type.clone()).collect();
        for m in extra.get(q.id.as_str()).into_iter().flatten() {
            if !media.iter().any(|x| &**x == *m) {
                media.push(Arc::from(*m));
            }
        }
        media.sort();
        for m in media {
            let per_window = totals.get(&(q.id.clone(), m.to_string()));
            for w in 0..windows.len() {
                let totals = per_window.and_then(|v| v.get(w)).unwrap_or(&NOTHING);
                if !totals.is_valid() {
                    continue;
                }
                rows.push(WindowRow {
                    queue: q.name.clone(),
                    media_type: m.clone(),
                    window: w,
                    totals,
                });
            }
        }
    }
    WindowSnapshot { windows, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::StatValues;

    pub(crate) fn queue(id: &str, name: &str, media: &[&str]) -> QueueInfo {
        QueueInfo {
            id: id.to_owned(),
            name: Arc::from(name),
            division: String::from("Home"),
            member_count: Some(3),
            media: media
                .iter()
                .map(|m| MediaInfo {
                    media_type: Arc::from(*m),
                    sl_target: Some(0.8),
                    sl_threshold_ms: Some(20_000),
                })
                .collect(),
        }
    }

    fn window(label: &str) -> ResolvedWindow {
        ResolvedWindow {
            label: label.to_owned(),
            start_ms: 0,
            end_ms: 1_800_000,
        }
    }

    /// Queues are sorted by name and duplicate names become unique labels.
    #[test]
    fn queue_set_sorts_and_disambiguates() {
        let set = QueueSet::new(vec![
            queue("b", "Support", &["voice"]),
            queue("a", "Sales", &["chat", "voice", "chat"]),
            queue("c", "Sales", &["voice"]),
            queue("a", "Sales", &["voice"]),
        ]);
        let names: Vec<_> = set.queues().iter().map(|q| q.name.to_string()).collect();
        assert_eq!(names, ["Sales", "Sales (c)", "Support"]);
        assert_eq!(set.get("a").expect("a").media.len(), 2);
        assert_eq!(set.ids(), ["a", "c", "b"]);
    }

    /// A queue literally named like another's disambiguated label keeps its
    /// name, and the label it would collide with moves on: no label repeats.
    #[test]
    fn labels_are_unique_whatever_the_names() {
        let set = QueueSet::new(vec![
            queue("d1", "Dup", &["voice"]),
            queue("d2", "Dup", &["voice"]),
            queue("d3", "Dup (d2)", &["voice"]),
            queue("d4", "Dup (d2)", &["voice"]),
            queue("d5", "Dup (d2) (2)", &["voice"]),
        ]);
        let label = |id: &str| set.get(id).expect(id).name.to_string();
        assert_eq!(label("d1"), "Dup");
        assert_eq!(label("d3"), "Dup (d2)");
        assert_eq!(label("d5"), "Dup (d2) (2)");
        assert_eq!(label("d2"), "Dup (d2) (3)");
        assert_eq!(label("d4"), "Dup (d2) (d4)");
        let labels: HashSet<_> = set.queues().iter().map(|q| q.name.clone()).collect();
        assert_eq!(labels.len(), 5);
    }

    /// Every combination of a few colliding names and ids gives distinct
    /// labels, and a queue's label does not change when the list is reordered.
    #[test]
    fn labels_are_unique_and_stable_exhaustively() {
        let names = ["A", "A (x)", "A (x) (2)", "", " (x)"];
        let ids = ["x", "y", "x) (y"];
        let mut all = Vec::new();
        for (i, name) in names.iter().enumerate() {
            for (j, id) in ids.iter().enumerate() {
                all.push(queue(&format!("{id}{i}{j}"), name, &["voice"]));
                all.push(queue(id, name, &["voice"]));
            }
        }
        for take in 1..=all.len() {
            let part: Vec<QueueInfo> = all.iter().take(take).cloned().collect();
            let set = QueueSet::new(part.clone());
            let labels: HashSet<_> = set.queues().iter().map(|q| q.name.clone()).collect();
            assert_eq!(labels.len(), set.len(), "{:?}", set.queues());
            let reversed = QueueSet::new(part.into_iter().rev().collect());
            for q in set.queues() {
                assert_eq!(
                    reversed.get(&q.id).map(|r| r.name.clone()),
                    Some(q.name.clone())
                );
            }
        }
    }

    /// Bad totals give no rows: their series are left out, not zero-filled.
    #[test]
    fn bad_totals_are_left_out() {
        let set = QueueSet::new(vec![queue("q1", "One", &["voice", "chat"])]);
        let mut bad = Totals::default();
        bad.record(
            "tAnswered",
            &StatValues {
                count: Some(1.0),
                sum: Some(-80_000.0),
                ..Default::default()
            },
        );
        let mut totals = WindowTotals::new();
        totals.insert(("q1".into(), "voice".into()), vec![bad]);
        let snap = window_snapshot(&set, vec![window("30m")], &totals, |_| true);
        let media: Vec<_> = snap.rows.iter().map(|r| r.media_type.to_string()).collect();
        assert_eq!(media, ["chat"]);
    }

    /// Missing API data gives all-zero totals; returned data is kept per window.
    #[test]
    fn zero_fill() {
        let set = QueueSet::new(vec![queue("q1", "One", &["voice", "chat"])]);
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(4.0),
                ..Default::default()
            },
        );
        let abandon = StatValues {
            count: Some(1.0),
            sum: Some(2_500.0),
            ..Default::default()
        };
        t.record("tAbandon", &abandon);
        let wait = StatValues {
            count: Some(4.0),
            sum: Some(10_000.0),
            ..Default::default()
        };
        t.record("tWait", &wait);
        let mut totals = WindowTotals::new();
        totals.insert(("q1".into(), "voice".into()), vec![t, Totals::default()]);
        let snap = window_snapshot(&set, vec![window("30m"), window("today")], &totals, |_| {
            true
        });
        assert_eq!(snap.rows.len(), 4, "2 media × 2 windows");
        let chat = &snap.rows[0];
        assert_eq!((&*chat.media_type, chat.window), ("chat", 0));
        assert_eq!(*chat.totals, Totals::default());
        let voice = &snap.rows[2];
        assert_eq!((&*voice.media_type, voice.window), ("voice", 0));
        assert_eq!(voice.totals.offered, 4);
        assert_eq!(voice.totals.abandon_ratio(), Some(0.25));
        assert_eq!(voice.totals.wait.sum_seconds(), 10.0);
        assert_eq!(voice.totals.wait.count, 4);
        assert_eq!(*snap.rows[3].totals, Totals::default());
    }

    /// Unknown queues are dropped; unconfigured media with data are kept if allowed.
    #[test]
    fn foreign_data() {
        let set = QueueSet::new(vec![queue("q1", "One", &["voice"])]);
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(2.0),
                ..Default::default()
            },
        );
        let mut totals = WindowTotals::new();
        totals.insert(("gone".into(), "voice".into()), vec![t]);
        totals.insert(("q1".into(), "email".into()), vec![t]);
        let all = window_snapshot(&set, vec![window("30m")], &totals, |_| true);
        let media: Vec<_> = all.rows.iter().map(|r| r.media_type.to_string()).collect();
        assert_eq!(media, ["email", "voice"]);
        assert!(all.rows.iter().all(|r| &*r.queue == "One"));
        let voice_only = window_snapshot(&set, vec![window("30m")], &totals, |m| m == "voice");
        assert_eq!(voice_only.rows.len(), 1);
    }
}
