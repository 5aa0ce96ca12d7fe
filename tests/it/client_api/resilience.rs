//! Failure handling against the simulator: Retry-After, 5xx backoff, timeouts,
//! deadlines and the rate budget, permanent 4xx, unreachable hosts, size caps
//! and malformed bodies.

use super::*;

/// A 429 with `Retry-After: 1` is retried only after waiting at least that second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_honours_retry_after() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let (client, recorder) = demo_client(&sim.base_url());
    client.queues(&[]).await.expect("warm up");
    control.reset_counts();
    control.push_faults(SimEndpoint::Queues, [status(429, Some(1))]);
    let started = Instant::now();
    client.queues(&[]).await.expect("succeeds after the wait");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(990),
        "waited only {waited:?}"
    );
    assert_eq!(control.request_count(SimEndpoint::Queues), 2);
    assert_eq!(recorder.retries(RetryReason::RateLimited), 1);

    // A Retry-After beyond the cap fails at once instead of blocking the call.
    control.reset_counts();
    control.push_faults(SimEndpoint::Queues, [status(429, Some(600))]);
    let err = client.queues(&[]).await.expect_err("too long to wait");
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(600)),
        "{err}"
    );
    assert_eq!(control.request_count(SimEndpoint::Queues), 1);
    sim.shutdown().await;
}

/// 500, 502 and 503 are retried with backoff until success; when every
/// allowed attempt fails the last server error is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_succeed() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let (client, recorder) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    let req = aggregate_request(ids);
    let clean = client.aggregates(&req).await.expect("baseline");
    control.reset_counts();
    control.push_faults(
        SimEndpoint::Aggregates,
        [status(500, None), status(502, None), status(503, None)],
    );
    let retried = client
        .aggregates(&req)
        .await
        .expect("succeeds on the 4th attempt");
    assert_eq!(retried, clean, "the retried answer is the same data");
    assert_eq!(control.request_count(SimEndpoint::Aggregates), 4);
    assert_eq!(recorder.retries(RetryReason::ServerError), 3);

    control.reset_counts();
    control.push_faults(SimEndpoint::Aggregates, (0..4).map(|_| status(503, None)));
    let err = client
        .aggregates(&req)
        .await
        .expect_err("retries exhausted");
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(
        control.request_count(SimEndpoint::Aggregates),
        4,
        "1 + 3 retries"
    );
    sim.shutdown().await;
}

/// A request slower than the per-request timeout is abandoned and retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_and_are_retried() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let mut config = fast_config(&sim.base_url(), DEMO_ID, DEMO_SECRET);
    config.request_timeout = Duration::from_secs(1);
    let recorder = Arc::new(Recorder::default());
    let client = Client::new(config, recorder.clone()).expect("client");
    client.queues(&[]).await.expect("warm up");
    control.reset_counts();
    control.push_faults(SimEndpoint::Queues, [Fault::Delay(Duration::from_secs(5))]);
    client.queues(&[]).await.expect("second attempt succeeds");
    assert_eq!(recorder.retries(RetryReason::Timeout), 1);
    assert!(recorder
        .outcomes(Endpoint::Queues)
        .contains(&"timeout".to_string()));
    assert_eq!(control.request_count(SimEndpoint::Queues), 2);
    sim.shutdown().await;
}

/// A 400 (interval longer than the API accepts) and a 403 are never retried
/// and surface Genesys's message, code and contextId; the 403 names the permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_are_not_retried() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let (client, recorder) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    let mut req = aggregate_request(ids.clone());
    req.start_ms = req.end_ms - 40 * 86_400_000;
    let err = client.aggregates(&req).await.expect_err("400");
    let Error::Rejected { status, detail, .. } = &err else {
        panic!("expected a rejection, got {err}");
    };
    assert_eq!(*status, 400);
    assert!(detail.message.is_some() && detail.code.is_some() && detail.context_id.is_some());
    let text = err.to_string();
    assert!(
        text.contains(detail.code.as_deref().unwrap_or_default()),
        "{text}"
    );
    assert_eq!(control.request_count(SimEndpoint::Aggregates), 1);
    assert_eq!(recorder.retries(RetryReason::ServerError), 0);

    control.add_client("no-analytics", "pw-1", &["routing:queue:view"]);
    let limited = Client::new(
        fast_config(&sim.base_url(), "no-analytics", "pw-1"),
        Arc::new(NoopObserver),
    )
    .expect("client");
    control.reset_counts();
    let err = limited
        .aggregates(&aggregate_request(ids.clone()))
        .await
        .expect_err("403");
    assert_eq!(
        err.permission(),
        Some("analytics:conversationAggregate:view")
    );
    assert!(err
        .to_string()
        .contains("analytics:conversationAggregate:view"));
    assert_eq!(control.request_count(SimEndpoint::Aggregates), 1);
    let err = limited.observations(&ids).await.expect_err("403");
    assert_eq!(err.permission(), Some("analytics:queueObservation:view"));
    sim.shutdown().await;
}

/// The call deadline bounds everything: slow attempts stop at the deadline,
/// and a request the rate budget cannot admit in time fails without being sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_and_budget_bound_every_call() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let mut config = fast_config(&sim.base_url(), DEMO_ID, DEMO_SECRET);
    config.request_timeout = Duration::from_secs(1);
    config.call_deadline = Duration::from_millis(2_500);
    config.max_retries = 10;
    let client = Client::new(config.clone(), Arc::new(NoopObserver)).expect("client");
    client.queues(&[]).await.expect("warm up");
    control.reset_counts();
    control.push_faults(
        SimEndpoint::Queues,
        (0..10).map(|_| Fault::Delay(Duration::from_secs(5))),
    );
    let err = client.queues(&[]).await.expect_err("deadline");
    assert!(matches!(err, Error::Deadline { .. }), "{err}");
    let attempts = control.request_count(SimEndpoint::Queues);
    assert!(
        (1..=3).contains(&attempts),
        "{attempts} attempts of 1 s cannot exceed 2.5 s"
    );

    let sim2 = start_sim(SimConfig::default()).await;
    let mut config = fast_config(&sim2.base_url(), DEMO_ID, DEMO_SECRET);
    config.requests_per_minute = 2;
    config.call_deadline = Duration::from_secs(15);
    let recorder = Arc::new(Recorder::default());
    let client = Client::new(config, recorder.clone()).expect("client");
    client
        .queues(&[])
        .await
        .expect("token + one page fit the budget");
    let err = client
        .queues(&[])
        .await
        .expect_err("no room for a third request");
    assert!(
        matches!(
            err,
            Error::BudgetExhausted {
                requests_per_minute: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("--api.requests-per-minute"),
        "{err}"
    );
    assert_eq!(
        sim2.control().request_count(SimEndpoint::Queues),
        1,
        "never sent"
    );
    sim.shutdown().await;
    sim2.shutdown().await;
}

/// An unreachable API is reported as such, naming the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_is_reported() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let (client, recorder) = demo_client(&base);
    let err = client.queues(&[]).await.expect_err("nothing listens");
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    assert_eq!(recorder.retries(RetryReason::Transport), 3);
}

/// Bodies beyond the size cap are refused instead of read into memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let sim = start_sim(SimConfig {
        queues: 50,
        ..SimConfig::default()
    })
    .await;
    let mut config = fast_config(&sim.base_url(), DEMO_ID, DEMO_SECRET);
    config.max_body_bytes = 4096;
    let client = Client::new(config, Arc::new(NoopObserver)).expect("client");
    let err = client.queues(&[]).await.expect_err("too large");
    assert!(matches!(err, Error::TooLarge { limit: 4096, .. }), "{err}");
    sim.shutdown().await;
}

/// A malformed 200 body is a decode error naming the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_decode_errors() {
    let sim = start_sim(SimConfig::default()).await;
    let (client, _) = demo_client(&sim.base_url());
    sim.control()
        .push_faults(SimEndpoint::Queues, [Fault::MalformedBody]);
    let err = client.queues(&[]).await.expect_err("malformed");
    assert!(
        matches!(
            err,
            Error::Decode {
                endpoint: Endpoint::Queues,
                ..
            }
        ),
        "{err}"
    );
    sim.shutdown().await;
}

/// During an outage the token endpoint's 503 is a transient server error,
/// retried with backoff like any other, not mistaken for bad credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_not_a_credentials_error() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    control.set_outage(true);
    let (client, recorder) = demo_client(&sim.base_url());
    let err = client.queues(&[]).await.expect_err("outage");
    assert!(
        matches!(
            err,
            Error::Server {
                endpoint: Endpoint::Token,
                status: 503,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_transient() && !err.is_credentials());
    assert_eq!(
        control.request_count(SimEndpoint::Token),
        4,
        "1 + 3 retries"
    );
    assert_eq!(recorder.retries(RetryReason::ServerError), 3);
    control.set_outage(false);
    client.queues(&[]).await.expect("recovers after the outage");
    sim.shutdown().await;
}
