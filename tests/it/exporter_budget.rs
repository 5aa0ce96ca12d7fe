//! The budget plan end to end: the real binary against a simulator that
//! announces a rate limit too small for the requested intervals. The plan
//! stretches the observations interval, the requests the simulator counts
//! stay within the budget without the client's limiter ever holding one
//! back, and the gauges and the log say what was stretched.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::exporter::*;
use crate::util::sim::start_sim;
use genesys_exporter::simulator::{Control, SimConfig, SimEndpoint};

/// Spawns `cmd`, returning the child, its base URL and its stderr as it grows.
fn spawn_logged(mut cmd: Command) -> (Child, String, Arc<Mutex<String>>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let logs = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr");
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut logs = sink.lock().expect("logs");
            logs.push_str(&line);
            logs.push('\n');
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => (child, base, logs),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no listening line: {e}");
        }
    }
}

/// API requests (not token requests) the simulator received.
fn api_requests(control: &Control) -> u64 {
    [
        SimEndpoint::Queues,
        SimEndpoint::Aggregates,
        SimEndpoint::Observations,
    ]
    .into_iter()
    .map(|e| control.request_count(e))
    .sum()
}

fn sum(samples: &[Sample], name: &str) -> f64 {
    named(samples, name).iter().map(|s| s.value).sum()
}

/// The simulator announces 33 requests a minute (the client fits 90 %: 29).
/// Asked for: queue list every 60 s (1 page + 1 lookback), aggregates every
/// 30 s (2 queries), observations every second (1 chunk): 2 + 4 + 60 = 66 a
/// minute. The plan keeps queues and aggregates (6 a minute) and stretches
/// observations to ceil(60 / 23) = 3 s: 26 a minute planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_too_small_stretches_observations() {
    let sim = start_sim(SimConfig {
        rate_limit_per_minute: 33,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let d = SimConfig::default();
    let mut cmd = binary();
    cmd.args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--genesys.api-url",
        &sim.base_url(),
        "--genesys.client-id",
        &d.client_id,
        "--poll.queues-interval",
        "60s",
        "--poll.interval",
        "30s",
        "--poll.observations-interval",
        "1s",
        // The plan stretches polled observations.
        "--realtime.source",
        "poll",
    ])
    .env("GENESYS_CLIENT_SECRET", &d.client_secret);
    let started = Instant::now();
    let (mut child, base, logs) = spawn_logged(cmd);

    wait_for_up(&base, 1.0, Duration::from_secs(30)).await;
    // A bounded run, shorter than the simulator's rolling minute: every
    // request of it must fit in that minute's 29.
    let run = Duration::from_secs(40);
    let observed_from = control.request_count(SimEndpoint::Observations);
    let from = Instant::now();
    tokio::time::sleep(run.saturating_sub(started.elapsed())).await;
    let observations = control.request_count(SimEndpoint::Observations) - observed_from;
    let observed_for = from.elapsed().as_secs_f64();
    let total = api_requests(&control);
    let samples = parse(&get(&base, "/metrics", false).await.text);
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.lock().expect("logs").clone();

    assert!(
        total <= 29,
        "{total} requests in the first {:?}: over the budget of 29 a minute",
        started.elapsed()
    );
    // Observations kept coming every 3 s: neither every second nor stopped.
    let expected = observed_for / 3.0;
    assert!(
        (observations as f64 - expected).abs() <= 2.0,
        "{observations} observations requests in {observed_for:.1} s, expected about {expected:.1}"
    );
    assert_eq!(
        sum(&samples, "genesys_exporter_api_throttled_total"),
        0.0,
        "the plan kept the rate within budget without the limiter holding requests back"
    );
    let code = |c: &str| {
        named(&samples, "genesys_exporter_api_requests_total")
            .iter()
            .filter(|s| s.label("code") == c && s.label("endpoint") != "oauth_token")
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert_eq!(code("429"), 0.0, "the simulator never refused a request");
    assert_eq!(
        code("200") as u64,
        total,
        "the exporter counted what the simulator saw"
    );

    let interval = |poll: &str| {
        value(
            &samples,
            "genesys_exporter_poll_interval_seconds",
            &[("poll", poll)],
        )
    };
    assert_eq!(interval("observations"), Some(3.0));
    assert_eq!(interval("aggregates"), Some(30.0));
    assert_eq!(interval("queues"), Some(60.0));
    assert_eq!(
        value(&samples, "genesys_exporter_api_request_budget", &[]),
        Some(29.0)
    );
    let planned = sum(&samples, "genesys_exporter_api_requests_planned_per_minute");
    assert!((planned - 26.0).abs() < 1e-6, "planned {planned}");
    assert_eq!(
        value(
            &samples,
            "genesys_exporter_api_requests_planned_per_minute",
            &[("poll", "observations")]
        ),
        Some(20.0)
    );
    assert_eq!(value(&samples, "genesys_up", &[]), Some(1.0), "still fresh");

    let stretched: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("observations interval stretched"))
        .collect();
    assert_eq!(stretched.len(), 1, "logged once:\n{logs}");
    let line = stretched[0];
    for needle in [
        "level=warn",
        "66.0 requests per minute needed",
        "budget 29",
        "stretched from 1s to 3s",
        "26.0 per minute planned",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from {line}");
    }
    sim.shutdown().await;
}
