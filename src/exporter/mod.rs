//! The exporter (placeholder until the exporter lands).

use std::process::ExitCode;

/// Exporter flags.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {}

/// `check-config` flags.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {}

/// Runs the exporter until SIGTERM/SIGINT.
pub async fn run_command(_args: ExporterArgs) -> ExitCode {
    eprintln!("genesys_exporter: exporter not available in this build");
    ExitCode::FAILURE
}

/// Validates the configuration.
pub async fn check_config_command(_args: CheckConfigArgs) -> ExitCode {
    eprintln!("genesys_exporter check-config: not available in this build");
    ExitCode::FAILURE
}
