//! The exporter: polls Genesys Cloud on its own schedule, keeps immutable
//! snapshots of queue gauges rendered once per poll, and serves them on
//! `/metrics` with live self-metrics and health endpoints.
//!
//! # Layout
//! - [`args`]: flags and environment variables; [`config`]: their validation.
//! - [`window`]: pure window maths and the per-poll query plan.
//! - [`snapshot`] / [`realtime`]: pure snapshots of the queue set, window
//!   values and real-time values; [`families`]: metric names and HELP.
//! - [`render`]: text format + gzip, once per poll; [`selfmetrics`]: the
//!   exporter's own metrics, rendered per scrape.
//! - [`state`]: what the poller publishes and the server reads, and freshness.
//! - [`ingest`]: pure conversion of API answers into snapshot inputs.
//! - [`poller`]: the three poll loops; [`server`] + [`landing`]: HTTP.
//! - [`check`]: `check-config`; [`demo`]: the embedded simulator for `--demo`.

pub mod args;
pub mod check;
pub mod config;
pub mod demo;
pub mod families;
pub mod ingest;
pub mod landing;
pub mod poller;
pub mod realtime;
pub mod render;
pub mod selfmetrics;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod window;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use args::{CheckConfigArgs, ExporterArgs};
pub use check::check_config_command;
pub use config::Config;

use crate::genesys::{Client, ClientConfig};
use crate::web::listener::TlsListener;
use crate::web::serve::serve;
use selfmetrics::SelfMetrics;
use state::Shared;

/// How long shutdown waits for poll tasks and in-flight scrapes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the exporter on `listener` until `shutdown` completes: polls the API
/// with `client` and serves `/metrics`. Returns after polling stopped and
/// in-flight scrapes finished (bounded by a few seconds).
pub async fn run<F>(
    config: Config,
    client: ClientConfig,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), String>
where
    F: Future<Output = ()> + Send + 'static,
{
    let metrics = Arc::new(SelfMetrics::new());
    let client = Client::new(client, metrics.clone()).map_err(|e| e.to_string())?;
    let poll = config.poll;
    let web = config.web.clone();
    let shared = Arc::new(Shared::new(
        [Some(poll.queues), Some(poll.aggregates), poll.observations],
        config.max_staleness,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = server::AppState {
        shared: Arc::clone(&shared),
        metrics: Arc::clone(&metrics),
        telemetry_path: Arc::from(config.telemetry_path.as_str()),
    };
    let mut router = server::router(state);
    let mut server_stop = stop_rx.clone();
    let stopped = async move {
        let _ = server_stop.wait_for(|s| *s).await;
    };
    if let Some(web) = &web {
        router = router.layer(axum::middleware::from_fn_with_state(
            crate::web::auth::Guard::new(Arc::clone(web)),
            crate::web::auth::layer,
        ));
    }
    let limits = config.connections;
    let observer: Arc<dyn crate::web::serve::CloseObserver> = metrics.clone();
    let mut server = match web.filter(|w| w.current().tls.is_some()) {
        Some(web) => {
            let listener = TlsListener::new(listener, web)
                .map_err(|e| format!("cannot start the TLS listener: {e}"))?;
            tokio::spawn(serve(listener, router, limits, observer, stopped))
        }
        None => tokio::spawn(serve(listener, router, limits, observer, stopped)),
    };
    let poller = poller::Poller::new(client, Arc::new(config), shared, metrics);
    let tasks = poller.spawn(stop_rx.clone());

    let early = tokio::select! {
        () = shutdown => None,
        r = &mut server => Some(r),
    };
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
        }
    }
    let served = match early {
        Some(r) => r,
        None => match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(r) => r,
            Err(_) => {
                server.abort();
                tracing::warn!("in-flight requests did not finish in time");
                return Ok(());
            }
        },
    };
    served.map_err(|e| format!("HTTP server task failed: {e}"))
}

/// Runs the exporter until SIGTERM/SIGINT.
pub async fn run_command(args: ExporterArgs) -> ExitCode {
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                eprintln!("genesys_exporter: {p}");
            }
            return ExitCode::from(2);
        }
    };
    let (client, sim) = if config.demo {
        match demo::start().await {
            Ok((client, sim)) => (client, Some(sim)),
            Err(e) => {
                eprintln!("genesys_exporter: --demo: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        match args.client.to_config() {
            Ok(c) => (c, None),
            Err(e) => {
                eprintln!("genesys_exporter: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let listener = match TcpListener::bind(&config.listen_address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "genesys_exporter: --web.listen-address: cannot listen on {}: {e}",
                config.listen_address
            );
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => {
            let scheme = match &config.web {
                Some(web) if web.current().tls.is_some() => "https",
                _ => "http",
            };
            tracing::info!(address = %addr, path = %config.telemetry_path, scheme, "listening");
            println!("genesys_exporter listening on {scheme}://{addr}");
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the bound address"),
    }
    let result = run(config, client, listener, shutdown_signal()).await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genesys_exporter: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
