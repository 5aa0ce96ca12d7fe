//! Failure modes, end to end: token expiry, a 429 storm and outages are
//! survived with `genesys_up` and `/-/ready` telling the truth throughout.

use std::time::{Duration, Instant};

use crate::util::exporter::*;
use genesys_exporter::simulator::{Fault, SimConfig, SimEndpoint};

const UP_TIMEOUT: Duration = Duration::from_secs(90);
const FAST: &[&str] = &[
    "--poll.interval",
    "1s",
    "--poll.observations-interval",
    "1s",
    "--poll.queues-interval",
    "1s",
];

fn requests(samples: &[Sample], endpoint: &str, code: &str) -> f64 {
    value(
        samples,
        "genesys_exporter_api_requests_total",
        &[("endpoint", endpoint), ("code", code)],
    )
    .unwrap_or(0.0)
}

fn failures(samples: &[Sample]) -> f64 {
    named(samples, "genesys_exporter_poll_failures_total")
        .iter()
        .map(|s| s.value)
        .sum()
}

/// Expired tokens are renewed transparently: no poll fails and the exporter
/// stays up and ready the whole time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_is_survived() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(FAST, client_for(&sim)).await;
    let before = wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let tokens = requests(&before, "oauth_token", "200");
    sim.control().expire_all_tokens();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let samples = parse(&get(&exporter.base, "/metrics", false).await.text);
        assert_eq!(
            value(&samples, "genesys_up", &[]),
            Some(1.0),
            "up throughout"
        );
        assert_eq!(
            get(&exporter.base, "/-/ready", false).await.status,
            200,
            "ready throughout"
        );
        assert_eq!(failures(&samples), failures(&before), "no poll failed");
        let renewed = requests(&samples, "oauth_token", "200") > tokens;
        let refused: f64 = named(&samples, "genesys_exporter_api_requests_total")
            .iter()
            .filter(|s| s.label("code") == "401")
            .map(|s| s.value)
            .sum();
        if renewed && refused >= 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "token never renewed after expiry"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    exporter.stop().await;
    sim.shutdown().await;
}

/// A storm of 429s with Retry-After is retried, counted and survived; data
/// within --max-staleness stays served as up, and polling recovers. Every
/// 429 the simulator sends is counted: a query that fails does not abandon
/// its siblings' requests mid-flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_storm_is_survived() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(FAST, client_for(&sim)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let storm: u32 = 8;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let control = sim.control();
    let served_before = control.request_count(SimEndpoint::Aggregates);
    control.push_faults(
        SimEndpoint::Aggregates,
        (0..storm).map(|_| Fault::Status {
            status: 429,
            retry_after: Some(1),
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let samples = parse(&get(&exporter.base, "/metrics", false).await.text);
        assert_eq!(
            value(&samples, "genesys_up", &[]),
            Some(1.0),
            "fresh data stays up"
        );
        let throttled = requests(&samples, "conversation_aggregates", "429");
        let cancelled = requests(&samples, "conversation_aggregates", "cancelled");
        let retried = value(
            &samples,
            "genesys_exporter_api_retries_total",
            &[
                ("endpoint", "conversation_aggregates"),
                ("reason", "rate_limited"),
            ],
        )
        .unwrap_or(0.0);
        let last = value(
            &samples,
            "genesys_exporter_last_success_timestamp_seconds",
            &[("poll", "aggregates")],
        );
        // Every fault is consumed once a request beyond the storm was served.
        let served = control.request_count(SimEndpoint::Aggregates) - served_before;
        let state = format!(
            "served={served} 429s={throttled} cancelled={cancelled} retries={retried} last={last:?}"
        );
        if served > u64::from(storm) {
            assert!(throttled <= f64::from(storm), "{state}");
            if throttled == f64::from(storm)
                && retried >= 1.0
                && last.is_some_and(|t| t > started + 1.0)
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "storm not absorbed: {state}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    exporter.stop().await;
    sim.shutdown().await;
}

/// Before the first successful poll and during an outage longer than
/// --max-staleness, queue series are withdrawn, genesys_up is 0 and /-/ready
/// is 503; /-/healthy stays 200; everything recovers when the API returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_reported_and_recovered() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let control = sim.control();
    control.set_outage(true);
    let mut flags = FAST.to_vec();
    // Polled real-time gauges: a REST outage makes them stale too.
    flags.extend(["--max-staleness", "3s", "--realtime.source", "poll"]);
    let exporter = Exporter::start(&flags, client_for(&sim)).await;
    let base = exporter.base.clone();
    let queue_series = |s: &[Sample]| {
        s.iter()
            .filter(|s| s.name.starts_with("genesys_queue_"))
            .count()
    };

    // Outage from the start: alive, not ready, nothing served as data.
    wait_until(Duration::from_secs(60), "a failed queue poll", || {
        let base = base.clone();
        async move { failures(&parse(&get(&base, "/metrics", false).await.text)) >= 1.0 }
    })
    .await;
    let samples = parse(&get(&base, "/metrics", false).await.text);
    assert_eq!(value(&samples, "genesys_up", &[]), Some(0.0));
    assert_eq!(queue_series(&samples), 0);
    assert_eq!(get(&base, "/-/ready", false).await.status, 503);
    assert_eq!(get(&base, "/-/healthy", false).await.status, 200);

    control.set_outage(false);
    let samples = wait_for_up(&base, 1.0, UP_TIMEOUT).await;
    assert!(queue_series(&samples) > 0);
    assert_eq!(get(&base, "/-/ready", false).await.status, 200);

    // Mid-run outage: up stays truthful, data is withdrawn only once stale.
    control.set_outage(true);
    let outage_start = Instant::now();
    let deadline = outage_start + Duration::from_secs(60);
    loop {
        let samples = parse(&get(&base, "/metrics", false).await.text);
        let up = value(&samples, "genesys_up", &[]).expect("genesys_up always served");
        if up == 1.0 {
            assert!(
                value(&samples, "genesys_queue_offered", &[]).is_some(),
                "up implies data served"
            );
        } else if queue_series(&samples) == 0 && get(&base, "/-/ready", false).await.status == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "stale data never withdrawn");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The last success can precede the outage by almost two intervals (1s each)
    // and data is withdrawn interval + max-staleness (3s) after it: at least
    // 2s into the outage.
    assert!(
        outage_start.elapsed() >= Duration::from_secs(2),
        "withdrawn before --max-staleness passed"
    );
    assert_eq!(get(&base, "/-/healthy", false).await.status, 200);

    control.set_outage(false);
    let samples = wait_for_up(&base, 1.0, UP_TIMEOUT).await;
    assert!(queue_series(&samples) > 0);
    assert_eq!(get(&base, "/-/ready", false).await.status, 200);
    exporter.stop().await;
    sim.shutdown().await;
}

/// With the default 10 min queue-list interval and the API down at start,
/// the failed queue-list poll is retried with backoff well inside that
/// interval, so once the API returns every poll recovers within seconds
/// instead of at the next queue-list interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_list_recovers_within_backoff_after_outage() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let control = sim.control();
    control.set_outage(true);
    let exporter = Exporter::start(&["--poll.queues-interval", "10m"], client_for(&sim)).await;
    let base = exporter.base.clone();
    let queue_failures = |s: &[Sample]| -> f64 {
        named(s, "genesys_exporter_poll_failures_total")
            .iter()
            .filter(|s| s.label("poll") == "queues")
            .map(|s| s.value)
            .sum()
    };

    // A second failure within a minute is only possible as a retry.
    wait_until(
        Duration::from_secs(60),
        "two failed queue-list polls",
        || {
            let base = base.clone();
            async move { queue_failures(&parse(&get(&base, "/metrics", false).await.text)) >= 2.0 }
        },
    )
    .await;
    let samples = parse(&get(&base, "/metrics", false).await.text);
    assert_eq!(value(&samples, "genesys_up", &[]), Some(0.0));
    assert!(
        value(
            &samples,
            "genesys_exporter_last_success_timestamp_seconds",
            &[("poll", "queues")]
        )
        .is_none_or(|t| t == 0.0),
        "no queue-list success during the outage"
    );

    control.set_outage(false);
    // Generous for a noisy machine, yet far inside the 10 min interval.
    let samples = wait_for_up(&base, 1.0, Duration::from_secs(30)).await;
    assert!(value(&samples, "genesys_queue_offered", &[]).is_some());
    assert!(value(&samples, "genesys_queue_members", &[]).is_some());
    assert_eq!(get(&base, "/-/ready", false).await.status, 200);
    exporter.stop().await;
    sim.shutdown().await;
}

/// Without the observation permission, the exporter keeps serving the queue
/// list and window gauges, reports genesys_up 0 and names the missing
/// permission on the landing page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_permission_is_named() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let control = sim.control();
    control.add_client(
        "no-observations",
        "s3cret",
        &["routing:queue:view", "analytics:conversationAggregate:view"],
    );
    let mut client = client_for(&sim);
    client.client_id = String::from("no-observations");
    client.client_secret = genesys_exporter::secret::Secret::new("s3cret");
    let exporter = Exporter::start(FAST, client).await;
    let base = exporter.base.clone();
    wait_until(Duration::from_secs(60), "window gauges served", || {
        let base = base.clone();
        async move {
            let samples = parse(&get(&base, "/metrics", false).await.text);
            value(&samples, "genesys_queue_offered", &[]).is_some()
                && value(
                    &samples,
                    "genesys_exporter_poll_failures_total",
                    &[("poll", "observations"), ("kind", "permission")],
                )
                .is_some_and(|f| f >= 1.0)
        }
    })
    .await;
    let samples = parse(&get(&base, "/metrics", false).await.text);
    assert_eq!(value(&samples, "genesys_up", &[]), Some(0.0));
    assert!(value(&samples, "genesys_queue_waiting", &[]).is_none());
    assert_eq!(get(&base, "/-/ready", false).await.status, 503);
    let landing = get(&base, "/", false).await.text;
    assert!(
        landing.contains("analytics:queueObservation:view"),
        "{landing}"
    );
    assert!(!landing.contains("s3cret"));
    exporter.stop().await;
    sim.shutdown().await;
}
