//! Renders snapshots to Prometheus text format 0.0.4 with the `prometheus`
//! crate's `TextEncoder`, once per poll, and gzips the result once.
//!
//! Families are encoded one at a time (each built as a `MetricFamily`, encoded,
//! dropped), so rendering 400k series never holds 400k protobuf-style metric
//! objects at once. No sample carries a timestamp.

use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;
use flate2::{write::GzEncoder, Compression};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::TextEncoder;

use super::families::{self, WINDOW_FAMILIES};
use super::realtime::RealtimeSnapshot;
use super::snapshot::{QueueSet, WindowSnapshot};

/// gzip level: 3 compresses a large body about 3× faster than the usual 6 for
/// a body about a quarter larger; compression runs once per poll.
const GZIP_LEVEL: u32 = 3;

/// One rendered part of `/metrics`: the text and its gzip member.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Text format 0.0.4.
    pub plain: Bytes,
    /// The same text as one gzip member.
    pub gzip: Bytes,
    /// Number of samples.
    pub series: usize,
}

impl Rendered {
    /// Wraps rendered text, compressing it once.
    pub fn from_text(text: String, series: usize) -> Rendered {
        Rendered {
            gzip: Bytes::from(gzip(text.as_bytes())),
            plain: Bytes::from(text),
            series,
        }
    }
}

/// gzip-compresses bytes into one complete gzip member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(data.len() / 8 + 64),
        Compression::new(GZIP_LEVEL),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Accumulates families into text, one family at a time.
#[derive(Debug, Default)]
pub struct FamilyWriter {
    text: String,
    series: usize,
}

impl FamilyWriter {
    /// Encodes one gauge family; `samples` yields (label pairs, value). Label
    /// pairs must be given in alphabetical order of name. A family without
    /// samples is left out entirely.
    pub fn gauge<'a, I>(&mut self, name: &str, help: &str, samples: I)
    where
        I: IntoIterator<Item = (Vec<(&'static str, &'a str)>, f64)>,
    {
        let metrics: Vec<Metric> = samples
            .into_iter()
            .map(|(labels, value)| {
                let mut g = Gauge::default();
                g.set_value(value);
                let mut m = Metric::from_gauge(g);
                m.set_label(labels.into_iter().map(|(n, v)| label(n, v)).collect());
                m
            })
            .collect();
        if metrics.is_empty() {
            return;
        }
        self.series += metrics.len();
        let mut mf = MetricFamily::default();
        mf.set_name(name.to_owned());
        mf.set_help(help.to_owned());
        mf.set_field_type(MetricType::GAUGE);
        mf.set_metric(metrics);
        // Encoding into a String only fails for an empty family, excluded above.
        let _ = TextEncoder::new().encode_utf8(&[mf], &mut self.text);
    }

    /// The finished part.
    pub fn finish(self) -> Rendered {
        Rendered::from_text(self.text, self.series)
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut lp = LabelPair::default();
    lp.set_name(name.to_owned());
    lp.set_value(value.to_owned());
    lp
}

/// Renders the window bound timestamps and the window gauges.
pub fn render_windows(snap: &WindowSnapshot) -> Rendered {
    let mut w = FamilyWriter::default();
    let labels: Vec<&str> = snap.windows.iter().map(|w| w.label.as_str()).collect();
    w.gauge(
        "genesys_window_start_timestamp_seconds",
        families::WINDOW_START_HELP,
        snap.windows.iter().map(|win| {
            (
                vec![("window", win.label.as_str())],
                win.start_ms as f64 / 1000.0,
            )
        }),
    );
    w.gauge(
        "genesys_window_end_timestamp_seconds",
        families::WINDOW_END_HELP,
        snap.windows.iter().map(|win| {
            (
                vec![("window", win.label.as_str())],
                win.end_ms as f64 / 1000.0,
            )
        }),
    );
    for fam in WINDOW_FAMILIES.iter() {
        w.gauge(
            fam.name,
            fam.help,
            snap.rows.iter().filter_map(|r| {
                let value = (fam.value)(&r.values)?;
                let window = labels.get(r.window).copied().unwrap_or("");
                Some((row_labels(&r.queue, &r.media_type, window), value))
            }),
        );
    }
    w.finish()
}

fn row_labels<'a>(
    queue: &'a Arc<str>,
    media: &'a Arc<str>,
    window: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![("media_type", media), ("queue", queue), ("window", window)]
}

/// Renders the per-queue settings from the queue list.
pub fn render_queues(set: &QueueSet) -> Rendered {
    let mut w = FamilyWriter::default();
    let qs = set.queues();
    w.gauge(
        "genesys_queue_info",
        families::QUEUE_INFO_HELP,
        qs.iter().map(|q| {
            let labels = vec![
                ("division", q.division.as_str()),
                ("queue", &*q.name),
                ("queue_id", q.id.as_str()),
            ];
            (labels, 1.0)
        }),
    );
    w.gauge(
        "genesys_queue_members",
        families::QUEUE_MEMBERS_HELP,
        qs.iter()
            .filter_map(|q| Some((vec![("queue", &*q.name)], q.member_count? as f64))),
    );
    let media = || qs.iter().flat_map(|q| q.media.iter().map(move |m| (q, m)));
    w.gauge(
        "genesys_queue_service_level_target_ratio",
        families::SL_TARGET_HELP,
        media().filter_map(|(q, m)| {
            Some((
                vec![("media_type", &*m.media_type), ("queue", &*q.name)],
                m.sl_target?,
            ))
        }),
    );
    w.gauge(
        "genesys_queue_service_level_threshold_seconds",
        families::SL_THRESHOLD_HELP,
        media().filter_map(|(q, m)| {
            let secs = m.sl_threshold_ms? as f64 / 1000.0;
            Some((
                vec![("media_type", &*m.media_type), ("queue", &*q.name)],
                secs,
            ))
        }),
    );
    w.finish()
}

/// Renders the real-time gauges from queue observations.
pub fn render_realtime(snap: &RealtimeSnapshot) -> Rendered {
    let mut w = FamilyWriter::default();
    w.gauge(
        "genesys_queue_agents",
        families::AGENTS_HELP,
        snap.agents.iter().flat_map(|a| {
            a.statuses
                .iter()
                .map(move |(status, n)| (vec![("queue", &*a.queue), ("status", *status)], *n))
        }),
    );
    w.gauge(
        "genesys_queue_alerting",
        families::ALERTING_HELP,
        snap.media
            .iter()
            .map(|r| (media_labels(r.queue.as_ref(), &r.media_type), r.alerting)),
    );
    w.gauge(
        "genesys_queue_interacting",
        families::INTERACTING_HELP,
        snap.media
            .iter()
            .map(|r| (media_labels(r.queue.as_ref(), &r.media_type), r.interacting)),
    );
    w.gauge(
        "genesys_queue_longest_waiting_seconds",
        families::LONGEST_WAITING_HELP,
        snap.media.iter().filter_map(|r| {
            Some((
                media_labels(r.queue.as_ref(), &r.media_type),
                r.longest_waiting_seconds?,
            ))
        }),
    );
    w.gauge(
        "genesys_queue_waiting",
        families::WAITING_HELP,
        snap.media
            .iter()
            .map(|r| (media_labels(r.queue.as_ref(), &r.media_type), r.waiting)),
    );
    w.finish()
}

fn media_labels<'a>(queue: &'a str, media: &'a Arc<str>) -> Vec<(&'static str, &'a str)> {
    vec![("media_type", media), ("queue", queue)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::snapshot::{window_snapshot, MediaInfo, QueueInfo, WindowTotals};
    use crate::exporter::window::ResolvedWindow;
    use std::io::Read;

    fn set(name: &str) -> QueueSet {
        QueueSet::new(vec![QueueInfo {
            id: "q-1".into(),
            name: Arc::from(name),
            division: "Home".into(),
            member_count: Some(7),
            media: vec![MediaInfo {
                media_type: Arc::from("voice"),
                sl_target: Some(0.8),
                sl_threshold_ms: Some(20_000),
            }],
        }])
    }

    /// Awkward queue names are escaped per the text format, and labels come sorted.
    #[test]
    fn escapes_label_values() {
        let r = render_queues(&set("Sales \"EU\"\\\nline2 ✓"));
        let text = std::str::from_utf8(&r.plain).expect("utf8");
        assert!(
            text.contains(r#"genesys_queue_info{division="Home",queue="Sales \"EU\"\\\nline2 ✓",queue_id="q-1"} 1"#),
            "{text}"
        );
        assert!(text.contains("genesys_queue_service_level_threshold_seconds{media_type=\"voice\""));
        assert_eq!(r.series, 4);
    }

    /// The gzip member decompresses to exactly the plain text.
    #[test]
    fn gzip_round_trips() {
        let windows = vec![ResolvedWindow {
            label: "30m".into(),
            start_ms: 1_000,
            end_ms: 1_801_000,
        }];
        let snap = window_snapshot(&set("A"), windows, &WindowTotals::new(), |_| true);
        let r = render_windows(&snap);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&r.gzip[..])
            .read_to_string(&mut out)
            .expect("gzip");
        assert_eq!(out.as_bytes(), &r.plain[..]);
        assert!(out.contains("genesys_window_start_timestamp_seconds{window=\"30m\"} 1\n"));
        assert!(out.contains("genesys_window_end_timestamp_seconds{window=\"30m\"} 1801\n"));
        assert!(out.contains(
            "genesys_queue_offered{media_type=\"voice\",queue=\"A\",window=\"30m\"} 0\n"
        ));
        assert!(!out.contains("abandon_ratio{"), "absent when offered is 0");
        assert!(out.contains("# HELP genesys_queue_offered "));
        assert!(!out.contains("NaN"));
    }
}
