//! Entry point: parse the command line, set up logging, run the chosen command.

use std::process::ExitCode;

use genesys_exporter::cli::{self, Cli, Command};
use genesys_exporter::{exporter, logging, report, simulator};

/// The allocator with `--features jemalloc` (measured against glibc malloc:
/// see benches/RESULTS-exporter.md); without it, the system allocator.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Async worker threads of the exporter.
const EXPORTER_WORKER_THREADS: usize = 1;
/// Threads of the exporter's blocking pool (decoding, rendering, gzip,
/// password checks).
const EXPORTER_BLOCKING_THREADS: usize = 1;

fn main() -> ExitCode {
    let cli = Cli::parse_or_exit();
    if cli.version {
        print!("{}", cli::version_text());
        return ExitCode::SUCCESS;
    }
    logging::init(cli.log_level, cli.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if cli.command.is_none() {
        // The exporter's async work is I/O; decoding, rendering and gzip run
        // on the blocking pool. Few threads mean few malloc arenas, each of
        // which keeps its own freed memory resident.
        builder
            .worker_threads(EXPORTER_WORKER_THREADS)
            .max_blocking_threads(EXPORTER_BLOCKING_THREADS);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("genesys_exporter: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            None => exporter::run_command(cli.exporter).await,
            Some(Command::Simulate(args)) => simulator::run_command(args).await,
            Some(Command::Report(args)) => report::run_command(args).await,
            Some(Command::CheckConfig(args)) => exporter::check_config_command(args).await,
        }
    })
}
