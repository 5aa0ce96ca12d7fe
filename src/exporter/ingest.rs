//! Turning API answers into snapshot inputs (pure): the queue list into the
//! exported queue set (name filter, media filter, served media), and the
//! list of groups whose totals came out bad (aggregate buckets are summed
//! into windows by [`super::poll_fold`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bad_values::BadGroup;
use crate::kpi::BadValues;

use super::config::QueueFilter;
use super::served_media::ServedMedia;
use super::snapshot::{MediaInfo, QueueInfo, QueueSet, WindowTotals};
use crate::genesys::Queue;

/// The queue × media type groups whose totals are bad in any window, once
/// each with every reason found, sorted by queue id and media type.
pub fn bad_groups(totals: &WindowTotals) -> Vec<BadGroup> {
    let mut found: BTreeMap<(&str, &str), BadValues> = BTreeMap::new();
    for ((queue_id, media_type), per_window) in totals {
        for t in per_window.iter().filter(|t| !t.is_valid()) {
            found
                .entry((queue_id.as_str(), media_type.as_str()))
                .or_default()
                .extend(t.bad);
        }
    }
    found
        .into_iter()
        .map(|((queue_id, media_type), reasons)| BadGroup {
            queue_id: queue_id.to_owned(),
            media_type: media_type.to_owned(),
            reasons,
        })
        .collect()
}

/// Applies the name filter and converts the queue list into the exported
/// set; each queue keeps only the media it serves (its `mediaSettings` keys
/// give the service-level settings of those), and a queue with an empty name
/// is labelled by its id (an empty label value would read as no label at all).
pub fn queue_set(queues: Vec<Queue>, filter: &QueueFilter, served: &ServedMedia) -> QueueSet {
    let infos = queues
        .into_iter()
        .filter(|q| filter.keeps_name(&q.name))
        .map(|q| QueueInfo {
            division: if q.division_name.is_empty() {
                q.division_id
            } else {
                q.division_name
            },
            member_count: q.member_count,
            media: q
                .media
                .into_iter()
                .filter(|m| {
                    filter.keeps_media(&m.media_type) && served.serves(&q.id, &m.media_type)
                })
                .map(|m| MediaInfo {
                    media_type: Arc::from(m.media_type),
                    sl_target: m.service_level_target,
                    sl_threshold_ms: m.service_level_threshold_ms,
                })
                .collect(),
            name: Arc::from(if q.name.is_empty() { &q.id } else { &q.name }.as_str()),
            id: q.id,
        })
        .collect();
    QueueSet::new(infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::QueueMedia;
    use crate::kpi::{StatValues, Totals};

    fn offered(n: f64) -> Totals {
        let mut t = Totals::default();
        t.record(
            "nOffered",
            &StatValues {
                count: Some(n),
                ..Default::default()
            },
        );
        t
    }

    /// A group bad in any window is reported once with the union of its reasons.
    #[test]
    fn reports_bad_groups_once() {
        use crate::kpi::BadValue;
        let mut negative = Totals::default();
        negative.bad.insert(BadValue::Negative);
        let mut overflow = Totals::default();
        overflow.bad.insert(BadValue::Overflow);
        let mut totals = WindowTotals::new();
        totals.insert(("q".into(), "voice".into()), vec![negative, overflow]);
        totals.insert(("q".into(), "chat".into()), vec![offered(1.0)]);
        let bad = bad_groups(&totals);
        assert_eq!(bad.len(), 1);
        assert_eq!(
            (bad[0].queue_id.as_str(), bad[0].media_type.as_str()),
            ("q", "voice")
        );
        assert_eq!(
            bad[0].reasons.iter().collect::<Vec<_>>(),
            [BadValue::Negative, BadValue::Overflow]
        );
    }

    /// The name filter applies, division names fall back to ids and empty
    /// names to the queue id.
    #[test]
    fn converts_queue_list() {
        let q = |id: &str, name: &str, division_name: &str| Queue {
            id: id.into(),
            name: name.into(),
            division_id: "d1".into(),
            division_name: division_name.into(),
            member_count: Some(4),
            media: vec![],
        };
        let filter = QueueFilter {
            exclude: Some(regex::Regex::new("^Test").expect("regex")),
            ..QueueFilter::default()
        };
        let set = queue_set(
            vec![
                q("1", "Sales", ""),
                q("2", "Test queue", "Home"),
                q("3", "", "Home"),
            ],
            &filter,
            &ServedMedia::default(),
        );
        assert_eq!(set.len(), 2);
        assert_eq!(set.get("1").expect("kept").division, "d1");
        assert_eq!(&*set.get("3").expect("kept").name, "3", "empty name → id");
    }

    /// Media listed in `mediaSettings` but not served create no row.
    #[test]
    fn keeps_served_media_only() {
        let media = |m: &str| QueueMedia {
            media_type: m.into(),
            service_level_target: Some(0.8),
            service_level_threshold_ms: Some(20_000),
        };
        let queue = Queue {
            id: "q".into(),
            name: "Sales".into(),
            division_id: "d1".into(),
            division_name: "Home".into(),
            member_count: None,
            media: vec![media("voice"), media("video"), media("chat")],
        };
        let served = ServedMedia::new(&["chat".to_string()]);
        let set = queue_set(vec![queue], &QueueFilter::default(), &served);
        let kept: Vec<_> = set.queues()[0]
            .media
            .iter()
            .map(|m| m.media_type.to_string())
            .collect();
        assert_eq!(kept, ["chat"]);
    }
}
