//! The exporter: polls Genesys Cloud on its own schedule, keeps immutable
//! snapshots of queue gauges rendered once per poll, and serves them on
//! `/metrics` with live self-metrics and health endpoints.
//!
//! # Layout
//! - [`args`]: flags and environment variables; [`config`]: their validation.
//! - [`window`]: pure window maths and the per-poll query plan.
//! - [`snapshot`] / [`realtime`]: pure snapshots of the queue set, window
//!   totals and real-time values; [`families`]: the metric catalogue (every
//!   served family's name, type, labels, HELP and window value).
//! - [`render`]: text format ([`text_format`]) + gzip, once per poll;
//!   [`selfmetrics`]: the exporter's own metrics, read per scrape
//!   ([`process_metrics`]: `process_*` from `/proc/self`);
//!   [`body`]: the streamed `/metrics` body.
//! - [`state`]: what the poller publishes and the server reads, and freshness.
//! - [`ingest`]: pure conversion of API answers into snapshot inputs
//!   ([`poll_fold`]: aggregates buckets summed into windows as decoded);
//!   [`bad_values`]: counting and logging API values that cannot be served.
//! - [`budget`]: the pure budget plan (requests per minute each poll needs,
//!   and the intervals that fit the budget); [`planner`]: applies it.
//! - [`family_filter`]: `--metrics.include` / `--metrics.exclude`.
//! - [`org_wide`]: whether aggregates queries ask the whole org or chunks.
//! - [`poller`]: the three polls; [`poll_loop`]: their schedule;
//!   [`poll_error`]: why a poll failed; [`server`] + [`landing`]: HTTP;
//!   [`listen`]: the listen addresses or systemd's sockets.
//! - [`push`]: real-time gauges pushed over the Notifications API (topics,
//!   socket messages, the merged state, the socket, channels and the switch
//!   between push and polling).
//! - [`check`]: `check-config`; [`demo`]: the embedded simulator for `--demo`.

pub mod args;
pub mod bad_values;
pub mod body;
pub mod budget;
pub mod check;
pub mod config;
pub mod demo;
pub mod families;
pub mod family_filter;
pub mod ingest;
pub mod landing;
pub mod listen;
pub mod metric_support;
pub mod org_wide;
pub mod planner;
pub mod poll_error;
pub mod poll_fold;
pub mod poll_loop;
pub mod poller;
#[cfg(target_os = "linux")]
pub mod process_metrics;
pub mod push;
pub mod realtime;
pub mod render;
pub mod selfmetrics;
pub mod served_media;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod text_format;
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

/// The sockets the exporter serves on: one, or one per `--web.listen-address`.
#[derive(Debug)]
pub struct Listeners(Vec<TcpListener>);

impl From<TcpListener> for Listeners {
    fn from(listener: TcpListener) -> Listeners {
        Listeners(vec![listener])
    }
}

impl From<Vec<TcpListener>> for Listeners {
    fn from(listeners: Vec<TcpListener>) -> Listeners {
        Listeners(listeners)
    }
}

/// Runs the exporter on `listeners` (one or several) until `shutdown`
/// completes: polls the API with `client` and serves `/metrics` on each.
/// Returns after polling stopped and in-flight scrapes finished (bounded by a
/// few seconds).
pub async fn run<F>(
    config: Config,
    client: ClientConfig,
    listeners: impl Into<Listeners>,
    shutdown: F,
) -> Result<(), String>
where
    F: Future<Output = ()> + Send + 'static,
{
    let Listeners(listeners) = listeners.into();
    if listeners.is_empty() {
        return Err(String::from("no address to listen on"));
    }
    let metrics = Arc::new(SelfMetrics::new());
    let client = Client::new(client, metrics.clone()).map_err(|e| e.to_string())?;
    let web = config.web.clone();
    let shared = Arc::new(Shared::new(config.poll_intervals(), config.max_staleness));
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = server::AppState {
        shared: Arc::clone(&shared),
        metrics: Arc::clone(&metrics),
        telemetry_path: Arc::from(config.telemetry_path.as_str()),
    };
    let mut router = server::router(state);
    if let Some(web) = &web {
        router = router.layer(axum::middleware::from_fn_with_state(
            crate::web::auth::Guard::new(Arc::clone(web)),
            crate::web::auth::layer,
        ));
    }
    let tls = web.filter(|w| w.current().tls.is_some());
    let limits = config.connections;
    let observer: Arc<dyn crate::web::serve::CloseObserver> = metrics.clone();
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let mut server_stop = stop_rx.clone();
        let stopped = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        let (router, observer) = (router.clone(), Arc::clone(&observer));
        match &tls {
            Some(web) => {
                let listener = TlsListener::new(listener, Arc::clone(web))
                    .map_err(|e| format!("cannot start the TLS listener: {e}"))?;
                servers.spawn(serve(listener, router, limits, observer, stopped));
            }
            None => {
                servers.spawn(serve(listener, router, limits, observer, stopped));
            }
        }
    }
    let poller = poller::Poller::new(
        client,
        Arc::new(config),
        Arc::clone(&shared),
        Arc::clone(&metrics),
    );
    let mut tasks = poller.spawn(stop_rx.clone());
    tasks.extend(push::Hub::spawn(
        Arc::clone(&poller),
        shared,
        metrics,
        stop_rx.clone(),
    ));

    // A server that ends before shutdown is a failure that stops them all.
    let early = tokio::select! {
        () = shutdown => None,
        r = servers.join_next() => r,
    };
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
        }
    }
    let mut results: Vec<_> = early.into_iter().collect();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(r) = servers.join_next().await {
            results.push(r);
        }
    })
    .await;
    if drained.is_err() {
        servers.abort_all();
        tracing::warn!("in-flight requests did not finish in time");
    }
    for served in results {
        served.map_err(|e| format!("HTTP server task failed: {e}"))?;
    }
    Ok(())
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
    let listeners = match listen::open(&config).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("genesys_exporter: {e}");
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            return ExitCode::FAILURE;
        }
    };
    let result = run(
        config,
        client,
        listeners,
        crate::shutdown::shutdown_signal(),
    )
    .await;
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
