//! The exporter's own metrics, read on every scrape. They count API requests,
//! retries and throttling and show Genesys's rate-limit headers, the client's
//! budget and chunk sizes (as the client's [`ApiObserver`]), poll outcomes,
//! the exported queue count, `genesys_up`, HTTP connections (as the serve
//! loop's [`CloseObserver`]), socket messages, build information and process
//! metrics.
//!
//! Two registries: the *live* one (`genesys_up`, open connections, socket
//! messages, process metrics), which change between any two scrapes, is
//! gathered on every scrape; the *settled* one (everything else), which
//! changes at most once per API request or poll, is gathered again only
//! after it changed. Every change to a settled metric goes through
//! [`SelfMetrics::change`], which counts it; a scrape that finds the count
//! where it was serves the text it rendered last.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

use super::bad_values::{BadGroup, BadValueCounter};
use super::config::RealtimeSource;
use super::families::{self, Family};
use super::metric_support::QueryKind;
use super::poll_error::PollError;
use super::push::message::KINDS;
use super::push::plan::Reason;
use super::state::PollKind;
use crate::genesys::{ApiObserver, Endpoint, RateLimitReport, RetryReason};
use crate::web::serve::{CloseObserver, CloseReason};

/// What the landing page shows of the real-time source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealtimeView {
    /// The active source; `None` when real-time gauges are off.
    pub source: Option<RealtimeSource>,
    /// Channels with a live socket.
    pub channels: i64,
    /// When the last socket message arrived.
    pub last_message: Option<SystemTime>,
}

/// Every self-metric.
#[derive(Debug)]
pub struct SelfMetrics {
    /// Gathered on every scrape.
    live: Registry,
    up: Gauge,
    connections_open: IntGauge,
    notification_channels: IntGauge,
    notification_messages: IntCounterVec,
    notification_last_message: Gauge,
    /// Changed only through [`SelfMetrics::change`].
    settled: Settled,
    /// Changes made to `settled` so far.
    changes: AtomicU64,
    /// The settled text last rendered, and the change count it was read at.
    settled_text: Mutex<Option<(u64, Vec<u8>)>>,
}

/// The metrics that change at most once per API request or poll.
#[derive(Debug)]
struct Settled {
    registry: Registry,
    last_success: GaugeVec,
    poll_duration: GaugeVec,
    poll_failures: IntCounterVec,
    api_requests: IntCounterVec,
    api_duration: HistogramVec,
    api_retries: IntCounterVec,
    api_throttled: IntCounterVec,
    api_budget: GaugeVec,
    api_chunk_size: GaugeVec,
    rate_limit_allowed: GaugeVec,
    rate_limit_count: GaugeVec,
    rate_limit_reset: GaugeVec,
    bad_api_values: BadValueCounter,
    queues: IntGauge,
    connections_closed: IntCounterVec,
    unsupported_metric: GaugeVec,
    granularity_fallbacks: IntCounter,
    poll_interval: GaugeVec,
    api_planned: GaugeVec,
    aggregates_fallbacks: IntCounter,
    realtime_source: GaugeVec,
    notification_reconnects: IntCounterVec,
}

fn opts(f: &Family) -> Opts {
    Opts::new(f.name, f.help)
}

/// Registers a collector built from a catalogue entry. The entries are
/// constants with distinct names, so failing here is a programming error that
/// the catalogue tests catch on their first run.
fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    built: prometheus::Result<C>,
) -> C {
    let collector = built.expect("catalogue entries are valid, distinct families");
    registry
        .register(Box::new(collector.clone()))
        .expect("catalogue entries are valid, distinct families");
    collector
}

impl SelfMetrics {
    /// Creates and registers every self-metric from the catalogue, with
    /// zero-valued series for each known poll kind, failure kind, endpoint and
    /// retry reason.
    pub fn new() -> SelfMetrics {
        let (live, registry) = (Registry::new(), Registry::new());
        let (l, r) = (&live, &registry);
        let gauge_vec = |f: &Family| register(r, GaugeVec::new(opts(f), f.labels));
        let counter_vec = |f: &Family| register(r, IntCounterVec::new(opts(f), f.labels));
        let settled = Settled {
            last_success: gauge_vec(&families::LAST_SUCCESS),
            poll_duration: gauge_vec(&families::POLL_DURATION),
            poll_failures: counter_vec(&families::POLL_FAILURES),
            api_requests: counter_vec(&families::API_REQUESTS),
            api_duration: register(
                r,
                HistogramVec::new(
                    HistogramOpts::from(opts(&families::API_DURATION))
                        .buckets(families::API_DURATION_BUCKETS.to_vec()),
                    families::API_DURATION.labels,
                ),
            ),
            api_retries: counter_vec(&families::API_RETRIES),
            api_throttled: counter_vec(&families::API_THROTTLED),
            api_budget: gauge_vec(&families::API_BUDGET),
            api_chunk_size: gauge_vec(&families::API_CHUNK_SIZE),
            rate_limit_allowed: gauge_vec(&families::RATE_LIMIT_ALLOWED),
            rate_limit_count: gauge_vec(&families::RATE_LIMIT_USED),
            rate_limit_reset: gauge_vec(&families::RATE_LIMIT_RESET),
            bad_api_values: BadValueCounter::new(counter_vec(&families::BAD_API_VALUES)),
            queues: register(r, IntGauge::with_opts(opts(&families::QUEUES))),
            connections_closed: counter_vec(&families::HTTP_CONNECTIONS_CLOSED),
            unsupported_metric: gauge_vec(&families::UNSUPPORTED_METRIC),
            granularity_fallbacks: register(
                r,
                IntCounter::with_opts(opts(&families::GRANULARITY_FALLBACKS)),
            ),
            poll_interval: gauge_vec(&families::POLL_INTERVAL),
            api_planned: gauge_vec(&families::API_PLANNED),
            aggregates_fallbacks: register(
                r,
                IntCounter::with_opts(opts(&families::AGGREGATES_FALLBACKS)),
            ),
            realtime_source: gauge_vec(&families::REALTIME_SOURCE),
            notification_reconnects: counter_vec(&families::NOTIFICATION_RECONNECTS),
            registry: registry.clone(),
        };
        gauge_vec(&families::BUILD_INFO)
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("GENESYS_EXPORTER_REVISION").unwrap_or("unknown"),
                option_env!("GENESYS_EXPORTER_RUSTC").unwrap_or("unknown"),
            ])
            .set(1.0);
        let s = &settled;
        for poll in PollKind::ALL {
            for kind in PollError::kinds() {
                s.poll_failures.with_label_values(&[poll.as_str(), kind]);
            }
        }
        for endpoint in Endpoint::ALL {
            s.api_throttled.with_label_values(&[endpoint.as_str()]);
            for reason in RetryReason::ALL {
                s.api_retries
                    .with_label_values(&[endpoint.as_str(), reason.as_str()]);
            }
        }
        for reason in CloseReason::ALL {
            s.connections_closed.with_label_values(&[reason.as_str()]);
        }
        for kind in QueryKind::ALL {
            for metric in kind.catalogue() {
                s.unsupported_metric
                    .with_label_values(&[kind.as_str(), metric])
                    .set(0.0);
            }
        }
        for reason in Reason::ALL {
            s.notification_reconnects
                .with_label_values(&[reason.as_str()]);
        }
        let notification_messages = register(
            l,
            IntCounterVec::new(
                opts(&families::NOTIFICATION_MESSAGES),
                families::NOTIFICATION_MESSAGES.labels,
            ),
        );
        for kind in KINDS {
            notification_messages.with_label_values(&[kind]);
        }
        #[cfg(target_os = "linux")]
        live.register(Box::new(super::process_metrics::ProcessMetrics::new()))
            .expect("process metrics do not clash with the catalogue");
        let metrics = SelfMetrics {
            up: register(l, Gauge::with_opts(opts(&families::UP))),
            connections_open: register(
                l,
                IntGauge::with_opts(opts(&families::HTTP_CONNECTIONS_OPEN)),
            ),
            notification_channels: register(
                l,
                IntGauge::with_opts(opts(&families::NOTIFICATION_CHANNELS)),
            ),
            notification_messages,
            notification_last_message: register(
                l,
                Gauge::with_opts(opts(&families::NOTIFICATION_LAST_MESSAGE)),
            ),
            live: live.clone(),
            settled,
            changes: AtomicU64::new(0),
            settled_text: Mutex::new(None),
        };
        metrics.set_realtime_source(None);
        metrics
    }

    /// Applies `f` to the settled metrics and counts the change, after it
    /// is made, so a scrape that reads the count before gathering sees it.
    fn change(&self, f: impl FnOnce(&Settled)) {
        f(&self.settled);
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// Sets `genesys_exporter_realtime_source`: 1 for `active`, 0 for the
    /// other; both 0 for `None` (real-time gauges off).
    pub fn set_realtime_source(&self, active: Option<RealtimeSource>) {
        self.change(|s| {
            for source in [RealtimeSource::Push, RealtimeSource::Poll] {
                let on = active == Some(source);
                s.realtime_source
                    .with_label_values(&[source.as_str()])
                    .set(if on { 1.0 } else { 0.0 });
            }
        });
    }

    /// Sets `genesys_exporter_notification_channels`.
    pub fn set_notification_channels(&self, live: usize) {
        self.notification_channels
            .set(i64::try_from(live).unwrap_or(i64::MAX));
    }

    /// Counts a socket message of `kind` ([`KINDS`]) received now.
    pub fn notification_message(&self, kind: &str) {
        self.notification_messages.with_label_values(&[kind]).inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.notification_last_message.set(now);
    }

    /// Counts a channel replaced for `reason`.
    pub fn notification_reconnect(&self, reason: Reason) {
        self.change(|s| {
            s.notification_reconnects
                .with_label_values(&[reason.as_str()])
                .inc();
        });
    }

    /// The real-time source, live channels and last message, for the landing page.
    pub fn realtime_view(&self) -> RealtimeView {
        let on = |s: RealtimeSource| {
            self.settled
                .realtime_source
                .with_label_values(&[s.as_str()])
                .get()
                > 0.0
        };
        let source = [RealtimeSource::Push, RealtimeSource::Poll]
            .into_iter()
            .find(|s| on(*s));
        let last = self.notification_last_message.get();
        RealtimeView {
            source,
            channels: self.notification_channels.get(),
            last_message: (last > 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(last)),
        }
    }

    /// Marks `metric` of `query` as refused by the org.
    pub fn set_unsupported(&self, query: QueryKind, metric: &str) {
        self.change(|s| {
            s.unsupported_metric
                .with_label_values(&[query.as_str(), metric])
                .set(1.0);
        });
    }

    /// Counts a window group that fell back to one query per window.
    pub fn granularity_fallback(&self) {
        self.change(|s| {
            s.granularity_fallbacks.inc();
        });
    }

    /// Sets the interval in force and the planned requests per minute of
    /// `poll`; a kind that does not run has neither series.
    pub fn set_plan(&self, poll: PollKind, interval: Option<Duration>, per_minute: f64) {
        self.change(|s| {
            let label = [poll.as_str()];
            match interval {
                Some(i) => {
                    s.poll_interval
                        .with_label_values(&label)
                        .set(i.as_secs_f64());
                    s.api_planned.with_label_values(&label).set(per_minute);
                }
                None => {
                    let _ = s.poll_interval.remove_label_values(&label);
                    let _ = s.api_planned.remove_label_values(&label);
                }
            }
        });
    }

    /// Counts an org-wide aggregates query asked again in chunks.
    pub fn aggregates_fallback(&self) {
        self.change(|s| {
            s.aggregates_fallbacks.inc();
        });
    }

    /// Sets `genesys_up`.
    pub fn set_up(&self, up: bool) {
        self.up.set(if up { 1.0 } else { 0.0 });
    }

    /// Sets `genesys_exporter_queues`.
    pub fn set_queues(&self, n: usize) {
        self.change(|s| {
            s.queues.set(i64::try_from(n).unwrap_or(i64::MAX));
        });
    }

    /// Counts (and logs once) the groups of a poll's answer with bad values.
    pub fn bad_api_values(&self, poll: PollKind, groups: &[BadGroup]) {
        self.change(|s| {
            s.bad_api_values.record(poll, groups);
        });
    }

    /// Records a finished poll; a failure is counted under its kind.
    pub fn poll_finished(
        &self,
        poll: PollKind,
        duration: Duration,
        result: Result<(), &PollError>,
    ) {
        self.change(|s| {
            let label = [poll.as_str()];
            s.poll_duration
                .with_label_values(&label)
                .set(duration.as_secs_f64());
            match result {
                Ok(()) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64();
                    s.last_success.with_label_values(&label).set(now);
                }
                Err(e) => s
                    .poll_failures
                    .with_label_values(&[poll.as_str(), e.kind()])
                    .inc(),
            }
        });
    }

    /// Renders every self-metric in text format 0.0.4: the settled text (read
    /// again only when it changed since it was last read), then the live one.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * 1024);
        {
            // Read before gathering: a change made during the gather counts
            // again afterwards, so the next scrape reads it.
            let changes = self.changes.load(Ordering::Acquire);
            let mut cached = self
                .settled_text
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &*cached {
                Some((at, text)) if *at == changes => out.extend_from_slice(text),
                _ => {
                    encode(&self.settled.registry, &mut out);
                    *cached = Some((changes, out.clone()));
                }
            }
        }
        encode(&self.live, &mut out);
        out
    }

    /// Every self-metric gathered now, not using the settled text.
    #[cfg(test)]
    fn render_uncached(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&self.settled.registry, &mut out);
        encode(&self.live, &mut out);
        out
    }
}

/// Appends `registry` in text format 0.0.4 to `out`.
fn encode(registry: &Registry, out: &mut Vec<u8>) {
    // Encoding into a Vec does not fail for well-formed families.
    let _ = TextEncoder::new().encode(&registry.gather(), out);
}

impl Default for SelfMetrics {
    fn default() -> Self {
        SelfMetrics::new()
    }
}

impl ApiObserver for SelfMetrics {
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, elapsed: Duration) {
        self.change(|s| {
            s.api_requests
                .with_label_values(&[endpoint.as_str(), outcome])
                .inc();
            s.api_duration
                .with_label_values(&[endpoint.as_str()])
                .observe(elapsed.as_secs_f64());
        });
    }

    fn retried(&self, endpoint: Endpoint, reason: RetryReason) {
        self.change(|s| {
            s.api_retries
                .with_label_values(&[endpoint.as_str(), reason.as_str()])
                .inc();
        });
    }

    fn throttled(&self, endpoint: Endpoint, _wait: Duration) {
        self.change(|s| {
            s.api_throttled
                .with_label_values(&[endpoint.as_str()])
                .inc();
        });
    }

    fn rate_limit_reported(&self, report: &RateLimitReport) {
        self.change(|s| {
            let set = |gauge: &GaugeVec, value: Option<f64>| {
                if let Some(v) = value {
                    gauge.with_label_values::<&str>(&[]).set(v);
                }
            };
            set(&s.rate_limit_allowed, report.allowed.map(|n| n as f64));
            set(&s.rate_limit_count, report.count.map(|n| n as f64));
            set(&s.rate_limit_reset, report.reset.map(|d| d.as_secs_f64()));
        });
    }

    fn budget_changed(&self, requests_per_minute: u32) {
        self.change(|s| {
            s.api_budget
                .with_label_values::<&str>(&[])
                .set(f64::from(requests_per_minute));
        });
    }

    fn chunk_size_changed(&self, endpoint: Endpoint, size: usize) {
        self.change(|s| {
            s.api_chunk_size
                .with_label_values(&[endpoint.as_str()])
                .set(size as f64);
        });
    }
}

impl CloseObserver for SelfMetrics {
    fn closed(&self, reason: CloseReason) {
        self.change(|s| {
            s.connections_closed
                .with_label_values(&[reason.as_str()])
                .inc();
        });
    }

    fn open_connections(&self, open: usize) {
        self.connections_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Observer hooks and poll results show up in the rendered text.
    #[test]
    fn renders_counters() {
        let m = SelfMetrics::new();
        m.request_finished(Endpoint::Aggregates, "429", Duration::from_millis(30));
        m.retried(Endpoint::Aggregates, RetryReason::RateLimited);
        m.throttled(Endpoint::Aggregates, Duration::from_secs(1));
        let late = PollError::Deadline(Duration::from_secs(10));
        m.poll_finished(
            PollKind::Aggregates,
            Duration::from_millis(1500),
            Err(&late),
        );
        m.set_up(true);
        m.set_queues(12);
        let before = String::from_utf8(m.render()).expect("utf8");
        assert!(
            !before.contains("genesys_api_rate_limit_allowed "),
            "{before}"
        );
        m.rate_limit_reported(&RateLimitReport {
            allowed: Some(180),
            count: Some(3),
            reset: Some(Duration::from_secs(61)),
        });
        m.rate_limit_reported(&RateLimitReport {
            count: Some(4),
            ..RateLimitReport::default()
        });
        m.budget_changed(162);
        m.chunk_size_changed(Endpoint::Observations, 100);
        m.set_unsupported(QueryKind::Observations, "oLongestWaiting");
        m.granularity_fallback();
        m.aggregates_fallback();
        let text = String::from_utf8(m.render()).expect("utf8");
        for line in [
            "genesys_exporter_api_requests_total{code=\"429\",endpoint=\"conversation_aggregates\"} 1",
            "genesys_exporter_api_retries_total{endpoint=\"conversation_aggregates\",reason=\"rate_limited\"} 1",
            "genesys_exporter_api_retries_total{endpoint=\"oauth_token\",reason=\"timeout\"} 0",
            "genesys_exporter_api_throttled_total{endpoint=\"conversation_aggregates\"} 1",
            "genesys_exporter_poll_failures_total{kind=\"deadline\",poll=\"aggregates\"} 1",
            "genesys_exporter_poll_failures_total{kind=\"auth\",poll=\"queues\"} 0",
            "genesys_exporter_poll_duration_seconds{poll=\"aggregates\"} 1.5",
            "genesys_up 1",
            "genesys_exporter_queues 12",
            "genesys_exporter_http_connections_closed_total{reason=\"max_connections\"} 0",
            "genesys_exporter_http_connections_open 0",
            "genesys_api_rate_limit_allowed 180",
            "genesys_api_rate_limit_used 4",
            "genesys_api_rate_limit_reset_seconds 61",
            "genesys_exporter_api_request_budget 162",
            "genesys_exporter_api_chunk_size{endpoint=\"queue_observations\"} 100",
            "genesys_exporter_unsupported_metric{metric=\"oLongestWaiting\",query=\"observations\"} 1",
            "genesys_exporter_unsupported_metric{metric=\"tShortAbandon\",query=\"aggregates\"} 0",
            "genesys_exporter_granularity_fallbacks_total 1",
            "genesys_exporter_aggregates_fallbacks_total 1",
            "genesys_exporter_api_request_duration_seconds_bucket{endpoint=\"conversation_aggregates\",le=\"0.05\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("genesys_exporter_build_info{"));
        assert!(text.contains("process_resident_memory_bytes "));
    }

    /// The self-metrics without the process ones, which change by themselves.
    fn without_process(text: &[u8]) -> String {
        String::from_utf8_lossy(text)
            .lines()
            .filter(|l| !l.contains("process_"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Every kind of change shows in the next scrape: after each one, the
    /// rendered text differs from the one before and equals a fresh gather
    /// of both registries; a scrape with no change between serves the same.
    #[test]
    fn every_change_shows_in_the_next_render() {
        let late = PollError::Deadline(Duration::from_secs(10));
        let mut reasons = crate::kpi::BadValues::default();
        reasons.insert(crate::kpi::BadValue::Negative);
        let bad = [BadGroup {
            queue_id: "q".into(),
            media_type: "voice".into(),
            reasons,
        }];
        let report = RateLimitReport {
            allowed: Some(300),
            count: Some(12),
            reset: Some(Duration::from_secs(30)),
        };
        #[allow(clippy::type_complexity)]
        let changes: Vec<(&str, Box<dyn Fn(&SelfMetrics)>)> = vec![
            (
                "realtime source",
                Box::new(|m| m.set_realtime_source(Some(RealtimeSource::Push))),
            ),
            (
                "reconnect",
                Box::new(|m| m.notification_reconnect(Reason::ALL[0])),
            ),
            (
                "unsupported",
                Box::new(|m| m.set_unsupported(QueryKind::Observations, "oWaiting")),
            ),
            (
                "granularity fallback",
                Box::new(|m| m.granularity_fallback()),
            ),
            (
                "plan",
                Box::new(|m| m.set_plan(PollKind::Aggregates, Some(Duration::from_secs(90)), 2.0)),
            ),
            (
                "plan removed",
                Box::new(|m| m.set_plan(PollKind::Aggregates, None, 0.0)),
            ),
            ("aggregates fallback", Box::new(|m| m.aggregates_fallback())),
            ("queues", Box::new(|m| m.set_queues(7))),
            (
                "bad values",
                Box::new(move |m| m.bad_api_values(PollKind::Observations, &bad)),
            ),
            (
                "poll ok",
                Box::new(|m| m.poll_finished(PollKind::Queues, Duration::from_millis(20), Ok(()))),
            ),
            (
                "poll failed",
                Box::new(move |m| {
                    m.poll_finished(PollKind::Queues, Duration::from_millis(30), Err(&late))
                }),
            ),
            (
                "request",
                Box::new(|m| {
                    m.request_finished(Endpoint::Observations, "200", Duration::from_millis(5))
                }),
            ),
            (
                "retry",
                Box::new(|m| m.retried(Endpoint::Observations, RetryReason::RateLimited)),
            ),
            (
                "throttled",
                Box::new(|m| m.throttled(Endpoint::Observations, Duration::from_secs(1))),
            ),
            (
                "rate limit",
                Box::new(move |m| m.rate_limit_reported(&report)),
            ),
            ("budget", Box::new(|m| m.budget_changed(150))),
            (
                "chunk size",
                Box::new(|m| m.chunk_size_changed(Endpoint::Observations, 50)),
            ),
            ("closed", Box::new(|m| m.closed(CloseReason::IdleTimeout))),
            ("up", Box::new(|m| m.set_up(true))),
            ("channels", Box::new(|m| m.set_notification_channels(2))),
            ("message", Box::new(|m| m.notification_message(KINDS[0]))),
            ("open connections", Box::new(|m| m.open_connections(3))),
        ];
        let m = SelfMetrics::new();
        for (what, change) in &changes {
            let before = without_process(&m.render());
            assert_eq!(before, without_process(&m.render()), "no change: {what}");
            change(&m);
            let after = without_process(&m.render());
            assert_ne!(before, after, "{what} does not show");
            assert_eq!(after, without_process(&m.render_uncached()), "{what}");
        }
    }
}
