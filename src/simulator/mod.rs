//! The Genesys Cloud API simulator (placeholder until the simulator lands).

use std::process::ExitCode;

/// `genesys_exporter simulate` flags.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {}

/// Runs the simulator until interrupted.
pub async fn run_command(_args: SimulateArgs) -> ExitCode {
    eprintln!("genesys_exporter simulate: not available in this build");
    ExitCode::FAILURE
}
