//! The command line: `genesys_exporter [FLAGS]` runs the exporter; subcommands run
//! the simulator, the one-shot report and the configuration check.
//!
//! Each component owns its own clap `Args` struct (exporter, simulator, report);
//! this file only assembles them. Every flag has an environment variable
//! (except `--help` and `--version`).

use clap::{Parser, Subcommand};

use crate::logging::{LogFormat, LogLevel};

/// Prometheus exporter for Genesys Cloud queue analytics.
#[derive(Debug, Parser)]
#[command(name = "genesys_exporter", about, long_about = None)]
#[command(args_conflicts_with_subcommands = true, disable_version_flag = true)]
pub struct Cli {
    /// Print the version, revision, branch, build user and date, compiler and
    /// platform, then exit.
    #[arg(short = 'V', long = "version")]
    pub version: bool,

    /// What to run; without a subcommand the exporter runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Exporter flags (used when no subcommand is given).
    #[command(flatten)]
    pub exporter: crate::exporter::ExporterArgs,

    /// Log level: error, warn, info, debug or trace.
    #[arg(
        long = "log.level",
        env = "GENESYS_EXPORTER_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: LogLevel,

    /// Log format: logfmt (human-readable key=value lines) or json.
    #[arg(
        long = "log.format",
        env = "GENESYS_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        global = true
    )]
    pub log_format: LogFormat,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Genesys Cloud API simulator as a standalone server.
    Simulate(crate::simulator::SimulateArgs),
    /// Print a one-shot table of queue KPIs per queue and media type.
    Report(crate::report::ReportArgs),
    /// Validate the exporter's flags and environment, then exit 0 (valid) or 2.
    CheckConfig(crate::exporter::CheckConfigArgs),
}

/// The `--version` text in the Prometheus exporters' layout, from the values
/// `build.rs` recorded (`unknown` where one could not be found).
pub fn version_text() -> String {
    format!(
        "genesys_exporter, version {} (branch: {}, revision: {})\n  build user:       {}\n  build date:       {}\n  rustc version:    rustc {}\n  platform:         {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("GENESYS_EXPORTER_BRANCH"),
        env!("GENESYS_EXPORTER_REVISION"),
        env!("GENESYS_EXPORTER_BUILD_USER"),
        env!("GENESYS_EXPORTER_BUILD_DATE"),
        env!("GENESYS_EXPORTER_RUSTC"),
        env!("GENESYS_EXPORTER_PLATFORM"),
    )
}
