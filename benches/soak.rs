//! Soak benchmark (prints figures; `cargo bench --bench soak`).
//!
//! The exporter binary runs against the simulator binary (a separate process,
//! so only the exporter's memory is measured) for 30 compressed minutes of a
//! hostile API: 20 % random 5xx answers (`--fault-rate 0.2`), a simulator rate
//! limit below the exporter's demand (so 429s with `Retry-After`), and tokens
//! that expire every 2 compressed minutes. `/metrics` is scraped once per
//! compressed second.
//!
//! Compression: every exporter and simulator time setting is divided by
//! [`COMPRESSION`] (10), so 30 minutes at the default intervals (queue list
//! 10 m, aggregates 60 s, observations 15 s, `--max-staleness` 5 m, token
//! lifetime 2 m, a scrape every 1 s) run in 3 minutes of wall time with the
//! same number of polls, token renewals and scrapes. The API client's own
//! timeouts and the simulator's rolling-minute rate limit stay in wall time.
//!
//! `SOAK_MINUTES` sets the compressed minutes (default 30); `--quick` (or a
//! run under `cargo test --benches`) soaks 1 compressed minute as a smoke run.
//!
//! Reported: the exporter's resident memory at start, middle and end (flat
//! when the end is within 20 % of the start), scrape latency p50 / p99 / max,
//! scrapes by status, the share of scrapes with `genesys_up 1`, API answers by
//! status, and poll failures by poll and kind, read from the final scrape's
//! `genesys_exporter_poll_failures_total{poll,kind}`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Wall time = compressed time / this.
const COMPRESSION: u32 = 10;

/// The default intervals of the exporter (and the soak's hostile settings),
/// in uncompressed time.
const QUEUES_INTERVAL: Duration = Duration::from_secs(600);
const AGGREGATES_INTERVAL: Duration = Duration::from_secs(60);
const OBSERVATIONS_INTERVAL: Duration = Duration::from_secs(15);
const MAX_STALENESS: Duration = Duration::from_secs(300);
const TOKEN_TTL: Duration = Duration::from_secs(120);
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// Requests per token per rolling minute (wall time) the simulator allows,
/// announced in its `inin-ratelimit-allowed` header. The exporter fits its
/// own budget to 90 % of it from the first answer on (72 a minute, against a
/// compressed demand of about 60), so a 429 can only come before that first
/// answer or in a retry storm; the soak counts every one it gets.
const SIM_RATE_LIMIT: u32 = 80;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let minutes = match std::env::var("SOAK_MINUTES") {
        Ok(v) => match v.parse::<u32>() {
            Ok(m) if (1..=24 * 60).contains(&m) => m,
            _ => {
                eprintln!("SOAK_MINUTES ({v:?}): must be a whole number of minutes, 1 to 1440");
                return ExitCode::from(2);
            }
        },
        Err(_) if quick => 1,
        Err(_) => 30,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(soak(minutes));
    report.print(minutes);
    if report.scrapes_by_status.keys().any(|s| *s != "200") {
        eprintln!("soak: a scrape did not answer 200");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Compressed `d`.
fn squeeze(d: Duration) -> Duration {
    d / COMPRESSION
}

fn flag(d: Duration) -> String {
    format!("{}ms", squeeze(d).as_millis())
}

/// A child process killed (and reaped) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns the binary with `args` and returns it with the URL from its
/// `listening on …` line (waiting at most 60 s for it).
fn spawn(args: &[String], envs: &[(&str, &str)]) -> (Process, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"));
    for (key, _) in std::env::vars() {
        if key.starts_with("GENESYS_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let process = Process(child);
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the bound address is printed");
    (process, url)
}

/// What the soak measured.
#[derive(Debug, Default)]
struct Report {
    /// Resident memory (MiB) after the first complete poll.
    rss_first_up: f64,
    /// Resident memory (MiB) at the end of the first compressed minute, the
    /// middle and the end.
    rss: [f64; 3],
    /// Scrape latencies.
    latencies: Vec<Duration>,
    /// Scrapes by HTTP status (or `error` when no answer came).
    scrapes_by_status: BTreeMap<String, u64>,
    /// Scrapes that showed `genesys_up 1`.
    up_scrapes: u64,
    /// `genesys_exporter_api_requests_total` by code, summed over endpoints.
    api_by_code: BTreeMap<String, f64>,
    /// Token requests that got a token.
    tokens: f64,
    /// Non-zero `genesys_exporter_poll_failures_total` by (poll, kind).
    failures: BTreeMap<(String, String), f64>,
    /// Wall time of the soak proper.
    wall: Duration,
}

async fn soak(minutes: u32) -> Report {
    let sim_args: Vec<String> = [
        "simulate",
        "--listen",
        "127.0.0.1:0",
        "--fault-rate",
        "0.2",
        "--token-ttl",
        &flag(TOKEN_TTL),
        "--rate-limit",
        &SIM_RATE_LIMIT.to_string(),
        "--log.level",
        "warn",
    ]
    .map(String::from)
    .to_vec();
    let (_sim, sim_url) = spawn(&sim_args, &[]);
    let exporter_args: Vec<String> = [
        "--web.listen-address",
        "127.0.0.1:0",
        "--genesys.api-url",
        &sim_url,
        "--genesys.client-id",
        "demo-client",
        "--poll.queues-interval",
        &flag(QUEUES_INTERVAL),
        "--poll.interval",
        &flag(AGGREGATES_INTERVAL),
        "--poll.observations-interval",
        &flag(OBSERVATIONS_INTERVAL),
        "--max-staleness",
        &flag(MAX_STALENESS),
        "--log.level",
        "error",
    ]
    .map(String::from)
    .to_vec();
    let (exporter, base) = spawn(&exporter_args, &[("GENESYS_CLIENT_SECRET", "demo-secret")]);
    let pid = exporter.0.id().to_string();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let url = format!("{base}/metrics");

    let mut report = Report::default();
    let warm = Instant::now();
    while !scrape(&http, &url)
        .await
        .is_some_and(|(_, body)| is_up(&body))
    {
        assert!(
            warm.elapsed() < Duration::from_secs(120),
            "the exporter never came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report.rss_first_up = rss_mib(&pid);

    let every = squeeze(SCRAPE_EVERY);
    let total = squeeze(Duration::from_secs(60) * minutes);
    let marks = [squeeze(Duration::from_secs(60)).min(total / 2), total / 2];
    let started = Instant::now();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut marked = 0;
    let mut last_body = String::new();
    while started.elapsed() < total {
        ticker.tick().await;
        let t = Instant::now();
        let answer = scrape(&http, &url).await;
        report.latencies.push(t.elapsed());
        let status = match answer {
            Some((status, body)) => {
                report.up_scrapes += u64::from(is_up(&body));
                if status == 200 {
                    last_body = body;
                }
                status.to_string()
            }
            None => String::from("error"),
        };
        *report.scrapes_by_status.entry(status).or_default() += 1;
        while marked < marks.len() && started.elapsed() >= marks[marked] {
            report.rss[marked] = rss_mib(&pid);
            marked += 1;
        }
    }
    report.rss[2] = rss_mib(&pid);
    report.wall = started.elapsed();
    for line in last_body.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        match name {
            "genesys_exporter_poll_failures_total" if value > 0.0 => {
                let key = (label(labels, "poll"), label(labels, "kind"));
                report.failures.insert(key, value);
            }
            "genesys_exporter_api_requests_total" => {
                let code = label(labels, "code");
                if label(labels, "endpoint") == "oauth_token" && code == "200" {
                    report.tokens += value;
                }
                *report.api_by_code.entry(code).or_default() += value;
            }
            _ => {}
        }
    }
    drop(exporter);
    report
}

async fn scrape(http: &reqwest::Client, url: &str) -> Option<(u16, String)> {
    let resp = http.get(url).send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

fn is_up(body: &str) -> bool {
    body.lines().any(|l| l == "genesys_up 1")
}

/// Splits a text-format sample line into name, label text and value.
fn sample(line: &str) -> Option<(&str, &str, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    match series.split_once('{') {
        Some((name, labels)) => Some((name, labels.trim_end_matches('}'), value)),
        None => Some((series, "", value)),
    }
}

/// A label's value in `a="x",b="y"` (the exporter's labels here hold no
/// quotes or commas).
fn label(labels: &str, name: &str) -> String {
    labels
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .unwrap_or_default()
}

fn rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Report {
    fn print(&self, minutes: u32) {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let scrapes = self.latencies.len();
        println!(
            "== soak: {minutes} compressed minutes (time ÷ {COMPRESSION}) in {:.0} s wall",
            self.wall.as_secs_f64()
        );
        let [start, middle, end] = self.rss;
        let growth = if start > 0.0 { end / start - 1.0 } else { 0.0 };
        println!(
            "exporter RSS: {:.1} MiB after the first complete poll; {start:.1} / {middle:.1} / {end:.1} MiB at start (1 compressed min) / middle / end: {:+.1} % ({})",
            self.rss_first_up,
            growth * 100.0,
            if growth.abs() <= 0.2 { "flat within 20 %" } else { "NOT flat" }
        );
        println!(
            "scrapes: {scrapes}, by status {:?}, genesys_up 1 in {:.1} %",
            self.scrapes_by_status,
            100.0 * self.up_scrapes as f64 / scrapes.max(1) as f64
        );
        println!(
            "scrape latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&sorted, 0.50)),
            ms(percentile(&sorted, 0.99)),
            ms(sorted.last().copied().unwrap_or_default())
        );
        println!(
            "API answers by code (all endpoints): {:?}; tokens issued: {}",
            self.api_by_code, self.tokens
        );
        if self.failures.is_empty() {
            println!("poll failures: none");
        }
        for ((poll, kind), n) in &self.failures {
            println!("poll failures: poll={poll} kind={kind}: {n}");
        }
    }
}
