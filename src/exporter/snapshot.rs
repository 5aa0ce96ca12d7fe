//! Immutable snapshots (pure): the exported queue set, and per-poll rows of
//! window values and real-time values, built from API answers.
//!
//! Rules: every exported queue × each media type it is configured for gets a
//! row (all-zero totals when the API returned nothing); the metric catalogue
//! turns totals into exported values. Data for
//! queues outside the queue set is dropped, so a removed or filtered queue
//! vanishes with the next snapshot.

use std::collections::{BTreeSet, HashMap};
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
    /// Builds the set: sorts by name, drops repeated ids, and makes names
    /// unique by appending ` (<id>)` to later duplicates (label sets must be unique).
    pub fn new(mut queues: Vec<QueueInfo>) -> QueueSet {
        queues.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        queues.dedup_by(|a, b| a.id == b.id);
        let mut seen = BTreeSet::new();
        for q in &mut queues {
            if !seen.insert(q.name.clone()) {
                q.name = Arc::from(format!("{} ({})", q.name, q.id));
            }
            q.media.sort_by(|a, b| a.media_type.cmp(&b.media_type));
            q.media.dedup_by(|a, b| a.media_type == b.media_type);
        }
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
                rows.push(WindowRow {
                    queue: q.name.clone(),
                    media_type: m.clone(),
                    window: w,
                    totals: per_window.and_then(|v| v.get(w)).unwrap_or(&NOTHING),
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
