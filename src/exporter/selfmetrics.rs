//! The exporter's own metrics: a long-lived registry rendered on every scrape
//! (it is small). It counts API requests, retries and throttling (as the
//! client's [`ApiObserver`]), poll outcomes, the exported queue count,
//! `genesys_up`, build information and process metrics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use super::bad_values::{BadGroup, BadValueCounter};
use super::families::{self, Family};
use super::poll_error::PollError;
use super::state::PollKind;
use crate::genesys::{ApiObserver, Endpoint, RetryReason};

/// Every self-metric, registered on one owned registry.
#[derive(Debug)]
pub struct SelfMetrics {
    registry: Registry,
    up: Gauge,
    last_success: GaugeVec,
    poll_duration: GaugeVec,
    poll_failures: IntCounterVec,
    api_requests: IntCounterVec,
    api_duration: HistogramVec,
    api_retries: IntCounterVec,
    api_throttled: IntCounterVec,
    bad_api_values: BadValueCounter,
    queues: IntGauge,
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
        let registry = Registry::new();
        let r = &registry;
        let gauge_vec = |f: &Family| register(r, GaugeVec::new(opts(f), f.labels));
        let counter_vec = |f: &Family| register(r, IntCounterVec::new(opts(f), f.labels));
        let metrics = SelfMetrics {
            up: register(r, Gauge::with_opts(opts(&families::UP))),
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
            bad_api_values: BadValueCounter::new(counter_vec(&families::BAD_API_VALUES)),
            queues: register(r, IntGauge::with_opts(opts(&families::QUEUES))),
            registry: registry.clone(),
        };
        gauge_vec(&families::BUILD_INFO)
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("GENESYS_EXPORTER_REVISION").unwrap_or("unknown"),
                option_env!("GENESYS_EXPORTER_RUSTC").unwrap_or("unknown"),
            ])
            .set(1.0);
        let process = prometheus::process_collector::ProcessCollector::for_self();
        registry
            .register(Box::new(process))
            .expect("process metrics do not clash with the catalogue");
        for poll in PollKind::ALL {
            for kind in PollError::kinds() {
                metrics
                    .poll_failures
                    .with_label_values(&[poll.as_str(), kind]);
            }
        }
        for endpoint in Endpoint::ALL {
            metrics
                .api_throttled
                .with_label_values(&[endpoint.as_str()]);
            for reason in RetryReason::ALL {
                metrics
                    .api_retries
                    .with_label_values(&[endpoint.as_str(), reason.as_str()]);
            }
        }
        metrics
    }

    /// Sets `genesys_up`.
    pub fn set_up(&self, up: bool) {
        self.up.set(if up { 1.0 } else { 0.0 });
    }

    /// Sets `genesys_exporter_queues`.
    pub fn set_queues(&self, n: usize) {
        self.queues.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts (and logs once) the groups of a poll's answer with bad values.
    pub fn bad_api_values(&self, poll: PollKind, groups: &[BadGroup]) {
        self.bad_api_values.record(poll, groups);
    }

    /// Records a finished poll; a failure is counted under its kind.
    pub fn poll_finished(
        &self,
        poll: PollKind,
        duration: Duration,
        result: Result<(), &PollError>,
    ) {
        let label = [poll.as_str()];
        self.poll_duration
            .with_label_values(&label)
            .set(duration.as_secs_f64());
        match result {
            Ok(()) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                self.last_success.with_label_values(&label).set(now);
            }
            Err(e) => self
                .poll_failures
                .with_label_values(&[poll.as_str(), e.kind()])
                .inc(),
        }
    }

    /// Renders the registry in text format 0.0.4.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding into a Vec does not fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        SelfMetrics::new()
    }
}

impl ApiObserver for SelfMetrics {
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, elapsed: Duration) {
        self.api_requests
            .with_label_values(&[endpoint.as_str(), outcome])
            .inc();
        self.api_duration
            .with_label_values(&[endpoint.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    fn retried(&self, endpoint: Endpoint, reason: RetryReason) {
        self.api_retries
            .with_label_values(&[endpoint.as_str(), reason.as_str()])
            .inc();
    }

    fn throttled(&self, endpoint: Endpoint, _wait: Duration) {
        self.api_throttled
            .with_label_values(&[endpoint.as_str()])
            .inc();
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
            "genesys_exporter_api_request_duration_seconds_bucket{endpoint=\"conversation_aggregates\",le=\"0.05\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("genesys_exporter_build_info{"));
        assert!(text.contains("process_resident_memory_bytes "));
    }
}
