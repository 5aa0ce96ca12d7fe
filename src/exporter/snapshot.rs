//! Immutable snapshots (pure): the exported queue set, and per-poll rows of
//! window values and real-time values, built from API answers.
//!
//! Rules: every exported queue × each media type it is configured for gets a
//! row (counts and time sums 0 when the API returned nothing); ratios are
//! `None` when their denominator is 0; milliseconds become seconds. Data for
//! queues outside the queue set is dropped, so a removed or filtered queue
//! vanishes with the next snapshot.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

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

/// Exported values of one queue × media type × window (seconds and counts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowValues {
    /// nOffered count.
    pub offered: f64,
    /// tAnswered count.
    pub answered: f64,
    /// tAbandon count.
    pub abandoned: f64,
    /// tShortAbandon count.
    pub short_abandoned: f64,
    /// tFlowOut count.
    pub flowouts: f64,
    /// nTransferred count.
    pub transferred: f64,
    /// tHandle count.
    pub handled: f64,
    /// tAnswered sum, seconds.
    pub answer_time: f64,
    /// tHandle sum, seconds.
    pub handle_time: f64,
    /// tWait sum, seconds.
    pub wait_time: f64,
    /// tWait count.
    pub waited: f64,
    /// tTalkComplete sum, seconds.
    pub talk_time: f64,
    /// tTalkComplete count.
    pub talked: f64,
    /// tHeldComplete sum, seconds.
    pub hold_time: f64,
    /// tHeldComplete count.
    pub held: f64,
    /// tAcw sum, seconds.
    pub acw_time: f64,
    /// tAcw count.
    pub wrapped_up: f64,
    /// oServiceLevel numerator.
    pub sl_met: f64,
    /// oServiceLevel denominator.
    pub sl_eligible: f64,
    /// abandoned / offered; `None` when nothing was offered.
    pub abandon_ratio: Option<f64>,
    /// sl_met / sl_eligible; `None` when nothing was eligible.
    pub sl_ratio: Option<f64>,
}

impl WindowValues {
    /// Converts KPI totals (milliseconds) into exported values (seconds).
    pub fn from_totals(t: &Totals) -> WindowValues {
        WindowValues {
            offered: t.offered as f64,
            answered: t.answered.count as f64,
            abandoned: t.abandoned.count as f64,
            short_abandoned: t.short_abandoned.count as f64,
            flowouts: t.flowouts.count as f64,
            transferred: t.transferred as f64,
            handled: t.handled.count as f64,
            answer_time: t.answered.sum_seconds(),
            handle_time: t.handled.sum_seconds(),
            wait_time: t.wait.sum_seconds(),
            waited: t.wait.count as f64,
            talk_time: t.talk.sum_seconds(),
            talked: t.talk.count as f64,
            hold_time: t.hold.sum_seconds(),
            held: t.hold.count as f64,
            acw_time: t.acw.sum_seconds(),
            wrapped_up: t.acw.count as f64,
            sl_met: t.sl_numerator,
            sl_eligible: t.sl_denominator,
            abandon_ratio: t.abandon_ratio(),
            sl_ratio: t.service_level_ratio(),
        }
    }
}

/// One queue × media type × window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    /// `queue` label.
    pub queue: Arc<str>,
    /// `media_type` label.
    pub media_type: Arc<str>,
    /// Index into [`WindowSnapshot::windows`].
    pub window: usize,
    /// The values.
    pub values: WindowValues,
}

/// The result of one aggregates poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowSnapshot {
    /// The windows, as placed in time for this poll.
    pub windows: Vec<ResolvedWindow>,
    /// Rows sorted by queue label, media type, window.
    pub rows: Vec<WindowRow>,
}

/// Builds the window rows for every exported queue × media type × window.
///
/// A media type the queue is not configured for still gets rows when the API
/// returned data for it and `keep_media` accepts it.
pub fn window_snapshot(
    queues: &QueueSet,
    windows: Vec<ResolvedWindow>,
    totals: &WindowTotals,
    keep_media: impl Fn(&str) -> bool,
) -> WindowSnapshot {
    let mut extra: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (queue_id, media) in totals.keys() {
        if keep_media(media) {
            extra
                .entry(queue_id.as_str())
                .or_default()
                .insert(media.as_str());
        }
    }
    let empty = Totals::default();
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
                let t = per_window.and_then(|v| v.get(w)).unwrap_or(&empty);
                rows.push(WindowRow {
                    queue: q.name.clone(),
                    media_type: m.clone(),
                    window: w,
                    values: WindowValues::from_totals(t),
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

    /// Missing API data is zero for counts and sums, absent for ratios; ms → s.
    #[test]
    fn zero_fill_and_conversion() {
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
        assert_eq!(chat.values.offered, 0.0);
        assert_eq!(chat.values.abandon_ratio, None);
        assert_eq!(chat.values.sl_ratio, None);
        let voice = &snap.rows[2];
        assert_eq!(voice.values.offered, 4.0);
        assert_eq!(voice.values.abandon_ratio, Some(0.25));
        assert_eq!(voice.values.wait_time, 10.0);
        assert_eq!(voice.values.waited, 4.0);
        assert_eq!(snap.rows[3].values, WindowValues::default());
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
