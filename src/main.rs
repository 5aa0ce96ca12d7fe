//! Entry point: parse the command line, set up logging, run the chosen command.

use std::process::ExitCode;

use genesys_exporter::cli::{self, Cli, Command};
use genesys_exporter::{exporter, logging, report, simulator};

fn main() -> ExitCode {
    let cli = Cli::parse_or_exit();
    if cli.version {
        print!("{}", cli::version_text());
        return ExitCode::SUCCESS;
    }
    logging::init(cli.log_level, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
