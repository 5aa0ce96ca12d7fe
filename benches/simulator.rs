//! Simulator benchmark (prints figures; not a timed test).
//!
//! An org of 5,000 queues answers, over real HTTP on loopback, a 1-hour
//! conversation-aggregate query over 100 queues grouped by queueId and
//! mediaType with the 14 KPI metrics. Also a "today so far" (13 h) query and a
//! 100-queue observation query. Reports median and p95 latency and peak RSS.
//!
//! Then an org of 10,000 queues answers org-wide queries (no filter, grouped
//! by queueId and mediaType, as the exporter asks when its queues are more
//! than one chunk): a 30-minute window and "today so far" with the 14 KPI
//! metrics, and the 7-day `nOffered` lookback of the served media.
//!
//! Run with `cargo bench --bench simulator`; under `cargo test` each query runs
//! once, as a smoke test.

use std::time::{Duration, Instant};

use genesys_exporter::kpi::AGGREGATE_METRICS;
use genesys_exporter::simulator::{spawn, SimConfig};
use genesys_exporter::timefmt::{format_interval, parse_instant};
use serde_json::{json, Value};

/// Timed runs per query (`cargo bench`); `cargo test` runs each query once as a smoke test.
fn runs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        60
    } else {
        1
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let rss_start = peak_rss_kib();
    let t0 = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sim = spawn(
        SimConfig {
            queues: 5000,
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .expect("spawn");
    let build = t0.elapsed();
    let base = sim.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("client");
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let ids: Vec<String> = sim
        .model()
        .queues()
        .into_iter()
        .step_by(50)
        .map(|q| q.id)
        .collect();
    let filter = json!({"type": "or", "predicates": ids.iter().map(|id| json!({"dimension": "queueId", "value": id})).collect::<Vec<_>>()});
    let day = parse_instant("2025-03-12T00:00:00Z").expect("instant");
    let hour = |h: i64| format_interval(day + h * 3_600_000, day + (h + 1) * 3_600_000);

    println!(
        "simulator benchmark: org of 5000 queues, queries over 100 queues, {} runs each",
        runs()
    );
    println!(
        "  org build + spawn: {:.1} ms",
        build.as_secs_f64() * 1000.0
    );
    let agg_url = format!("{base}/api/v2/analytics/conversations/aggregates/query");
    let peak_hour = json!({"interval": hour(10), "groupBy": ["queueId", "mediaType"], "filter": filter, "metrics": AGGREGATE_METRICS});
    let (lat, bytes) = measure(&http, &agg_url, &token, |_| peak_hour.clone()).await;
    report("aggregates, 1 h (10:00-11:00 UTC, peak)", &lat, bytes);
    let (lat, bytes) = measure(&http, &agg_url, &token, |i| {
        json!({"interval": hour(i as i64 % 24), "groupBy": ["queueId", "mediaType"], "filter": filter, "metrics": AGGREGATE_METRICS})
    })
    .await;
    report(
        "aggregates, 1 h (each hour of the day in turn)",
        &lat,
        bytes,
    );
    let today = json!({"interval": format_interval(day, day + 13 * 3_600_000), "groupBy": ["queueId", "mediaType"], "filter": filter, "metrics": AGGREGATE_METRICS});
    let (lat, bytes) = measure(&http, &agg_url, &token, |_| today.clone()).await;
    report("aggregates, today so far (00:00-13:00)", &lat, bytes);
    let obs_url = format!("{base}/api/v2/analytics/queues/observations/query");
    let obs = json!({"filter": filter, "metrics": ["oWaiting", "oInteracting", "oAlerting", "oLongestWaiting", "oOnQueueUsers", "oMemberUsers", "oActiveUsers"]});
    let (lat, bytes) = measure(&http, &obs_url, &token, |_| obs.clone()).await;
    report("observations, now", &lat, bytes);
    println!(
        "  peak RSS: {} KiB at start, {} KiB after all runs",
        rss_start.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
    sim.shutdown().await;
    org_wide(&http, day).await;
}

/// Org-wide queries against an org of 10,000 queues (300 in the smoke run).
async fn org_wide(http: &reqwest::Client, day: i64) {
    // The smoke run under `cargo test` (a debug build) uses a smaller org.
    let queues = if runs() > 1 { 10_000 } else { 300 };
    let t0 = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sim = spawn(
        SimConfig {
            queues,
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .expect("spawn");
    let build = t0.elapsed();
    let base = sim.base_url();
    let token = token(http, &base).await;
    let runs = org_wide_runs();
    println!(
        "simulator benchmark: org of {queues} queues, org-wide queries (no filter), {runs} runs each"
    );
    println!(
        "  org build + spawn: {:.1} ms",
        build.as_secs_f64() * 1000.0
    );
    let url = format!("{base}/api/v2/analytics/conversations/aggregates/query");
    let at = day + 13 * 3_600_000;
    let group_by = json!(["queueId", "mediaType"]);
    let cases = [
        (
            "org-wide aggregates, 30 min (12:30-13:00)",
            json!({"interval": format_interval(at - 1_800_000, at), "groupBy": group_by, "metrics": AGGREGATE_METRICS}),
        ),
        (
            "org-wide aggregates, today so far (00:00-13:00)",
            json!({"interval": format_interval(day, at), "groupBy": group_by, "metrics": AGGREGATE_METRICS}),
        ),
        (
            "org-wide nOffered, 7-day lookback",
            json!({"interval": format_interval(at - 7 * 86_400_000, at), "groupBy": group_by, "metrics": ["nOffered"]}),
        ),
    ];
    for (name, body) in cases {
        let warmup = usize::from(runs > 1);
        let (lat, bytes) = measure_n(http, &url, &token, (runs, warmup), |_| body.clone()).await;
        report(name, &lat, bytes);
    }
    println!(
        "  peak RSS after the org-wide runs: {} KiB",
        peak_rss_kib().unwrap_or(0)
    );
    sim.shutdown().await;
}

/// Timed runs per org-wide query (fewer: each covers the whole org).
fn org_wide_runs() -> usize {
    if runs() > 1 {
        10
    } else {
        1
    }
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn measure(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: impl Fn(usize) -> Value,
) -> (Vec<Duration>, usize) {
    let warmup = if runs() > 1 { 3 } else { 0 };
    measure_n(http, url, token, (runs(), warmup), body).await
}

async fn measure_n(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    (runs, warmup): (usize, usize),
    body: impl Fn(usize) -> Value,
) -> (Vec<Duration>, usize) {
    let mut lat = Vec::with_capacity(runs);
    let mut bytes = 0;
    for i in 0..runs + warmup {
        let b = body(i);
        let t = Instant::now();
        let r = http
            .post(url)
            .bearer_auth(token)
            .json(&b)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "benchmark query failed");
        let text = r.text().await.expect("body");
        if i >= warmup {
            lat.push(t.elapsed());
            bytes = text.len();
        }
    }
    lat.sort();
    (lat, bytes)
}

fn report(name: &str, lat: &[Duration], bytes: usize) {
    let pick = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "  {name}: median {:.2} ms, p95 {:.2} ms, max {:.2} ms, response {} KiB",
        pick(0.5),
        pick(0.95),
        pick(1.0),
        bytes / 1024
    );
}

/// Peak resident set size (VmHWM) of this process, from /proc (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
