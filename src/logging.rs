//! Logging setup: `--log.level` and `--log.format` (logfmt or json) on stderr,
//! one line per event.
//!
//! Logs go to stderr so that stdout stays clean for `report` output and for the
//! simulator's "listening on" line.
//!
//! # Layout
//! - `line`: one event rendered as a logfmt or JSON line (pure).
//! - `layer`: the tracing layer that collects span and event fields.

mod layer;
mod line;

use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use layer::LineLayer;

/// Minimum level to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Normal operation.
    Info,
    /// Diagnostic detail.
    Debug,
    /// Everything.
    Trace,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            other => Err(format!(
                "unknown log level {other:?}; use error, warn, info, debug or trace"
            )),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        })
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `time=2026-01-02T03:04:05.678Z level=info msg="poll succeeded" poll=aggregates`
    /// lines (UTC, milliseconds; values quoted where needed).
    Logfmt,
    /// One JSON object per line with the same keys: `time`, `level`, `msg`, fields.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "logfmt" => Ok(LogFormat::Logfmt),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}; use logfmt or json")),
        }
    }
}

/// Installs the global tracing subscriber. Safe to call more than once (later
/// calls are ignored), which keeps tests that start several components simple.
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = EnvFilter::new(format!("warn,genesys_exporter={level}"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(LineLayer::new(format, write_stderr))
        .try_init();
}

/// Writes one whole line at once, so lines from concurrent tasks never interleave.
fn write_stderr(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels and formats parse case-insensitively and reject typos with a hint.
    #[test]
    fn parse_levels_and_formats() {
        assert_eq!("INFO".parse::<LogLevel>(), Ok(LogLevel::Info));
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        let err = "verbose".parse::<LogLevel>().expect_err("rejected");
        assert!(err.contains("use error, warn"));
    }
}
