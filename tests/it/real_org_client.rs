//! The API client under the ways a real org may answer (issue "real-org
//! readiness", client side): paging links on another host or absent,
//! predicate limits on aggregates and observations, and a rate limit lower
//! than the configured budget. Simulator, stubs and exporter run on
//! 127.0.0.1:0 over real HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Uri;
use axum::routing::{get, post};
use axum::{Json, Router};
use genesys_exporter::genesys::{Client, Endpoint, Error};
use genesys_exporter::simulator::{NextUri, SimConfig, SimEndpoint, TrafficProfile, Variants};
use serde_json::{json, Value};

use crate::util::client::{fast_config, Recorder, DEMO_ID, DEMO_SECRET};
use crate::util::exporter::{
    client_for, get as scrape, parse, start_roomy_sim, value, wait_for_up, Exporter,
};
use crate::util::sim::start_sim;
use crate::util::truth::expected_window;

const UP_TIMEOUT: Duration = Duration::from_secs(90);

/// A listener on 127.0.0.1:0 that accepts and counts connections, answering none.
async fn connection_trap() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind trap");
    let addr = listener.local_addr().expect("trap addr");
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("http://{addr}"), hits)
}

/// Page numbers a listing stub served, each with whether the request came
/// through the stub's own `nextUri` (which carries `via=link`).
type Served = Arc<Mutex<Vec<(u64, bool)>>>;

/// A queue-list stub of `total` queues, `page_size` per page, whose every
/// `nextUri` is an absolute URL on `next_origin` (its own origin when `None`)
/// marked `via=link`; with `link_last` the last page links onwards too.
async fn listing_stub(
    total: u64,
    page_size: u64,
    next_origin: Option<String>,
    link_last: bool,
) -> (String, Served) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind stub");
    let base = format!("http://{}", listener.local_addr().expect("stub addr"));
    let next_origin = next_origin.unwrap_or_else(|| base.clone());
    let served: Served = Arc::new(Mutex::new(Vec::new()));
    let seen = served.clone();
    let page_count = total.div_ceil(page_size);
    let router = Router::new()
        .route(
            "/oauth/token",
            post(|| async {
                Json(json!({"access_token": "stub-token", "token_type": "bearer", "expires_in": 86399}))
            }),
        )
        .route(
            "/api/v2/routing/queues",
            get(move |uri: Uri| {
                let seen = seen.clone();
                let next_origin = next_origin.clone();
                async move {
                    let params: BTreeMap<String, String> =
                        reqwest::Url::parse(&format!("http://stub{uri}"))
                            .map(|u| u.query_pairs().into_owned().collect())
                            .unwrap_or_default();
                    let n: u64 = params
                        .get("pageNumber")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(1)
                        .max(1);
                    seen.lock()
                        .expect("served")
                        .push((n, params.get("via").is_some_and(|v| v == "link")));
                    let first = (n - 1) * page_size;
                    let entities: Vec<Value> = (first..(first + page_size).min(total))
                        .map(|i| json!({"id": format!("q{i}"), "name": format!("Queue {i}")}))
                        .collect();
                    let mut body = json!({
                        "entities": entities, "pageSize": page_size, "pageNumber": n,
                        "total": total, "pageCount": page_count,
                    });
                    if n < page_count || link_last {
                        body["nextUri"] = json!(format!(
                            "{next_origin}/api/v2/routing/queues?pageSize={page_size}&pageNumber={}&via=link",
                            n + 1
                        ));
                    }
                    Json(body)
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, served)
}

fn stub_client(base: &str) -> Client {
    Client::new(
        fast_config(base, DEMO_ID, DEMO_SECRET),
        Arc::new(Recorder::default()),
    )
    .expect("client")
}

/// A `nextUri` on another host is never contacted: that host's listener sees
/// no connection, and paging by `pageNumber` still reads every page up to
/// `pageCount`, each queue once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_uri_on_another_host_is_never_contacted() {
    let (trap, trap_hits) = connection_trap().await;
    let (stub, served) = listing_stub(7, 2, Some(trap), false).await;
    let queues = stub_client(&stub)
        .queues(&[])
        .await
        .expect("every page is read");
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let want: Vec<String> = (0..7).map(|i| format!("q{i}")).collect();
    assert_eq!(ids, want, "every queue once, in page order");
    let by_number = [(1, false), (2, false), (3, false), (4, false)];
    assert_eq!(*served.lock().expect("served"), by_number);
    assert_eq!(
        trap_hits.load(Ordering::SeqCst),
        0,
        "the other host got a request"
    );
}

/// A last page (by `pageCount`) that still links to another host ends the
/// listing: the link is not contacted and no error is raised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_link_on_the_last_page_ends_the_listing() {
    let (trap, trap_hits) = connection_trap().await;
    let (stub, served) = listing_stub(4, 2, Some(trap), true).await;
    assert_eq!(
        stub_client(&stub).queues(&[]).await.expect("pages").len(),
        4
    );
    assert_eq!(*served.lock().expect("served"), [(1, false), (2, false)]);
    assert_eq!(trap_hits.load(Ordering::SeqCst), 0);
}

/// An absolute `nextUri` on the API's own origin is followed as given (its
/// marker parameter arrives), while one on another port of the same host is
/// another origin and is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_next_uri_on_the_api_origin_is_followed() {
    let (stub, served) = listing_stub(5, 2, None, false).await;
    assert_eq!(
        stub_client(&stub).queues(&[]).await.expect("pages").len(),
        5
    );
    assert_eq!(
        *served.lock().expect("served"),
        [(1, false), (2, true), (3, true)]
    );
    let (other_port, other_served) = listing_stub(5, 2, None, false).await;
    let (linking, linking_served) = listing_stub(5, 2, Some(other_port), false).await;
    assert_eq!(
        stub_client(&linking)
            .queues(&[])
            .await
            .expect("pages")
            .len(),
        5
    );
    assert_eq!(
        *linking_served.lock().expect("served"),
        [(1, false), (2, false), (3, false)]
    );
    assert!(other_served.lock().expect("served").is_empty());
}

/// The simulator's `--next-uri absolute` and `--next-uri none` both list every
/// queue of the org exactly once, in `ceil(queues / pageSize)` requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_next_uri_forms_list_every_queue_once() {
    for next_uri in [NextUri::Absolute, NextUri::None] {
        let sim = start_sim(SimConfig {
            queues: 23,
            variants: Variants {
                next_uri,
                ..Variants::default()
            },
            ..SimConfig::default()
        })
        .await;
        let mut config = fast_config(&sim.base_url(), DEMO_ID, DEMO_SECRET);
        config.page_size = 5;
        let client = Client::new(config, Arc::new(Recorder::default())).expect("client");
        let mut got: Vec<String> = client
            .queues(&[])
            .await
            .unwrap_or_else(|e| panic!("{next_uri:?}: {e}"))
            .into_iter()
            .map(|q| q.id)
            .collect();
        got.sort();
        let mut want: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
        want.sort();
        assert_eq!(got, want, "{next_uri:?}");
        assert_eq!(
            sim.control().request_count(SimEndpoint::Queues),
            5,
            "{next_uri:?}: ceil(23 / 5) pages"
        );
        sim.shutdown().await;
    }
}

/// With predicate limits of 30 (aggregates) and 40 (observations) on an org
/// of 100 queues, the first polls still succeed: each endpoint's chunk size
/// halves until accepted (aggregates 100 → 50 → 25, observations 100 ids →
/// 50 → 25), the gauge shows it, and every queue's window values equal the
/// truth folded from the simulator's events and every queue is observed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predicate_limits_shrink_chunks_and_every_queue_is_exported() {
    let sim = start_roomy_sim(SimConfig {
        queues: 100,
        traffic_scale: 3.0,
        traffic_profile: TrafficProfile::Flat,
        variants: Variants {
            aggregates_max_predicates: Some(30),
            observations_max_predicates: Some(40),
            ..Variants::default()
        },
        ..SimConfig::default()
    })
    .await;
    let flags = [
        "--poll.interval",
        "5s",
        "--poll.observations-interval",
        "5s",
        "--window",
        "1h",
    ];
    let exporter = Exporter::start(&flags, client_for(&sim)).await;
    let samples = wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let chunk = |endpoint: &str| {
        value(
            &samples,
            "genesys_exporter_api_chunk_size",
            &[("endpoint", endpoint)],
        )
    };
    assert_eq!(chunk("conversation_aggregates"), Some(25.0));
    assert_eq!(chunk("queue_observations"), Some(25.0));
    assert_eq!(value(&samples, "genesys_exporter_queues", &[]), Some(100.0));

    let start = value(
        &samples,
        "genesys_window_start_timestamp_seconds",
        &[("window", "1h")],
    )
    .expect("window start");
    let end = value(
        &samples,
        "genesys_window_end_timestamp_seconds",
        &[("window", "1h")],
    )
    .expect("window end");
    let (start, end) = ((start * 1000.0) as i64, (end * 1000.0) as i64);
    let model = sim.model();
    let mut queues_with_traffic = BTreeSet::new();
    for q in model.queues() {
        for m in &q.media {
            let want = expected_window(&model, &q.id, &m.media_type, start, end)
                .into_iter()
                .find(|(family, _)| *family == "genesys_queue_offered")
                .and_then(|(_, want)| want)
                .unwrap_or(0.0);
            if want > 0.0 {
                queues_with_traffic.insert(q.name.clone());
                let labels = [
                    ("queue", q.name.as_str()),
                    ("media_type", m.media_type.as_str()),
                    ("window", "1h"),
                ];
                assert_eq!(
                    value(&samples, "genesys_queue_offered", &labels),
                    Some(want),
                    "{} {}",
                    q.name,
                    m.media_type
                );
            }
        }
    }
    assert!(
        queues_with_traffic.len() > 50,
        "the busy org has traffic in most queues, so every chunk is checked"
    );
    let observed: BTreeSet<String> = parse(&scrape(&exporter.base, "/metrics", false).await.text)
        .into_iter()
        .filter(|s| s.name == "genesys_queue_waiting")
        .map(|s| s.label("queue").to_string())
        .collect();
    let names: BTreeSet<String> = model.queues().into_iter().map(|q| q.name).collect();
    assert_eq!(observed, names, "every queue is observed");
    exporter.stop().await;
    sim.shutdown().await;
}

/// Against a simulator allowing 60 requests per minute, a client configured
/// for 120 reads `inin-ratelimit-allowed`, shrinks its budget to 54 (90 %),
/// and then refuses to send the 55th request of the minute itself: the
/// simulator sees exactly the budget and never answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_shrinks_to_the_reported_limit() {
    let sim = start_sim(SimConfig {
        queues: 3,
        rate_limit_per_minute: 60,
        ..SimConfig::default()
    })
    .await;
    let mut config = fast_config(&sim.base_url(), DEMO_ID, DEMO_SECRET);
    config.requests_per_minute = 120;
    config.request_timeout = Duration::from_secs(5);
    config.call_deadline = Duration::from_secs(5);
    let recorder = Arc::new(Recorder::default());
    let client = Client::new(config, recorder.clone()).expect("client");
    let mut listed = 0u64;
    let mut refused = 0u64;
    for _ in 0..61 {
        match client.queues(&[]).await {
            Ok(_) => listed += 1,
            Err(Error::BudgetExhausted { .. }) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(client.requests_per_minute(), 54);
    let tokens = recorder.outcomes(Endpoint::Token).len() as u64;
    assert_eq!(
        listed + tokens,
        54,
        "the client's own window (token included) holds 90 % of 60"
    );
    assert_eq!(refused, 61 - listed);
    assert_eq!(sim.control().request_count(SimEndpoint::Queues), listed);
    let outcomes = recorder.outcomes(Endpoint::Queues);
    assert!(outcomes.iter().all(|o| o == "200"), "{outcomes:?}");
    sim.shutdown().await;
}

/// The exporter shows Genesys's rate-limit headers and the shrunken budget as
/// gauges, and receives no 429 while it runs a few polls under that budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_headers_are_exported() {
    let sim = start_sim(SimConfig {
        queues: 5,
        rate_limit_per_minute: 60,
        ..SimConfig::default()
    })
    .await;
    let mut client = client_for(&sim);
    client.requests_per_minute = 120;
    let flags = [
        "--poll.interval",
        "10s",
        "--poll.observations-interval",
        "5s",
        "--window",
        "1h",
    ];
    let exporter = Exporter::start(&flags, client).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    // A few observation polls, so the gauges come from responses under the
    // shrunken budget too.
    let mut samples = Vec::new();
    for _ in 0..300 {
        samples = parse(&scrape(&exporter.base, "/metrics", false).await.text);
        let observed = value(
            &samples,
            "genesys_exporter_api_requests_total",
            &[("endpoint", "queue_observations"), ("code", "200")],
        );
        if observed.unwrap_or(0.0) >= 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        value(&samples, "genesys_api_rate_limit_allowed", &[]),
        Some(60.0)
    );
    assert_eq!(
        value(&samples, "genesys_exporter_api_request_budget", &[]),
        Some(54.0)
    );
    let count = value(&samples, "genesys_api_rate_limit_used", &[]).expect("count");
    assert!((1.0..=60.0).contains(&count), "{count}");
    let reset = value(&samples, "genesys_api_rate_limit_reset_seconds", &[]).expect("reset");
    assert!((0.0..=60.0).contains(&reset), "{reset}");
    let limited: f64 = parse(&scrape(&exporter.base, "/metrics", false).await.text)
        .iter()
        .filter(|s| s.name == "genesys_exporter_api_requests_total" && s.label("code") == "429")
        .map(|s| s.value)
        .sum();
    assert_eq!(limited, 0.0, "the simulator never answered 429");
    exporter.stop().await;
    sim.shutdown().await;
}
