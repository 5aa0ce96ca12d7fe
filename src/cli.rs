//! The command line: `genesys_exporter [FLAGS]` runs the exporter; subcommands run
//! the simulator, the one-shot report and the configuration check.
//!
//! Each component owns its own clap `Args` struct (exporter, simulator, report);
//! this file only assembles them. Every flag has an environment variable
//! (except `--help` and `--version`).
//!
//! Duration flags accept values starting with `-` (so `--poll.interval -10s`
//! reaches validation like `--poll.interval=-10s` does), and a value that is
//! not a duration is reported in one line naming the flag and its variable.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

/// The long name of every duration flag, in any command.
pub const DURATION_FLAGS: [&str; 17] = [
    "poll.interval",
    "poll.observations-interval",
    "realtime.reconcile-interval",
    "realtime.heartbeat-timeout",
    "poll.queues-interval",
    "window",
    "window.delay",
    "window.align",
    "max-staleness",
    "web.read-header-timeout",
    "web.idle-timeout",
    "api.timeout",
    "api.deadline",
    "max-interval",
    "token-ttl",
    "latency",
    "short-abandon-threshold",
];

impl Cli {
    /// The clap command, with duration flags accepting a leading `-`.
    pub fn command_for_parsing() -> clap::Command {
        fn hyphens(cmd: clap::Command) -> clap::Command {
            cmd.mut_args(|arg| {
                let duration = arg.get_long().is_some_and(|l| DURATION_FLAGS.contains(&l));
                arg.allow_hyphen_values(duration)
            })
            .mut_subcommands(hyphens)
        }
        hyphens(Cli::command())
    }

    /// Parses `args` (the first is the program name); an invalid duration is
    /// an `Err` holding one line naming the flag and its variable.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut cmd = Cli::command_for_parsing();
        let parsed = cmd
            .try_get_matches_from_mut(args)
            .and_then(|m| Cli::from_arg_matches(&m));
        parsed.map_err(|e| match duration_line(&cmd, &e) {
            Some(line) => CliError::Duration(line),
            None => CliError::Clap(e),
        })
    }

    /// Parses the process arguments, or prints the problem and exits
    /// (0 for `--help`/`--version`, 2 otherwise).
    pub fn parse_or_exit() -> Cli {
        match Cli::try_parse_args(std::env::args_os()) {
            Ok(cli) => cli,
            Err(CliError::Duration(line)) => {
                eprintln!("genesys_exporter: {line}");
                std::process::exit(2);
            }
            Err(CliError::Clap(e)) => e.exit(),
        }
    }
}

/// Why the command line was not accepted.
#[derive(Debug)]
pub enum CliError {
    /// A duration flag's value is not a duration: one line naming the flag.
    Duration(String),
    /// Anything else, rendered by clap.
    Clap(clap::Error),
}

/// One line for a value that a duration flag's parser refused, else `None`.
fn duration_line(cmd: &clap::Command, err: &clap::Error) -> Option<String> {
    if !matches!(
        err.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    if !DURATION_FLAGS.contains(&long) {
        return None;
    }
    let value = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v.clone(),
        _ => String::new(),
    };
    let env = find_env(cmd, long).unwrap_or_default();
    Some(format!(
        "--{long} ({env}): {value:?} is not a duration like 30s, 5m or 1h30m"
    ))
}

/// The environment variable of the flag `--long` anywhere in `cmd`.
fn find_env(cmd: &clap::Command, long: &str) -> Option<String> {
    let own = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned());
    own.or_else(|| cmd.get_subcommands().find_map(|sub| find_env(sub, long)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed duration flag exists, so a renamed flag cannot silently
    /// lose its leading-`-` handling.
    #[test]
    fn duration_flags_exist() {
        let cmd = Cli::command_for_parsing();
        for long in DURATION_FLAGS {
            assert!(
                find_env(&cmd, long).is_some(),
                "--{long} has no env variable or is gone"
            );
        }
    }

    /// `--flag -10s` and `--flag=-10s` fail alike, in one line naming the flag,
    /// for flags parsed by clap (report, simulate, --api.*).
    #[test]
    fn negative_durations_name_the_flag() {
        for (argv, flag) in [
            (
                vec!["report", "--max-interval"],
                "--max-interval (GENESYS_EXPORTER_REPORT_MAX_INTERVAL)",
            ),
            (
                vec!["simulate", "--token-ttl"],
                "--token-ttl (GENESYS_SIMULATOR_TOKEN_TTL)",
            ),
            (
                vec!["--api.timeout"],
                "--api.timeout (GENESYS_EXPORTER_API_TIMEOUT)",
            ),
            (
                vec!["check-config", "--api.deadline"],
                "--api.deadline (GENESYS_EXPORTER_API_DEADLINE)",
            ),
        ] {
            let last = argv.len() - 1;
            let mut spaced = vec!["x"];
            spaced.extend(argv.iter().copied());
            spaced.push("-10s");
            let joined_flag = format!("{}=-10s", argv[last]);
            let mut joined = vec!["x"];
            joined.extend(argv[..last].iter().copied());
            joined.push(&joined_flag);
            let lines: Vec<String> = [spaced, joined]
                .into_iter()
                .map(|args| match Cli::try_parse_args(args) {
                    Err(CliError::Duration(line)) => line,
                    other => panic!("{flag}: expected a duration error, got {other:?}"),
                })
                .collect();
            assert_eq!(lines[0], lines[1]);
            assert_eq!(
                lines[0],
                format!("{flag}: \"-10s\" is not a duration like 30s, 5m or 1h30m")
            );
        }
    }

    /// Exporter duration flags take a leading `-` as a value for validation to refuse.
    #[test]
    fn exporter_durations_take_hyphen_values() {
        let cli = Cli::try_parse_args(["x", "--poll.interval", "-10s"]).expect("parses");
        assert_eq!(cli.exporter.poll_interval, "-10s");
    }
}
