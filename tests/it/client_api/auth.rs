//! OAuth against the simulator: token caching and renewal, one re-authentication
//! on 401, refused credentials, and secrets kept out of logs and errors.

use super::*;

/// A token is fetched once, reused while fresh, and renewed before it expires
/// (half of a short lifetime), without ever being refused with a 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_cached_then_renewed_before_expiry() {
    let sim = start_sim(SimConfig {
        token_ttl: Duration::from_secs(12),
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let (client, recorder) = demo_client(&sim.base_url());
    let fetched = Instant::now();
    client.queues(&[]).await.expect("first call");
    client.queues(&[]).await.expect("second call");
    client.queues(&[]).await.expect("third call");
    assert_eq!(control.request_count(SimEndpoint::Token), 1, "token reused");
    // The token is used for 12 s − min(60 s, 6 s) = 6 s; let that pass.
    let renew_after = Duration::from_millis(6_300);
    tokio::time::sleep(renew_after.saturating_sub(fetched.elapsed())).await;
    client.queues(&[]).await.expect("call after renewal time");
    assert_eq!(
        control.request_count(SimEndpoint::Token),
        2,
        "token renewed"
    );
    assert_eq!(recorder.retries(RetryReason::Unauthorized), 0);
    assert!(!recorder
        .outcomes(Endpoint::Queues)
        .contains(&"401".to_string()));
    sim.shutdown().await;
}

/// A 401 from the API triggers exactly one re-authentication and one retry;
/// a second 401 in a row is reported, not retried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_reauthenticates_exactly_once() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let (client, recorder) = demo_client(&sim.base_url());
    client.queues(&[]).await.expect("warm up");
    control.expire_all_tokens();
    control.reset_counts();
    let queues = client.queues(&[]).await.expect("after re-auth");
    assert_eq!(queues.len(), 12);
    assert_eq!(control.request_count(SimEndpoint::Token), 1);
    assert_eq!(control.request_count(SimEndpoint::Queues), 2);
    assert_eq!(recorder.retries(RetryReason::Unauthorized), 1);

    control.reset_counts();
    control.push_faults(SimEndpoint::Queues, [status(401, None), status(401, None)]);
    let err = client.queues(&[]).await.expect_err("persistent 401");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(err.is_credentials());
    assert_eq!(control.request_count(SimEndpoint::Token), 1);
    assert_eq!(control.request_count(SimEndpoint::Queues), 2);
    sim.shutdown().await;
}

/// Wrong credentials fail at the token endpoint once, without hot retries,
/// and the message carries the OAuth error but never the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_not_retried() {
    let sim = start_sim(SimConfig::default()).await;
    let control = sim.control();
    let client = Client::new(
        fast_config(&sim.base_url(), DEMO_ID, "wrong-secret-value"),
        Arc::new(NoopObserver),
    )
    .expect("client");
    let err = client.queues(&[]).await.expect_err("bad secret");
    assert!(err.is_credentials(), "{err}");
    assert!(err.to_string().contains("authentication failed"), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-secret-value"));
    assert_eq!(control.request_count(SimEndpoint::Token), 1);
    assert_eq!(control.request_count(SimEndpoint::Queues), 0);
    let unknown = Client::new(
        fast_config(&sim.base_url(), "nobody", "x"),
        Arc::new(NoopObserver),
    )
    .expect("client");
    let err = unknown.queues(&[]).await.expect_err("unknown client");
    assert!(err.to_string().contains("client not found"), "{err}");
    sim.shutdown().await;
}

/// Neither the client secret, the Basic credentials nor a bearer token appear
/// in trace-level logs, errors or Debug output, across success, re-auth and failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs() {
    let logs = global_trace_logs();
    let secret = "s3cr3t-Very-Distinct-Value";
    let sim = start_sim(SimConfig {
        client_secret: secret.to_string(),
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let client = Client::new(
        fast_config(&sim.base_url(), DEMO_ID, secret),
        Arc::new(NoopObserver),
    )
    .expect("client");
    let ids: Vec<String> = client
        .queues(&[])
        .await
        .expect("queues")
        .into_iter()
        .map(|q| q.id)
        .collect();
    control.expire_all_tokens();
    client
        .observations(&ids)
        .await
        .expect("observations after re-auth");
    let bad = Client::new(
        fast_config(&sim.base_url(), DEMO_ID, &format!("{secret}-wrong")),
        Arc::new(NoopObserver),
    )
    .expect("client");
    let err = bad.queues(&[]).await.expect_err("bad secret");
    let text = logs.text();
    assert!(
        text.contains("Genesys request finished"),
        "logs were captured"
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{DEMO_ID}:{secret}"));
    let everything = format!("{text}\n{err}\n{err:?}\n{client:?}\n{:?}", client.config());
    for needle in [secret, basic.as_str(), "Bearer ", "Basic "] {
        assert!(!everything.contains(needle), "{needle:?} leaked");
    }
    sim.shutdown().await;
}
