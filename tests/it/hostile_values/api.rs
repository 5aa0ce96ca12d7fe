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

/// What the hostile API answers: queue entities, aggregate groups and
/// observation groups; every queue also gets the good queue's statistics.
struct Hostile {
    queues: Vec<Value>,
    aggregates: Vec<Value>,
    observations: Vec<Value>,
}

impl Hostile {
    /// The good queue alone, with ground-truth statistics.
    fn good() -> Hostile {
        Hostile {
            queues: vec![queue("good", "Good")],
            aggregates: vec![group("good", good_metrics())],
            observations: vec![
                media("good", json!(2)),
                json!({"group": {"queueId": "good"},
                       "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE",
                                 "stats": {"count": 3}}]}),
            ],
        }
    }
}

/// An observation group of `queue_id` × voice with `count` waiting twice.
fn media(queue_id: &str, count: Value) -> Value {
    json!({"group": {"queueId": queue_id, "mediaType": "voice"},
           "data": [{"metric": "oWaiting", "stats": {"count": count.clone()}},
                    {"metric": "oWaiting", "stats": {"count": count}},
                    {"metric": "oInteracting", "stats": {"count": 1}}]})
}

async fn hostile_api(h: Hostile) -> String {
    let queues = json!({"entities": h.queues, "pageSize": 100, "pageNumber": 1});
    let aggregates = json!({"results": h.aggregates});
    let observations = json!({"results": h.observations});
    let answer = |body: Value| {
        move || {
            let body = body.clone();
            async move { Json(body) }
        }
    };
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
            .route("/api/v2/routing/queues", get(answer(queues)))
            .route(
                "/api/v2/analytics/conversations/aggregates/query",
                post(answer(aggregates)),
            )
            .route(
                "/api/v2/analytics/queues/observations/query",
                post(answer(observations)),
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

/// With `GENESYS_TEST_SCRAPES_DIR` set, writes the scrape there as
/// `<test name>.prom`, for `promtool check metrics` in the test command
/// (`scripts/test.d/35-fuzz.sh`); plain `cargo test` needs no promtool.
fn keep_for_promtool(text: &str) {
    let Some(dir) = std::env::var_os("GENESYS_TEST_SCRAPES_DIR") else {
        return;
    };
    let name = std::thread::current()
        .name()
        .unwrap_or("scrape")
        .replace("::", "-");
    let path = std::path::Path::new(&dir).join(format!("{name}.prom"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs the real exporter against the hostile API until all three parts are
/// served, and returns the samples of one gzip scrape after checking the
/// text strictly: valid format, unique series, finite non-negative queue
/// values, ratios within 0–1, and the good queue's exact values.
async fn serve_and_scrape(h: Hostile) -> Vec<Series> {
    let api = hostile_api(h).await;
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
    exporter.stop().await;
    assert_eq!(scraped.status, 200);
    keep_for_promtool(&scraped.text);
    let series = parse_strict(&scraped.text).unwrap_or_else(|e| panic!("{e}\n{}", scraped.text));
    check_queue_values(&series).unwrap_or_else(|e| panic!("{e}"));
    for line in scraped.text.lines().filter(|l| l.starts_with("genesys_")) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok_and(f64::is_finite), "{line}");
    }
    // The good queue's values, from the statistics the API sent.
    let good = |name: &str| value(&series, name, "Good");
    assert_eq!(good("genesys_queue_offered"), Some(10.0));
    assert_eq!(good("genesys_queue_answer_time_seconds"), Some(80.0));
    assert_eq!(good("genesys_queue_abandon_ratio"), Some(2.0 / 10.0));
    assert_eq!(good("genesys_queue_service_level_ratio"), Some(6.0 / 8.0));
    assert_eq!(good("genesys_queue_waiting"), Some(4.0));
    let idle = series.iter().find(|s| {
        s.name == "genesys_queue_agents"
            && s.label("queue") == "Good"
            && s.label("status") == "idle"
    });
    assert_eq!(idle.map(|s| s.value), Some(3.0));
    series
}

/// The value of `genesys_exporter_bad_api_values_total{poll, reason}`.
fn counted(series: &[Series], poll: &str, reason: &str) -> f64 {
    series
        .iter()
        .find(|s| {
            s.name == "genesys_exporter_bad_api_values_total"
                && s.label("poll") == poll
                && s.label("reason") == reason
        })
        .map(|s| s.value)
        .unwrap_or(0.0)
}

/// No window series of queue `label` is served, while the queue is still listed.
fn window_series_left_out(series: &[Series], label: &str) {
    let window: Vec<&str> = series
        .iter()
        .filter(|s| s.label("queue") == label && s.labels.contains_key("window"))
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        window.is_empty(),
        "{label} window series served: {window:?}"
    );
    assert!(
        value(series, "genesys_queue_members", label).is_some(),
        "{label} still listed"
    );
}

/// Two queues named `Dup` and a third literally named `Dup (<id of the
/// second>)` get three distinct `queue` labels, so no series repeats and each
/// queue's values are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_queue_names_get_unique_labels() {
    let mut h = Hostile::good();
    for (id, name) in [("d1", "Dup"), ("d2", "Dup"), ("d3", "Dup (d2)")] {
        h.queues.push(queue(id, name));
        h.aggregates.push(group(id, good_metrics()));
    }
    let series = serve_and_scrape(h).await;
    let info: Vec<&Series> = series
        .iter()
        .filter(|s| s.name == "genesys_queue_info")
        .collect();
    let labels: BTreeSet<&str> = info.iter().map(|s| s.label("queue")).collect();
    assert_eq!(
        (info.len(), labels.len()),
        (4, 4),
        "unique queue labels: {labels:?}"
    );
    let label_of = |id: &str| {
        info.iter()
            .find(|s| s.label("queue_id") == id)
            .map(|s| s.label("queue").to_owned())
            .expect("exported")
    };
    assert_eq!(label_of("d1"), "Dup");
    assert_eq!(label_of("d3"), "Dup (d2)", "a real name keeps its label");
    for id in ["d1", "d2", "d3"] {
        let offered = value(&series, "genesys_queue_offered", &label_of(id));
        assert_eq!(offered, Some(10.0), "{id}");
    }
}

/// Negative time sums and service-level parts from the API are never served:
/// that queue's window series are left out and counted as `negative`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_values_are_left_out_and_counted() {
    let mut h = Hostile::good();
    h.queues.push(queue("neg", "Negative"));
    h.aggregates.push(group(
        "neg",
        json!([
            {"metric": "nOffered", "stats": {"count": 4}},
            {"metric": "tAnswered", "stats": {"count": 2, "sum": -80000}},
            {"metric": "oServiceLevel", "stats": {"numerator": -3, "denominator": 4}}
        ]),
    ));
    h.queues.push(queue("negsl", "Negative SL"));
    h.aggregates.push(group(
        "negsl",
        json!([{"metric": "oServiceLevel", "stats": {"numerator": 1, "denominator": -4}}]),
    ));
    let series = serve_and_scrape(h).await;
    window_series_left_out(&series, "Negative");
    window_series_left_out(&series, "Negative SL");
    assert!(counted(&series, "aggregates", "negative") >= 2.0);
    assert_eq!(counted(&series, "aggregates", "overflow"), 0.0);
}

/// Sums that overflow f64 and counts past 2^53 or near u64::MAX are never
/// served as `inf` or a wrapped count: those groups are left out and counted
/// as `overflow`, in aggregates and in observations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_values_are_left_out_and_counted() {
    let mut h = Hostile::good();
    h.queues.push(queue("huge", "Huge"));
    h.aggregates.push(group(
        "huge",
        json!([
            {"metric": "tHandle", "stats": {"count": 1, "sum": HUGE_MS}},
            {"metric": "tHandle", "stats": {"count": 1, "sum": HUGE_MS}}
        ]),
    ));
    h.queues.push(queue("wrap", "Wrap"));
    h.aggregates.push(group(
        "wrap",
        json!([
            {"metric": "nOffered", "stats": {"count": 18446744073709551615u64}},
            {"metric": "nOffered", "stats": {"count": 18446744073709551615u64}},
            {"metric": "nTransferred", "stats": {"count": 9.0e15}},
            {"metric": "nTransferred", "stats": {"count": 9.0e15}}
        ]),
    ));
    h.observations.push(media("wrap", json!(1.8e19)));
    h.observations.push(json!({"group": {"queueId": "wrap"},
        "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1e300}},
                 {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1e300}}]}));
    let series = serve_and_scrape(h).await;
    window_series_left_out(&series, "Huge");
    window_series_left_out(&series, "Wrap");
    assert_eq!(value(&series, "genesys_queue_waiting", "Wrap"), None);
    assert_eq!(value(&series, "genesys_queue_agents", "Wrap"), None);
    assert!(
        counted(&series, "aggregates", "overflow") >= 2.0,
        "huge and wrap"
    );
    assert!(
        counted(&series, "observations", "overflow") >= 2.0,
        "media and agents"
    );
    assert_eq!(counted(&series, "aggregates", "negative"), 0.0);
}
