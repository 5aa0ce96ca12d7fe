//! A hostile Genesys API on 127.0.0.1:0 (token, queue list, aggregates and
//! observations answered with crafted JSON) against the real exporter: queue
//! names that collide with disambiguated labels, negative time sums and
//! service-level parts, sums that overflow f64, counts past 2^53 and near
//! u64::MAX. `/metrics` must stay valid text with unique series and finite,
//! non-negative queue values; good queues keep their exact values; bad groups
//! are left out and counted.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use genesys_exporter::genesys::ClientConfig;
use genesys_exporter::secret::Secret;
use serde_json::{json, Value};

use super::text_format::{check_queue_values, parse_strict, Series};
use crate::util::client::serve_stub;
use crate::util::exporter::{get as scrape, wait_until, Exporter};

/// f64::MAX milliseconds: one is a (huge) number, two summed overflow.
const HUGE_MS: f64 = f64::MAX;

fn queue(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "division": {"id": "d", "name": "Home"}, "memberCount": 3,
           "mediaSettings": {"call": {"serviceLevel": {"percentage": 0.8, "durationMs": 20000}}}})
}

fn group(queue_id: &str, metrics: Value) -> Value {
    json!({"group": {"queueId": queue_id, "mediaType": "voice"},
           "data": [{"interval": "2025-01-01T00:00:00.000Z/2025-01-01T00:30:00.000Z",
                     "metrics": metrics}]})
}

/// The good queue's statistics; its served values are checked against these.
fn good_metrics() -> Value {
    json!([
        {"metric": "nOffered", "stats": {"count": 10}},
        {"metric": "tAnswered", "stats": {"count": 8, "sum": 80000, "max": 20000, "min": 1000}},
        {"metric": "tAbandon", "stats": {"count": 2, "sum": 30000}},
        {"metric": "oServiceLevel", "stats": {"numerator": 6, "denominator": 8, "target": 0.8}}
    ])
}

fn aggregates() -> Value {
    json!({"results": [
        group("good", good_metrics()),
        // Class 2: a negative time sum and a negative service-level numerator.
        group("neg", json!([
            {"metric": "nOffered", "stats": {"count": 4}},
            {"metric": "tAnswered", "stats": {"count": 2, "sum": -80000}},
            {"metric": "oServiceLevel", "stats": {"numerator": -3, "denominator": 4}}
        ])),
        // Class 3: two finite sums whose total overflows f64.
        group("huge", json!([
            {"metric": "tHandle", "stats": {"count": 1, "sum": HUGE_MS}},
            {"metric": "tHandle", "stats": {"count": 1, "sum": HUGE_MS}}
        ])),
        // Class 3: counts near u64::MAX, and two counts whose total passes 2^53.
        group("wrap", json!([
            {"metric": "nOffered", "stats": {"count": 18446744073709551615u64}},
            {"metric": "nOffered", "stats": {"count": 18446744073709551615u64}},
            {"metric": "nTransferred", "stats": {"count": 9.0e15}},
            {"metric": "nTransferred", "stats": {"count": 9.0e15}}
        ])),
        group("d1", good_metrics()),
        group("d2", good_metrics()),
        group("d3", good_metrics()),
    ]})
}

fn observations() -> Value {
    let media = |queue_id: &str, count: Value| {
        json!({"group": {"queueId": queue_id, "mediaType": "voice"},
               "data": [{"metric": "oWaiting", "stats": {"count": count.clone()}},
                        {"metric": "oWaiting", "stats": {"count": count}},
                        {"metric": "oInteracting", "stats": {"count": 1}}]})
    };
    json!({"results": [
        media("good", json!(2)),
        // Counts near u64::MAX twice: saturate, never wrap, and are left out.
        media("wrap", json!(1.8e19)),
        {"group": {"queueId": "good"},
         "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 3}}]},
        {"group": {"queueId": "wrap"},
         "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1e300}},
                  {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1e300}}]}
    ]})
}

async fn hostile_api() -> String {
    let queues = json!({"entities": [
        queue("good", "Good"), queue("neg", "Negative"), queue("huge", "Huge"),
        queue("wrap", "Wrap"),
        // Class 1: two `Dup` and one literally named like the second's label.
        queue("d1", "Dup"), queue("d2", "Dup"), queue("d3", "Dup (d2)")
    ], "pageSize": 100, "pageNumber": 1});
    serve_stub(
        Router::new()
            .route(
                "/oauth/token",
                post(|| async {
                    Json(
                        json!({"access_token": "hostile-token", "token_type": "bearer",
                                "expires_in": 86399}),
                    )
                }),
            )
            .route(
                "/api/v2/routing/queues",
                get(move || {
                    let queues = queues.clone();
                    async move { Json(queues) }
                }),
            )
            .route(
                "/api/v2/analytics/conversations/aggregates/query",
                post(|| async { Json(aggregates()) }),
            )
            .route(
                "/api/v2/analytics/queues/observations/query",
                post(|| async { Json(observations()) }),
            ),
    )
    .await
}

fn client(base: &str) -> ClientConfig {
    let mut c = ClientConfig::for_base_url(base, "hostile-client", Secret::new("s3cret"))
        .expect("client config");
    c.backoff_base = Duration::from_millis(50);
    c.backoff_cap = Duration::from_millis(500);
    c
}

fn value(series: &[Series], name: &str, queue: &str) -> Option<f64> {
    series
        .iter()
        .find(|s| s.name == name && s.label("queue") == queue)
        .map(|s| s.value)
}

/// Hostile values from the API never reach `/metrics`: the text is valid,
/// series are unique (including for colliding queue names), queue values are
/// finite and non-negative, the good queue keeps its exact values, the bad
/// groups' series are left out and the bad-value counter counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_never_reach_metrics() {
    let api = hostile_api().await;
    let flags = [
        "--poll.interval",
        "1s",
        "--poll.observations-interval",
        "1s",
        "--poll.queues-interval",
        "1s",
        "--window",
        "30m",
    ];
    let exporter = Exporter::start(&flags, client(&api)).await;
    let base = exporter.base.clone();
    let ready = |text: &str| {
        text.contains("genesys_queue_offered{")
            && text.contains("genesys_queue_waiting{")
            && text.contains("genesys_queue_info{")
    };
    wait_until(Duration::from_secs(60), "all three parts served", || {
        let base = base.clone();
        async move { ready(&scrape(&base, "/metrics", false).await.text) }
    })
    .await;
    let scraped = scrape(&base, "/metrics", true).await;
    assert_eq!(scraped.status, 200);
    let series = parse_strict(&scraped.text).unwrap_or_else(|e| panic!("{e}\n{}", scraped.text));
    check_queue_values(&series).unwrap_or_else(|e| panic!("{e}"));
    for line in scraped.text.lines().filter(|l| l.starts_with("genesys_")) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok_and(f64::is_finite), "{line}");
    }

    // Class 1: three distinct labels for the three colliding queues.
    let info: Vec<&Series> = series
        .iter()
        .filter(|s| s.name == "genesys_queue_info")
        .collect();
    let labels: BTreeSet<&str> = info.iter().map(|s| s.label("queue")).collect();
    assert_eq!(info.len(), 7, "every queue exported once");
    assert_eq!(labels.len(), 7, "unique queue labels: {labels:?}");
    let label_of = |id: &str| {
        info.iter()
            .find(|s| s.label("queue_id") == id)
            .map(|s| s.label("queue").to_owned())
    };
    assert_eq!(label_of("d1").as_deref(), Some("Dup"));
    assert_eq!(label_of("d3").as_deref(), Some("Dup (d2)"));
    let d2 = label_of("d2").expect("d2 exported");
    for id in ["d1", "d2", "d3"] {
        let label = label_of(id).expect("exported");
        assert_eq!(
            value(&series, "genesys_queue_offered", &label),
            Some(10.0),
            "{id}"
        );
    }
    assert_ne!(d2, "Dup (d2)");

    // The good queue's values, from the statistics the API sent.
    let good = |name: &str| value(&series, name, "Good");
    assert_eq!(good("genesys_queue_offered"), Some(10.0));
    assert_eq!(good("genesys_queue_answer_time_seconds"), Some(80.0));
    assert_eq!(good("genesys_queue_abandon_ratio"), Some(2.0 / 10.0));
    assert_eq!(good("genesys_queue_service_level_ratio"), Some(6.0 / 8.0));
    assert_eq!(good("genesys_queue_waiting"), Some(4.0));
    assert_eq!(
        series
            .iter()
            .find(|s| s.name == "genesys_queue_agents"
                && s.label("queue") == "Good"
                && s.label("status") == "idle")
            .map(|s| s.value),
        Some(3.0)
    );

    // Classes 2 and 3: the bad groups' series are left out, not wrong.
    for bad in ["Negative", "Huge", "Wrap"] {
        let window: Vec<&str> = series
            .iter()
            .filter(|s| s.label("queue") == bad && s.labels.contains_key("window"))
            .map(|s| s.name.as_str())
            .collect();
        assert!(window.is_empty(), "{bad} window series served: {window:?}");
        assert!(
            value(&series, "genesys_queue_members", bad).is_some(),
            "{bad} still listed"
        );
    }
    assert_eq!(value(&series, "genesys_queue_waiting", "Wrap"), None);
    assert_eq!(value(&series, "genesys_queue_agents", "Wrap"), None);

    let counted = |poll: &str, reason: &str| {
        series
            .iter()
            .find(|s| {
                s.name == "genesys_exporter_bad_api_values_total"
                    && s.label("poll") == poll
                    && s.label("reason") == reason
            })
            .map(|s| s.value)
            .unwrap_or(0.0)
    };
    assert!(counted("aggregates", "negative") >= 1.0);
    assert!(counted("aggregates", "overflow") >= 2.0, "huge and wrap");
    assert!(
        counted("observations", "overflow") >= 2.0,
        "media and agents"
    );
    assert_eq!(counted("aggregates", "non_finite"), 0.0);
    exporter.stop().await;
}
