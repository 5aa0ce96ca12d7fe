//! The `genesys_exporter simulate` flags, each with an environment variable,
//! and the [`SimConfig`] they describe.

use std::time::Duration;

use super::config::{
    EmptyResults, ExpiredTokenCode, LongestMode, NotifyConfig, NotifyStyle, SimClient, SimConfig,
    SlOptions, DEFAULT_TOPIC_PERMISSION,
};
use super::profile::TrafficProfile;
use super::variants::VariantFlags;

/// `genesys_exporter simulate` flags (boxed, so the subcommand enum stays small).
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The flags themselves.
    #[command(flatten)]
    pub flags: Box<SimulateFlags>,
}

/// Every `genesys_exporter simulate` flag, each with an environment variable.
#[derive(Debug, clap::Args)]
pub struct SimulateFlags {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "GENESYS_SIMULATOR_LISTEN",
        default_value = "127.0.0.1:8089"
    )]
    pub listen: String,
    /// Seed of the org and its traffic.
    #[arg(long, env = "GENESYS_SIMULATOR_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of queues.
    #[arg(long, env = "GENESYS_SIMULATOR_QUEUES", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub queues: u32,
    /// Client id of the demo OAuth client.
    #[arg(
        long = "client-id",
        env = "GENESYS_SIMULATOR_CLIENT_ID",
        default_value = "demo-client"
    )]
    pub client_id: String,
    /// Client secret of the demo OAuth client.
    #[arg(
        long = "client-secret",
        env = "GENESYS_SIMULATOR_CLIENT_SECRET",
        default_value = "demo-secret",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// Requests per rolling minute per token before 429.
    #[arg(long = "rate-limit", env = "GENESYS_SIMULATOR_RATE_LIMIT", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// Lifetime of issued tokens (e.g. 24h, 15m).
    #[arg(long = "token-ttl", env = "GENESYS_SIMULATOR_TOKEN_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// Share (0..1) of API calls answered 500/502/503/504.
    #[arg(long = "fault-rate", env = "GENESYS_SIMULATOR_FAULT_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,
    /// Delay added to every response (e.g. 200ms).
    #[arg(long, env = "GENESYS_SIMULATOR_LATENCY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Longest aggregate interval accepted, in days.
    #[arg(long = "max-interval-days", env = "GENESYS_SIMULATOR_MAX_INTERVAL_DAYS", default_value_t = 31, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub max_interval_days: u32,
    /// Most filter predicates accepted per query.
    #[arg(
        long = "max-predicates",
        env = "GENESYS_SIMULATOR_MAX_PREDICATES",
        default_value_t = 200
    )]
    pub max_predicates: usize,
    /// Largest pageSize accepted by the queue list.
    #[arg(long = "max-page-size", env = "GENESYS_SIMULATOR_MAX_PAGE_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_page_size: u32,
    /// Body of an aggregate answer without data: "omitted" ({}) or "empty-array" ({"results": []}).
    #[arg(
        long = "empty-results",
        env = "GENESYS_SIMULATOR_EMPTY_RESULTS",
        value_enum,
        default_value = "omitted"
    )]
    pub empty_results: EmptyResults,
    /// oLongestWaiting/oLongestInteracting as "epoch" (epoch ms) or "duration" (age in ms).
    #[arg(
        long = "longest-waiting",
        env = "GENESYS_SIMULATOR_LONGEST_WAITING",
        value_enum,
        default_value = "epoch"
    )]
    pub longest_waiting: LongestMode,
    /// Error code for expired tokens: "bad.credentials" or "credentials.expired".
    #[arg(
        long = "expired-token-code",
        env = "GENESYS_SIMULATOR_EXPIRED_TOKEN_CODE",
        value_enum,
        default_value = "bad.credentials"
    )]
    pub expired_token_code: ExpiredTokenCode,
    /// HTTP status of invalid_client token errors.
    #[arg(long = "token-error-status", env = "GENESYS_SIMULATOR_TOKEN_ERROR_STATUS", default_value_t = 401, value_parser = clap::value_parser!(u16).range(400..=499))]
    pub token_error_status: u16,
    /// Service level counts abandons in its denominator.
    #[arg(long = "sl-include-abandons", env = "GENESYS_SIMULATOR_SL_INCLUDE_ABANDONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub sl_include_abandons: bool,
    /// Service level counts short abandons in its denominator.
    #[arg(long = "sl-include-short-abandons", env = "GENESYS_SIMULATOR_SL_INCLUDE_SHORT_ABANDONS", default_value_t = false, action = clap::ArgAction::Set)]
    pub sl_include_short_abandons: bool,
    /// Service level counts flow-outs in its denominator.
    #[arg(long = "sl-include-flowouts", env = "GENESYS_SIMULATOR_SL_INCLUDE_FLOWOUTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub sl_include_flowouts: bool,
    /// Abandons shorter than this are short abandons.
    #[arg(long = "short-abandon-threshold", env = "GENESYS_SIMULATOR_SHORT_ABANDON_THRESHOLD", default_value = "10s", value_parser = humantime::parse_duration)]
    pub short_abandon_threshold: Duration,
    /// Cap of observations[] per observation metric.
    #[arg(long = "observation-detail-cap", env = "GENESYS_SIMULATOR_OBSERVATION_DETAIL_CAP", default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..))]
    pub observation_detail_cap: u32,
    /// Multiplier on every arrival rate.
    #[arg(long = "traffic-scale", env = "GENESYS_SIMULATOR_TRAFFIC_SCALE", default_value_t = 1.0, value_parser = parse_scale)]
    pub traffic_scale: f64,
    /// Daily arrival pattern: "office" (UTC office hours, quiet nights and weekends) or "flat" (the weekday peak around the clock).
    #[arg(
        long = "traffic-profile",
        env = "GENESYS_SIMULATOR_TRAFFIC_PROFILE",
        value_enum,
        default_value = "office"
    )]
    pub traffic_profile: TrafficProfile,
    /// A further OAuth client, `ID:SECRET:PERMISSION,PERMISSION…` (repeatable; an
    /// empty permission list gives a client without permissions). In the
    /// environment variable, separate clients with `;`.
    #[arg(
        long = "extra-client",
        env = "GENESYS_SIMULATOR_EXTRA_CLIENTS",
        value_delimiter = ';'
    )]
    pub extra_clients: Vec<SimClient>,
    /// Freeze the clock at this instant (RFC 3339, e.g. 2025-03-12T10:15:00Z) instead of the wall clock.
    #[arg(long = "fixed-now", env = "GENESYS_SIMULATOR_FIXED_NOW", value_parser = parse_now)]
    pub fixed_now: Option<i64>,
    /// Lifetime of a notification channel (1s..7d); re-subscribing extends it.
    #[arg(long = "channel-ttl", env = "GENESYS_SIMULATOR_CHANNEL_TTL", default_value = "24h", value_parser = parse_channel_ttl)]
    pub channel_ttl: Duration,
    /// Interval of WebSocket heartbeats (100ms..1h).
    #[arg(long = "heartbeat-interval", env = "GENESYS_SIMULATOR_HEARTBEAT_INTERVAL", default_value = "30s", value_parser = parse_heartbeat)]
    pub heartbeat_interval: Duration,
    /// Close every notification socket this long after it connected (0s = never; at most 7d).
    #[arg(long = "notify-close-after", env = "GENESYS_SIMULATOR_NOTIFY_CLOSE_AFTER", default_value = "0s", value_parser = parse_close_after)]
    pub notify_close_after: Duration,
    /// Send v2.system.socket_closing this long before a scheduled close (0s = close without notice; at most 1h).
    #[arg(long = "notify-closing-notice", env = "GENESYS_SIMULATOR_NOTIFY_CLOSING_NOTICE", default_value = "60s", value_parser = parse_closing_notice)]
    pub notify_closing_notice: Duration,
    /// Queue observation events carry the group's "full" state or only the "changed" metrics.
    #[arg(
        long = "notify-style",
        env = "GENESYS_SIMULATOR_NOTIFY_STYLE",
        value_enum,
        default_value = "full"
    )]
    pub notify_style: NotifyStyle,
    /// Share (0..1) of queue observation events silently lost.
    #[arg(long = "notify-drop-rate", env = "GENESYS_SIMULATOR_NOTIFY_DROP_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub notify_drop_rate: f64,
    /// Permission queue observation topics need (`domain:entity:action`); another
    /// than the REST observations permission lets a client poll but not subscribe.
    #[arg(long = "topic-permission", env = "GENESYS_SIMULATOR_TOPIC_PERMISSION", default_value = DEFAULT_TOPIC_PERMISSION, value_parser = parse_permission)]
    pub topic_permission: String,
    /// The ways a real org may answer differently (`--preset real-org` and its parts).
    #[command(flatten)]
    pub variants: VariantFlags,
}

impl SimulateFlags {
    /// The configuration these flags describe.
    pub fn to_config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            queues: self.queues as usize,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            rate_limit_per_minute: self.rate_limit,
            token_ttl: self.token_ttl,
            fault_rate: self.fault_rate,
            latency: self.latency,
            max_interval_days: self.max_interval_days,
            max_predicates: self.max_predicates,
            max_page_size: self.max_page_size,
            empty_results: self.empty_results,
            longest_mode: self.longest_waiting,
            expired_token_code: self.expired_token_code,
            token_error_status: self.token_error_status,
            sl_options: SlOptions {
                include_abandons: self.sl_include_abandons,
                include_short_abandons: self.sl_include_short_abandons,
                include_flowouts: self.sl_include_flowouts,
                short_abandon_threshold_ms: self.short_abandon_threshold.as_millis() as i64,
            },
            observation_detail_cap: self.observation_detail_cap as usize,
            traffic_scale: self.traffic_scale,
            traffic_profile: self.traffic_profile,
            fixed_now_ms: self.fixed_now,
            extra_clients: self.extra_clients.clone(),
            variants: self.variants.resolve(),
            notify: NotifyConfig {
                channel_ttl: self.channel_ttl,
                heartbeat_interval: self.heartbeat_interval,
                close_after: (!self.notify_close_after.is_zero())
                    .then_some(self.notify_close_after),
                closing_notice: self.notify_closing_notice,
                style: self.notify_style,
                drop_rate: self.notify_drop_rate,
                topic_permission: self.topic_permission.clone(),
            },
            ..SimConfig::default()
        }
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1")),
    }
}

/// A permission name: three non-empty `:`-separated parts of letters, digits and `_`.
fn parse_permission(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let well_formed = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if well_formed {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a permission like domain:entity:action"
        ))
    }
}

fn parse_now(s: &str) -> Result<i64, String> {
    crate::timefmt::parse_instant(s).ok_or_else(|| format!("{s:?} is not an ISO-8601 instant"))
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a non-negative number")),
    }
}

/// A duration within `lo..=hi`, or an error naming the range.
fn duration_in(s: &str, lo: Duration, hi: Duration) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))?;
    if d < lo || d > hi {
        return Err(format!(
            "{s:?} is outside {}..{}",
            humantime::format_duration(lo),
            humantime::format_duration(hi)
        ));
    }
    Ok(d)
}

const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

fn parse_channel_ttl(s: &str) -> Result<Duration, String> {
    duration_in(s, Duration::from_secs(1), 7 * DAY)
}

fn parse_heartbeat(s: &str) -> Result<Duration, String> {
    duration_in(s, Duration::from_millis(100), HOUR)
}

fn parse_close_after(s: &str) -> Result<Duration, String> {
    duration_in(s, Duration::ZERO, 7 * DAY)
}

fn parse_closing_notice(s: &str) -> Result<Duration, String> {
    duration_in(s, Duration::ZERO, HOUR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        flags: SimulateFlags,
    }

    fn parse(args: &[&str]) -> Result<SimConfig, String> {
        Wrapper::try_parse_from(std::iter::once("simulate").chain(args.iter().copied()))
            .map(|w| w.flags.to_config())
            .map_err(|e| e.to_string())
    }

    /// The notification flags reach the configuration, `0s` meaning "never
    /// close", and values outside their documented ranges are refused by flag name.
    #[test]
    fn notification_flags_and_ranges() {
        let c = parse(&[
            "--channel-ttl=2h",
            "--heartbeat-interval=250ms",
            "--notify-close-after=90s",
            "--notify-closing-notice=0s",
            "--notify-style=changed",
            "--notify-drop-rate=0.25",
            "--topic-permission=notifications:queueTopic:view",
        ])
        .expect("valid flags");
        assert_eq!(c.notify.channel_ttl, Duration::from_secs(7200));
        assert_eq!(c.notify.heartbeat_interval, Duration::from_millis(250));
        assert_eq!(c.notify.close_after, Some(Duration::from_secs(90)));
        assert_eq!(c.notify.closing_notice, Duration::ZERO);
        assert_eq!(c.notify.style, NotifyStyle::Changed);
        assert_eq!(c.notify.drop_rate, 0.25);
        assert_eq!(c.notify.topic_permission, "notifications:queueTopic:view");
        let d = parse(&[]).expect("defaults");
        assert_eq!(d.notify, NotifyConfig::default());
        for (bad, flag) in [
            ("--channel-ttl=500ms", "--channel-ttl"),
            ("--heartbeat-interval=10ms", "--heartbeat-interval"),
            ("--notify-close-after=8d", "--notify-close-after"),
            ("--notify-closing-notice=2h", "--notify-closing-notice"),
            ("--notify-drop-rate=1.5", "--notify-drop-rate"),
            ("--topic-permission=admin", "--topic-permission"),
            ("--topic-permission=a::b", "--topic-permission"),
        ] {
            let err = parse(&[bad]).expect_err(bad);
            assert!(err.contains(flag), "{bad}: {err}");
        }
    }
}
