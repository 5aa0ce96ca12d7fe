//! The one-shot per-queue KPI report (placeholder until the report lands).

use std::process::ExitCode;

/// `genesys_exporter report` flags.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

/// Runs the report.
pub async fn run_command(_args: ReportArgs) -> ExitCode {
    eprintln!("genesys_exporter report: not available in this build");
    ExitCode::FAILURE
}
