//! End-to-end: real-time gauges pushed over the Notifications API. The
//! simulator and the exporter run on 127.0.0.1:0 with real HTTP and real
//! WebSockets; every value is checked against the simulator's REST
//! observations answer, queried by the test itself ([`Truth`]), at a quiet
//! instant (the simulator's clock frozen, then stepped).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::exporter::*;
use crate::util::realtime_truth::{differences, exported, Realtime, Truth};
use genesys_exporter::simulator::{
    Control, LongestMode, NotifyConfig, NotifyStyle, SimConfig, SimEndpoint, SimHandle,
    TrafficProfile,
};

/// Push with slow polls of everything else, so REST traffic is the push's own.
const PUSH: &[&str] = &[
    "--realtime.source",
    "push",
    "--poll.interval",
    "1h",
    "--window",
    "30m",
];

/// [`PUSH`] with the queue list polled hourly, plus `extra`.
fn push_flags(extra: &[&'static str]) -> Vec<&'static str> {
    let mut flags = PUSH.to_vec();
    if !extra.contains(&"--poll.queues-interval") {
        flags.extend(["--poll.queues-interval", "1h"]);
    }
    flags.extend(extra);
    flags
}

/// How far the clock is stepped to make the org change.
const STEP_MS: i64 = 20_000;

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A busy org frozen at the wall clock's current second, oldest waits as ages.
fn busy_org(notify: NotifyConfig) -> SimConfig {
    SimConfig {
        traffic_scale: 3.0,
        traffic_profile: TrafficProfile::Flat,
        longest_mode: LongestMode::DurationMs,
        fixed_now_ms: Some(wall_ms() / 1000 * 1000),
        notify,
        ..SimConfig::default()
    }
}

/// Observations requests the exporter sent (all received minus the test's own).
fn exporter_observations(control: &Control, truth: &Truth) -> u64 {
    control.request_count(SimEndpoint::Observations) - truth.queries
}

fn scrape_value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or(f64::NAN)
}

fn sum(samples: &[Sample], name: &str) -> f64 {
    named(samples, name).iter().map(|s| s.value).sum()
}

async fn scrape(base: &str) -> Vec<Sample> {
    parse(&get(base, "/metrics", false).await.text)
}

/// Scrapes until the real-time gauges equal `want` (and `extra` holds), at
/// most `timeout`; returns that scrape or panics with the differences.
async fn converge(
    base: &str,
    want: &Realtime,
    timeout: Duration,
    what: &str,
    extra: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = Instant::now() + timeout;
    loop {
        let samples = scrape(base).await;
        let diff = differences(&exported(&samples), want, 10);
        if diff.is_empty() && extra(&samples) {
            return samples;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached within {timeout:?}; differences: {diff:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pushing(samples: &[Sample]) -> bool {
    value(
        samples,
        "genesys_exporter_realtime_source",
        &[("source", "push")],
    ) == Some(1.0)
}

/// Steps the simulator's clock and returns the new truth, which must differ.
async fn step(sim: &SimHandle, truth: &mut Truth, before: &Realtime) -> Realtime {
    let control = sim.control();
    control.set_fixed_now(Some(control.now_ms() + STEP_MS));
    let after = truth.realtime(&sim.model()).await;
    assert!(
        !differences(&after, before, 1).is_empty(),
        "the step changed nothing; the test would prove nothing"
    );
    after
}

/// Pushed gauges equal the REST truth at a quiet instant, with the push source
/// active and events counted; after a change of the org they follow it with no
/// further REST observations request from the exporter.
async fn pushed_gauges_equal_rest_truth(style: NotifyStyle) {
    let sim = start_roomy_sim(busy_org(NotifyConfig {
        style,
        ..NotifyConfig::default()
    }))
    .await;
    let control = sim.control();
    let mut truth = Truth::new(&sim.base_url()).await;
    let exporter = Exporter::start(&push_flags(&[]), client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    assert!(
        want.iter()
            .any(|((f, _, _), v)| f == "genesys_queue_waiting" && *v > 0.0),
        "the frozen instant has callers waiting"
    );
    let samples = converge(
        &exporter.base,
        &want,
        Duration::from_secs(60),
        "pushed gauges equal the REST truth",
        pushing,
    )
    .await;
    assert_eq!(
        scrape_value(
            &samples,
            "genesys_exporter_realtime_source",
            &[("source", "poll")]
        ),
        0.0
    );
    assert_eq!(
        scrape_value(&samples, "genesys_exporter_notification_channels", &[]),
        1.0
    );
    // The seed alone can equal the frozen truth before the first event
    // arrives (the simulator publishes once a second): wait for one, bounded.
    let events_of = |samples: &[Sample]| {
        scrape_value(
            samples,
            "genesys_exporter_notification_messages_total",
            &[("kind", "event")],
        )
    };
    let mut events = events_of(&samples);
    for _ in 0..50 {
        if events > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        events = events_of(&scrape(&exporter.base).await);
    }
    assert!(events > 0.0, "events counted within 10 s: {events}");
    let seeded = exporter_observations(&control, &truth);
    assert!(seeded >= 1, "seeded by a REST observations query");
    let after = step(&sim, &mut truth, &want).await;
    converge(
        &exporter.base,
        &after,
        Duration::from_secs(20),
        "pushed gauges follow the change",
        |_| true,
    )
    .await;
    assert_eq!(
        exporter_observations(&control, &truth),
        seeded,
        "the change arrived over the socket, without a REST observations request"
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// (a) `--notify-style full`: each event carries the group's whole state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_gauges_equal_rest_truth_full_events() {
    pushed_gauges_equal_rest_truth(NotifyStyle::Full).await;
}

/// (a) `--notify-style changed`: events carry only the changed metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_gauges_equal_rest_truth_changed_events() {
    pushed_gauges_equal_rest_truth(NotifyStyle::Changed).await;
}

/// (b) A socket killed without a close frame is reconnected and re-seeded: the
/// reconnect counter grows, the exporter sends one seed query per reconnect,
/// and the values are right for the org as it is after the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_socket_reconnects_and_reseeds() {
    let sim = start_roomy_sim(busy_org(NotifyConfig::default())).await;
    let control = sim.control();
    let mut truth = Truth::new(&sim.base_url()).await;
    let exporter = Exporter::start(&push_flags(&[]), client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    let samples = converge(
        &exporter.base,
        &want,
        Duration::from_secs(60),
        "pushed gauges before the kill",
        pushing,
    )
    .await;
    let reconnects = sum(&samples, "genesys_exporter_notification_reconnects_total");
    let seeds = exporter_observations(&control, &truth);
    assert_eq!(control.kill_sockets(), 1, "one socket was open");
    let after = step(&sim, &mut truth, &want).await;
    let samples = converge(
        &exporter.base,
        &after,
        Duration::from_secs(60),
        "values right after the reconnect",
        |s| {
            sum(s, "genesys_exporter_notification_reconnects_total") > reconnects
                && value(s, "genesys_exporter_notification_channels", &[]) == Some(1.0)
        },
    )
    .await;
    let grown = sum(&samples, "genesys_exporter_notification_reconnects_total") - reconnects;
    let reseeds = exporter_observations(&control, &truth) - seeds;
    assert!(
        reseeds >= 1 && reseeds as f64 <= grown,
        "{reseeds} seed queries for {grown} reconnects"
    );
    let live = control.channels_of("demo-client");
    assert_eq!(
        live.iter().filter(|c| c.connected).count(),
        1,
        "one socket connected again: {live:?}"
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// (c) `v2.system.socket_closing` rolls over to a new channel: scraping every
/// 100 ms through two scheduled closes, every scrape has every real-time gauge
/// with its right value (the clock is frozen), and the rollovers are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_closing_rolls_over_without_a_gap() {
    let sim = start_roomy_sim(busy_org(NotifyConfig {
        close_after: Some(Duration::from_secs(8)),
        closing_notice: Duration::from_secs(4),
        ..NotifyConfig::default()
    }))
    .await;
    let mut truth = Truth::new(&sim.base_url()).await;
    let exporter = Exporter::start(&push_flags(&[]), client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    converge(
        &exporter.base,
        &want,
        Duration::from_secs(60),
        "pushed gauges before the rollover",
        pushing,
    )
    .await;
    let until = Instant::now() + Duration::from_secs(18);
    let mut scrapes = 0;
    while Instant::now() < until && scrapes < 400 {
        let samples = scrape(&exporter.base).await;
        let diff = differences(&exported(&samples), &want, 10);
        assert!(
            diff.is_empty(),
            "scrape {scrapes} during the rollover: {diff:#?}"
        );
        scrapes += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let samples = scrape(&exporter.base).await;
    let rolled = value(
        &samples,
        "genesys_exporter_notification_reconnects_total",
        &[("reason", "socket_closing")],
    )
    .unwrap_or(0.0);
    assert!(rolled >= 1.0, "rollovers counted: {rolled}");
    assert!(pushing(&samples), "still pushing");
    exporter.stop().await;
    sim.shutdown().await;
}

/// (d) 1,500 queues need two channels (1,000 topics each at most): the
/// exporter reports two, the simulator has two connected channels of this
/// client holding every queue's topic once, and the values are right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_hundred_queues_use_two_channels() {
    let sim = start_roomy_sim(SimConfig {
        queues: 1500,
        traffic_scale: 1.0,
        ..busy_org(NotifyConfig::default())
    })
    .await;
    let control = sim.control();
    let mut truth = Truth::new(&sim.base_url()).await;
    let exporter = Exporter::start(&push_flags(&[]), client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    converge(
        &exporter.base,
        &want,
        Duration::from_secs(120),
        "1,500 queues pushed",
        |s| pushing(s) && value(s, "genesys_exporter_notification_channels", &[]) == Some(2.0),
    )
    .await;
    let live: Vec<_> = control
        .channels_of("demo-client")
        .into_iter()
        .filter(|c| c.connected)
        .collect();
    assert_eq!(live.len(), 2, "two connected channels");
    let mut topics: Vec<&String> = live.iter().flat_map(|c| &c.topics).collect();
    assert!(live.iter().all(|c| c.topics.len() <= 1000));
    topics.sort();
    topics.dedup();
    let want_topics: Vec<String> = sim
        .model()
        .queues()
        .iter()
        .map(|q| format!("v2.analytics.queues.{}.observations", q.id))
        .collect();
    assert_eq!(topics.len(), 1500, "every queue subscribed once");
    for t in &want_topics {
        assert!(topics.binary_search(&t).is_ok(), "{t} not subscribed");
    }
    exporter.stop().await;
    sim.shutdown().await;
}

/// (e) A queue added to the org (restored after starting without it) is
/// subscribed after the next queue-list poll, and its pushed gauges appear
/// with the right values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_queue_is_subscribed_after_the_queue_poll() {
    let sim = start_roomy_sim(busy_org(NotifyConfig::default())).await;
    let control = sim.control();
    let added = sim.model().queues()[0].clone();
    control.remove_queue(&added.id);
    let mut truth = Truth::new(&sim.base_url()).await;
    let flags = push_flags(&["--poll.queues-interval", "2s"]);
    let exporter = Exporter::start(&flags, client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    assert!(!want.keys().any(|(_, q, _)| *q == added.name));
    converge(
        &exporter.base,
        &want,
        Duration::from_secs(60),
        "pushed gauges without the queue",
        pushing,
    )
    .await;
    control.restore_queue(&added.id);
    let with = truth.realtime(&sim.model()).await;
    assert!(with.keys().any(|(_, q, _)| *q == added.name));
    converge(
        &exporter.base,
        &with,
        Duration::from_secs(30),
        "the added queue's gauges",
        pushing,
    )
    .await;
    let topic = format!("v2.analytics.queues.{}.observations", added.id);
    let live = control.channels_of("demo-client");
    assert!(
        live.iter()
            .any(|c| c.connected && c.topics.contains(&topic)),
        "{topic} subscribed on a connected channel: {live:?}"
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// (f) With half the events lost, the gauges go wrong after a change and are
/// right again right after one reconcile (counted at the simulator as a REST
/// observations query), at the 30 s minimum interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_events_heal_at_the_next_reconcile() {
    let sim = start_roomy_sim(busy_org(NotifyConfig {
        drop_rate: 0.5,
        ..NotifyConfig::default()
    }))
    .await;
    let control = sim.control();
    let mut truth = Truth::new(&sim.base_url()).await;
    let flags = push_flags(&["--realtime.reconcile-interval", "30s"]);
    let exporter = Exporter::start(&flags, client_for(&sim)).await;
    let want = truth.realtime(&sim.model()).await;
    // The seed alone gives the right values at the frozen instant.
    converge(
        &exporter.base,
        &want,
        Duration::from_secs(60),
        "seeded gauges",
        pushing,
    )
    .await;
    let after = step(&sim, &mut truth, &want).await;
    let before_reconcile = exporter_observations(&control, &truth);
    // Several publishing rounds pass; half the change events were lost.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stale = exported(&scrape(&exporter.base).await);
    if exporter_observations(&control, &truth) == before_reconcile {
        assert!(
            !differences(&stale, &after, 1).is_empty(),
            "with half the events lost some gauge is wrong before the reconcile"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(45);
    while exporter_observations(&control, &truth) == before_reconcile {
        assert!(Instant::now() < deadline, "no reconcile within 45 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    converge(
        &exporter.base,
        &after,
        Duration::from_secs(5),
        "values right after one reconcile",
        pushing,
    )
    .await;
    exporter.stop().await;
    sim.shutdown().await;
}

/// Spawns `cmd`, returning the child, its base URL and its stderr as it grows.
fn spawn_logged(mut cmd: std::process::Command) -> (Child, String, Arc<Mutex<String>>) {
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

/// A child process killed (by its pid) and reaped when dropped, so a failing
/// assertion does not leave it running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (g) A client whose token lacks the topic permission (the org's topics need
/// another permission than the REST query) falls back to polling: the poll
/// source is active, the values are right and follow a change by polling, and
/// the exporter's log says why exactly once, though it keeps trying push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topic_permission_falls_back_to_polling() {
    const TOPIC_PERMISSION: &str = "notifications:queueTopic:view";
    let sim = start_roomy_sim(busy_org(NotifyConfig {
        topic_permission: TOPIC_PERMISSION.to_string(),
        ..NotifyConfig::default()
    }))
    .await;
    let mut truth = Truth::new(&sim.base_url()).await;
    let d = SimConfig::default();
    let mut cmd = binary();
    cmd.args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--genesys.api-url",
        &sim.base_url(),
        "--genesys.client-id",
        &d.client_id,
        "--poll.observations-interval",
        "2s",
    ])
    .args(push_flags(&[]))
    .env("GENESYS_CLIENT_SECRET", &d.client_secret);
    let (child, base, logs) = spawn_logged(cmd);
    let child = Running(child);
    let want = truth.realtime(&sim.model()).await;
    let polling = |s: &[Sample]| {
        value(s, "genesys_exporter_realtime_source", &[("source", "poll")]) == Some(1.0)
            && value(s, "genesys_exporter_realtime_source", &[("source", "push")]) == Some(0.0)
    };
    converge(
        &base,
        &want,
        Duration::from_secs(60),
        "polled gauges",
        polling,
    )
    .await;
    let after = step(&sim, &mut truth, &want).await;
    converge(
        &base,
        &after,
        Duration::from_secs(20),
        "polled gauges follow the change",
        polling,
    )
    .await;
    // Long enough for push to be retried with backoff at least once.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let samples = scrape(&base).await;
    drop(child);
    assert!(polling(&samples), "still polling");
    let logs = logs.lock().expect("logs").clone();
    // Warnings and errors about push: exactly one, saying why and what instead.
    let why: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .filter(|l| l.to_ascii_lowercase().contains("push"))
        .collect();
    assert_eq!(why.len(), 1, "the reason is logged once:\n{logs}");
    let line = why[0].to_ascii_lowercase();
    assert!(line.contains("poll"), "says it polls instead: {line}");
    assert!(
        line.contains("topic") || line.contains("permission"),
        "says why (the topics are refused): {line}"
    );
    assert!(!logs.contains(&d.client_secret), "secret in the log");
    sim.shutdown().await;
}

/// The new flags: a bad value, by flag or by variable, is one line naming the
/// flag, exit code 2; the documented bounds are accepted.
#[test]
fn realtime_flags_name_themselves() {
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut cmd = binary();
        cmd.args(["check-config", "--demo"]).args(args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    for (args, env, flag) in [
        (
            &["--realtime.source", "socket"][..],
            None,
            "--realtime.source",
        ),
        (
            &["--realtime.reconcile-interval", "29s"][..],
            None,
            "--realtime.reconcile-interval",
        ),
        (
            &["--realtime.heartbeat-timeout", "500ms"][..],
            None,
            "--realtime.heartbeat-timeout",
        ),
        (
            &[][..],
            Some(("GENESYS_EXPORTER_REALTIME_SOURCE", "sometimes")),
            "--realtime.source",
        ),
        (
            &[][..],
            Some(("GENESYS_EXPORTER_REALTIME_RECONCILE_INTERVAL", "10s")),
            "--realtime.reconcile-interval",
        ),
        (
            &[][..],
            Some(("GENESYS_EXPORTER_REALTIME_HEARTBEAT_TIMEOUT", "0s")),
            "--realtime.heartbeat-timeout",
        ),
    ] {
        let (code, stderr) = run(args, env);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(code, Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(lines.len(), 1, "{args:?} {env:?}: {stderr}");
        assert!(lines[0].contains(flag), "{args:?} {env:?}: {stderr}");
    }
    for args in [
        &["--realtime.source", "poll"][..],
        &[
            "--realtime.source",
            "push",
            "--realtime.reconcile-interval",
            "30s",
        ][..],
        &["--realtime.heartbeat-timeout", "1s"][..],
    ] {
        let (code, stderr) = run(args, None);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

/// Like every duration flag, `--realtime.reconcile-interval -1m` (value as its
/// own argument) reaches validation as `--realtime.reconcile-interval=-1m`
/// does: one line naming the flag, exit code 2, the same line both ways.
#[test]
fn realtime_durations_take_a_leading_hyphen() {
    for flag in [
        "--realtime.reconcile-interval",
        "--realtime.heartbeat-timeout",
    ] {
        let joined = format!("{flag}=-1m");
        let mut lines = Vec::new();
        for args in [vec![flag, "-1m"], vec![joined.as_str()]] {
            let out = binary()
                .args(["check-config", "--demo"])
                .args(&args)
                .output()
                .expect("binary runs");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let got: Vec<String> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert_eq!(got.len(), 1, "{args:?}: {stderr}");
            assert!(got[0].contains(flag), "{args:?}: {stderr}");
            lines.push(got);
        }
        assert_eq!(lines[0], lines[1], "{flag}: spaced and joined differ");
    }
}
