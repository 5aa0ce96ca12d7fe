//! Instrumentation hooks: the client reports every HTTP attempt, retry and
//! throttling wait to an [`ApiObserver`], which the exporter turns into metrics.

use std::fmt;
use std::time::Duration;

/// The Genesys endpoints the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /oauth/token` on the login host.
    Token,
    /// `GET /api/v2/routing/queues`.
    Queues,
    /// `POST /api/v2/analytics/conversations/aggregates/query`.
    Aggregates,
    /// `POST /api/v2/analytics/queues/observations/query`.
    Observations,
}

impl Endpoint {
    /// Every endpoint, for pre-initialising metric label sets.
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Token,
        Endpoint::Queues,
        Endpoint::Aggregates,
        Endpoint::Observations,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "oauth_token",
            Endpoint::Queues => "routing_queues",
            Endpoint::Aggregates => "conversation_aggregates",
            Endpoint::Observations => "queue_observations",
        }
    }

    /// The request path (relative to the login host for the token endpoint).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Token => "/oauth/token",
            Endpoint::Queues => "/api/v2/routing/queues",
            Endpoint::Aggregates => "/api/v2/analytics/conversations/aggregates/query",
            Endpoint::Observations => "/api/v2/analytics/queues/observations/query",
        }
    }

    /// The permission Genesys requires for the endpoint (none for the token).
    pub fn permission(self) -> Option<&'static str> {
        match self {
            Endpoint::Token => None,
            Endpoint::Queues => Some("routing:queue:view"),
            Endpoint::Aggregates => Some("analytics:conversationAggregate:view"),
            Endpoint::Observations => Some("analytics:queueObservation:view"),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Receives one call per HTTP attempt, retry and client-side throttling wait.
pub trait ApiObserver: Send + Sync + 'static {
    /// An HTTP attempt finished; `outcome` is the status code as text
    /// (`"200"`, `"429"`), or `"timeout"` / `"error"` when no response arrived.
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, elapsed: Duration);
    /// The client is about to send a request again.
    fn retried(&self, endpoint: Endpoint, reason: RetryReason);
    /// The client's own rate limiter held a request back for `wait` to keep
    /// under `--api.requests-per-minute`.
    fn throttled(&self, endpoint: Endpoint, wait: Duration);
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
    use super::*;

    /// Label values are the agreed metric label strings.
    #[test]
    fn label_values() {
        let labels: Vec<_> = Endpoint::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            labels,
            [
                "oauth_token",
                "routing_queues",
                "conversation_aggregates",
                "queue_observations"
            ]
        );
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
        assert_eq!(
            Endpoint::Observations.permission(),
            Some("analytics:queueObservation:view")
        );
    }
}
