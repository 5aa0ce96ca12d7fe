//! Report rows (pure): queue selection by name or glob, merging per-chunk
//! series into one total per queue × media type, the row fields with their
//! §3 KPI formulas, and the one column table every output format follows.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::genesys::{Queue, QueueMediaSeries};
use crate::kpi::Totals;

/// Analytics media type names (the values `--media-type` accepts).
pub const MEDIA_TYPES: [&str; 11] = [
    "callback",
    "chat",
    "cobrowse",
    "email",
    "internalmessage",
    "message",
    "screenmonitoring",
    "screenshare",
    "unknown",
    "video",
    "voice",
];

/// One line of the report. Serialises with exactly the [`COLUMNS`] keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Queue name.
    pub queue: String,
    /// Queue id.
    pub queue_id: String,
    /// Analytics media type.
    pub media_type: String,
    /// nOffered count.
    pub offered: u64,
    /// tAnswered count.
    pub answered: u64,
    /// tAbandon count.
    pub abandoned: u64,
    /// abandoned / offered.
    pub abandon_ratio: Option<f64>,
    /// tAnswered sum / count, seconds.
    pub asa_seconds: Option<f64>,
    /// tHandle sum / count, seconds.
    pub aht_seconds: Option<f64>,
    /// tWait sum / count, seconds.
    pub avg_wait_seconds: Option<f64>,
    /// oServiceLevel numerator / denominator.
    pub service_level_ratio: Option<f64>,
    /// nTransferred count.
    pub transferred: u64,
    /// tFlowOut count.
    pub flowouts: u64,
}

/// One value of a row, before a format renders it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// A name or id (left-aligned in the table).
    Text(&'a str),
    /// A count.
    Count(u64),
    /// A ratio (a percentage in the table); `None` when undefined.
    Ratio(Option<f64>),
    /// A duration in seconds; `None` when undefined.
    Seconds(Option<f64>),
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::Count(n) => serializer.serialize_u64(n),
            Cell::Ratio(v) | Cell::Seconds(v) => v.serialize(serializer),
        }
    }
}

/// One report column: its table header (`None`: CSV and JSON only), its JSON
/// key and CSV column name, and its value in a row.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Table header.
    pub header: Option<&'static str>,
    /// JSON key and CSV column name.
    pub key: &'static str,
    /// The value of this column in a row.
    pub cell: for<'a> fn(&'a Row) -> Cell<'a>,
}

/// Every column, in output order: the one list the table, CSV and JSON follow.
pub const COLUMNS: [Column; 13] = [
    Column {
        header: Some("QUEUE"),
        key: "queue",
        cell: |r| Cell::Text(&r.queue),
    },
    Column {
        header: None,
        key: "queue_id",
        cell: |r| Cell::Text(&r.queue_id),
    },
    Column {
        header: Some("MEDIA"),
        key: "media_type",
        cell: |r| Cell::Text(&r.media_type),
    },
    Column {
        header: Some("OFFERED"),
        key: "offered",
        cell: |r| Cell::Count(r.offered),
    },
    Column {
        header: Some("ANSWERED"),
        key: "answered",
        cell: |r| Cell::Count(r.answered),
    },
    Column {
        header: Some("ABANDONED"),
        key: "abandoned",
        cell: |r| Cell::Count(r.abandoned),
    },
    Column {
        header: Some("ABANDON%"),
        key: "abandon_ratio",
        cell: |r| Cell::Ratio(r.abandon_ratio),
    },
    Column {
        header: Some("ASA(s)"),
        key: "asa_seconds",
        cell: |r| Cell::Seconds(r.asa_seconds),
    },
    Column {
        header: Some("AHT(s)"),
        key: "aht_seconds",
        cell: |r| Cell::Seconds(r.aht_seconds),
    },
    Column {
        header: Some("AVG WAIT(s)"),
        key: "avg_wait_seconds",
        cell: |r| Cell::Seconds(r.avg_wait_seconds),
    },
    Column {
        header: Some("SL%"),
        key: "service_level_ratio",
        cell: |r| Cell::Ratio(r.service_level_ratio),
    },
    Column {
        header: Some("TRANSFERRED"),
        key: "transferred",
        cell: |r| Cell::Count(r.transferred),
    },
    Column {
        header: Some("FLOWOUTS"),
        key: "flowouts",
        cell: |r| Cell::Count(r.flowouts),
    },
];

/// A row serialises as an object with exactly the [`COLUMNS`] keys, in order.
impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(COLUMNS.len()))?;
        for column in &COLUMNS {
            map.serialize_entry(column.key, &(column.cell)(self))?;
        }
        map.end()
    }
}

impl Row {
    /// The row of one queue × media type.
    pub fn new(queue: &Queue, media_type: &str, t: &Totals) -> Row {
        Row {
            queue: queue.name.clone(),
            queue_id: queue.id.clone(),
            media_type: media_type.to_string(),
            offered: t.offered,
            answered: t.answered.count,
            abandoned: t.abandoned.count,
            abandon_ratio: t.abandon_ratio(),
            asa_seconds: t.asa_seconds(),
            aht_seconds: t.aht_seconds(),
            avg_wait_seconds: t.avg_wait_seconds(),
            service_level_ratio: t.service_level_ratio(),
            transferred: t.transferred,
            flowouts: t.flowouts.count,
        }
    }
}

/// Shell-style glob: `*` matches any run of characters, `?` exactly one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((bp, bt)) = backtrack {
            pi = bp + 1;
            ti = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The queues whose name (or id) matches one of `patterns`; all when empty.
pub fn select_queues(queues: &[Queue], patterns: &[String]) -> Vec<Queue> {
    queues
        .iter()
        .filter(|q| {
            patterns.is_empty()
                || patterns
                    .iter()
                    .any(|p| glob_match(p, &q.name) || glob_match(p, &q.id))
        })
        .cloned()
        .collect()
}

/// Adds one range chunk's series into the running totals per (queue id, media).
pub fn accumulate(acc: &mut BTreeMap<(String, String), Totals>, series: &[QueueMediaSeries]) {
    for s in series {
        acc.entry((s.queue_id.clone(), s.media_type.clone()))
            .or_default()
            .merge(&s.total());
    }
}

/// One row per selected queue × media type with data (and an allowed media
/// type), sorted by queue name, then media type, then queue id.
pub fn build_rows(
    queues: &[Queue],
    totals: &BTreeMap<(String, String), Totals>,
    media_types: &[String],
) -> Vec<Row> {
    let by_id: BTreeMap<&str, &Queue> = queues.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut rows: Vec<Row> = totals
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .filter(|((_, media), _)| media_types.is_empty() || media_types.contains(media))
        .filter_map(|((id, media), t)| by_id.get(id.as_str()).map(|q| Row::new(q, media, t)))
        .collect();
    rows.sort_by(|a, b| {
        (&a.queue, &a.media_type, &a.queue_id).cmp(&(&b.queue, &b.media_type, &b.queue_id))
    });
    rows
}

/// Checks `--media-type` values against the analytics media names.
pub fn check_media_types(values: &[String]) -> Result<Vec<String>, String> {
    values
        .iter()
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            if MEDIA_TYPES.contains(&v.as_str()) {
                Ok(v)
            } else if v == "call" {
                Err(String::from(
                    "--media-type call: analytics calls the voice media type \"voice\"",
                ))
            } else {
                Err(format!(
                    "--media-type {v:?} is not a media type; use one of {}",
                    MEDIA_TYPES.join(", ")
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::BucketTotals;
    use crate::kpi::StatValues;

    fn queue(id: &str, name: &str) -> Queue {
        Queue {
            id: id.into(),
            name: name.into(),
            division_id: String::new(),
            division_name: String::new(),
            member_count: None,
            media: vec![],
        }
    }

    fn stats(count: f64, sum: Option<f64>) -> StatValues {
        StatValues {
            count: Some(count),
            sum,
            ..StatValues::default()
        }
    }

    /// Globs: `*` any run, `?` one character, otherwise exact.
    #[test]
    fn globs() {
        assert!(glob_match("Support*", "Support_EN"));
        assert!(glob_match("*_EN", "Support_EN"));
        assert!(glob_match("S?pport_EN", "Support_EN"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(glob_match("Ünï*", "Ünïcødé"));
        assert!(!glob_match("Support", "Support_EN"));
        assert!(!glob_match("?", ""));
        assert!(!glob_match("a*b", "acbd"));
    }

    /// Selection matches names or ids; no pattern keeps everything.
    #[test]
    fn selection() {
        let qs = [
            queue("1", "Sales"),
            queue("2", "Support"),
            queue("3", "Billing"),
        ];
        assert_eq!(select_queues(&qs, &[]).len(), 3);
        let picked = select_queues(&qs, &["S*".into(), "3".into()]);
        let names: Vec<_> = picked.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["Sales", "Support", "Billing"]);
    }

    /// Chunks merge exactly; rows with no data are dropped and rows sort by name then media.
    #[test]
    fn rows_merge_and_sort() {
        let qs = [queue("b", "Beta"), queue("a", "Alpha")];
        let mut t1 = Totals::default();
        t1.record("nOffered", &stats(4.0, None));
        t1.record("tAnswered", &stats(2.0, Some(10_000.0)));
        let mut t2 = Totals::default();
        t2.record("nOffered", &stats(1.0, None));
        t2.record("tAnswered", &stats(1.0, Some(20_000.0)));
        t2.record("tAbandon", &stats(1.0, Some(5_000.0)));
        let series = |q: &str, m: &str, t: Totals| QueueMediaSeries {
            queue_id: q.into(),
            media_type: m.into(),
            buckets: vec![BucketTotals {
                start_ms: 0,
                end_ms: 1,
                totals: t,
            }],
        };
        let mut acc = BTreeMap::new();
        accumulate(
            &mut acc,
            &[series("b", "voice", t1), series("a", "voice", t1)],
        );
        accumulate(
            &mut acc,
            &[
                series("b", "voice", t2),
                series("b", "chat", Totals::default()),
            ],
        );
        let rows = build_rows(&qs, &acc, &[]);
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.queue.as_str(), r.media_type.as_str()))
            .collect();
        assert_eq!(keys, [("Alpha", "voice"), ("Beta", "voice")]);
        let beta = &rows[1];
        assert_eq!((beta.offered, beta.answered, beta.abandoned), (5, 3, 1));
        assert_eq!(beta.asa_seconds, Some(10.0));
        assert_eq!(beta.abandon_ratio, Some(0.2));
        assert_eq!(beta.aht_seconds, None);
        assert_eq!(build_rows(&qs, &acc, &["chat".into()]).len(), 0);
    }

    /// Media types are checked, with a hint for the configuration name `call`.
    #[test]
    fn media_type_check() {
        assert_eq!(
            check_media_types(&["Voice".into()]),
            Ok(vec!["voice".to_string()])
        );
        assert!(check_media_types(&["call".into()])
            .expect_err("call")
            .contains("voice"));
        assert!(check_media_types(&["fax".into()])
            .expect_err("fax")
            .contains("--media-type"));
    }
}
