//! Renders snapshots to Prometheus text format 0.0.4, once per poll, and
//! keeps each part only as one gzip member.
//!
//! Sample lines are written straight into a small text buffer
//! ([`text_format`]), which is compressed as it fills: rendering 400k series
//! holds no per-series objects and never the whole plain text, only the
//! growing gzip member. Plain-text scrapes are served by streaming
//! decompression of that member (see [`super::body`]). No sample carries a
//! timestamp.

use std::io::{Read, Write};

use axum::body::Bytes;
use flate2::{write::GzEncoder, Compression};

use super::families::{self, Family, MetricType, WINDOW_FAMILIES};
use super::realtime::{QueueRealtime, RealtimeRow, RealtimeSnapshot};
use super::snapshot::{QueueSet, WindowSnapshot};
use super::text_format;

/// gzip level of the parts rendered once per poll: 3 compresses a large body
/// about 2× faster than the usual 6 for a body about 7 % larger.
const GZIP_LEVEL: u32 = 3;

/// gzip level of the real-time part, which push re-renders up to once a
/// second: 1 compresses it about 4× faster than 3 for a member about a
/// quarter larger (at 2,000 queues, 3 ms instead of 14 ms for 111 kB
/// instead of 88 kB of gzip).
const REALTIME_GZIP_LEVEL: u32 = 1;

/// Text buffered before it is handed to the compressor.
const FLUSH_AT: usize = 64 * 1024;

/// One rendered part of `/metrics`, kept as one gzip member of its text.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The text as one complete gzip member (empty for an empty part).
    gzip: Bytes,
    /// Length of the text in bytes.
    plain_len: u64,
    /// Number of samples.
    pub series: usize,
}

impl Rendered {
    /// Wraps rendered text, compressing it once.
    pub fn from_text(text: &[u8], series: usize) -> Rendered {
        let mut w = FamilyWriter::default();
        w.push(text);
        let mut part = w.finish();
        part.series = series;
        part
    }

    /// The text as one gzip member (empty when the text is).
    pub fn gzip(&self) -> &Bytes {
        &self.gzip
    }

    /// Length of the text in bytes.
    pub fn plain_len(&self) -> u64 {
        self.plain_len
    }

    /// The text, decompressed (for tools and tests; scrapes stream it).
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(usize::try_from(self.plain_len).unwrap_or(0));
        if !self.gzip.is_empty() {
            // The member was written by this module; a failure leaves what decoded.
            let _ = flate2::read::GzDecoder::new(&self.gzip[..]).read_to_string(&mut out);
        }
        out
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

/// Wraps bytes in one gzip member without compressing them (deflate stored
/// blocks, RFC 1951 3.2.4): for the small self-metrics part of each scrape,
/// far cheaper than setting up a compressor, for a few kilobytes more.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 65_535;
    let blocks = data.len().div_ceil(MAX_BLOCK).max(1);
    let mut out = Vec::with_capacity(data.len() + 5 * blocks + 18);
    // Magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut chunks = data.chunks(MAX_BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        // A chunk is at most 65,535 bytes, so its length fits in u16.
        let len = chunk.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952 2.3.1).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Accumulates families as text, compressing it as it goes, one family at a time.
#[derive(Debug)]
pub struct FamilyWriter {
    /// Text not yet handed to the compressor.
    text: Vec<u8>,
    /// The gzip member, started at the first byte of text.
    gzip: Option<GzEncoder<Vec<u8>>>,
    plain_len: u64,
    series: usize,
    /// Families left out (those reading a metric the org refuses).
    hidden: Vec<&'static str>,
    /// gzip level.
    level: u32,
}

impl Default for FamilyWriter {
    fn default() -> FamilyWriter {
        FamilyWriter {
            text: Vec::with_capacity(FLUSH_AT + 4 * 1024),
            gzip: None,
            plain_len: 0,
            series: 0,
            hidden: Vec::new(),
            level: GZIP_LEVEL,
        }
    }
}

impl FamilyWriter {
    /// A writer leaving out the families named in `hidden`.
    pub fn hiding(hidden: &[&'static str]) -> FamilyWriter {
        FamilyWriter {
            hidden: hidden.to_vec(),
            ..FamilyWriter::default()
        }
    }

    /// The same writer compressing at `level` instead.
    fn at_level(self, level: u32) -> FamilyWriter {
        FamilyWriter { level, ..self }
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
        let order = label_order(family);
        let mut samples = samples.into_iter().filter(|(_, v)| servable(*v)).peekable();
        if samples.peek().is_none() {
            return;
        }
        self.header(family);
        for (values, value) in samples {
            write_line(&mut self.text, family, &order, values.as_ref(), value);
            self.series += 1;
            if self.text.len() >= FLUSH_AT {
                self.flush();
            }
        }
    }

    /// Writes the `# HELP` and `# TYPE` lines of a gauge family.
    fn header(&mut self, family: &Family) {
        text_format::write_header(&mut self.text, family.name, family.help, "gauge");
    }

    /// Appends sample lines already written for one family.
    fn lines(&mut self, lines: &[u8], series: usize) {
        self.text.extend_from_slice(lines);
        self.series += series;
        if self.text.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Appends text as it is (already in the text format).
    fn push(&mut self, text: &[u8]) {
        self.text.extend_from_slice(text);
        self.flush();
    }

    /// Hands the buffered text to the compressor.
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let level = self.level;
        let enc = self.gzip.get_or_insert_with(|| {
            GzEncoder::new(Vec::with_capacity(64 * 1024), Compression::new(level))
        });
        // Writing into a Vec cannot fail.
        let _ = enc.write_all(&self.text);
        self.plain_len += self.text.len() as u64;
        self.text.clear();
    }

    /// The finished part.
    pub fn finish(mut self) -> Rendered {
        self.flush();
        let mut gzip = self
            .gzip
            .map(|enc| enc.finish().unwrap_or_default())
            .unwrap_or_default();
        gzip.shrink_to_fit();
        Rendered {
            gzip: Bytes::from(gzip),
            plain_len: self.plain_len,
            series: self.series,
        }
    }
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

/// The label positions of a family in the order they are written (sorted
/// by label name).
fn label_order(family: &Family) -> Vec<usize> {
    let mut order: Vec<usize> = (0..family.labels.len()).collect();
    order.sort_by_key(|&i| family.labels[i]);
    order
}

/// Every queue gauge is a finite, non-negative number; the snapshots already
/// leave bad data out, this keeps it so whatever slips by.
fn servable(value: f64) -> bool {
    value.is_finite() && value >= 0.0
}

/// Writes one sample line of `family`; `values` in the order of
/// [`Family::labels`], `order` from [`label_order`].
fn write_line(out: &mut Vec<u8>, family: &Family, order: &[usize], values: &[&str], value: f64) {
    debug_assert_eq!(values.len(), family.labels.len(), "{}", family.name);
    let labels = order
        .iter()
        .filter_map(|&i| Some((family.labels[i], *values.get(i)?)));
    text_format::write_sample(out, family.name, labels, value);
}

/// The real-time families in the order the part writes them.
const REALTIME_FAMILIES: [&Family; 5] = [
    &families::AGENTS,
    &families::ALERTING,
    &families::INTERACTING,
    &families::LONGEST_WAITING,
    &families::WAITING,
];

/// The sample lines of one queue for each real-time family (in
/// `REALTIME_FAMILIES` order, without headers): what a render of the
/// real-time part writes for that queue, kept so that pushed state only
/// renders again the queues that changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RealtimeLines {
    lines: [Vec<u8>; REALTIME_FAMILIES.len()],
    series: [usize; REALTIME_FAMILIES.len()],
}

impl RealtimeLines {
    /// Renders the lines of one queue's real-time rows.
    pub fn of(q: &QueueRealtime) -> RealtimeLines {
        let mut out = RealtimeLines::default();
        let agents = q.agents.iter().flat_map(|a| {
            a.statuses
                .iter()
                .map(move |(status, n)| ([&*a.queue, *status], *n))
        });
        out.write(0, agents);
        out.write(1, q.media.iter().map(|r| media(r, r.alerting)));
        out.write(2, q.media.iter().map(|r| media(r, r.interacting)));
        let longest = q
            .media
            .iter()
            .filter_map(|r| Some(media(r, r.longest_waiting_seconds?)));
        out.write(3, longest);
        out.write(4, q.media.iter().map(|r| media(r, r.waiting)));
        // Kept until the queue changes: no spare capacity.
        for lines in &mut out.lines {
            lines.shrink_to_fit();
        }
        out
    }

    fn write<'a, const N: usize>(
        &mut self,
        index: usize,
        samples: impl Iterator<Item = ([&'a str; N], f64)>,
    ) {
        let family = REALTIME_FAMILIES[index];
        let order = label_order(family);
        for (values, value) in samples.filter(|(_, v)| servable(*v)) {
            write_line(&mut self.lines[index], family, &order, &values, value);
            self.series[index] += 1;
        }
    }
}

/// Assembles the real-time part from the lines of each queue, in the order
/// `queues` yields them (called once per family), leaving out the families
/// named in `hidden` and those without samples.
pub fn assemble_realtime<'a, I>(queues: impl Fn() -> I, hidden: &[&'static str]) -> Rendered
where
    I: Iterator<Item = &'a RealtimeLines>,
{
    let mut w = FamilyWriter::hiding(hidden).at_level(REALTIME_GZIP_LEVEL);
    for (index, family) in REALTIME_FAMILIES.iter().enumerate() {
        if w.hidden.contains(&family.name) || queues().all(|q| q.series[index] == 0) {
            continue;
        }
        w.header(family);
        for q in queues() {
            w.lines(&q.lines[index], q.series[index]);
        }
    }
    w.finish()
}

/// Renders the real-time gauges from queue observations.
pub fn render_realtime(snap: &RealtimeSnapshot) -> Rendered {
    render_realtime_except(snap, &[])
}

/// [`render_realtime`] leaving out the families named in `hidden` (those
/// reading an observation metric the org refuses).
pub fn render_realtime_except(snap: &RealtimeSnapshot, hidden: &[&'static str]) -> Rendered {
    let lines: Vec<RealtimeLines> = snap.queues.iter().map(RealtimeLines::of).collect();
    assemble_realtime(|| lines.iter(), hidden)
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
        let text = r.text();
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
        flate2::read::GzDecoder::new(&r.gzip()[..])
            .read_to_string(&mut out)
            .expect("gzip");
        assert_eq!(out.len() as u64, r.plain_len());
        assert!(out.contains("genesys_window_start_timestamp_seconds{window=\"30m\"} 1\n"));
        assert!(out.contains("genesys_window_end_timestamp_seconds{window=\"30m\"} 1801\n"));
        assert!(out.contains(
            "genesys_queue_offered{media_type=\"voice\",queue=\"A\",window=\"30m\"} 0\n"
        ));
        assert!(!out.contains("abandon_ratio{"), "absent when offered is 0");
        assert!(out.contains("# HELP genesys_queue_offered "));
        assert!(!out.contains("NaN"));
    }

    /// A part larger than the text buffer is compressed in several flushes
    /// and still decodes to every line, with its exact length recorded.
    #[test]
    fn large_part_flushes_and_round_trips() {
        let queues = (0..3_000)
            .map(|i| QueueInfo {
                id: format!("q-{i}"),
                name: Arc::from(format!("Queue \"{i}\"")),
                division: "Home".into(),
                member_count: Some(i),
                media: Vec::new(),
            })
            .collect();
        let r = render_queues(&QueueSet::new(queues));
        let text = r.text();
        assert!(text.len() > 2 * FLUSH_AT);
        assert_eq!(text.len() as u64, r.plain_len());
        assert_eq!(r.series, 6_000);
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 6_000);
        assert!(text.contains("genesys_queue_members{queue=\"Queue \\\"2999\\\"\"} 2999\n"));
        assert!(text.ends_with('\n'));
    }

    /// A stored member decodes to its input, for empty, small and
    /// multi-block inputs, alone and after a compressed member.
    #[test]
    fn stored_member_round_trips() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for data in [&b""[..], b"genesys_up 1\n", &big[..65_535], &big] {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gzip_stored(data)[..])
                .read_to_end(&mut out)
                .expect("stored gzip");
            assert_eq!(out, data);
        }
        let stream = [gzip(b"a 1\n"), gzip_stored(b"b 2\n")].concat();
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&stream[..])
            .read_to_string(&mut text)
            .expect("two members");
        assert_eq!(text, "a 1\nb 2\n");
    }
}
