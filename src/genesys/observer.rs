//! Instrumentation hooks: the client reports every HTTP attempt, retry and
//! throttling wait, the rate limit Genesys reports, its own budget and its
//! chunk sizes to an [`ApiObserver`], which the exporter turns into metrics.

use std::fmt;
use std::time::Duration;

use super::endpoint::Endpoint;

/// Why a request was sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// 429 Too Many Requests.
    RateLimited,
    /// 5xx.
    ServerError,
    /// The per-request timeout expired.
    Timeout,
    /// Connection or protocol failure.
    Transport,
    /// 401 from the API: re-authenticated once and retried.
    Unauthorized,
}

impl RetryReason {
    /// Every reason, for pre-initialising metric label sets.
    pub const ALL: [RetryReason; 5] = [
        RetryReason::RateLimited,
        RetryReason::ServerError,
        RetryReason::Timeout,
        RetryReason::Transport,
        RetryReason::Unauthorized,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::RateLimited => "rate_limited",
            RetryReason::ServerError => "server_error",
            RetryReason::Timeout => "timeout",
            RetryReason::Transport => "transport",
            RetryReason::Unauthorized => "unauthorized",
        }
    }
}

/// What Genesys said about its rate limit in a response's
/// `inin-ratelimit-allowed`, `-count` and `-reset` headers (each may be absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitReport {
    /// Requests the token may send per window (`inin-ratelimit-allowed`, ≥ 1).
    pub allowed: Option<u64>,
    /// Requests counted in the current window (`inin-ratelimit-count`).
    pub count: Option<u64>,
    /// Time until the window resets (`inin-ratelimit-reset`).
    pub reset: Option<Duration>,
}

/// The outcome of an attempt that was sent but whose caller stopped waiting
/// for it (a poll deadline, shutdown): the answer, if any, was never read.
pub const CANCELLED: &str = "cancelled";

/// Receives one call per HTTP attempt, retry and client-side throttling wait.
pub trait ApiObserver: Send + Sync + 'static {
    /// An HTTP attempt finished; `outcome` is the status code as text
    /// (`"200"`, `"429"`), `"timeout"` / `"error"` when no response arrived,
    /// or [`CANCELLED`] when the caller stopped waiting for it.
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, elapsed: Duration);
    /// The client is about to send a request again.
    fn retried(&self, endpoint: Endpoint, reason: RetryReason);
    /// The client's own rate limiter held a request back for `wait` to keep
    /// under `--api.requests-per-minute`.
    fn throttled(&self, endpoint: Endpoint, wait: Duration);
    /// A response carried `inin-ratelimit-*` headers.
    fn rate_limit_reported(&self, _report: &RateLimitReport) {}
    /// The client's budget of requests per rolling minute is now
    /// `requests_per_minute` (at start, and when Genesys's limit changes it).
    fn budget_changed(&self, _requests_per_minute: u32) {}
    /// Queries to `endpoint` now carry at most `size` queue ids (at start,
    /// and whenever a predicate limit halves it).
    fn chunk_size_changed(&self, _endpoint: Endpoint, _size: usize) {}
}

/// Reports one HTTP attempt exactly once: with its outcome through
/// [`AttemptRecord::finish`], or as [`CANCELLED`] if it is dropped first
/// (the future sending it was abandoned mid-flight).
pub struct AttemptRecord<'a> {
    observer: &'a dyn ApiObserver,
    endpoint: Endpoint,
    started: std::time::Instant,
    open: bool,
}

impl fmt::Debug for AttemptRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptRecord")
            .field("endpoint", &self.endpoint)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl<'a> AttemptRecord<'a> {
    /// Starts timing an attempt about to be sent.
    pub fn start(observer: &'a dyn ApiObserver, endpoint: Endpoint) -> Self {
        AttemptRecord {
            observer,
            endpoint,
            started: std::time::Instant::now(),
            open: true,
        }
    }

    /// Reports the attempt's outcome; returns how long it took.
    pub fn finish(mut self, outcome: &str) -> Duration {
        self.open = false;
        let elapsed = self.started.elapsed();
        self.observer
            .request_finished(self.endpoint, outcome, elapsed);
        elapsed
    }
}

impl Drop for AttemptRecord<'_> {
    fn drop(&mut self) {
        if self.open {
            self.observer
                .request_finished(self.endpoint, CANCELLED, self.started.elapsed());
        }
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl ApiObserver for NoopObserver {
    fn request_finished(&self, _: Endpoint, _: &str, _: Duration) {}
    fn retried(&self, _: Endpoint, _: RetryReason) {}
    fn throttled(&self, _: Endpoint, _: Duration) {}
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Collects reported outcomes.
    #[derive(Default)]
    struct Outcomes(Mutex<Vec<String>>);

    impl ApiObserver for Outcomes {
        fn request_finished(&self, _: Endpoint, outcome: &str, _: Duration) {
            self.0.lock().expect("lock").push(outcome.to_string());
        }
        fn retried(&self, _: Endpoint, _: RetryReason) {}
        fn throttled(&self, _: Endpoint, _: Duration) {}
    }

    /// An attempt is reported once: with its outcome when finished, as
    /// cancelled when abandoned.
    #[test]
    fn attempt_reported_once() {
        let outcomes = Outcomes::default();
        AttemptRecord::start(&outcomes, Endpoint::Aggregates).finish("429");
        drop(AttemptRecord::start(&outcomes, Endpoint::Aggregates));
        assert_eq!(*outcomes.0.lock().expect("lock"), ["429", CANCELLED]);
    }

    /// Retry reasons are the agreed metric label strings.
    #[test]
    fn label_values() {
        let reasons: Vec<_> = RetryReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "rate_limited",
                "server_error",
                "timeout",
                "transport",
                "unauthorized"
            ]
        );
    }
}
