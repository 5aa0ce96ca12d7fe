//! Exporter benchmark (prints figures; `cargo bench --bench exporter`).
//!
//! 1. Render: a snapshot of 2,000 queues × 5 media types × 2 windows rendered
//!    to text and gzip (what one poll costs), with body sizes.
//! 2. Serve: scrape latency of `/metrics` (pre-rendered parts + live
//!    self-metrics) against a static handler serving the same bytes.
//! 3. Live: the exporter binary against the simulator with 2,000 queues: API
//!    requests per poll, CPU time per poll and resident memory.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use genesys_exporter::exporter::render::{self, Rendered};
use genesys_exporter::exporter::selfmetrics::SelfMetrics;
use genesys_exporter::exporter::server::{self, AppState, Chunks, CONTENT_TYPE};
use genesys_exporter::exporter::snapshot::{
    window_snapshot, MediaInfo, QueueInfo, QueueSet, WindowTotals,
};
use genesys_exporter::exporter::state::{PollKind, Shared};
use genesys_exporter::exporter::window::ResolvedWindow;
use genesys_exporter::kpi::{StatValues, Totals};
use genesys_exporter::simulator::{self, SimConfig, SimEndpoint};
use tokio::net::TcpListener;

const MEDIA: [&str; 5] = ["callback", "chat", "email", "message", "voice"];

/// Sizes of one run: the full benchmark under `cargo bench`, a quick smoke
/// run of the same code when `cargo test --all-targets` runs this binary.
#[derive(Debug, Clone, Copy)]
struct Scale {
    queues: usize,
    scrapes: usize,
    interval_secs: u64,
    cycles: u64,
}

const FULL: Scale = Scale {
    queues: 2_000,
    scrapes: 30,
    interval_secs: 20,
    cycles: 3,
};
const SMOKE: Scale = Scale {
    queues: 20,
    scrapes: 3,
    interval_secs: 2,
    cycles: 1,
};

fn main() {
    let scale = if std::env::args().any(|a| a == "--bench") {
        FULL
    } else {
        println!("(smoke run; `cargo bench --bench exporter` gives the real figures)");
        SMOKE
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let parts = render_figures(scale);
    rt.block_on(serve_figures(scale, parts));
    rt.block_on(live_figures(scale));
}

fn synthetic_set(queues: usize) -> QueueSet {
    QueueSet::new(
        (0..queues)
            .map(|i| QueueInfo {
                id: format!("00000000-0000-4000-8000-{i:012}"),
                name: Arc::from(format!("Queue {i:04} – Customer Service")),
                division: String::from("Home"),
                member_count: Some(25),
                media: MEDIA
                    .iter()
                    .map(|m| MediaInfo {
                        media_type: Arc::from(*m),
                        sl_target: Some(0.8),
                        sl_threshold_ms: Some(20_000),
                    })
                    .collect(),
            })
            .collect(),
    )
}

fn synthetic_totals(set: &QueueSet) -> WindowTotals {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |max: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % max) as f64
    };
    let mut totals = WindowTotals::new();
    for q in set.queues() {
        for m in MEDIA {
            let per_window = (0..2)
                .map(|_| {
                    let mut t = Totals::default();
                    let count = |c: f64| StatValues {
                        count: Some(c),
                        ..Default::default()
                    };
                    let timed = |c: f64, s: f64| StatValues {
                        count: Some(c),
                        sum: Some(s),
                        ..Default::default()
                    };
                    t.record("nOffered", &count(next(500)));
                    for metric in [
                        "tAnswered",
                        "tAbandon",
                        "tHandle",
                        "tWait",
                        "tTalkComplete",
                        "tHeldComplete",
                        "tAcw",
                    ] {
                        t.record(metric, &timed(next(400), next(90_000_000)));
                    }
                    let sl = StatValues {
                        numerator: Some(next(300)),
                        denominator: Some(300.0),
                        ..Default::default()
                    };
                    t.record("oServiceLevel", &sl);
                    t
                })
                .collect();
            totals.insert((q.id.clone(), m.to_string()), per_window);
        }
    }
    totals
}

fn render_figures(scale: Scale) -> [Rendered; 2] {
    let set = synthetic_set(scale.queues);
    let totals = synthetic_totals(&set);
    let windows = vec![
        ResolvedWindow {
            label: "30m".into(),
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_001_800_000,
        },
        ResolvedWindow {
            label: "today".into(),
            start_ms: 1_699_920_000_000,
            end_ms: 1_700_001_800_000,
        },
    ];
    println!(
        "== render: {} queues × {} media × {} windows",
        scale.queues,
        MEDIA.len(),
        windows.len()
    );
    let mut times = Vec::new();
    let mut part = Rendered::default();
    for _ in 0..5 {
        let t = Instant::now();
        let snap = window_snapshot(&set, windows.clone(), &totals, |_| true);
        part = render::render_windows(&snap);
        times.push(t.elapsed());
    }
    let plain_only = {
        let t = Instant::now();
        let _ = render::gzip(&part.plain);
        t.elapsed()
    };
    times.sort();
    println!(
        "window part: {} series, plain {:.1} MB, gzip {:.2} MB; snapshot+render+gzip median {:.0} ms (gzip alone {:.0} ms)",
        part.series,
        mb(part.plain.len()),
        mb(part.gzip.len()),
        ms(times[times.len() / 2]),
        ms(plain_only),
    );
    let t = Instant::now();
    let queues = render::render_queues(&set);
    println!(
        "queue part: {} series, plain {:.2} MB, gzip {:.2} MB, {:.0} ms",
        queues.series,
        mb(queues.plain.len()),
        mb(queues.gzip.len()),
        ms(t.elapsed())
    );
    println!(
        "process RSS after rendering: {:.0} MB (peak {:.0} MB)",
        rss_mb("self", "VmRSS"),
        rss_mb("self", "VmHWM")
    );
    [queues, part]
}

async fn serve_figures(scale: Scale, parts: [Rendered; 2]) {
    let shared = Arc::new(Shared::new(
        [Some(Duration::from_secs(3600)); 3],
        Duration::from_secs(3600),
    ));
    let [queues, windows] = parts;
    let plain = Bytes::from([queues.plain.clone(), windows.plain.clone()].concat());
    let gz = Bytes::from([queues.gzip.clone(), windows.gzip.clone()].concat());
    shared.publish(PollKind::Queues, queues);
    shared.publish(PollKind::Aggregates, windows);
    shared.publish(PollKind::Observations, Rendered::default());
    for kind in PollKind::ALL {
        shared.record(kind, Duration::ZERO, Ok(()));
    }
    let state = AppState {
        shared,
        metrics: Arc::new(SelfMetrics::new()),
        telemetry_path: Arc::from("/metrics"),
    };
    let exporter = spawn(server::router(state)).await;
    let static_app = Router::new()
        .route(
            "/plain",
            get(move || {
                let b = plain.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, CONTENT_TYPE)],
                        Body::new(Chunks::new(VecDeque::from([b]))),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/gzip",
            get(move || {
                let b = gz.clone();
                async move {
                    let headers = [
                        (header::CONTENT_TYPE, CONTENT_TYPE),
                        (header::CONTENT_ENCODING, "gzip"),
                    ];
                    (headers, Body::new(Chunks::new(VecDeque::from([b])))).into_response()
                }
            }),
        );
    let static_base = spawn(static_app).await;
    println!(
        "== serve: {} sequential scrapes each (median / p95, body size)",
        scale.scrapes
    );
    for (label, url, gzip) in [
        (
            "exporter /metrics, plain",
            format!("{exporter}/metrics"),
            false,
        ),
        (
            "static handler,    plain",
            format!("{static_base}/plain"),
            false,
        ),
        (
            "exporter /metrics, gzip ",
            format!("{exporter}/metrics"),
            true,
        ),
        (
            "static handler,    gzip ",
            format!("{static_base}/gzip"),
            true,
        ),
    ] {
        let (median, p95, size) = scrape_latency(&url, gzip, scale.scrapes).await;
        println!(
            "{label}: {:.1} ms / {:.1} ms, {:.2} MB",
            ms(median),
            ms(p95),
            mb(size)
        );
    }
}

async fn spawn(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn scrape_latency(url: &str, gzip: bool, scrapes: usize) -> (Duration, Duration, usize) {
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(scrapes + 3);
    let mut size = 0;
    for _ in 0..scrapes + 3 {
        let t = Instant::now();
        let mut req = client.get(url);
        if gzip {
            req = req.header("Accept-Encoding", "gzip");
        }
        let body = req
            .send()
            .await
            .expect("scrape")
            .bytes()
            .await
            .expect("body");
        times.push(t.elapsed());
        size = body.len();
    }
    let mut times = times.split_off(3);
    times.sort();
    (times[times.len() / 2], times[times.len() * 95 / 100], size)
}

async fn live_figures(scale: Scale) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    let config = SimConfig {
        queues: scale.queues,
        ..SimConfig::default()
    };
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sim = simulator::spawn(config, listener).await.expect("sim");
    let model = sim.model();
    let media: usize = model.queues().iter().map(|q| q.media.len()).sum();
    println!(
        "== live: simulator org of {} queues ({media} queue × media pairs), default windows 30m + today",
        scale.queues
    );
    let interval = scale.interval_secs;
    let mut child = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--genesys.api-url",
            &sim.base_url(),
            "--genesys.client-id",
            &id,
        ])
        .args([
            "--poll.interval",
            &format!("{interval}s"),
            "--poll.observations-interval",
            &format!("{interval}s"),
        ])
        .args([
            "--poll.queues-interval",
            "1h",
            "--api.requests-per-minute",
            "300",
            "--log.level",
            "warn",
        ])
        .env("GENESYS_CLIENT_SECRET", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("exporter binary");
    let pid = child.id().to_string();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    std::io::BufRead::read_line(&mut out, &mut line).expect("address line");
    let base = line
        .split("listening on ")
        .nth(1)
        .expect("address")
        .trim()
        .to_owned();
    let control = sim.control();
    let started = Instant::now();
    let client = reqwest::Client::new();
    let up = |client: reqwest::Client, base: String| async move {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(text.lines().any(|l| l == "genesys_up 1"))
    };
    while up(client.clone(), base.clone()).await != Some(true) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "exporter never came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first_cpu = cpu_seconds(&pid);
    println!(
        "first complete poll after {:.1} s, exporter CPU {:.2} s; requests: token {}, queues {}, aggregates {}, observations {}",
        started.elapsed().as_secs_f64(),
        first_cpu,
        control.request_count(SimEndpoint::Token),
        control.request_count(SimEndpoint::Queues),
        control.request_count(SimEndpoint::Aggregates),
        control.request_count(SimEndpoint::Observations),
    );
    control.reset_counts();
    let cycles = scale.cycles;
    tokio::time::sleep(Duration::from_secs(cycles * interval)).await;
    let cpu = cpu_seconds(&pid) - first_cpu;
    println!(
        "steady state over {cycles} × {interval}s: per poll {:.1} aggregates + {:.1} observations requests, CPU {:.2} s per aggregates+observations poll",
        control.request_count(SimEndpoint::Aggregates) as f64 / cycles as f64,
        control.request_count(SimEndpoint::Observations) as f64 / cycles as f64,
        cpu / cycles as f64,
    );
    let body = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape")
        .bytes()
        .await
        .expect("body");
    println!(
        "exporter RSS {:.0} MB (peak {:.0} MB); /metrics {:.1} MB plain",
        rss_mb(&pid, "VmRSS"),
        rss_mb(&pid, "VmHWM"),
        mb(body.len())
    );
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
    sim.shutdown().await;
}

fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn rss_mb(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}
