//! `genesys_exporter report` flags and their validation into a [`Plan`].

use std::time::Duration;

use jiff::tz::TimeZone;

use super::range::{self, Range};
use super::render::Format;
use super::rows;
use crate::genesys::ClientArgs;

/// `genesys_exporter report` flags.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Genesys connection and API-budget flags.
    #[command(flatten)]
    pub client: Box<ClientArgs>,

    /// Report the last DURATION up to now (e.g. 7d, 24h, 90m); default 7d.
    /// Conflicts with --from/--to.
    #[arg(long, env = "GENESYS_EXPORTER_REPORT_WINDOW", value_parser = humantime::parse_duration, conflicts_with_all = ["from", "to"])]
    pub window: Option<Duration>,

    /// Range start: RFC 3339 (2025-03-01T00:00:00Z), or a local date or
    /// date-time in --time-zone (2025-03-01 = local midnight).
    #[arg(long, env = "GENESYS_EXPORTER_REPORT_FROM")]
    pub from: Option<String>,

    /// Range end (exclusive), same forms as --from; default now.
    #[arg(long, env = "GENESYS_EXPORTER_REPORT_TO", requires = "from")]
    pub to: Option<String>,

    /// IANA time zone for dates without an offset and for display.
    #[arg(
        long = "time-zone",
        env = "GENESYS_EXPORTER_REPORT_TIME_ZONE",
        default_value = "UTC"
    )]
    pub time_zone: String,

    /// Longest interval per aggregate query; longer ranges are split into
    /// adjacent chunks and merged exactly.
    #[arg(long = "max-interval", env = "GENESYS_EXPORTER_REPORT_MAX_INTERVAL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub max_interval: Duration,

    /// Output format.
    #[arg(
        long,
        env = "GENESYS_EXPORTER_REPORT_FORMAT",
        value_enum,
        default_value = "table"
    )]
    pub format: Format,

    /// Only queues whose name (or id) matches; repeatable; `*` and `?` globs.
    #[arg(long = "queue", env = "GENESYS_EXPORTER_REPORT_QUEUE")]
    pub queues: Vec<String>,

    /// Only these analytics media types (voice, chat, email, message,
    /// callback, …); repeatable.
    #[arg(long = "media-type", env = "GENESYS_EXPORTER_REPORT_MEDIA_TYPE")]
    pub media_types: Vec<String>,
}

/// A validated report request.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The whole range.
    pub range: Range,
    /// The range split into query-sized chunks.
    pub chunks: Vec<Range>,
    /// Time zone (display and local dates).
    pub time_zone: TimeZone,
    /// Its IANA name, sent as the query `timeZone`.
    pub time_zone_name: String,
    /// Output format.
    pub format: Format,
    /// Queue name or id globs (empty = all).
    pub queue_patterns: Vec<String>,
    /// Media types (empty = all), lower-case analytics names.
    pub media_types: Vec<String>,
}

impl ReportArgs {
    /// Validates the report flags at `now_ms`. Errors name the flag to fix.
    pub fn plan(&self, now_ms: i64) -> Result<Plan, String> {
        let tz = range::time_zone(&self.time_zone)?;
        let range = range::resolve(
            self.window,
            self.from.as_deref(),
            self.to.as_deref(),
            &tz,
            now_ms,
        )?;
        let max_ms = i64::try_from(self.max_interval.as_millis()).unwrap_or(i64::MAX);
        if max_ms < 60_000 {
            return Err(String::from("--max-interval must be at least 1m"));
        }
        let media_types = rows::check_media_types(&self.media_types)?;
        let queue_patterns: Vec<String> =
            self.queues.iter().map(|q| q.trim().to_string()).collect();
        if queue_patterns.iter().any(String::is_empty) {
            return Err(String::from("--queue needs a queue name or glob"));
        }
        Ok(Plan {
            chunks: range::split(range, max_ms),
            range,
            time_zone_name: self.time_zone.trim().to_string(),
            time_zone: tz,
            format: self.format,
            queue_patterns,
            media_types,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        report: ReportArgs,
    }

    fn parse(args: &[&str]) -> Result<ReportArgs, clap::Error> {
        let mut argv = vec!["report"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|c| c.report)
    }

    const NOW: i64 = 1_741_784_700_000;

    /// Defaults: 7-day window in one chunk, UTC, table.
    #[test]
    fn defaults() {
        let plan = parse(&[]).expect("parses").plan(NOW).expect("valid");
        assert_eq!(plan.range.end_ms, NOW);
        assert_eq!(plan.chunks.len(), 1);
        assert_eq!(plan.format, Format::Table);
        assert_eq!(plan.time_zone_name, "UTC");
    }

    /// A 17-day range with a 7-day maximum becomes 3 chunks; filters are kept.
    #[test]
    fn explicit_range_and_filters() {
        let plan = parse(&[
            "--from",
            "2025-02-01T00:00:00Z",
            "--to",
            "2025-02-18T00:00:00Z",
            "--format",
            "json",
            "--queue",
            "Sales*",
            "--media-type",
            "voice",
        ])
        .expect("parses")
        .plan(NOW)
        .expect("valid");
        assert_eq!(plan.chunks.len(), 3);
        assert_eq!(plan.format, Format::Json);
        assert_eq!(plan.queue_patterns, ["Sales*"]);
        assert_eq!(plan.media_types, ["voice"]);
    }

    /// Conflicting or malformed flags are refused with the flag named.
    #[test]
    fn bad_flags() {
        assert!(parse(&["--window", "1d", "--from", "2025-01-01"]).is_err());
        assert!(parse(&["--to", "2025-01-01"]).is_err());
        assert!(parse(&["--window", "soon"]).is_err());
        assert!(parse(&["--format", "xml"]).is_err());
        let e = parse(&["--max-interval", "1s"])
            .expect("parses")
            .plan(NOW)
            .expect_err("short");
        assert!(e.contains("--max-interval"));
        let e = parse(&["--time-zone", "Nowhere/Land"])
            .expect("parses")
            .plan(NOW)
            .expect_err("tz");
        assert!(e.contains("--time-zone"));
        let e = parse(&["--queue", " "])
            .expect("parses")
            .plan(NOW)
            .expect_err("queue");
        assert!(e.contains("--queue"));
    }
}
