//! The metric catalogue: every family the exporter serves, declared once with
//! its name, type, label names and HELP, and for the window families the KPI
//! total it reads. The renderers and the self-metrics registry build their
//! output from these entries only; `prometheus/exported-metrics.txt` lists the
//! same families and a test keeps the two equal.
//!
//! Process metrics (`process_*`, the client conventions' names and HELP) are
//! declared by their collector, `process_metrics`.

use crate::kpi::Totals;

/// A family's metric type, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing count.
    Counter,
    /// Bucketed observations (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl MetricType {
    /// The word of the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Metric name.
    pub name: &'static str,
    /// Metric type.
    pub kind: MetricType,
    /// Label names, in the order values are given when rendering or recording.
    pub labels: &'static [&'static str],
    /// HELP text.
    pub help: &'static str,
}

const fn gauge(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Family {
    Family {
        name,
        kind: MetricType::Gauge,
        labels,
        help,
    }
}

const fn counter(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> Family {
    Family {
        name,
        kind: MetricType::Counter,
        labels,
        help,
    }
}

/// One window gauge family and how its value is read from the KPI totals of
/// one queue × media type × window.
#[derive(Debug)]
pub struct WindowFamily {
    /// The family.
    pub family: Family,
    /// The value; `None` leaves the series out.
    pub value: fn(&Totals) -> Option<f64>,
}

/// Labels of every window gauge, in the order the renderer gives values.
pub const WINDOW_LABELS: &[&str] = &["queue", "media_type", "window"];

macro_rules! window_family {
    ($name:literal, |$t:ident| $value:expr, $help:literal) => {
        WindowFamily {
            family: gauge(
                $name,
                WINDOW_LABELS,
                concat!(
                    $help,
                    " over the window; cached, recomputed once per aggregates poll."
                ),
            ),
            value: |$t| Some($value),
        }
    };
}

/// Every window gauge family (labels [`WINDOW_LABELS`]).
pub const WINDOW_FAMILIES: [WindowFamily; 21] = [
    window_family!("genesys_queue_offered", |t| t.offered as f64, "Interactions offered to the queue (Genesys nOffered count)"),
    window_family!("genesys_queue_answered", |t| t.answered.count as f64, "Interactions answered (Genesys tAnswered count)"),
    window_family!("genesys_queue_abandoned", |t| t.abandoned.count as f64, "Interactions abandoned in queue (Genesys tAbandon count)"),
    window_family!(
        "genesys_queue_short_abandoned",
        |t| t.short_abandoned.count as f64,
        "Interactions abandoned within the short-abandon threshold (Genesys tShortAbandon count)"
    ),
    window_family!(
        "genesys_queue_flowouts",
        |t| t.flowouts.count as f64,
        "Interactions that flowed out of the queue unanswered (Genesys tFlowOut count)"
    ),
    window_family!("genesys_queue_transferred", |t| t.transferred as f64, "Interactions transferred (Genesys nTransferred count)"),
    window_family!("genesys_queue_handled", |t| t.handled.count as f64, "Interactions handled (Genesys tHandle count)"),
    window_family!(
        "genesys_queue_answer_time_seconds",
        |t| t.answered.sum_seconds(),
        "Total time to answer in seconds (Genesys tAnswered sum; ASA = this / genesys_queue_answered)"
    ),
    window_family!(
        "genesys_queue_handle_time_seconds",
        |t| t.handled.sum_seconds(),
        "Total handle time in seconds (Genesys tHandle sum; AHT = this / genesys_queue_handled)"
    ),
    window_family!(
        "genesys_queue_wait_time_seconds",
        |t| t.wait.sum_seconds(),
        "Total time waited in queue in seconds (Genesys tWait sum)"
    ),
    window_family!("genesys_queue_waited", |t| t.wait.count as f64, "Interactions whose wait ended (Genesys tWait count)"),
    window_family!(
        "genesys_queue_talk_time_seconds",
        |t| t.talk.sum_seconds(),
        "Total talk time in seconds (Genesys tTalkComplete sum)"
    ),
    window_family!("genesys_queue_talked", |t| t.talk.count as f64, "Interactions whose talk completed (Genesys tTalkComplete count)"),
    window_family!(
        "genesys_queue_hold_time_seconds",
        |t| t.hold.sum_seconds(),
        "Total hold time in seconds (Genesys tHeldComplete sum)"
    ),
    window_family!("genesys_queue_held", |t| t.hold.count as f64, "Interactions whose hold completed (Genesys tHeldComplete count)"),
    window_family!(
        "genesys_queue_acw_time_seconds",
        |t| t.acw.sum_seconds(),
        "Total after-call work in seconds (Genesys tAcw sum)"
    ),
    window_family!(
        "genesys_queue_wrapped_up",
        |t| t.acw.count as f64,
        "Interactions whose after-call work completed (Genesys tAcw count)"
    ),
    window_family!(
        "genesys_queue_service_level_met",
        |t| t.sl_numerator,
        "Interactions answered within the service-level threshold (Genesys oServiceLevel numerator)"
    ),
    window_family!(
        "genesys_queue_service_level_eligible",
        |t| t.sl_denominator,
        "Interactions counted by the service level (Genesys oServiceLevel denominator)"
    ),
    WindowFamily {
        family: gauge(
            "genesys_queue_abandon_ratio",
            WINDOW_LABELS,
            "Abandoned / offered, 0-1 (Genesys tAbandon count / nOffered count) over the window; \
             absent when nothing was offered; cached, recomputed once per aggregates poll.",
        ),
        value: Totals::abandon_ratio,
    },
    WindowFamily {
        family: gauge(
            "genesys_queue_service_level_ratio",
            WINDOW_LABELS,
            "Service level, 0-1 (Genesys oServiceLevel numerator / denominator) over the window; \
             absent when nothing was eligible; cached, recomputed once per aggregates poll.",
        ),
        value: Totals::service_level_ratio,
    },
];

/// `genesys_window_start_timestamp_seconds`.
pub const WINDOW_START: Family = gauge(
    "genesys_window_start_timestamp_seconds",
    &["window"],
    "Start (inclusive) of the window the queue window gauges cover, Unix seconds; cached per aggregates poll.",
);
/// `genesys_window_end_timestamp_seconds`.
pub const WINDOW_END: Family = gauge(
    "genesys_window_end_timestamp_seconds",
    &["window"],
    "End (exclusive) of the window the queue window gauges cover, Unix seconds; cached per aggregates poll.",
);

/// `genesys_queue_info`.
pub const QUEUE_INFO: Family = gauge(
    "genesys_queue_info",
    &["division", "queue", "queue_id"],
    "Exported queue (Genesys routing queue id and division), always 1; cached per queue-list poll.",
);
/// `genesys_queue_members`.
pub const QUEUE_MEMBERS: Family = gauge(
    "genesys_queue_members",
    &["queue"],
    "Queue members (Genesys routing queue memberCount); cached per queue-list poll.",
);
/// `genesys_queue_service_level_target_ratio`.
pub const SL_TARGET: Family = gauge(
    "genesys_queue_service_level_target_ratio",
    &["media_type", "queue"],
    "Configured service-level target, 0-1 (Genesys queue mediaSettings serviceLevel.percentage); cached per queue-list poll.",
);
/// `genesys_queue_service_level_threshold_seconds`.
pub const SL_THRESHOLD: Family = gauge(
    "genesys_queue_service_level_threshold_seconds",
    &["media_type", "queue"],
    "Configured service-level threshold in seconds (Genesys queue mediaSettings serviceLevel.durationMs); cached per queue-list poll.",
);

/// `genesys_queue_agents`.
pub const AGENTS: Family = gauge(
    "genesys_queue_agents",
    &["queue", "status"],
    "On-queue agents by routing status (Genesys observation oOnQueueUsers); cached per observations poll.",
);
/// `genesys_queue_alerting`.
pub const ALERTING: Family = gauge(
    "genesys_queue_alerting",
    &["media_type", "queue"],
    "Interactions alerting at agents now (Genesys observation oAlerting); cached per observations poll.",
);
/// `genesys_queue_interacting`.
pub const INTERACTING: Family = gauge(
    "genesys_queue_interacting",
    &["media_type", "queue"],
    "Interactions connected to agents now (Genesys observation oInteracting); cached per observations poll.",
);
/// `genesys_queue_longest_waiting_seconds`.
pub const LONGEST_WAITING: Family = gauge(
    "genesys_queue_longest_waiting_seconds",
    &["media_type", "queue"],
    "Wait of the longest-waiting interaction in seconds (Genesys observation \
     oLongestWaiting), 0 when none waits; cached per observations poll.",
);
/// `genesys_queue_waiting`.
pub const WAITING: Family = gauge(
    "genesys_queue_waiting",
    &["media_type", "queue"],
    "Interactions waiting in queue now (Genesys observation oWaiting); cached per observations poll.",
);

/// `genesys_up`.
pub const UP: Family = gauge(
    "genesys_up",
    &[],
    "1 when every enabled poll of the Genesys API succeeded recently enough that its data is \
     fresh (see --max-staleness), else 0.",
);
/// `genesys_exporter_last_success_timestamp_seconds`.
pub const LAST_SUCCESS: Family = gauge(
    "genesys_exporter_last_success_timestamp_seconds",
    &["poll"],
    "Unix time of the last successful poll of each kind.",
);
/// `genesys_exporter_poll_duration_seconds`.
pub const POLL_DURATION: Family = gauge(
    "genesys_exporter_poll_duration_seconds",
    &["poll"],
    "Duration of the last poll of each kind, successful or not.",
);
/// `genesys_exporter_poll_failures_total`; `kind` is one of `PollError::kinds()`.
pub const POLL_FAILURES: Family = counter(
    "genesys_exporter_poll_failures_total",
    &["poll", "kind"],
    "Polls that failed, by poll and kind of failure: config, auth, permission, refused, \
     rate_limited, budget, server, transport, timeout, decode, too_large, paging, internal, \
     or deadline (the poll was cancelled at its deadline).",
);
/// `genesys_exporter_api_requests_total`.
pub const API_REQUESTS: Family = counter(
    "genesys_exporter_api_requests_total",
    &["endpoint", "code"],
    "Genesys API requests sent, by endpoint and HTTP status code (or timeout/error without a response, cancelled when abandoned at a poll deadline).",
);
/// `genesys_exporter_api_request_duration_seconds`.
pub const API_DURATION: Family = Family {
    name: "genesys_exporter_api_request_duration_seconds",
    kind: MetricType::Histogram,
    labels: &["endpoint"],
    help: "Duration of Genesys API requests, by endpoint.",
};
/// Buckets of [`API_DURATION`].
pub const API_DURATION_BUCKETS: [f64; 10] =
    [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// `genesys_exporter_api_retries_total`.
pub const API_RETRIES: Family = counter(
    "genesys_exporter_api_retries_total",
    &["endpoint", "reason"],
    "Genesys API requests retried, by endpoint and reason.",
);
/// `genesys_exporter_api_throttled_total`.
pub const API_THROTTLED: Family = counter(
    "genesys_exporter_api_throttled_total",
    &["endpoint"],
    "Times the exporter's own rate limiter (--api.requests-per-minute) held a Genesys API request back; HTTP 429 answers are counted in genesys_exporter_api_requests_total{code=\"429\"}.",
);
/// `genesys_exporter_api_request_budget`.
pub const API_BUDGET: Family = gauge(
    "genesys_exporter_api_request_budget",
    &[],
    "Genesys API requests the exporter allows itself per rolling minute: --api.requests-per-minute, \
     or 90% of genesys_api_rate_limit_allowed when Genesys allows fewer.",
);
/// `genesys_exporter_api_chunk_size`.
pub const API_CHUNK_SIZE: Family = gauge(
    "genesys_exporter_api_chunk_size",
    &["endpoint"],
    "Most queue ids one query to the endpoint carries: --api.chunk-size for aggregates, 200 for \
     observations, each halved for the process lifetime by every 400 naming a predicate limit.",
);
/// `genesys_api_rate_limit_allowed`.
pub const RATE_LIMIT_ALLOWED: Family = gauge(
    "genesys_api_rate_limit_allowed",
    &[],
    "Requests per window Genesys allows the exporter's token (inin-ratelimit-allowed header of \
     the last API response that carried it); cached, absent until such a response.",
);
/// `genesys_api_rate_limit_used`.
pub const RATE_LIMIT_USED: Family = gauge(
    "genesys_api_rate_limit_used",
    &[],
    "Requests Genesys counted in the token's current window (inin-ratelimit-count header of the \
     last API response that carried it); cached, absent until such a response.",
);
/// `genesys_api_rate_limit_reset_seconds`.
pub const RATE_LIMIT_RESET: Family = gauge(
    "genesys_api_rate_limit_reset_seconds",
    &[],
    "Seconds until Genesys resets the token's rate-limit window (inin-ratelimit-reset header of \
     the last API response that carried it); cached, absent until such a response.",
);
/// `genesys_exporter_bad_api_values_total`; `reason` is one of `BadValue::ALL`.
pub const BAD_API_VALUES: Family = counter(
    "genesys_exporter_bad_api_values_total",
    &["poll", "reason"],
    "Queue x media type groups of Genesys API answers whose values cannot be served, by poll and \
     reason: negative, non_finite or overflow; the series of such a group are left out until its \
     data is good again.",
);
/// `genesys_exporter_queues`.
pub const QUEUES: Family = gauge(
    "genesys_exporter_queues",
    &[],
    "Queues exported (after --queues.* filters), from the last queue-list poll.",
);
/// `genesys_exporter_http_connections_closed_total`; `reason` is one of `CloseReason::ALL`.
pub const HTTP_CONNECTIONS_CLOSED: Family = counter(
    "genesys_exporter_http_connections_closed_total",
    &["reason"],
    "HTTP connections the exporter closed early, by reason: header_timeout (no complete request head within --web.read-header-timeout), idle_timeout (nothing sent or received for --web.idle-timeout), max_connections (idle longest when --web.max-connections was reached).",
);
/// `genesys_exporter_http_connections_open`.
pub const HTTP_CONNECTIONS_OPEN: Family = gauge(
    "genesys_exporter_http_connections_open",
    &[],
    "HTTP connections open now (at most --web.max-connections per listen address).",
);
/// `genesys_exporter_unsupported_metric`.
pub const UNSUPPORTED_METRIC: Family = gauge(
    "genesys_exporter_unsupported_metric",
    &["query", "metric"],
    "1 when the org refused this metric (HTTP 400 invalid.value) and the exporter stopped asking \
     for it in this kind of query (aggregates or observations) for the process lifetime, else 0.",
);
/// `genesys_exporter_granularity_fallbacks_total`.
pub const GRANULARITY_FALLBACKS: Family = counter(
    "genesys_exporter_granularity_fallbacks_total",
    &[],
    "Window groups whose shared aggregates query came back with buckets it did not plan, or \
     whose granularity was refused, and that are since queried one window at a time without \
     granularity.",
);
/// `genesys_exporter_poll_interval_seconds`.
pub const POLL_INTERVAL: Family = gauge(
    "genesys_exporter_poll_interval_seconds",
    &["poll"],
    "Interval in force between the starts of two polls of each kind that runs: the --poll.* \
     interval, or longer when the budget plan stretched it to fit the API request budget.",
);
/// `genesys_exporter_api_requests_planned_per_minute`.
pub const API_PLANNED: Family = gauge(
    "genesys_exporter_api_requests_planned_per_minute",
    &["poll"],
    "Genesys API requests per minute the budget plan expects each poll kind to send at the \
     interval in force; their sum stays within genesys_exporter_api_request_budget when the \
     plan fits.",
);
/// `genesys_exporter_aggregates_fallbacks_total`.
pub const AGGREGATES_FALLBACKS: Family = counter(
    "genesys_exporter_aggregates_fallbacks_total",
    &[],
    "Org-wide aggregates queries the org refused (HTTP 400, or an answer over \
     --api.max-response-bytes) and that were asked again in chunks of queue ids; queries stay \
     chunked until the next queue-list refresh.",
);
/// `genesys_exporter_realtime_source`.
pub const REALTIME_SOURCE: Family = gauge(
    "genesys_exporter_realtime_source",
    &["source"],
    "Where the real-time gauges come from now: 1 for the active source (push: the \
     Notifications API WebSocket; poll: observations polled), 0 for the other; both 0 when \
     real-time gauges are off.",
);
/// `genesys_exporter_notification_channels`.
pub const NOTIFICATION_CHANNELS: Family = gauge(
    "genesys_exporter_notification_channels",
    &[],
    "Notification channels with a live WebSocket (one per 1,000 exported queues while push \
     works).",
);
/// `genesys_exporter_notification_messages_total`.
pub const NOTIFICATION_MESSAGES: Family = counter(
    "genesys_exporter_notification_messages_total",
    &["kind"],
    "Messages received on notification WebSockets by kind: event (queue observations), \
     heartbeat (heartbeats and pongs), system (socket_closing, subscription replies and other \
     system topics), malformed (counted and skipped).",
);
/// `genesys_exporter_notification_reconnects_total`.
pub const NOTIFICATION_RECONNECTS: Family = counter(
    "genesys_exporter_notification_reconnects_total",
    &["reason"],
    "Notification channels replaced by a new one, by reason: socket_closing (notice from \
     Genesys), channel_gone (404: expired or evicted), expiry (near its expiry time), silence \
     (nothing received for --realtime.heartbeat-timeout), socket_error (the socket failed or \
     closed).",
);
/// `genesys_exporter_notification_last_message_timestamp_seconds`.
pub const NOTIFICATION_LAST_MESSAGE: Family = gauge(
    "genesys_exporter_notification_last_message_timestamp_seconds",
    &[],
    "Unix time of the last message received on any notification WebSocket; 0 until the first \
     one.",
);
/// `genesys_exporter_build_info`.
pub const BUILD_INFO: Family = gauge(
    "genesys_exporter_build_info",
    &["version", "revision", "rustc"],
    "Build information of the exporter, always 1.",
);

/// The queue families of the three rendered parts (window bounds and window
/// gauges, queue settings, real time) — everything but the self-metrics.
pub fn queue_families() -> impl Iterator<Item = &'static Family> {
    [&WINDOW_START, &WINDOW_END]
        .into_iter()
        .chain(WINDOW_FAMILIES.iter().map(|f| &f.family))
        .chain([&QUEUE_INFO, &QUEUE_MEMBERS, &SL_TARGET, &SL_THRESHOLD])
        .chain([&AGENTS, &ALERTING, &INTERACTING, &LONGEST_WAITING, &WAITING])
}

/// The self-metric families, rendered per scrape.
pub const SELF_FAMILIES: [&Family; 28] = [
    &UP,
    &LAST_SUCCESS,
    &POLL_DURATION,
    &POLL_FAILURES,
    &API_REQUESTS,
    &API_DURATION,
    &API_RETRIES,
    &API_THROTTLED,
    &API_BUDGET,
    &API_CHUNK_SIZE,
    &RATE_LIMIT_ALLOWED,
    &RATE_LIMIT_USED,
    &RATE_LIMIT_RESET,
    &BAD_API_VALUES,
    &QUEUES,
    &HTTP_CONNECTIONS_CLOSED,
    &HTTP_CONNECTIONS_OPEN,
    &BUILD_INFO,
    &UNSUPPORTED_METRIC,
    &GRANULARITY_FALLBACKS,
    &POLL_INTERVAL,
    &API_PLANNED,
    &AGGREGATES_FALLBACKS,
    &REALTIME_SOURCE,
    &NOTIFICATION_CHANNELS,
    &NOTIFICATION_MESSAGES,
    &NOTIFICATION_RECONNECTS,
    &NOTIFICATION_LAST_MESSAGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every declared family has a distinct, valid name, distinct label names
    /// and a HELP that is non-empty.
    #[test]
    fn catalogue_is_well_formed() {
        let all: Vec<&Family> = queue_families().chain(SELF_FAMILIES).collect();
        let mut names = HashSet::new();
        for f in &all {
            assert!(names.insert(f.name), "{} declared twice", f.name);
            assert!(f.name.starts_with("genesys_"), "{}", f.name);
            assert!(
                f.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                f.name
            );
            // promtool's lint: only histograms and summaries end so.
            assert!(
                f.kind == MetricType::Histogram
                    || !["_count", "_sum", "_bucket"]
                        .iter()
                        .any(|s| f.name.ends_with(s)),
                "{}",
                f.name
            );
            let labels: HashSet<_> = f.labels.iter().collect();
            assert_eq!(labels.len(), f.labels.len(), "{}", f.name);
            assert!(!f.help.is_empty(), "{}", f.name);
            assert_eq!(
                f.kind == MetricType::Counter,
                f.name.ends_with("_total"),
                "{}",
                f.name
            );
        }
        assert_eq!(all.len(), 2 + 21 + 4 + 5 + SELF_FAMILIES.len());
    }

    /// The window families read the right totals: counts, sums in seconds,
    /// and ratios absent without a denominator.
    #[test]
    fn window_values_come_from_totals() {
        let mut t = Totals {
            offered: 4,
            ..Totals::default()
        };
        t.abandoned.count = 1;
        t.wait.sum_ms = 10_000.0;
        t.wait.count = 4;
        let value = |name: &str, t: &Totals| {
            let f = WINDOW_FAMILIES
                .iter()
                .find(|f| f.family.name == name)
                .expect("declared");
            (f.value)(t)
        };
        assert_eq!(value("genesys_queue_offered", &t), Some(4.0));
        assert_eq!(value("genesys_queue_wait_time_seconds", &t), Some(10.0));
        assert_eq!(value("genesys_queue_waited", &t), Some(4.0));
        assert_eq!(value("genesys_queue_abandon_ratio", &t), Some(0.25));
        assert_eq!(value("genesys_queue_service_level_ratio", &t), None);
        let empty = Totals::default();
        assert_eq!(value("genesys_queue_abandon_ratio", &empty), None);
        assert_eq!(value("genesys_queue_offered", &empty), Some(0.0));
    }
}
