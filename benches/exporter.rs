//! Exporter benchmark (prints figures; `cargo bench --bench exporter`).
//!
//! 1. Render: a snapshot of 2,000 queues × 5 media types × 2 windows rendered
//!    to text and gzip (what one poll costs), with body sizes.
//! 2. Serve: scrape latency of `/metrics` (pre-rendered parts + live
//!    self-metrics; plain scrapes stream-decompressed) against a static
//!    handler serving the same bytes.
//! 3. Live, at 100, 2,000 and 10,000 queues: the exporter binary against the
//!    simulator (`real-org` preset, default windows). API requests per poll by
//!    endpoint, counted at the simulator; CPU per aggregates poll and per
//!    observations poll (each measured in its own exporter process with
//!    `--realtime.source poll`, the other kind polled once), and as a share
//!    of one core at the default intervals; then a third process at the
//!    defaults (push real-time gauges): its share of one core, the events it
//!    received and the requests it sent over two minutes;
//!    resident memory after 10 plain and 10 gzip scrapes; body sizes; gzip
//!    scrape time against a static handler serving the same gzip bytes, in
//!    this process and in a child process of its own (this binary again,
//!    with `EXPORTER_BENCH_STATIC_FILE` set).
//!    Every wait is bounded: an org that does not come up in time is reported
//!    as such and the run goes on. `EXPORTER_BENCH_QUEUES=2000` (a comma
//!    list of the sizes above) runs only those orgs.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Child, Command, Stdio};
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
use genesys_exporter::simulator::{self, Control, Preset, SimConfig, SimEndpoint, Variants};
use tokio::net::TcpListener;

const MEDIA: [&str; 5] = ["callback", "chat", "email", "message", "voice"];

/// Default intervals of the exporter (`--poll.interval`,
/// `--poll.observations-interval`), for the share of a core.
const DEFAULT_AGGREGATES_SECS: f64 = 60.0;
const DEFAULT_OBSERVATIONS_SECS: f64 = 15.0;

/// Client budget of the live runs, and the simulator's limit: above the
/// default 300 so a chunked 10,000-queue poll fits a short bench interval.
/// Requests per poll do not depend on it.
const BUDGET: u32 = 1_200;

/// One live org size: queues, the interval of the measured poll kind, and
/// how long the first complete poll may take.
#[derive(Debug, Clone, Copy)]
struct Org {
    queues: usize,
    interval_secs: u64,
    up_within_secs: u64,
}

/// Sizes of one run: the full benchmark under `cargo bench`, a quick smoke
/// run of the same code when `cargo test --all-targets` runs this binary.
#[derive(Debug, Clone, Copy)]
struct Scale {
    render_queues: usize,
    scrapes: usize,
    cycles: u64,
    /// How long the push run's CPU is measured, after it settled.
    push_secs: u64,
    orgs: &'static [Org],
}

const FULL: Scale = Scale {
    render_queues: 2_000,
    scrapes: 30,
    cycles: 3,
    push_secs: 120,
    orgs: &[
        Org {
            queues: 100,
            interval_secs: 5,
            up_within_secs: 60,
        },
        Org {
            queues: 2_000,
            interval_secs: 10,
            up_within_secs: 120,
        },
        Org {
            queues: 10_000,
            interval_secs: 30,
            up_within_secs: 300,
        },
    ],
};
const SMOKE: Scale = Scale {
    render_queues: 20,
    scrapes: 3,
    cycles: 1,
    push_secs: 2,
    orgs: &[Org {
        queues: 20,
        interval_secs: 2,
        up_within_secs: 60,
    }],
};

/// Set in a child of this benchmark: serve this file's bytes as a gzip
/// body on `/gzip`, in a process of its own like the exporter.
const STATIC_FILE_VAR: &str = "EXPORTER_BENCH_STATIC_FILE";

fn main() {
    if let Ok(file) = std::env::var(STATIC_FILE_VAR) {
        serve_static_file(&file);
        return;
    }
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
    let only = selected_orgs();
    for org in scale.orgs {
        if only
            .as_ref()
            .is_none_or(|sizes| sizes.contains(&org.queues))
        {
            rt.block_on(live_figures(scale, *org));
        }
    }
}

/// The live org sizes `EXPORTER_BENCH_QUEUES` selects (comma-separated queue
/// counts, e.g. `2000`); every size when unset.
fn selected_orgs() -> Option<Vec<usize>> {
    let value = std::env::var("EXPORTER_BENCH_QUEUES").ok()?;
    Some(
        value
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect(),
    )
}

/// Median time of one render of the self-metrics as a gzip scrape sends them.
fn self_metrics_render(metrics: &SelfMetrics, times: usize) -> Duration {
    let mut spent: Vec<Duration> = (0..times)
        .map(|_| {
            let t = Instant::now();
            let own = metrics.render();
            let _ = render::gzip_stored(&own);
            t.elapsed()
        })
        .collect();
    spent.sort();
    spent[spent.len() / 2]
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
    let set = synthetic_set(scale.render_queues);
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
        scale.render_queues,
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
    println!(
        "process RSS after 5 renders: {:.0} MB (peak {:.0} MB, the synthetic inputs included)",
        rss_mb("self", "VmRSS"),
        rss_mb("self", "VmHWM")
    );
    let text = part.text();
    let gzip_only = {
        let t = Instant::now();
        let _ = render::gzip(text.as_bytes());
        t.elapsed()
    };
    drop(text);
    times.sort();
    println!(
        "window part: {} series, plain {:.1} MB, gzip {:.2} MB; snapshot+render+gzip median {:.0} ms (gzip alone {:.0} ms)",
        part.series,
        mb(part.plain_len() as usize),
        mb(part.gzip().len()),
        ms(times[times.len() / 2]),
        ms(gzip_only),
    );
    let t = Instant::now();
    let queues = render::render_queues(&set);
    println!(
        "queue part: {} series, plain {:.2} MB, gzip {:.2} MB, {:.0} ms",
        queues.series,
        mb(queues.plain_len() as usize),
        mb(queues.gzip().len()),
        ms(t.elapsed())
    );
    [queues, part]
}

async fn serve_figures(scale: Scale, parts: [Rendered; 2]) {
    let shared = Arc::new(Shared::new(
        [Some(Duration::from_secs(3600)); 3],
        Duration::from_secs(3600),
    ));
    let [queues, windows] = parts;
    let plain = Bytes::from(queues.text() + &windows.text());
    let gz = Bytes::from([queues.gzip().clone(), windows.gzip().clone()].concat());
    shared.publish(PollKind::Queues, queues);
    shared.publish(PollKind::Aggregates, windows);
    shared.publish(PollKind::Observations, Rendered::default());
    for kind in PollKind::ALL {
        shared.record(kind, Duration::ZERO, Ok(()));
    }
    let metrics = Arc::new(SelfMetrics::new());
    println!(
        "self-metrics render for a gzip scrape (registry gather, text encoder, process_* from /proc, stored gzip member): median {:.3} ms of {} renders",
        ms(self_metrics_render(&metrics, 10 * scale.scrapes)),
        10 * scale.scrapes
    );
    let state = AppState {
        shared,
        metrics,
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

/// A running exporter process against the simulator.
struct Exporter {
    child: Child,
    pid: String,
    base: String,
}

impl Exporter {
    /// Starts the release binary against the simulator at `sim` with the
    /// benchmark's budget and `args`.
    fn start(sim: &str, id: &str, secret: &str, args: &[&str]) -> Exporter {
        let mut child = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(["--genesys.api-url", sim, "--genesys.client-id", id])
            .args(args)
            .args(["--api.requests-per-minute", &BUDGET.to_string()])
            .args(["--log.level", "warn"])
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
        Exporter { child, pid, base }
    }

    /// Waits (bounded) until `/-/ready` (every poll kind fresh); the time it
    /// took, or `None`.
    async fn wait_up(&self, client: &reqwest::Client, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < within {
            let ready = client.get(format!("{}/-/ready", self.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        None
    }

    fn cpu(&self) -> f64 {
        cpu_seconds(&self.pid)
    }

    /// Stops the process by its pid and reaps it.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests per endpoint since the last reset: (token, queues, aggregates, observations).
fn counts(control: &Control) -> [u64; 4] {
    [
        SimEndpoint::Token,
        SimEndpoint::Queues,
        SimEndpoint::Aggregates,
        SimEndpoint::Observations,
    ]
    .map(|e| control.request_count(e))
}

/// One plain scrape's text (empty on any failure).
async fn scrape_text(client: &reqwest::Client, base: &str) -> String {
    let Ok(resp) = client.get(format!("{base}/metrics")).send().await else {
        return String::new();
    };
    resp.text().await.unwrap_or_default()
}

/// One gzip scrape's raw (still compressed) body.
async fn scrape_gzip(client: &reqwest::Client, url: &str) -> Bytes {
    client
        .get(url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("scrape")
        .bytes()
        .await
        .expect("body")
}

/// 10 plain then 10 gzip scrapes (what the memory figures are read after):
/// the last plain text and the last gzip body's length.
async fn ten_scrapes_each(client: &reqwest::Client, base: &str) -> (String, usize) {
    let mut text = String::new();
    for _ in 0..10 {
        text = scrape_text(client, base).await;
    }
    let mut gzip_len = 0;
    for _ in 0..10 {
        gzip_len = scrape_gzip(client, &format!("{base}/metrics")).await.len();
    }
    (text, gzip_len)
}

/// The self-metric lines a reader needs to trust the figures: poll
/// durations and any poll failure.
fn poll_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            l.starts_with("genesys_exporter_poll_duration_seconds{")
                || (l.starts_with("genesys_exporter_poll_failures_total{") && !l.ends_with(" 0"))
        })
        .collect()
}

/// Measures one kind: an exporter polling `kind` every `interval` and the
/// other kind hourly (once, at start), real-time gauges polled. Returns the exporter, still running,
/// and CPU seconds per poll, or `None` when it did not come up in time.
async fn measure_kind(
    scale: Scale,
    org: Org,
    sim: &simulator::SimHandle,
    (id, secret): (&str, &str),
    kind: PollKind,
) -> Option<(Exporter, f64)> {
    let control = sim.control();
    control.reset_counts();
    let every = format!("{}s", org.interval_secs);
    let (aggregates, observations) = match kind {
        PollKind::Aggregates => (every.as_str(), "1h"),
        _ => ("1h", every.as_str()),
    };
    // Polled real-time gauges: with push (the default) observations are
    // only polled to reconcile.
    let args = [
        "--realtime.source",
        "poll",
        "--poll.interval",
        aggregates,
        "--poll.observations-interval",
        observations,
        "--poll.queues-interval",
        "1h",
    ];
    let exporter = Exporter::start(&sim.base_url(), id, secret, &args);
    let client = reqwest::Client::new();
    let Some(took) = exporter
        .wait_up(&client, Duration::from_secs(org.up_within_secs))
        .await
    else {
        let [t, q, a, o] = counts(&control);
        println!(
            "  {}: NOT UP within {} s (exporter CPU {:.2} s; requests so far: token {t}, queues {q}, aggregates {a}, observations {o})",
            kind.as_str(),
            org.up_within_secs,
            exporter.cpu()
        );
        for l in poll_lines(&scrape_text(&client, &exporter.base).await) {
            println!("    {l}");
        }
        exporter.stop();
        return None;
    };
    let first_cpu = exporter.cpu();
    let [t, q, a, o] = counts(&control);
    println!(
        "  {} run: first complete poll after {:.1} s, CPU {:.2} s; requests: token {t}, queues {q}, aggregates {a} (with the 7-day served-media lookback), observations {o}",
        kind.as_str(),
        took.as_secs_f64(),
        first_cpu,
    );
    control.reset_counts();
    let cycles = scale.cycles;
    tokio::time::sleep(Duration::from_secs(cycles * org.interval_secs)).await;
    let cpu = (exporter.cpu() - first_cpu) / cycles as f64;
    let [_, _, a, o] = counts(&control);
    let asked = match kind {
        PollKind::Aggregates => a,
        _ => o,
    };
    println!(
        "  {} run: {cycles} polls every {} s: {:.1} {} requests per poll (other endpoints: {}), CPU {:.3} s per poll",
        kind.as_str(),
        org.interval_secs,
        asked as f64 / cycles as f64,
        kind.as_str(),
        if kind == PollKind::Aggregates { o } else { a },
        cpu,
    );
    Some((exporter, cpu))
}

async fn live_figures(scale: Scale, org: Org) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    let config = SimConfig {
        queues: org.queues,
        rate_limit_per_minute: BUDGET,
        variants: Variants::preset(Preset::RealOrg),
        ..SimConfig::default()
    };
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sim = simulator::spawn(config, listener).await.expect("sim");
    let media: usize = sim.model().queues().iter().map(|q| q.media.len()).sum();
    println!(
        "== live: {} queues ({media} queue × media pairs), real-org preset, default windows 30m + today, budget {BUDGET}/min",
        org.queues
    );
    let creds = (id.as_str(), secret.as_str());
    let observations = match measure_kind(scale, org, &sim, creds, PollKind::Observations).await {
        Some((exporter, cpu)) => {
            println!(
                "  observations run: exporter RSS {:.0} MB (peak {:.0} MB)",
                rss_mb(&exporter.pid, "VmRSS"),
                rss_mb(&exporter.pid, "VmHWM")
            );
            exporter.stop();
            Some(cpu)
        }
        None => None,
    };
    let Some((exporter, aggregates)) =
        measure_kind(scale, org, &sim, creds, PollKind::Aggregates).await
    else {
        sim.shutdown().await;
        return;
    };
    if let Some(observations) = observations {
        let share = aggregates / DEFAULT_AGGREGATES_SECS + observations / DEFAULT_OBSERVATIONS_SECS;
        println!(
            "  CPU per aggregates + observations poll {:.3} s; at the default intervals (60 s / 15 s) {:.2} % of one core",
            aggregates + observations,
            share * 100.0
        );
    }
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", exporter.base);
    let (text, gzip_len) = ten_scrapes_each(&client, &exporter.base).await;
    let plain_len = text.len();
    println!(
        "  after 10 plain + 10 gzip scrapes: exporter RSS {:.0} MB (peak {:.0} MB); /metrics {:.1} MB plain, {:.2} MB gzip, {} samples",
        rss_mb(&exporter.pid, "VmRSS"),
        rss_mb(&exporter.pid, "VmHWM"),
        mb(plain_len),
        mb(gzip_len),
        text.lines().filter(|l| !l.starts_with('#')).count(),
    );
    for l in poll_lines(&text) {
        println!("    {l}");
    }
    drop(text);
    gzip_against_static(scale, &client, &url).await;
    exporter.stop();
    measure_push(scale, org, &sim, creds).await;
    sim.shutdown().await;
}

/// The exporter at its defaults (push real-time gauges, aggregates every
/// 60 s, reconcile every 30 min): share of one core over `push_secs` once
/// settled, events received, requests sent, and memory after 10 plain and
/// 10 gzip scrapes; then gzip scrapes against the static handler.
async fn measure_push(
    scale: Scale,
    org: Org,
    sim: &simulator::SimHandle,
    (id, secret): (&str, &str),
) {
    let control = sim.control();
    let exporter = Exporter::start(&sim.base_url(), id, secret, &[]);
    let client = reqwest::Client::new();
    let Some(took) = exporter
        .wait_up(&client, Duration::from_secs(org.up_within_secs))
        .await
    else {
        println!("  push run: NOT UP within {} s", org.up_within_secs);
        exporter.stop();
        return;
    };
    // Past the start-up seeds and the first aggregates poll.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let events = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("genesys_exporter_notification_messages_total{kind=\"event\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let source = |text: &str| text.contains("genesys_exporter_realtime_source{source=\"push\"} 1");
    let before = events(&scrape_text(&client, &exporter.base).await);
    control.reset_counts();
    let (cpu, started) = (exporter.cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(scale.push_secs)).await;
    let (cpu, secs) = (exporter.cpu() - cpu, started.elapsed().as_secs_f64());
    let [_, _, a, o] = counts(&control);
    let text = scrape_text(&client, &exporter.base).await;
    println!(
        "  push run (defaults; up after {:.1} s, push active: {}): {:.2} % of one core over {secs:.0} s, {:.0} events/s received; requests in that time: aggregates {a}, observations {o}",
        took.as_secs_f64(),
        source(&text),
        cpu / secs * 100.0,
        (events(&text) - before) / secs,
    );
    drop(text);
    let url = format!("{}/metrics", exporter.base);
    let (text, gzip_len) = ten_scrapes_each(&client, &exporter.base).await;
    let plain_len = text.len();
    drop(text);
    println!(
        "  push run, after 10 plain + 10 gzip scrapes: exporter RSS {:.0} MB (peak {:.0} MB); /metrics {:.1} MB plain, {:.2} MB gzip",
        rss_mb(&exporter.pid, "VmRSS"),
        rss_mb(&exporter.pid, "VmHWM"),
        mb(plain_len),
        mb(gzip_len),
    );
    gzip_against_static(scale, &client, &url).await;
    exporter.stop();
}

/// gzip scrapes of the exporter against a static handler (in this process)
/// serving the same gzip bytes, interleaved so both see the same load.
async fn gzip_against_static(scale: Scale, client: &reqwest::Client, url: &str) {
    let body = scrape_gzip(client, url).await;
    let mut check = Vec::new();
    // Every member of the stream decodes (what Prometheus's Go client does).
    let decoded = flate2::read::MultiGzDecoder::new(&body[..])
        .read_to_end(&mut check)
        .is_ok();
    drop(check);
    // The same handler in a process of its own, as the exporter is.
    let separate = spawn_static_process(&body);
    let static_url = format!("{}/gzip", spawn(gzip_app(body)).await);
    // The exporter's `/-/healthy` (a constant answer) shows what any request
    // to that process costs, whatever the handler.
    let healthy_url = url.replace("/metrics", "/-/healthy");
    let (mut ours, mut theirs, mut healthy) = (Vec::new(), Vec::new(), Vec::new());
    let mut apart = Vec::new();
    let mut size = 0;
    for i in 0..scale.scrapes + 3 {
        let t = Instant::now();
        size = scrape_gzip(client, url).await.len();
        let a = t.elapsed();
        let t = Instant::now();
        let _ = scrape_gzip(client, &static_url).await;
        let b = t.elapsed();
        let t = Instant::now();
        let _ = scrape_gzip(client, &healthy_url).await;
        let c = t.elapsed();
        let d = match &separate {
            Some((url, _, _)) => {
                let t = Instant::now();
                let _ = scrape_gzip(client, url).await;
                Some(t.elapsed())
            }
            None => None,
        };
        if i >= 3 {
            ours.push(a);
            theirs.push(b);
            healthy.push(c);
            apart.extend(d);
        }
    }
    if let Some((_, child, file)) = separate {
        stop_static_process(child, &file);
    }
    ours.sort();
    theirs.sort();
    healthy.sort();
    apart.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let p95 = |v: &[Duration]| v[v.len() * 95 / 100];
    println!(
        "  exporter /-/healthy, median / p95: {:.2} / {:.2} ms",
        ms(median(&healthy)),
        ms(p95(&healthy))
    );
    println!(
        "  gzip scrape ({:.2} MB, decodes as one stream: {decoded}), {} each, median / p95: exporter {:.2} / {:.2} ms, static handler {:.2} / {:.2} ms, ratio of medians {:.2}",
        mb(size),
        scale.scrapes,
        ms(median(&ours)),
        ms(p95(&ours)),
        ms(median(&theirs)),
        ms(p95(&theirs)),
        median(&ours).as_secs_f64() / median(&theirs).as_secs_f64().max(1e-9),
    );
    if apart.is_empty() {
        println!("  static handler in its own process: did not start");
    } else {
        println!(
            "  static handler in its own process (one async worker, like the exporter), median / p95: {:.2} / {:.2} ms, exporter / it {:.2}",
            ms(median(&apart)),
            ms(p95(&apart)),
            median(&ours).as_secs_f64() / median(&apart).as_secs_f64().max(1e-9),
        );
    }
}

/// The child's job: the static gzip handler in its own process, with the
/// exporter's runtime shape (one async worker). It prints its address, and
/// ends when its parent closes stdin or after 10 minutes.
fn serve_static_file(file: &str) {
    let body = Bytes::from(std::fs::read(file).expect("static body"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let base = spawn(gzip_app(body)).await;
        println!("listening on {base}");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        });
        let _ = tokio::time::timeout(Duration::from_secs(600), stdin_closed).await;
    });
}

/// A router serving `body` as a gzip `/metrics` answer on `/gzip`.
fn gzip_app(body: Bytes) -> Router {
    Router::new().route(
        "/gzip",
        get(move || {
            let b = body.clone();
            async move {
                let headers = [
                    (header::CONTENT_TYPE, CONTENT_TYPE),
                    (header::CONTENT_ENCODING, "gzip"),
                ];
                (headers, Body::new(Chunks::new(VecDeque::from([b])))).into_response()
            }
        }),
    )
}

/// The static handler in a child process serving `body`: its URL and the
/// child, or `None` when it could not start.
fn spawn_static_process(body: &[u8]) -> Option<(String, Child, std::path::PathBuf)> {
    let file = std::env::temp_dir().join(format!("genesys-bench-static-{}.gz", std::process::id()));
    std::fs::write(&file, body).ok()?;
    let mut child = Command::new(std::env::current_exe().ok()?)
        .env(STATIC_FILE_VAR, &file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take()?);
    std::io::BufRead::read_line(&mut out, &mut line).ok()?;
    let base = line.split("listening on ").nth(1)?.trim().to_owned();
    Some((format!("{base}/gzip"), child, file))
}

/// Stops the static child by closing its stdin, then by its pid.
fn stop_static_process(mut child: Child, file: &std::path::Path) {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(file);
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
