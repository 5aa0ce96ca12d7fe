//! Push benchmark (prints figures; `cargo bench --bench push`). Without
//! `--bench` (as `cargo test --benches` runs it) it only says so and exits.
//!
//! 1. Latency: the release exporter binary with `--realtime.source push`
//!    against the in-process simulator (200 busy queues, clock frozen). Each
//!    change steps the simulator's clock by 2 s, at a moment spread evenly
//!    over the simulator's once-a-second publishing; a step after which some
//!    queue × media type has more interactions waiting (a new interaction
//!    waiting, per the simulator's REST observations answer) is one sample:
//!    the time from the step to `/metrics` (scraped every 10 ms) showing that
//!    group's new `genesys_queue_waiting`. p50, p95 and max over 200 samples;
//!    a socket of the benchmark's own on the same queues tells how much of it
//!    is the simulator's publishing (at most once a second, as Genesys).
//! 2. REST requests for real-time data at 2,000 queues (`real-org` preset),
//!    counted at the simulator: with push, the setup (channels, subscriptions,
//!    seed) and the cost of one reconcile (measured with reconciles every
//!    30 s, then scaled to the 30 min default, with a rollover of every channel
//!    once a channel lifetime); with polling every 15 s, the
//!    observations requests per poll × 240 an hour. `-- latency` or
//!    `-- requests` runs one part.
//!
//! Every wait is bounded; a part that does not come up in time is reported
//! as such.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use genesys_exporter::simulator::{
    self, Control, LongestMode, Preset, SimConfig, SimEndpoint, SimHandle, TrafficProfile, Variants,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Client budget and simulator limit (requests a minute).
const BUDGET: u32 = 1_200;
/// The exporter's default `--realtime.reconcile-interval`.
const DEFAULT_RECONCILE: Duration = Duration::from_secs(30 * 60);
/// How long a channel lives before it is rolled over (Genesys: 24 h).
const CHANNEL_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Latency samples wanted, and the most clock steps tried for them.
const SAMPLES: usize = 200;
const MAX_STEPS: usize = 2_000;
/// Clock step per change.
const STEP_MS: i64 = 2_000;
/// Longest wait for one change to reach `/metrics`.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("push benchmark: run it with `cargo bench --bench push`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo bench --bench push -- latency` (or `requests`) runs one part.
    let args: Vec<String> = std::env::args().collect();
    let only = |part: &str| {
        let named = args.iter().any(|a| a == "latency" || a == "requests");
        !named || args.iter().any(|a| a == part)
    };
    if only("latency") {
        rt.block_on(latency());
    }
    if only("requests") {
        rt.block_on(requests());
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    simulator::spawn(config, listener).await.expect("sim")
}

/// A running exporter process against the simulator.
struct Exporter {
    child: Child,
    pid: String,
    base: String,
}

impl Exporter {
    /// Starts the release binary against `sim` with the queue list hourly,
    /// aggregates hourly (so once, at start) and `args`.
    fn start(sim: &SimHandle, args: &[&str]) -> Exporter {
        let d = SimConfig::default();
        let mut child = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(["--genesys.api-url", &sim.base_url()])
            .args(["--genesys.client-id", &d.client_id])
            .args(["--poll.interval", "1h", "--poll.queues-interval", "1h"])
            .args(["--window", "30m"])
            .args(["--api.requests-per-minute", &BUDGET.to_string()])
            .args(["--log.level", "warn"])
            .args(args)
            .env("GENESYS_CLIENT_SECRET", &d.client_secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("exporter binary");
        let pid = child.id().to_string();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut line).expect("address line");
        let base = line
            .split("listening on ")
            .nth(1)
            .expect("address")
            .trim()
            .to_owned();
        Exporter { child, pid, base }
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

/// One plain scrape's text (empty on any failure).
async fn scrape(http: &reqwest::Client, base: &str) -> String {
    let Ok(resp) = http.get(format!("{base}/metrics")).send().await else {
        return String::new();
    };
    resp.text().await.unwrap_or_default()
}

/// The value of the first sample of `name` whose line holds every `labels`
/// pair (`key="value"`, values without quotes or backslashes).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Waits (bounded) until `check` holds for a scrape; the time it took.
async fn wait_for(
    http: &reqwest::Client,
    base: &str,
    within: Duration,
    check: impl Fn(&str) -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if check(&scrape(http, base).await) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn source_is(text: &str, source: &str) -> bool {
    sample(
        text,
        "genesys_exporter_realtime_source",
        &[("source", source)],
    ) == Some(1.0)
}

/// The simulator's REST truth of `oWaiting` per (queue id, media type).
struct Truth {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Truth {
    async fn new(http: &reqwest::Client, base: &str) -> Truth {
        let d = SimConfig::default();
        let r = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(&d.client_id, Some(&d.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
        let v: Value = r.json().await.expect("token json");
        Truth {
            http: http.clone(),
            base: base.to_string(),
            token: v["access_token"].as_str().expect("token").to_string(),
        }
    }

    async fn waiting(&self, ids: &[String]) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(100) {
            let predicates: Vec<Value> = chunk
                .iter()
                .map(|id| json!({"dimension": "queueId", "operator": "matches", "value": id}))
                .collect();
            let body = json!({
                "filter": {"type": "or", "predicates": predicates},
                "metrics": ["oWaiting"],
            });
            let Ok(r) = self
                .http
                .post(format!(
                    "{}/api/v2/analytics/queues/observations/query",
                    self.base
                ))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
            else {
                continue;
            };
            let v: Value = r.json().await.unwrap_or(Value::Null);
            for g in v["results"].as_array().into_iter().flatten() {
                let (Some(q), Some(m)) = (
                    g["group"]["queueId"].as_str(),
                    g["group"]["mediaType"].as_str(),
                ) else {
                    continue;
                };
                let n = g["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| d["metric"] == "oWaiting")
                    .and_then(|d| d["stats"]["count"].as_u64())
                    .unwrap_or(0);
                out.insert((q.to_string(), m.to_string()), n);
            }
        }
        out
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn latency() {
    println!("== latency: a new interaction waiting → /metrics (200 queues, push) ==");
    let sim = start_sim(SimConfig {
        queues: 200,
        rate_limit_per_minute: 10_000,
        traffic_scale: 3.0,
        traffic_profile: TrafficProfile::Flat,
        longest_mode: LongestMode::DurationMs,
        fixed_now_ms: Some(wall_ms() / 1000 * 1000),
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http");
    // Only the gauge the benchmark reads, so a scrape every 10 ms measures the
    // push path rather than the rendering of the window families.
    let exporter = Exporter::start(
        &sim,
        &[
            "--realtime.source",
            "push",
            "--metrics.include",
            "^genesys_queue_waiting$",
        ],
    );
    let Some(up) = wait_for(&http, &exporter.base, Duration::from_secs(120), |t| {
        source_is(t, "push") && sample(t, "genesys_queue_waiting", &[]).is_some()
    })
    .await
    else {
        println!("push never became active within 120 s; no latency figures");
        exporter.stop();
        sim.shutdown().await;
        return;
    };
    println!("push active after {:.1} s", up.as_secs_f64());
    let model = sim.model();
    let queues = model.queues();
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let names: BTreeMap<String, String> = queues
        .iter()
        .map(|q| (q.id.clone(), q.name.clone()))
        .collect();
    let truth = Truth::new(&http, &sim.base_url()).await;
    let watch = Watch::start(&truth, &ids).await;
    let mut before = truth.waiting(&ids).await;
    let (mut samples, mut timeouts, mut steps) = (Vec::new(), 0, 0);
    let mut on_socket = Vec::new();
    let started = Instant::now();
    while samples.len() < SAMPLES
        && steps < MAX_STEPS
        && started.elapsed() < Duration::from_secs(1200)
    {
        steps += 1;
        // Changes come at any moment, not in step with the simulator's
        // once-a-second publishing: spread the step over a second
        // (golden-ratio sequence, deterministic).
        let phase = (steps as f64 * 0.618_033_988_75).fract();
        tokio::time::sleep(Duration::from_secs_f64(phase)).await;
        let at = Instant::now();
        control.set_fixed_now(Some(control.now_ms() + STEP_MS));
        let after = truth.waiting(&ids).await;
        let grown = after
            .iter()
            .find(|(k, n)| before.get(*k).is_some_and(|b| *n > b))
            .map(|(k, n)| (k.clone(), *n));
        before = after;
        let Some(((queue_id, media), want)) = grown else {
            continue;
        };
        let name = names[&queue_id].clone();
        let labels = [("queue", name.as_str()), ("media_type", media.as_str())];
        let mut seen = None;
        while at.elapsed() < CHANGE_TIMEOUT {
            let text = scrape(&http, &exporter.base).await;
            if sample(&text, "genesys_queue_waiting", &labels) == Some(want as f64) {
                seen = Some(at.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        match seen {
            Some(d) => {
                samples.push(d);
                if let Some(t) = watch.arrival(&queue_id, &media, want, at) {
                    on_socket.push(t);
                }
            }
            None => timeouts += 1,
        }
    }
    watch.stop();
    samples.sort();
    on_socket.sort();
    println!(
        "changes measured: {} ({} clock steps, {} not seen within {:?})",
        samples.len(),
        steps,
        timeouts,
        CHANGE_TIMEOUT
    );
    println!(
        "latency p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (goal p95 <= 1500 ms)",
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.95)),
        ms(samples.last().copied().unwrap_or_default()),
    );
    println!(
        "of which the simulator's side (step → the event on a socket of the benchmark's own, \
         {} samples): p50 {:.0} ms, p95 {:.0} ms; the rest is the exporter (socket → /metrics)",
        on_socket.len(),
        ms(percentile(&on_socket, 0.50)),
        ms(percentile(&on_socket, 0.95)),
    );
    exporter.stop();
    sim.shutdown().await;
}

/// The benchmark's own channel and socket on the same queues: when each
/// group's `oWaiting` first took each value (to split the latency between
/// the simulator's publishing and the exporter).
struct Watch {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

/// (queue id, media type) → (`oWaiting` count, when it first arrived).
type Seen = BTreeMap<(String, String), (u64, Instant)>;

impl Watch {
    async fn start(truth: &Truth, ids: &[String]) -> Watch {
        let channel: Value = truth
            .http
            .post(format!("{}/api/v2/notifications/channels", truth.base))
            .bearer_auth(&truth.token)
            .send()
            .await
            .expect("channel")
            .json()
            .await
            .expect("channel json");
        let id = channel["id"].as_str().expect("channel id");
        let topics: Vec<Value> = ids
            .iter()
            .map(|q| json!({"id": format!("v2.analytics.queues.{q}.observations")}))
            .collect();
        truth
            .http
            .put(format!(
                "{}/api/v2/notifications/channels/{id}/subscriptions",
                truth.base
            ))
            .bearer_auth(&truth.token)
            .json(&topics)
            .send()
            .await
            .expect("subscribe");
        let uri = channel["connectUri"].as_str().expect("connectUri");
        let (mut ws, _) = tokio_tungstenite::connect_async(uri)
            .await
            .expect("benchmark socket");
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let sink = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some(Ok(msg)) = ws.next().await {
                let Ok(text) = msg.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                let body = &v["eventBody"];
                let (Some(q), Some(m)) = (
                    body["group"]["queueId"].as_str(),
                    body["group"]["mediaType"].as_str(),
                ) else {
                    continue;
                };
                let waiting = body["data"][0]["metrics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| d["metric"] == "oWaiting")
                    .and_then(|d| d["stats"]["count"].as_u64());
                if let Some(n) = waiting {
                    let mut seen = sink.lock().unwrap_or_else(|p| p.into_inner());
                    let entry = seen
                        .entry((q.to_string(), m.to_string()))
                        .or_insert((n, Instant::now()));
                    if entry.0 != n {
                        *entry = (n, Instant::now());
                    }
                }
            }
        });
        Watch { seen, task }
    }

    /// How long after `at` the group's `oWaiting` arrived as `want`.
    fn arrival(&self, queue: &str, media: &str, want: u64, at: Instant) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (n, when) = seen.get(&(queue.to_string(), media.to_string()))?;
        (*n == want && *when >= at).then(|| *when - at)
    }

    fn stop(self) {
        self.task.abort();
    }
}

/// Requests to the real-time endpoints since the last reset: (observations, notifications).
fn realtime_counts(control: &Control) -> (u64, u64) {
    (
        control.request_count(SimEndpoint::Observations),
        control.request_count(SimEndpoint::Notifications),
    )
}

fn org_2000() -> SimConfig {
    SimConfig {
        queues: 2_000,
        rate_limit_per_minute: BUDGET,
        variants: Variants::preset(Preset::RealOrg),
        ..SimConfig::default()
    }
}

async fn requests() {
    println!("== REST requests for real-time data, 2,000 queues (real-org preset) ==");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http");

    // Polling every 15 s: observations requests per poll.
    let sim = start_sim(org_2000()).await;
    let control = sim.control();
    let exporter = Exporter::start(
        &sim,
        &[
            "--realtime.source",
            "poll",
            "--poll.observations-interval",
            "15s",
        ],
    );
    let ready = wait_for(&http, &exporter.base, Duration::from_secs(180), |t| {
        sample(t, "genesys_queue_waiting", &[]).is_some()
    })
    .await;
    let per_poll = if ready.is_some() {
        let (o0, _) = realtime_counts(&control);
        tokio::time::sleep(Duration::from_secs(46)).await;
        let (o1, _) = realtime_counts(&control);
        // Three polls in 46 s at 15 s (one may straddle the edge: rounded).
        let polls = 3.0;
        Some((o1 - o0) as f64 / polls)
    } else {
        println!("polling never served real-time gauges within 180 s");
        None
    };
    exporter.stop();
    sim.shutdown().await;
    if let Some(p) = per_poll {
        println!(
            "polling at 15 s: {p:.1} observations requests per poll → {:.0} an hour",
            p * 240.0
        );
    }

    // Push: setup, then reconciles every 30 s to measure one reconcile's cost.
    let sim = start_sim(org_2000()).await;
    let control = sim.control();
    let started = Instant::now();
    let exporter = Exporter::start(
        &sim,
        &[
            "--realtime.source",
            "push",
            "--realtime.reconcile-interval",
            "30s",
        ],
    );
    let up = wait_for(&http, &exporter.base, Duration::from_secs(180), |t| {
        source_is(t, "push")
            && sample(t, "genesys_exporter_notification_channels", &[]) == Some(2.0)
            && sample(t, "genesys_queue_waiting", &[]).is_some()
    })
    .await;
    if up.is_none() {
        println!("push never came up with 2 channels within 180 s; no push figures");
        exporter.stop();
        sim.shutdown().await;
        return;
    }
    // Let the setup settle (subscriptions acknowledged, seed done), short of
    // the first reconcile at 30 s.
    tokio::time::sleep(
        Duration::from_secs(5).min(Duration::from_secs(25).saturating_sub(started.elapsed())),
    )
    .await;
    let (setup_obs, setup_notify) = realtime_counts(&control);
    let setup_secs = started.elapsed().as_secs_f64();
    let window = Duration::from_secs(95);
    let from = Instant::now();
    tokio::time::sleep(window).await;
    let (obs, notify) = realtime_counts(&control);
    let text = scrape(&http, &exporter.base).await;
    exporter.stop();
    sim.shutdown().await;
    let reconciles = (window.as_secs_f64() / 30.0).floor().max(1.0);
    let per_reconcile = (obs - setup_obs) as f64 / reconciles;
    let reconnects: f64 = text
        .lines()
        .filter(|l| l.starts_with("genesys_exporter_notification_reconnects_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    println!(
        "push setup (first {setup_secs:.1} s): {setup_notify} notification requests \
         (channels + subscriptions), {setup_obs} observations requests (seed)"
    );
    println!(
        "push steady state over {:.0} s with reconciles every 30 s: {} observations, {} \
         notification requests → {per_reconcile:.1} observations requests per reconcile; \
         reconnects counted: {reconnects}",
        from.elapsed().as_secs_f64(),
        obs - setup_obs,
        notify - setup_notify,
    );
    let setup = (setup_obs + setup_notify) as f64;
    // The start-up's first observations poll is a reconcile; the rest of the
    // setup (channels, subscriptions, each channel's seed) is what a
    // rollover of every channel costs.
    let rollover = (setup - per_reconcile).max(0.0);
    let reconciles_an_hour = 3600.0 / DEFAULT_RECONCILE.as_secs_f64();
    let first_hour = setup + reconciles_an_hour * per_reconcile;
    let steady_hour =
        reconciles_an_hour * per_reconcile + rollover * 3600.0 / CHANNEL_LIFETIME.as_secs_f64();
    println!(
        "push per hour at the {} min default reconcile: steady state {reconciles_an_hour:.0} \
         reconciles × {per_reconcile:.1} + one rollover a day ({rollover:.0} / 24) = \
         {steady_hour:.1} requests; the first hour (the whole setup, {setup:.0}, included) \
         {first_hour:.0}",
        DEFAULT_RECONCILE.as_secs() / 60
    );
    if let Some(p) = per_poll {
        let poll_hour = p * 240.0;
        println!(
            "push / polling at 15 s: steady state {steady_hour:.1} / {poll_hour:.0} = {:.2} % \
             (goal <= 1 %); first hour {:.2} %",
            100.0 * steady_hour / poll_hour,
            100.0 * first_hour / poll_hour
        );
    }
}
