//! Validation of [`ExporterArgs`] into a [`Config`]: every problem becomes one
//! line naming the flag (and its environment variable) to fix.

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use regex::Regex;

use super::args::ExporterArgs;
use super::family_filter::FamilyFilter;
use super::state::PollKind;
use super::window::{WindowKind, WindowSet, WindowSpec};
use crate::web::serve::ConnectionLimits;
use crate::web::WebConfigSource;

/// The longest rolling window accepted (the simulator's and a cautious reading
/// of Genesys's aggregate-query interval limit).
const MAX_WINDOW: Duration = Duration::from_secs(31 * DAY);

/// Seconds in a day.
const DAY: u64 = 86_400;

/// `--poll.interval`, `--poll.queues-interval` and (or 0) `--poll.observations-interval`.
pub const POLL_RANGE: DurationRange = DurationRange::new(1, DAY);
/// Each of `--api.granularities`: a minute up to a day.
pub const GRANULARITY_RANGE: DurationRange = DurationRange::new(60, DAY);
/// `--window.delay`: 0 up to a day.
pub const DELAY_RANGE: DurationRange = DurationRange::new(0, DAY);
/// `--window.align`: 1s up to a day.
pub const ALIGN_RANGE: DurationRange = DurationRange::new(1, DAY);
/// `--max-staleness`: 1s up to a week.
pub const STALENESS_RANGE: DurationRange = DurationRange::new(1, 7 * DAY);
/// `--web.read-header-timeout` and `--web.idle-timeout`: 1s up to an hour.
pub const WEB_TIMEOUT_RANGE: DurationRange = DurationRange::new(1, 3_600);
/// `--realtime.reconcile-interval`: 30s up to a day.
pub const RECONCILE_RANGE: DurationRange = DurationRange::new(30, DAY);
/// `--realtime.heartbeat-timeout`: 1s up to 10 minutes.
pub const HEARTBEAT_TIMEOUT_RANGE: DurationRange = DurationRange::new(1, 600);
/// `--web.max-connections`.
pub const MAX_CONNECTIONS_RANGE: std::ops::RangeInclusive<usize> = 2..=65_536;

/// The accepted range of a duration flag, in whole seconds at the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    min: Duration,
    max: Duration,
    zero_turns_off: bool,
}

impl DurationRange {
    /// From `min` to `max` seconds, both included.
    pub const fn new(min_secs: u64, max_secs: u64) -> DurationRange {
        DurationRange {
            min: Duration::from_secs(min_secs),
            max: Duration::from_secs(max_secs),
            zero_turns_off: false,
        }
    }

    /// The same range, with 0 also accepted (it turns the feature off).
    pub const fn or_zero(self) -> DurationRange {
        DurationRange {
            zero_turns_off: true,
            ..self
        }
    }

    /// `None` when `value` is in range, else why not (one line).
    pub fn check(self, value: Duration) -> Option<String> {
        if (value.is_zero() && self.zero_turns_off) || (self.min..=self.max).contains(&value) {
            return None;
        }
        let zero = if self.zero_turns_off {
            "0 (off) or "
        } else {
            ""
        };
        Some(format!(
            "must be {zero}between {} and {}, got {}",
            window_label(self.min),
            window_label(self.max),
            window_label(value)
        ))
    }
}

/// Validated exporter settings (everything except the Genesys client, which
/// validates its own flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, in the order given, each once (`host:port`; `:port`
    /// already expanded to `0.0.0.0:port`).
    pub listen_addresses: Vec<String>,
    /// Path of the metrics endpoint, starting with `/`.
    pub telemetry_path: String,
    /// Poll schedule.
    pub poll: PollIntervals,
    /// The exported windows and how their bounds are computed.
    pub windows: WindowSet,
    /// Extra age allowed beyond each poll interval before data counts as stale.
    pub max_staleness: Duration,
    /// Which queues and media types are exported.
    pub filter: QueueFilter,
    /// Where the real-time gauges come from.
    pub realtime: RealtimeSettings,
    /// Which queue families are served (`--metrics.*`).
    pub families: FamilyFilter,
    /// Whether `--demo` was given.
    pub demo: bool,
    /// The `--web.config.file`, loaded and watched for changes.
    pub web: Option<Arc<WebConfigSource>>,
    /// Header-read and idle timeouts and the connection cap of the HTTP server.
    pub connections: ConnectionLimits,
}

/// How often each poll kind runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollIntervals {
    /// Queue-list refresh.
    pub queues: Duration,
    /// Conversation aggregates (window gauges).
    pub aggregates: Duration,
    /// Queue observations; `None` when turned off.
    pub observations: Option<Duration>,
}

/// Where the real-time gauges come from (`--realtime.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealtimeSettings {
    /// `--realtime.source`.
    pub source: RealtimeSource,
    /// `--realtime.reconcile-interval`.
    pub reconcile: Duration,
    /// `--realtime.heartbeat-timeout`.
    pub heartbeat_timeout: Duration,
}

/// `--realtime.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealtimeSource {
    /// Pushed over the Notifications API, polling when push cannot work.
    Push,
    /// Observations polled.
    Poll,
}

impl RealtimeSource {
    /// The `source` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RealtimeSource::Push => "push",
            RealtimeSource::Poll => "poll",
        }
    }
}

/// Queue selection by name, division and media type.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Keep only names matching this.
    pub include: Option<Regex>,
    /// Drop names matching this.
    pub exclude: Option<Regex>,
    /// Division ids to query (empty = all).
    pub divisions: Vec<String>,
    /// Media types to export (empty = each queue's configured media types).
    pub media_types: Vec<String>,
}

impl QueueFilter {
    /// True when a queue with this name is exported.
    pub fn keeps_name(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|re| re.is_match(name))
            && !self.exclude.as_ref().is_some_and(|re| re.is_match(name))
    }

    /// True when this media type is exported.
    pub fn keeps_media(&self, media_type: &str) -> bool {
        self.media_types.is_empty() || self.media_types.iter().any(|m| m == media_type)
    }
}

impl Config {
    /// Validates the flags, collecting one message per problem.
    pub fn from_args(args: &ExporterArgs) -> Result<Config, Vec<String>> {
        let mut p = Problems::default();
        let aggregates = p.duration(
            &args.poll_interval,
            "--poll.interval",
            "POLL_INTERVAL",
            POLL_RANGE,
        );
        let observations = p.duration(
            &args.observations_interval,
            "--poll.observations-interval",
            "POLL_OBSERVATIONS_INTERVAL",
            POLL_RANGE.or_zero(),
        );
        let queues = p.duration(
            &args.queues_interval,
            "--poll.queues-interval",
            "POLL_QUEUES_INTERVAL",
            POLL_RANGE,
        );
        let delay = p.duration(
            &args.window_delay,
            "--window.delay",
            "WINDOW_DELAY",
            DELAY_RANGE,
        );
        let align = p.duration(
            &args.window_align,
            "--window.align",
            "WINDOW_ALIGN",
            ALIGN_RANGE,
        );
        let max_staleness = p.duration(
            &args.max_staleness,
            "--max-staleness",
            "MAX_STALENESS",
            STALENESS_RANGE,
        );
        let reconcile = p.duration(
            &args.realtime_reconcile_interval,
            "--realtime.reconcile-interval",
            "REALTIME_RECONCILE_INTERVAL",
            RECONCILE_RANGE,
        );
        let heartbeat_timeout = p.duration(
            &args.realtime_heartbeat_timeout,
            "--realtime.heartbeat-timeout",
            "REALTIME_HEARTBEAT_TIMEOUT",
            HEARTBEAT_TIMEOUT_RANGE,
        );
        let source = match args.realtime_source.trim() {
            "push" => Some(RealtimeSource::Push),
            "poll" => Some(RealtimeSource::Poll),
            other => {
                p.fail(
                    "--realtime.source",
                    "REALTIME_SOURCE",
                    format_args!("must be push or poll, got {other:?}"),
                );
                None
            }
        };
        let read_header_timeout = p.duration(
            &args.read_header_timeout,
            "--web.read-header-timeout",
            "WEB_READ_HEADER_TIMEOUT",
            WEB_TIMEOUT_RANGE,
        );
        let idle_timeout = p.duration(
            &args.idle_timeout,
            "--web.idle-timeout",
            "WEB_IDLE_TIMEOUT",
            WEB_TIMEOUT_RANGE,
        );
        if !MAX_CONNECTIONS_RANGE.contains(&args.max_connections) {
            p.fail(
                "--web.max-connections",
                "WEB_MAX_CONNECTIONS",
                format_args!(
                    "must be between {} and {}, got {}",
                    MAX_CONNECTIONS_RANGE.start(),
                    MAX_CONNECTIONS_RANGE.end(),
                    args.max_connections
                ),
            );
        }
        let granularities: Vec<Option<Duration>> = clean_list(&args.granularities)
            .iter()
            .map(|g| {
                p.duration(
                    g,
                    "--api.granularities",
                    "API_GRANULARITIES",
                    GRANULARITY_RANGE,
                )
            })
            .collect();
        let specs = parse_windows(&args.windows, &mut p.errors);
        let tz = time_zone(&args.time_zone, &mut p);
        let include = regex(
            &args.queues_include,
            "--queues.include",
            "QUEUES_INCLUDE",
            &mut p.errors,
        );
        let exclude = regex(
            &args.queues_exclude,
            "--queues.exclude",
            "QUEUES_EXCLUDE",
            &mut p.errors,
        );
        let metrics_include = regex(
            &args.metrics_include,
            "--metrics.include",
            "METRICS_INCLUDE",
            &mut p.errors,
        );
        let metrics_exclude = regex(
            &args.metrics_exclude,
            "--metrics.exclude",
            "METRICS_EXCLUDE",
            &mut p.errors,
        );
        let listen_addresses = check_listen_addresses(&args.listen_addresses, &mut p.errors);
        check_telemetry_path(&args.telemetry_path, &mut p);
        let web = web_config(args.web_config_file.as_deref(), &mut p);
        if !p.errors.is_empty() {
            return Err(p.errors);
        }
        // Every value below is Some: a None pushed an error above.
        let internal = || vec![String::from("internal: a validated setting is missing")];
        let observations = observations.ok_or_else(internal)?;
        let max_connections = args.max_connections;
        Ok(Config {
            listen_addresses,
            telemetry_path: args.telemetry_path.clone(),
            poll: PollIntervals {
                queues: queues.ok_or_else(internal)?,
                aggregates: aggregates.ok_or_else(internal)?,
                observations: (!observations.is_zero()).then_some(observations),
            },
            windows: WindowSet::new(
                specs.ok_or_else(internal)?,
                delay.ok_or_else(internal)?,
                align.ok_or_else(internal)?,
                tz.ok_or_else(internal)?,
            )
            .with_granularities(&granularities.into_iter().flatten().collect::<Vec<_>>()),
            max_staleness: max_staleness.ok_or_else(internal)?,
            filter: QueueFilter {
                include,
                exclude,
                divisions: clean_list(&args.queues_division),
                media_types: clean_list(&args.media_types),
            },
            realtime: RealtimeSettings {
                source: source.ok_or_else(internal)?,
                reconcile: reconcile.ok_or_else(internal)?,
                heartbeat_timeout: heartbeat_timeout.ok_or_else(internal)?,
            },
            families: FamilyFilter::new(metrics_include, metrics_exclude),
            demo: args.demo,
            web,
            connections: ConnectionLimits {
                read_header_timeout: read_header_timeout.ok_or_else(internal)?,
                idle_timeout: idle_timeout.ok_or_else(internal)?,
                max_connections,
            },
        })
    }
}

impl Config {
    /// The interval of each poll kind that runs, in [`PollKind::ALL`] order:
    /// `None` when turned off, or when `--metrics.*` leaves it no family to feed.
    pub fn poll_intervals(&self) -> [Option<Duration>; 3] {
        let asked = [
            Some(self.poll.queues),
            Some(self.poll.aggregates),
            self.poll.observations,
        ];
        let mut out = [None; 3];
        for (i, kind) in PollKind::ALL.into_iter().enumerate() {
            out[i] = asked[i].filter(|_| self.families.polls(kind));
        }
        out
    }
}

/// The problems found so far, one line each naming the flag and its variable.
#[derive(Debug, Default)]
struct Problems {
    errors: Vec<String>,
}

impl Problems {
    /// Records that `flag` (variable `GENESYS_EXPORTER_<name>`) is wrong because of `why`.
    fn fail(&mut self, flag: &str, name: &str, why: impl std::fmt::Display) {
        self.errors.push(format!("{flag} ({}): {why}", env(name)));
    }

    /// Parses a duration flag and checks it against its range.
    fn duration(
        &mut self,
        value: &str,
        flag: &str,
        name: &str,
        range: DurationRange,
    ) -> Option<Duration> {
        let checked = parse_duration(value).and_then(|d| range.check(d).map_or(Ok(d), Err));
        checked.map_err(|why| self.fail(flag, name, why)).ok()
    }
}

/// `--time-zone`: an IANA zone name.
fn time_zone(name: &str, p: &mut Problems) -> Option<TimeZone> {
    TimeZone::get(name)
        .map_err(|_| {
            p.fail(
                "--time-zone",
                "TIME_ZONE",
                format_args!("unknown IANA time zone {name:?} (e.g. UTC, Europe/Berlin)"),
            )
        })
        .ok()
}

/// `--web.telemetry-path`: an absolute path other than `/` and the health checks.
fn check_telemetry_path(path: &str, p: &mut Problems) {
    let (flag, name) = ("--web.telemetry-path", "WEB_TELEMETRY_PATH");
    if !path.starts_with('/') || path.len() < 2 {
        p.fail(
            flag,
            name,
            format_args!("must start with / and not be / itself, got {path:?}"),
        );
    } else if ["/-/healthy", "/-/ready"].contains(&path) {
        p.fail(
            flag,
            name,
            format_args!("{path:?} is reserved for health checks"),
        );
    }
}

/// `--web.config.file`: opened and checked once here, reloaded on change later.
fn web_config(path: Option<&std::path::Path>, p: &mut Problems) -> Option<Arc<WebConfigSource>> {
    let path = path?;
    WebConfigSource::open(path)
        .map_err(|e| p.fail("--web.config.file", "WEB_CONFIG_FILE", e))
        .ok()
        .map(Arc::new)
}

/// The environment variable behind an exporter flag, for error messages.
fn env(name: &str) -> String {
    format!("GENESYS_EXPORTER_{name}")
}

/// Parses a humantime duration (`30s`, `1m`, `1h30m`, `0`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text)
        .map_err(|_| format!("{text:?} is not a duration like 30s, 5m or 1h30m"))
}

/// Formats a window length as a compact label: `30m`, `1h`, `1h30m`, `90s`.
pub fn window_label(length: Duration) -> String {
    humantime::format_duration(length)
        .to_string()
        .replace(' ', "")
}

fn parse_windows(values: &[String], errors: &mut Vec<String>) -> Option<Vec<WindowSpec>> {
    let mut specs: Vec<WindowSpec> = Vec::new();
    let before = errors.len();
    let flag = format!("--window ({})", env("WINDOW"));
    for raw in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let spec = if raw.eq_ignore_ascii_case("today") {
            WindowSpec {
                label: String::from("today"),
                kind: WindowKind::Today,
            }
        } else {
            match parse_duration(raw) {
                Ok(d) if d < Duration::from_secs(1) => {
                    errors.push(format!("{flag}: window {raw:?} must be at least 1s"));
                    continue;
                }
                Ok(d) if d > MAX_WINDOW => {
                    errors.push(format!("{flag}: window {raw:?} is longer than 31 days"));
                    continue;
                }
                Ok(d) if d.subsec_nanos() % 1_000_000 != 0 => {
                    errors.push(format!("{flag}: window {raw:?} must be whole milliseconds"));
                    continue;
                }
                Ok(d) => WindowSpec {
                    label: window_label(d),
                    kind: WindowKind::Rolling(d),
                },
                Err(why) => {
                    errors.push(format!("{flag}: {why}, or today"));
                    continue;
                }
            }
        };
        if specs.iter().any(|s| s.label == spec.label) {
            errors.push(format!("{flag}: window {} given twice", spec.label));
            continue;
        }
        specs.push(spec);
    }
    if specs.is_empty() && errors.len() == before {
        errors.push(format!("{flag}: at least one window is required"));
    }
    (errors.len() == before).then_some(specs)
}

fn regex(
    value: &Option<String>,
    flag: &str,
    name: &str,
    errors: &mut Vec<String>,
) -> Option<Regex> {
    let text = value.as_deref().filter(|v| !v.is_empty())?;
    match Regex::new(text) {
        Ok(re) => Some(re),
        Err(e) => {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned();
            errors.push(format!(
                "{flag} ({}): invalid regular expression {text:?}: {first}",
                env(name)
            ));
            None
        }
    }
}

fn check_listen_addresses(values: &[String], errors: &mut Vec<String>) -> Vec<String> {
    let mut addresses: Vec<String> = Vec::with_capacity(values.len());
    for value in values.iter().map(|v| v.trim()) {
        let address = check_listen_address(value, errors);
        // Port 0 picks a different free port each time, so it may repeat.
        if !address.ends_with(":0") && addresses.contains(&address) {
            errors.push(format!(
                "--web.listen-address ({}): {value:?} given twice",
                env("WEB_LISTEN_ADDRESS")
            ));
        } else {
            addresses.push(address);
        }
    }
    if values.is_empty() {
        errors.push(format!(
            "--web.listen-address ({}): at least one address is needed",
            env("WEB_LISTEN_ADDRESS")
        ));
    }
    addresses
}

fn check_listen_address(value: &str, errors: &mut Vec<String>) -> String {
    let expanded = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_owned(),
    };
    let port_ok = expanded
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        errors.push(format!(
            "--web.listen-address ({}): {value:?} is not host:port or :port",
            env("WEB_LISTEN_ADDRESS")
        ));
    }
    expanded
}

fn clean_list(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ExporterArgs,
    }

    fn parse(flags: &[&str]) -> Result<Config, Vec<String>> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(flags.iter().copied()))
            .expect("clap accepts the flags");
        Config::from_args(&cli.args)
    }

    /// `--api.granularities` replaces the known-good list; each entry is
    /// range-checked and named in the error.
    #[test]
    fn granularities_flag() {
        let default = parse(&[]).expect("defaults");
        assert_eq!(
            default.windows.granularities_ms(),
            [900_000, 1_800_000, 3_600_000, 86_400_000]
        );
        let wide = parse(&["--api.granularities", "10m,1h"]).expect("valid");
        assert_eq!(wide.windows.granularities_ms(), [600_000, 3_600_000]);
        let errs = parse(&["--api.granularities", "30s"]).expect_err("too short");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("--api.granularities (GENESYS_EXPORTER_API_GRANULARITIES)"),
            "{errs:?}"
        );
    }

    /// The defaults are the documented ones.
    #[test]
    fn defaults() {
        let c = parse(&[]).expect("defaults are valid");
        assert_eq!(c.listen_addresses, ["0.0.0.0:10321"]);
        assert_eq!(c.telemetry_path, "/metrics");
        assert_eq!(c.poll.aggregates, Duration::from_secs(60));
        assert_eq!(c.poll.observations, Some(Duration::from_secs(15)));
        assert_eq!(c.poll.queues, Duration::from_secs(600));
        assert_eq!(c.max_staleness, Duration::from_secs(300));
        let labels: Vec<_> = c.windows.specs().iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["30m", "today"]);
        assert_eq!(c.windows.align(), Duration::from_secs(60));
        assert_eq!(c.windows.delay(), Duration::ZERO);
        assert!(!c.demo);
    }

    /// Every bad flag is reported, one line each, naming flag and variable.
    #[test]
    fn all_problems_reported() {
        let errs = parse(&[
            "--poll.interval",
            "soon",
            "--window",
            "30m,bogus,30m",
            "--time-zone",
            "Mars/Olympus",
            "--queues.include",
            "(",
            "--web.listen-address",
            "nohost",
            "--web.telemetry-path",
            "metrics",
        ])
        .expect_err("invalid");
        let joined = errs.join("\n");
        for needle in [
            "--poll.interval (GENESYS_EXPORTER_POLL_INTERVAL)",
            "--window (GENESYS_EXPORTER_WINDOW)",
            "given twice",
            "--time-zone",
            "--queues.include",
            "--web.listen-address",
            "--web.telemetry-path",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in {joined}");
        }
        assert!(
            errs.iter().all(|e| !e.contains('\n')),
            "one line each: {errs:?}"
        );
        assert_eq!(errs.len(), 7, "{errs:?}");
    }

    /// Several listen addresses are kept in order, from repeated flags or a
    /// comma-separated value; one given twice is an error naming the flag.
    #[test]
    fn several_listen_addresses() {
        let c = parse(&[
            "--web.listen-address",
            "127.0.0.1:9000, [::1]:9001",
            "--web.listen-address",
            ":9002",
        ])
        .expect("valid");
        assert_eq!(
            c.listen_addresses,
            ["127.0.0.1:9000", "[::1]:9001", "0.0.0.0:9002"]
        );
        let errs = parse(&[
            "--web.listen-address",
            ":9000",
            "--web.listen-address",
            "0.0.0.0:9000",
        ])
        .expect_err("duplicate");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("--web.listen-address (GENESYS_EXPORTER_WEB_LISTEN_ADDRESS)"));
        assert!(errs[0].contains("given twice"), "{errs:?}");
    }

    /// Each duration flag refuses values past its range in one line naming the
    /// flag, and accepts its largest value.
    #[test]
    fn duration_ranges() {
        for (flag, too_big, largest) in [
            ("--poll.interval", "25h", "1d"),
            ("--poll.observations-interval", "2d", "1d"),
            ("--poll.queues-interval", "300000000000y", "1d"),
            ("--window.delay", "1d 1s", "1d"),
            ("--window.align", "2d", "1d"),
            ("--max-staleness", "8d", "7d"),
            ("--web.read-header-timeout", "2h", "1h"),
            ("--web.idle-timeout", "61m", "1h"),
            ("--realtime.reconcile-interval", "25h", "1d"),
            ("--realtime.heartbeat-timeout", "11m", "10m"),
        ] {
            let errs = parse(&[flag, too_big]).expect_err(flag);
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert!(
                errs[0].starts_with(&format!("{flag} (GENESYS_EXPORTER_")),
                "{errs:?}"
            );
            assert!(errs[0].contains("must be"), "{errs:?}");
            parse(&[flag, largest]).unwrap_or_else(|e| panic!("{flag} {largest}: {e:?}"));
        }
        let errs = parse(&["--web.max-connections", "1"]).expect_err("cap");
        assert!(errs[0].starts_with("--web.max-connections (GENESYS_EXPORTER_WEB_MAX_CONNECTIONS)"));
    }

    /// The real-time source defaults to push with a 30 m reconcile and a 60 s
    /// heartbeat timeout; poll is accepted, anything else names the flag, and
    /// intervals below their range are refused.
    #[test]
    fn realtime_flags() {
        let c = parse(&[]).expect("defaults");
        assert_eq!(
            c.realtime,
            RealtimeSettings {
                source: RealtimeSource::Push,
                reconcile: Duration::from_secs(1800),
                heartbeat_timeout: Duration::from_secs(60),
            }
        );
        let c = parse(&["--realtime.source", "poll"]).expect("poll");
        assert_eq!(c.realtime.source, RealtimeSource::Poll);
        let errs = parse(&["--realtime.source", "socket"]).expect_err("bad");
        assert!(
            errs[0].starts_with("--realtime.source (GENESYS_EXPORTER_REALTIME_SOURCE): must be"),
            "{errs:?}"
        );
        assert!(parse(&["--realtime.reconcile-interval", "29s"]).is_err());
        assert!(parse(&["--realtime.heartbeat-timeout", "0s"]).is_err());
    }

    /// Observations can be turned off with 0; windows get compact labels.
    #[test]
    fn observations_off_and_labels() {
        let c = parse(&[
            "--poll.observations-interval",
            "0",
            "--window",
            "1h30m",
            "--window",
            "TODAY",
        ])
        .expect("valid");
        assert_eq!(c.poll.observations, None);
        let labels: Vec<_> = c.windows.specs().iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["1h30m", "today"]);
    }

    /// `--metrics.*` take regular expressions named in one-line errors, and
    /// a filter leaving a poll kind nothing to feed turns it off.
    #[test]
    fn metrics_filter_flags() {
        let errs = parse(&["--metrics.exclude", "(", "--metrics.include", "["]).expect_err("bad");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("--metrics.include (GENESYS_EXPORTER_METRICS_INCLUDE)"));
        assert!(errs[1].starts_with("--metrics.exclude (GENESYS_EXPORTER_METRICS_EXCLUDE)"));
        assert!(errs.iter().all(|e| !e.contains('\n')));
        let c = parse(&["--metrics.include", "^genesys_queue_(waiting|info)$"]).expect("valid");
        let [queues, aggregates, observations] = c.poll_intervals();
        assert_eq!(queues, Some(Duration::from_secs(600)));
        assert_eq!(aggregates, None, "no window family served");
        assert_eq!(observations, Some(Duration::from_secs(15)));
        assert!(parse(&[]).expect("defaults").families.is_everything());
    }

    /// Name filters apply include first, then exclude; media filter is exact.
    #[test]
    fn queue_filter() {
        let c = parse(&[
            "--queues.include",
            "^Sales",
            "--queues.exclude",
            "Test$",
            "--media-types",
            "voice, chat",
        ])
        .expect("valid");
        assert!(c.filter.keeps_name("Sales EMEA"));
        assert!(!c.filter.keeps_name("Sales Test"));
        assert!(!c.filter.keeps_name("Support"));
        assert!(c.filter.keeps_media("chat"));
        assert!(!c.filter.keeps_media("email"));
    }
}
