//! The API client over real HTTP against the simulator (and, for a hostile
//! paging link, a tiny stub server): tokens, re-authentication, rate limits,
//! retries, permanent errors, paging, chunking, observations and secrets.

mod client_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::{Json, Router};
use client_support::*;
use genesys_exporter::genesys::{
    AggregateRequest, Client, Endpoint, Error, NoopObserver, RetryReason,
};
use genesys_exporter::simulator::{Fault, LongestMode, SimConfig, SimEndpoint};
use serde_json::json;

fn demo_client(base: &str) -> (Client, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let client =
        Client::new(fast_config(base, DEMO_ID, DEMO_SECRET), recorder.clone()).expect("client");
    (client, recorder)
}

fn status(status: u16, retry_after: Option<u32>) -> Fault {
    Fault::Status {
        status,
        retry_after,
    }
}

/// A past day, aligned to the hour, that every simulator clock has fully seen.
fn past_day() -> (i64, i64) {
    let hour = 3_600_000;
    let now = jiff::Timestamp::now().as_millisecond();
    let end = now - now.rem_euclid(hour) - 2 * hour;
    (end - 24 * hour, end)
}

fn aggregate_request(queue_ids: Vec<String>) -> AggregateRequest {
    let (start_ms, end_ms) = past_day();
    AggregateRequest {
        start_ms,
        end_ms,
        granularity_ms: None,
        time_zone: None,
        queue_ids,
        media_types: vec![],
    }
}

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

/// Every page of a 250-queue org is read by following `nextUri` (3 pages of 100),
/// and the result equals the simulator's queue list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_reads_every_queue() {
    let sim = start_sim(SimConfig {
        queues: 250,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let (client, _) = demo_client(&sim.base_url());
    let queues = client.queues(&[]).await.expect("queues");
    assert_eq!(control.request_count(SimEndpoint::Queues), 3);
    let got: BTreeSet<(String, String)> = queues
        .iter()
        .map(|q| (q.id.clone(), q.name.clone()))
        .collect();
    let want: BTreeSet<(String, String)> = sim
        .model()
        .queues()
        .into_iter()
        .map(|q| (q.id, q.name))
        .collect();
    assert_eq!(got, want);
    let model_q = &sim.model().queues()[0];
    let q = queues.iter().find(|q| q.id == model_q.id).expect("listed");
    assert_eq!(q.division_id, model_q.division_id);
    let media: BTreeSet<&str> = q.media.iter().map(|m| m.media_type.as_str()).collect();
    let model_media: BTreeSet<&str> = model_q
        .media
        .iter()
        .map(|m| m.media_type.as_str())
        .collect();
    assert_eq!(media, model_media, "call is reported as voice");
    sim.shutdown().await;
}

/// With 250 queues, aggregates and observations each take ceil(250/100) = 3
/// requests, and observation counts equal the simulator's own model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunking_at_one_hundred() {
    let sim = start_sim(SimConfig {
        queues: 250,
        longest_mode: LongestMode::DurationMs,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let now = jiff::Timestamp::now().as_millisecond() - 60_000;
    control.set_fixed_now(Some(now));
    let (client, _) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    control.reset_counts();
    let series = client
        .aggregates(&aggregate_request(ids.clone()))
        .await
        .expect("aggregates");
    assert_eq!(control.request_count(SimEndpoint::Aggregates), 3);
    let queues_with_data: BTreeSet<&str> = series.iter().map(|s| s.queue_id.as_str()).collect();
    assert!(queues_with_data.len() > 100, "data came from every chunk");
    let snapshot = client.observations(&ids).await.expect("observations");
    assert_eq!(control.request_count(SimEndpoint::Observations), 3);
    let model = sim.model();
    for q in model.queues() {
        for m in &q.media {
            let truth = model.observe(&q.id, &m.media_type, now);
            let got = snapshot
                .media
                .iter()
                .find(|o| o.queue_id == q.id && o.media_type == m.media_type)
                .expect("every served media is observed");
            assert_eq!(
                (got.waiting, got.interacting, got.alerting),
                (truth.waiting, truth.interacting, truth.alerting),
                "{} {}",
                q.name,
                m.media_type
            );
            let want_longest = truth.oldest_waiting_since_ms.map(|since| now - since);
            if want_longest.is_some() {
                assert_eq!(got.longest_waiting_ms, want_longest);
            }
        }
        let users = model.users(&q.id, now);
        let got = snapshot
            .queues
            .iter()
            .find(|o| o.queue_id == q.id)
            .expect("users");
        assert_eq!(got.members, Some(users.members));
        for (status, n) in &users.on_queue {
            assert_eq!(
                got.on_queue.get(status).copied().unwrap_or(0),
                *n,
                "{status}"
            );
        }
    }
    sim.shutdown().await;
}

/// `oLongestWaiting` given as epoch milliseconds becomes the wait so far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_waiting_epoch_is_normalised() {
    let sim = start_sim(SimConfig {
        queues: 40,
        ..SimConfig::default()
    })
    .await;
    let now = jiff::Timestamp::now().as_millisecond() - 120_000;
    sim.control().set_fixed_now(Some(now));
    let (client, _) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    let before = jiff::Timestamp::now().as_millisecond();
    let snapshot = client.observations(&ids).await.expect("observations");
    let after = jiff::Timestamp::now().as_millisecond();
    let mut checked = 0;
    for o in &snapshot.media {
        let truth = sim.model().observe(&o.queue_id, &o.media_type, now);
        if let (Some(since), Some(got)) = (truth.oldest_waiting_since_ms, o.longest_waiting_ms) {
            assert!(got >= before - since && got <= after - since, "{got}");
            checked += 1;
        }
    }
    assert!(checked > 0, "some queue had a waiting interaction");
    sim.shutdown().await;
}

/// A `nextUri` pointing at another host is refused: the other host never
/// sees a request and the error says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_absolute_next_uri_is_refused() {
    let evil_hits = Arc::new(AtomicU64::new(0));
    let hits = evil_hits.clone();
    let evil = serve_stub(Router::new().fallback(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            Json(json!({"entities": []}))
        }
    }))
    .await;
    let next = format!("{evil}/api/v2/routing/queues?pageSize=1&pageNumber=2");
    let stub = serve_stub(
        Router::new()
            .route(
                "/oauth/token",
                post(|| async {
                    Json(json!({"access_token": "stub-token", "token_type": "bearer", "expires_in": 86399}))
                }),
            )
            .route(
                "/api/v2/routing/queues",
                get(move || {
                    let next = next.clone();
                    async move {
                        Json(json!({"entities": [{"id": "q1", "name": "One"}],
                                    "pageSize": 1, "pageNumber": 1, "nextUri": next}))
                    }
                }),
            ),
    )
    .await;
    let (client, _) = demo_client(&stub);
    let err = client.queues(&[]).await.expect_err("refused");
    assert!(matches!(err, Error::UnsafeNextUri { .. }), "{err}");
    assert!(
        err.to_string().contains("relative path on the API host"),
        "{err}"
    );
    assert_eq!(evil_hits.load(Ordering::SeqCst), 0);
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

/// Neither the client secret, the Basic credentials nor a bearer token appear
/// in trace-level logs, errors or Debug output, across success, re-auth and failure.
#[tokio::test]
async fn secrets_never_reach_logs() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,genesys_exporter::simulator=off",
        ))
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
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
