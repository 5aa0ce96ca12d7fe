//! The exporter's own metrics: a long-lived registry rendered on every scrape
//! (it is small). It counts API requests, retries and throttling (as the
//! client's [`ApiObserver`]), poll outcomes, the exported queue count,
//! `genesys_up`, HTTP connections closed early (as the serve loop's
//! [`CloseObserver`]), build information and process metrics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use super::state::PollKind;
use crate::genesys::{ApiObserver, Endpoint, RetryReason};
use crate::web::serve::{CloseObserver, CloseReason};

/// Buckets of `genesys_exporter_api_request_duration_seconds`.
const DURATION_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

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
    queues: IntGauge,
    connections_closed: IntCounterVec,
    connections_open: IntGauge,
}

impl SelfMetrics {
    /// Creates and registers every self-metric, with zero-valued series for
    /// each known poll kind, endpoint and retry reason.
    pub fn new() -> SelfMetrics {
        let registry = Registry::new();
        let up = Gauge::new(
            "genesys_up",
            "1 when every enabled poll of the Genesys API succeeded recently enough that its data is \
             fresh (see --max-staleness), else 0.",
        )
        .expect("valid metric");
        let last_success = GaugeVec::new(
            Opts::new(
                "genesys_exporter_last_success_timestamp_seconds",
                "Unix time of the last successful poll of each kind.",
            ),
            &["poll"],
        )
        .expect("valid metric");
        let poll_duration = GaugeVec::new(
            Opts::new(
                "genesys_exporter_poll_duration_seconds",
                "Duration of the last poll of each kind, successful or not.",
            ),
            &["poll"],
        )
        .expect("valid metric");
        let poll_failures = IntCounterVec::new(
            Opts::new(
                "genesys_exporter_poll_failures_total",
                "Polls that failed, by kind.",
            ),
            &["poll"],
        )
        .expect("valid metric");
        let api_requests = IntCounterVec::new(
            Opts::new(
                "genesys_exporter_api_requests_total",
                "Genesys API requests sent, by endpoint and HTTP status code (or timeout/error without a response, cancelled when abandoned at a poll deadline).",
            ),
            &["endpoint", "code"],
        )
        .expect("valid metric");
        let api_duration = HistogramVec::new(
            HistogramOpts::new(
                "genesys_exporter_api_request_duration_seconds",
                "Duration of Genesys API requests, by endpoint.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("valid metric");
        let api_retries = IntCounterVec::new(
            Opts::new(
                "genesys_exporter_api_retries_total",
                "Genesys API requests retried, by endpoint and reason.",
            ),
            &["endpoint", "reason"],
        )
        .expect("valid metric");
        let api_throttled = IntCounterVec::new(
            Opts::new(
                "genesys_exporter_api_throttled_total",
                "Times the exporter's own rate limiter (--api.requests-per-minute) held a Genesys API request back; HTTP 429 answers are counted in genesys_exporter_api_requests_total{code=\"429\"}.",
            ),
            &["endpoint"],
        )
        .expect("valid metric");
        let queues = IntGauge::new(
            "genesys_exporter_queues",
            "Queues exported (after --queues.* filters), from the last queue-list poll.",
        )
        .expect("valid metric");
        let connections_closed = IntCounterVec::new(
            Opts::new(
                "genesys_exporter_http_connections_closed_total",
                "HTTP connections the exporter closed early, by reason: header_timeout (no complete request head within --web.read-header-timeout), idle_timeout (nothing sent or received for --web.idle-timeout), max_connections (idle longest when --web.max-connections was reached).",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let connections_open = IntGauge::new(
            "genesys_exporter_http_connections_open",
            "HTTP connections open now (at most --web.max-connections).",
        )
        .expect("valid metric");
        for reason in CloseReason::ALL {
            connections_closed.with_label_values(&[reason.as_str()]);
        }
        let build_info = GaugeVec::new(
            Opts::new(
                "genesys_exporter_build_info",
                "Build information of the exporter, always 1.",
            ),
            &["version", "revision", "rustc"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("GENESYS_EXPORTER_REVISION").unwrap_or("unknown"),
                option_env!("GENESYS_EXPORTER_RUSTC").unwrap_or("unknown"),
            ])
            .set(1.0);
        for kind in PollKind::ALL {
            poll_failures.with_label_values(&[kind.as_str()]);
        }
        for endpoint in Endpoint::ALL {
            api_throttled.with_label_values(&[endpoint.as_str()]);
            for reason in RetryReason::ALL {
                api_retries.with_label_values(&[endpoint.as_str(), reason.as_str()]);
            }
        }
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(up.clone()),
            Box::new(last_success.clone()),
            Box::new(poll_duration.clone()),
            Box::new(poll_failures.clone()),
            Box::new(api_requests.clone()),
            Box::new(api_duration.clone()),
            Box::new(api_retries.clone()),
            Box::new(api_throttled.clone()),
            Box::new(queues.clone()),
            Box::new(connections_closed.clone()),
            Box::new(connections_open.clone()),
            Box::new(build_info),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for c in collectors {
            registry.register(c).expect("distinct metric names");
        }
        SelfMetrics {
            registry,
            up,
            last_success,
            poll_duration,
            poll_failures,
            api_requests,
            api_duration,
            api_retries,
            api_throttled,
            queues,
            connections_closed,
            connections_open,
        }
    }

    /// Sets `genesys_up`.
    pub fn set_up(&self, up: bool) {
        self.up.set(if up { 1.0 } else { 0.0 });
    }

    /// Sets `genesys_exporter_queues`.
    pub fn set_queues(&self, n: usize) {
        self.queues.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Records a finished poll.
    pub fn poll_finished(&self, kind: PollKind, duration: Duration, ok: bool) {
        let poll = [kind.as_str()];
        self.poll_duration
            .with_label_values(&poll)
            .set(duration.as_secs_f64());
        if ok {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            self.last_success.with_label_values(&poll).set(now);
        } else {
            self.poll_failures.with_label_values(&poll).inc();
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

impl CloseObserver for SelfMetrics {
    fn closed(&self, reason: CloseReason) {
        self.connections_closed
            .with_label_values(&[reason.as_str()])
            .inc();
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
        m.poll_finished(PollKind::Aggregates, Duration::from_millis(1500), false);
        m.set_up(true);
        m.set_queues(12);
        let text = String::from_utf8(m.render()).expect("utf8");
        for line in [
            "genesys_exporter_api_requests_total{code=\"429\",endpoint=\"conversation_aggregates\"} 1",
            "genesys_exporter_api_retries_total{endpoint=\"conversation_aggregates\",reason=\"rate_limited\"} 1",
            "genesys_exporter_api_retries_total{endpoint=\"oauth_token\",reason=\"timeout\"} 0",
            "genesys_exporter_api_throttled_total{endpoint=\"conversation_aggregates\"} 1",
            "genesys_exporter_poll_failures_total{poll=\"aggregates\"} 1",
            "genesys_exporter_poll_duration_seconds{poll=\"aggregates\"} 1.5",
            "genesys_up 1",
            "genesys_exporter_queues 12",
            "genesys_exporter_http_connections_closed_total{reason=\"max_connections\"} 0",
            "genesys_exporter_http_connections_open 0",
            "genesys_exporter_api_request_duration_seconds_bucket{endpoint=\"conversation_aggregates\",le=\"0.05\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("genesys_exporter_build_info{"));
        assert!(text.contains("process_resident_memory_bytes "));
    }
}
