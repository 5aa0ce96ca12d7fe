//! Simulator configuration: every knob, with the defaults of the API contract.
//!
//! Behaviours the API notes mark as INFERRED are knobs here (empty-result body,
//! `oLongestWaiting` as epoch or duration, expired-token error code, token error
//! status, service-level options), so clients can be tested against both readings.

use std::time::Duration;

use super::profile::TrafficProfile;
use super::variants::Variants;

/// Service-level calculation options of the simulated org (API notes §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlOptions {
    /// "Include Abandons": abandons count in the denominator.
    pub include_abandons: bool,
    /// "Include Short Abandons": short abandons count in the denominator.
    pub include_short_abandons: bool,
    /// "Include Flowouts": flow-outs count in the denominator.
    pub include_flowouts: bool,
    /// Abandons shorter than this (ms) are short abandons (`tShortAbandon`).
    pub short_abandon_threshold_ms: i64,
}

impl Default for SlOptions {
    fn default() -> Self {
        SlOptions {
            include_abandons: true,
            include_short_abandons: false,
            include_flowouts: false,
            short_abandon_threshold_ms: 10_000,
        }
    }
}

/// Body of an aggregate query that matched no data at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EmptyResults {
    /// `{}` (no `results` key), the likely real behaviour.
    #[default]
    Omitted,
    /// `{"results": []}`.
    EmptyArray,
}

/// How `oLongestWaiting`/`oLongestInteracting` report `calculatedMetricValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LongestMode {
    /// Epoch milliseconds of the oldest item (the reported live behaviour).
    #[default]
    #[value(name = "epoch")]
    EpochMs,
    /// Age of the oldest item in milliseconds.
    #[value(name = "duration")]
    DurationMs,
}

/// Error code for a bearer token that existed but has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ExpiredTokenCode {
    /// `bad.credentials` "Invalid login credentials."
    #[default]
    #[value(name = "bad.credentials")]
    BadCredentials,
    /// `credentials.expired`.
    #[value(name = "credentials.expired")]
    CredentialsExpired,
}

/// Everything the simulator can be told. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the org and its traffic; the same seed gives the same answers.
    pub seed: u64,
    /// Number of queues in the org.
    pub queues: usize,
    /// Client id of the demo OAuth client (all three permissions).
    pub client_id: String,
    /// Client secret of the demo OAuth client.
    pub client_secret: String,
    /// Requests per rolling 60 s allowed per token.
    pub rate_limit_per_minute: u32,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Share (0–1) of `/api/v2` calls answered with a random 500/502/503/504.
    pub fault_rate: f64,
    /// Extra delay before every response.
    pub latency: Duration,
    /// Longest aggregate `interval` accepted, in days.
    pub max_interval_days: u32,
    /// Most predicates (top level plus clauses) accepted in one query.
    pub max_predicates: usize,
    /// Largest `pageSize` accepted by `GET /api/v2/routing/queues`.
    pub max_page_size: u32,
    /// Most aggregate buckets one query may produce.
    pub max_buckets: usize,
    /// Body for an aggregate query without any data.
    pub empty_results: EmptyResults,
    /// Reading of `oLongestWaiting`/`oLongestInteracting`.
    pub longest_mode: LongestMode,
    /// Cap of `observations[]` per observation metric (then `truncated: true`).
    pub observation_detail_cap: usize,
    /// Error code for expired tokens.
    pub expired_token_code: ExpiredTokenCode,
    /// HTTP status of `invalid_client` token errors.
    pub token_error_status: u16,
    /// Org service-level options.
    pub sl_options: SlOptions,
    /// Multiplier on every arrival rate (1.0 = the built-in traffic).
    pub traffic_scale: f64,
    /// Daily arrival pattern.
    pub traffic_profile: TrafficProfile,
    /// Freeze the simulator's clock at this epoch-ms instant (`None` = wall clock).
    pub fixed_now_ms: Option<i64>,
    /// Further OAuth clients, each with its own permissions.
    pub extra_clients: Vec<SimClient>,
    /// Real-org variants (rejected metrics, bucket alignment, granularities,
    /// media settings, nextUri form, per-endpoint predicate limits).
    pub variants: Variants,
    /// Notifications API (channels, WebSocket, queue observation events).
    pub notify: NotifyConfig,
}

/// What each queue observation event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NotifyStyle {
    /// The group's full current state.
    #[default]
    Full,
    /// Only the metrics that changed since the previous event of the group.
    Changed,
}

/// Knobs of the simulated Notifications API (notifications notes §1–§4).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// Lifetime of a channel; re-subscribing extends it.
    pub channel_ttl: Duration,
    /// Interval of `channel.metadata` "WebSocket Heartbeat" messages.
    pub heartbeat_interval: Duration,
    /// Close every socket this long after it connected (`None` = never).
    pub close_after: Option<Duration>,
    /// Send `v2.system.socket_closing` this long before a scheduled close
    /// (`Duration::ZERO` = close without notice).
    pub closing_notice: Duration,
    /// Full state or only changed metrics per event.
    pub style: NotifyStyle,
    /// Share (0–1) of queue events silently lost.
    pub drop_rate: f64,
    /// Permission a queue observation topic needs. Genesys's is INFERRED to be
    /// the REST observations permission ([`DEFAULT_TOPIC_PERMISSION`]); another
    /// name models an org where a client may poll but not subscribe.
    pub topic_permission: String,
}

/// The permission queue observation topics need by default: the one the REST
/// observations query needs (notifications notes §2, INFERRED).
pub const DEFAULT_TOPIC_PERMISSION: &str = "analytics:queueObservation:view";

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            channel_ttl: Duration::from_secs(24 * 3600),
            heartbeat_interval: Duration::from_secs(30),
            close_after: None,
            closing_notice: Duration::from_secs(60),
            style: NotifyStyle::Full,
            drop_rate: 0.0,
            topic_permission: DEFAULT_TOPIC_PERMISSION.to_string(),
        }
    }
}

/// An OAuth client of the simulated org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimClient {
    /// Client id.
    pub id: String,
    /// Client secret.
    pub secret: String,
    /// Permissions granted (a subset of [`ALL_PERMISSIONS`]).
    pub permissions: Vec<String>,
}

impl std::str::FromStr for SimClient {
    type Err = String;

    /// Parses `ID:SECRET:PERMISSION,PERMISSION…` (an empty list means no permissions).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some(id), Some(secret), Some(perms)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{s:?} is not ID:SECRET:PERMISSIONS"));
        };
        if id.is_empty() || secret.is_empty() {
            return Err(format!("{s:?} needs a non-empty client id and secret"));
        }
        let permissions: Vec<String> = perms
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = permissions
            .iter()
            .find(|p| !ALL_PERMISSIONS.contains(&p.as_str()))
        {
            return Err(format!(
                "unknown permission {bad:?}; use {}",
                ALL_PERMISSIONS.join(", ")
            ));
        }
        Ok(SimClient {
            id: id.to_string(),
            secret: secret.to_string(),
            permissions,
        })
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            queues: 12,
            client_id: "demo-client".to_string(),
            client_secret: "demo-secret".to_string(),
            rate_limit_per_minute: 300,
            token_ttl: Duration::from_secs(24 * 3600),
            fault_rate: 0.0,
            latency: Duration::ZERO,
            max_interval_days: 31,
            max_predicates: 200,
            max_page_size: 500,
            max_buckets: 10_000,
            empty_results: EmptyResults::Omitted,
            longest_mode: LongestMode::EpochMs,
            observation_detail_cap: 100,
            expired_token_code: ExpiredTokenCode::BadCredentials,
            token_error_status: 401,
            sl_options: SlOptions::default(),
            traffic_scale: 1.0,
            traffic_profile: TrafficProfile::Office,
            fixed_now_ms: None,
            extra_clients: Vec::new(),
            variants: Variants::default(),
            notify: NotifyConfig::default(),
        }
    }
}

/// The three permissions the simulated endpoints check.
pub const ALL_PERMISSIONS: [&str; 3] = [
    "analytics:conversationAggregate:view",
    "analytics:queueObservation:view",
    "routing:queue:view",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Extra clients parse from ID:SECRET:PERMISSIONS, colons in permissions included.
    #[test]
    fn extra_client_syntax() {
        let c: SimClient = "ro:pw:routing:queue:view".parse().expect("valid");
        assert_eq!(c.permissions, vec!["routing:queue:view"]);
        let none: SimClient = "x:y:".parse().expect("valid");
        assert!(none.permissions.is_empty());
        assert!("x:y:admin:all".parse::<SimClient>().is_err());
        assert!("just-an-id".parse::<SimClient>().is_err());
    }
}
