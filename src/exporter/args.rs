//! The exporter's command-line flags, each mirrored by a `GENESYS_EXPORTER_*`
//! environment variable, in the exporter-toolkit style (`--web.*`, `--poll.*`).
//!
//! Values stay as text here; [`crate::exporter::config`] validates them all at
//! once so `check-config` can report every problem, one line each.

/// Exporter flags (the default command). The client's `--genesys.*` and `--api.*`
/// flags are flattened in from [`crate::genesys::ClientArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct ExporterArgs {
    /// Address to listen on for /metrics and health endpoints (`host:port`, or
    /// `:port` for all interfaces; port 0 picks a free port and logs it).
    /// Repeat the flag (or comma-separate the variable) for several addresses.
    #[arg(
        long = "web.listen-address",
        env = "GENESYS_EXPORTER_WEB_LISTEN_ADDRESS",
        value_delimiter = ',',
        default_values_t = [String::from(":10321")]
    )]
    pub listen_addresses: Vec<String>,

    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        env = "GENESYS_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// An exporter-toolkit web config file (YAML) enabling TLS, client
    /// certificates, basic authentication and security headers; re-read when
    /// it or a file it names changes.
    #[arg(long = "web.config.file", env = "GENESYS_EXPORTER_WEB_CONFIG_FILE")]
    pub web_config_file: Option<std::path::PathBuf>,

    /// How often the conversation aggregates (window gauges) are polled (1s–1d).
    #[arg(
        long = "poll.interval",
        env = "GENESYS_EXPORTER_POLL_INTERVAL",
        default_value = "60s"
    )]
    pub poll_interval: String,

    /// How often queue observations (real-time gauges) are polled (1s–1d); 0 turns them off.
    #[arg(
        long = "poll.observations-interval",
        env = "GENESYS_EXPORTER_POLL_OBSERVATIONS_INTERVAL",
        default_value = "15s"
    )]
    pub observations_interval: String,

    /// Where the real-time gauges come from: `push` (Notifications API WebSocket,
    /// seeded and reconciled by REST) or `poll` (observations polled every
    /// --poll.observations-interval).
    #[arg(
        long = "realtime.source",
        env = "GENESYS_EXPORTER_REALTIME_SOURCE",
        default_value = "push"
    )]
    pub realtime_source: String,

    /// With push: how often a REST observations query replaces the pushed state,
    /// so a lost event heals (30s–24h; the 30m default keeps push under 1 % of
    /// the REST cost of polling every 15s).
    #[arg(
        long = "realtime.reconcile-interval",
        env = "GENESYS_EXPORTER_REALTIME_RECONCILE_INTERVAL",
        default_value = "30m"
    )]
    pub realtime_reconcile_interval: String,

    /// With push: a socket that sent nothing (heartbeat, pong or event) this long is
    /// silent: its data is stale and a new channel replaces it (1s–10m).
    #[arg(
        long = "realtime.heartbeat-timeout",
        env = "GENESYS_EXPORTER_REALTIME_HEARTBEAT_TIMEOUT",
        default_value = "60s"
    )]
    pub realtime_heartbeat_timeout: String,

    /// How often the queue list (names, divisions, media settings) is refreshed (1s–1d).
    #[arg(
        long = "poll.queues-interval",
        env = "GENESYS_EXPORTER_POLL_QUEUES_INTERVAL",
        default_value = "10m"
    )]
    pub queues_interval: String,

    /// A window to export: a duration (`30m`, `1h`, `1h30m`; 1s–31d) or `today`.
    /// Repeat the flag (or comma-separate the variable) for several windows.
    #[arg(
        long = "window",
        env = "GENESYS_EXPORTER_WINDOW",
        value_delimiter = ',',
        default_values_t = [String::from("30m"), String::from("today")]
    )]
    pub windows: Vec<String>,

    /// How far behind now every window ends (to let late emissions arrive; 0–1d).
    #[arg(
        long = "window.delay",
        env = "GENESYS_EXPORTER_WINDOW_DELAY",
        default_value = "0s"
    )]
    pub window_delay: String,

    /// Window ends are floored to a multiple of this (in UTC epoch time), so
    /// replicas polling in the same period export identical numbers (1s–1d).
    #[arg(
        long = "window.align",
        env = "GENESYS_EXPORTER_WINDOW_ALIGN",
        default_value = "1m"
    )]
    pub window_align: String,

    /// IANA time zone whose local midnight starts the `today` window.
    #[arg(
        long = "time-zone",
        env = "GENESYS_EXPORTER_TIME_ZONE",
        default_value = "UTC"
    )]
    pub time_zone: String,

    /// Queue series are withdrawn (and genesys_up is 0) once the last successful
    /// poll of their kind is older than its interval plus this (1s–7d).
    #[arg(
        long = "max-staleness",
        env = "GENESYS_EXPORTER_MAX_STALENESS",
        default_value = "5m"
    )]
    pub max_staleness: String,

    /// A connection is closed when it has not sent a complete request head this
    /// long after it opened or after its previous response (1s–1h).
    #[arg(
        long = "web.read-header-timeout",
        env = "GENESYS_EXPORTER_WEB_READ_HEADER_TIMEOUT",
        default_value = "10s"
    )]
    pub read_header_timeout: String,

    /// A connection is closed when no byte has moved either way for this long,
    /// even in the middle of a request or response (1s–1h).
    #[arg(
        long = "web.idle-timeout",
        env = "GENESYS_EXPORTER_WEB_IDLE_TIMEOUT",
        default_value = "2m"
    )]
    pub idle_timeout: String,

    /// Most HTTP connections open at once (2–65536); at the cap, the connection
    /// idle longest is closed to admit a new one, so a scrape always gets in.
    #[arg(
        long = "web.max-connections",
        env = "GENESYS_EXPORTER_WEB_MAX_CONNECTIONS",
        default_value_t = 512
    )]
    pub max_connections: usize,

    /// Only export queues whose name matches this regular expression.
    #[arg(long = "queues.include", env = "GENESYS_EXPORTER_QUEUES_INCLUDE")]
    pub queues_include: Option<String>,

    /// Do not export queues whose name matches this regular expression.
    #[arg(long = "queues.exclude", env = "GENESYS_EXPORTER_QUEUES_EXCLUDE")]
    pub queues_exclude: Option<String>,

    /// Only export queues of these division ids (repeatable or comma-separated).
    #[arg(
        long = "queues.division",
        env = "GENESYS_EXPORTER_QUEUES_DIVISION",
        value_delimiter = ','
    )]
    pub queues_division: Vec<String>,

    /// Only serve the queue metric families whose name matches this regular
    /// expression (self-metrics are always served).
    #[arg(long = "metrics.include", env = "GENESYS_EXPORTER_METRICS_INCLUDE")]
    pub metrics_include: Option<String>,

    /// Do not serve (nor request from Genesys) the queue metric families whose
    /// name matches this regular expression.
    #[arg(long = "metrics.exclude", env = "GENESYS_EXPORTER_METRICS_EXCLUDE")]
    pub metrics_exclude: Option<String>,

    /// Only export these analytics media types (voice, callback, chat, email,
    /// message, …); default: every media type each queue serves.
    #[arg(
        long = "media-types",
        env = "GENESYS_EXPORTER_MEDIA_TYPES",
        value_delimiter = ','
    )]
    pub media_types: Vec<String>,

    /// Granularities a query shared by several windows may use (each 1m–1d;
    /// the org must accept them): 15m, 30m, 1h and 1d are known to work.
    #[arg(
        long = "api.granularities",
        env = "GENESYS_EXPORTER_API_GRANULARITIES",
        value_delimiter = ',',
        default_value = "15m,30m,1h,1d"
    )]
    pub granularities: Vec<String>,

    /// Run the embedded Genesys API simulator on a loopback port and export it
    /// (no credentials needed).
    #[arg(long = "demo", env = "GENESYS_EXPORTER_DEMO")]
    pub demo: bool,

    /// Genesys connection and API-budget flags (`--genesys.*`, `--api.*`).
    #[command(flatten)]
    pub client: crate::genesys::ClientArgs,
}

/// `check-config` flags: the exporter's own flags plus `--online`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckConfigArgs {
    /// Also request one token and one page of queues from Genesys Cloud.
    #[arg(long = "online", env = "GENESYS_EXPORTER_CHECK_ONLINE")]
    pub online: bool,

    /// The flags being checked (boxed: they are large next to the other subcommands).
    #[command(flatten)]
    pub exporter: Box<ExporterArgs>,
}
