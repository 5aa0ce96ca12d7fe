//! Renders snapshots to Prometheus text format 0.0.4 with the `prometheus`
//! crate's `TextEncoder`, once per poll, and gzips the result once.
//!
//! Families are encoded one at a time (each built as a `MetricFamily`, encoded,
//! dropped), so rendering 400k series never holds 400k protobuf-style metric
//! objects at once. No sample carries a timestamp.

use axum::body::Bytes;
use flate2::{write::GzEncoder, Compression};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType as ProtoType};
use prometheus::TextEncoder;
use std::io::Write;

use super::families::{self, Family, MetricType, WINDOW_FAMILIES};
use super::realtime::{RealtimeRow, RealtimeSnapshot};
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
    /// Families left out (those reading a metric the org refuses).
    hidden: Vec<&'static str>,
}

impl FamilyWriter {
    /// A writer leaving out the families named in `hidden`.
    pub fn hiding(hidden: &[&'static str]) -> FamilyWriter {
        FamilyWriter {
            hidden: hidden.to_vec(),
            ..FamilyWriter::default()
        }
    }

    /// Encodes one gauge family of the catalogue; `samples` yields (label
    /// values in the order of [`Family::labels`], value). Labels are written
    /// sorted by name. A family without samples is left out entirely, and so
    /// is a sample whose value is not finite or is negative.
    pub fn gauge<'a, L, I>(&mut self, family: &Family, samples: I)
    where
        L: AsRef<[&'a str]>,
        I: IntoIterator<Item = (L, f64)>,
    {
        debug_assert_eq!(family.kind, MetricType::Gauge, "{}", family.name);
        if self.hidden.contains(&family.name) {
            return;
        }
        let mut order: Vec<usize> = (0..family.labels.len()).collect();
        order.sort_by_key(|&i| family.labels[i]);
        let metrics: Vec<Metric> = samples
            .into_iter()
            // Every queue gauge is a finite, non-negative number; the snapshots
            // already leave bad data out, this keeps it so whatever slips by.
            .filter(|(_, value)| value.is_finite() && *value >= 0.0)
            .map(|(values, value)| {
                let values = values.as_ref();
                debug_assert_eq!(values.len(), family.labels.len(), "{}", family.name);
                let mut g = Gauge::default();
                g.set_value(value);
                let mut m = Metric::from_gauge(g);
                m.set_label(
                    order
                        .iter()
                        .filter_map(|&i| Some(label(family.labels[i], values.get(i)?)))
                        .collect(),
                );
                m
            })
            .collect();
        if metrics.is_empty() {
            return;
        }
        self.series += metrics.len();
        let mut mf = MetricFamily::default();
        mf.set_name(family.name.to_owned());
        mf.set_help(family.help.to_owned());
        mf.set_field_type(ProtoType::GAUGE);
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
pub fn render_windows(snap: &WindowSnapshot<'_>) -> Rendered {
    render_windows_except(snap, &[])
}

/// [`render_windows`] leaving out the window families named in `hidden`
/// (those reading a metric the org refuses).
pub fn render_windows_except(snap: &WindowSnapshot<'_>, hidden: &[&'static str]) -> Rendered {
    let mut w = FamilyWriter::hiding(hidden);
    let labels: Vec<&str> = snap.windows.iter().map(|w| w.label.as_str()).collect();
    let seconds = |ms: i64| ms as f64 / 1000.0;
    w.gauge(
        &families::WINDOW_START,
        snap.windows
            .iter()
            .map(|win| ([win.label.as_str()], seconds(win.start_ms))),
    );
    w.gauge(
        &families::WINDOW_END,
        snap.windows
            .iter()
            .map(|win| ([win.label.as_str()], seconds(win.end_ms))),
    );
    for fam in WINDOW_FAMILIES.iter() {
        w.gauge(
            &fam.family,
            snap.rows.iter().filter_map(|r| {
                let value = (fam.value)(r.totals)?;
                let window = labels.get(r.window).copied().unwrap_or("");
                Some(([&*r.queue, &*r.media_type, window], value))
            }),
        );
    }
    w.finish()
}

/// Renders the per-queue settings from the queue list.
pub fn render_queues(set: &QueueSet) -> Rendered {
    render_queues_except(set, &[])
}

/// [`render_queues`] leaving out the families named in `hidden`.
pub fn render_queues_except(set: &QueueSet, hidden: &[&'static str]) -> Rendered {
    let mut w = FamilyWriter::hiding(hidden);
    let qs = set.queues();
    w.gauge(
        &families::QUEUE_INFO,
        qs.iter()
            .map(|q| ([q.division.as_str(), &*q.name, q.id.as_str()], 1.0)),
    );
    w.gauge(
        &families::QUEUE_MEMBERS,
        qs.iter()
            .filter_map(|q| Some(([&*q.name], q.member_count? as f64))),
    );
    let media = || qs.iter().flat_map(|q| q.media.iter().map(move |m| (q, m)));
    w.gauge(
        &families::SL_TARGET,
        media().filter_map(|(q, m)| Some(([&*m.media_type, &*q.name], m.sl_target?))),
    );
    w.gauge(
        &families::SL_THRESHOLD,
        media().filter_map(|(q, m)| {
            let secs = m.sl_threshold_ms? as f64 / 1000.0;
            Some(([&*m.media_type, &*q.name], secs))
        }),
    );
    w.finish()
}

/// Renders the real-time gauges from queue observations.
pub fn render_realtime(snap: &RealtimeSnapshot) -> Rendered {
    render_realtime_except(snap, &[])
}

/// [`render_realtime`] leaving out the families named in `hidden` (those
/// reading an observation metric the org refuses).
pub fn render_realtime_except(snap: &RealtimeSnapshot, hidden: &[&'static str]) -> Rendered {
    let mut w = FamilyWriter::hiding(hidden);
    w.gauge(
        &families::AGENTS,
        snap.agents.iter().flat_map(|a| {
            a.statuses
                .iter()
                .map(move |(status, n)| ([&*a.queue, *status], *n))
        }),
    );
    w.gauge(
        &families::ALERTING,
        snap.media.iter().map(|r| media(r, r.alerting)),
    );
    w.gauge(
        &families::INTERACTING,
        snap.media.iter().map(|r| media(r, r.interacting)),
    );
    w.gauge(
        &families::LONGEST_WAITING,
        snap.media
            .iter()
            .filter_map(|r| Some(media(r, r.longest_waiting_seconds?))),
    );
    w.gauge(
        &families::WAITING,
        snap.media.iter().map(|r| media(r, r.waiting)),
    );
    w.finish()
}

/// Label values of a real-time media row (`media_type`, `queue`) with a value.
fn media(r: &RealtimeRow, value: f64) -> ([&str; 2], f64) {
    ([&*r.media_type, &*r.queue], value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::snapshot::{window_snapshot, MediaInfo, QueueInfo, WindowTotals};
    use crate::exporter::window::ResolvedWindow;
    use std::io::Read;
    use std::sync::Arc;

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
        let totals = WindowTotals::new();
        let snap = window_snapshot(&set("A"), windows, &totals, |_| true);
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
