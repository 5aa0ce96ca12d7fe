//! The API catalogue: the Genesys endpoints the client calls, with their
//! metric label, request path and required permission.

use std::fmt;

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
    /// `/api/v2/notifications/channels…` (channels and their subscriptions).
    Notifications,
}

impl Endpoint {
    /// Every endpoint, for pre-initialising metric label sets.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Token,
        Endpoint::Queues,
        Endpoint::Aggregates,
        Endpoint::Observations,
        Endpoint::Notifications,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "oauth_token",
            Endpoint::Queues => "routing_queues",
            Endpoint::Aggregates => "conversation_aggregates",
            Endpoint::Observations => "queue_observations",
            Endpoint::Notifications => "notification_channels",
        }
    }

    /// The request path (relative to the login host for the token endpoint).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Token => "/oauth/token",
            Endpoint::Queues => "/api/v2/routing/queues",
            Endpoint::Aggregates => "/api/v2/analytics/conversations/aggregates/query",
            Endpoint::Observations => "/api/v2/analytics/queues/observations/query",
            Endpoint::Notifications => "/api/v2/notifications/channels",
        }
    }

    /// The permission Genesys requires for the endpoint (none for the token;
    /// for channels none either: the topics subscribed are checked instead).
    pub fn permission(self) -> Option<&'static str> {
        match self {
            Endpoint::Token | Endpoint::Notifications => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Label values, paths and permissions are the agreed strings.
    #[test]
    fn catalogue() {
        let labels: Vec<_> = Endpoint::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            labels,
            [
                "oauth_token",
                "routing_queues",
                "conversation_aggregates",
                "queue_observations",
                "notification_channels"
            ]
        );
        assert_eq!(
            Endpoint::Observations.permission(),
            Some("analytics:queueObservation:view")
        );
        assert_eq!(Endpoint::Token.permission(), None);
        assert_eq!(Endpoint::Queues.path(), "/api/v2/routing/queues");
    }
}
