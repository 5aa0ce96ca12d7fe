//! The media a queue serves (pure): media with any offered interaction in the
//! last 7 days, plus media with a non-zero count in any answer since, plus
//! the media named by `--media-types`. A queue's `mediaSettings` alone is
//! service-level configuration and creates no row; neither does an answer
//! group carrying only zeros or configuration-like values (`oServiceTarget`).

use std::collections::{BTreeSet, HashMap};

use super::snapshot::WindowTotals;
use crate::genesys::{ObservationSnapshot, QueueMediaSeries};
use crate::kpi::Totals;

/// How far back the cheap `nOffered` query looks for served media.
pub const LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// The media each queue serves, as learnt so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServedMedia {
    by_queue: HashMap<String, BTreeSet<String>>,
    always: Vec<String>,
}

/// True when `t` counts anything: an interaction, a duration or a
/// service-level denominator (a target alone does not count).
pub fn has_activity(t: &Totals) -> bool {
    let timed = [
        &t.answered,
        &t.abandoned,
        &t.short_abandoned,
        &t.flowouts,
        &t.handled,
        &t.wait,
        &t.talk,
        &t.hold,
        &t.acw,
    ];
    t.offered > 0
        || t.transferred > 0
        || t.over_sla > 0
        || t.sl_denominator > 0.0
        || timed.iter().any(|x| x.count > 0)
}

impl ServedMedia {
    /// Served media with `always` (the `--media-types` list) served by every queue.
    pub fn new(always: &[String]) -> ServedMedia {
        ServedMedia {
            by_queue: HashMap::new(),
            always: always.to_vec(),
        }
    }

    /// True when queue `queue_id` serves `media`.
    pub fn serves(&self, queue_id: &str, media: &str) -> bool {
        self.always.iter().any(|m| m == media)
            || self
                .by_queue
                .get(queue_id)
                .is_some_and(|set| set.contains(media))
    }

    fn add(&mut self, queue_id: &str, media: &str) -> bool {
        if self.serves(queue_id, media) {
            return false;
        }
        self.by_queue
            .entry(queue_id.to_owned())
            .or_default()
            .insert(media.to_owned())
    }

    /// Adds the media of every series with activity (the lookback answer or
    /// any aggregates answer); true when something was new.
    pub fn note_series(&mut self, series: &[QueueMediaSeries]) -> bool {
        let mut grew = false;
        for s in series {
            if has_activity(&s.total()) {
                grew |= self.add(&s.queue_id, &s.media_type);
            }
        }
        grew
    }

    /// Adds the media of every window total with activity; true when something was new.
    pub fn note_totals(&mut self, totals: &WindowTotals) -> bool {
        let mut grew = false;
        for ((queue, media), per_window) in totals {
            if per_window.iter().any(has_activity) {
                grew |= self.add(queue, media);
            }
        }
        grew
    }

    /// Adds the media with interactions waiting, alerting or connected now;
    /// true when something was new.
    pub fn note_observations(&mut self, obs: &ObservationSnapshot) -> bool {
        let mut grew = false;
        for m in &obs.media {
            if m.waiting > 0 || m.interacting > 0 || m.alerting > 0 {
                grew |= self.add(&m.queue_id, &m.media_type);
            }
        }
        grew
    }

    /// `totals` without the queue × media pairs not served.
    pub fn retain_totals(&self, mut totals: WindowTotals) -> WindowTotals {
        totals.retain(|(queue, media), _| self.serves(queue, media));
        totals
    }

    /// `obs` without the queue × media groups not served (queue-level
    /// groups are kept).
    pub fn retain_observations(&self, obs: &ObservationSnapshot) -> ObservationSnapshot {
        ObservationSnapshot {
            media: obs
                .media
                .iter()
                .filter(|m| self.serves(&m.queue_id, &m.media_type))
                .cloned()
                .collect(),
            queues: obs.queues.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::{BucketTotals, MediaObs};
    use crate::kpi::StatValues;

    fn series(queue: &str, media: &str, metric: &str, stats: StatValues) -> QueueMediaSeries {
        let mut totals = Totals::default();
        totals.record(metric, &stats);
        QueueMediaSeries {
            queue_id: queue.into(),
            media_type: media.into(),
            buckets: vec![BucketTotals {
                start_ms: 0,
                end_ms: 1,
                totals,
            }],
        }
    }

    fn count(n: f64) -> StatValues {
        StatValues {
            count: Some(n),
            ..Default::default()
        }
    }

    /// Offered media are served; groups with only zeros or a service-level
    /// target are not; `--media-types` media are served by every queue.
    #[test]
    fn served_from_activity_only() {
        let mut served = ServedMedia::new(&["email".to_string()]);
        let target = StatValues {
            current: Some(0.8),
            ..Default::default()
        };
        let grew = served.note_series(&[
            series("q1", "voice", "nOffered", count(3.0)),
            series("q1", "cobrowse", "oServiceTarget", target),
            series("q1", "unknown", "nOffered", count(0.0)),
        ]);
        assert!(grew);
        assert!(served.serves("q1", "voice"));
        assert!(!served.serves("q1", "cobrowse"));
        assert!(!served.serves("q1", "unknown"));
        assert!(served.serves("q2", "email"));
        assert!(!served.note_series(&[series("q1", "voice", "nOffered", count(1.0))]));
    }

    /// Real-time activity adds media; zero groups (e.g. `video`) are dropped.
    #[test]
    fn observations_add_and_filter() {
        let mut served = ServedMedia::new(&[]);
        let obs = ObservationSnapshot {
            media: vec![
                MediaObs {
                    queue_id: "q1".into(),
                    media_type: "chat".into(),
                    waiting: 1,
                    ..Default::default()
                },
                MediaObs {
                    queue_id: "q1".into(),
                    media_type: "video".into(),
                    ..Default::default()
                },
            ],
            queues: Vec::new(),
        };
        assert!(served.note_observations(&obs));
        let kept = served.retain_observations(&obs);
        assert_eq!(kept.media.len(), 1);
        assert_eq!(kept.media[0].media_type, "chat");
    }

    /// Window totals with activity add media; others are dropped.
    #[test]
    fn totals_add_and_filter() {
        let mut served = ServedMedia::new(&[]);
        let mut busy = Totals::default();
        busy.record("tAnswered", &count(1.0));
        let mut totals = WindowTotals::new();
        totals.insert(
            ("q1".into(), "message".into()),
            vec![Totals::default(), busy],
        );
        totals.insert(("q1".into(), "video".into()), vec![Totals::default()]);
        assert!(served.note_totals(&totals));
        let kept = served.retain_totals(totals);
        assert_eq!(kept.len(), 1);
        assert!(kept.contains_key(&("q1".to_string(), "message".to_string())));
    }
}
