//! Org-wide aggregates end to end: against a 250-queue simulated org the
//! exporter sends one aggregates request per query per poll, without a queue
//! filter, and serves the ground truth; a selection that fits one chunk is
//! one filtered request naming exactly its queues; an org-wide answer the org
//! refuses (a 400 past the simulator's `--aggregates-max-groups`, or a body
//! over `--api.max-response-bytes`) falls back to chunks in the same poll with
//! the values still right. Requests are counted, and their bodies read, at
//! the simulator.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::util::exporter::*;
use crate::util::sim::{queue_filter, Sim};
use crate::util::truth::{close, expected_window};
use genesys_exporter::genesys::ClientConfig;
use genesys_exporter::kpi::AGGREGATE_METRICS;
use genesys_exporter::simulator::{
    SimConfig, SimEndpoint, SimHandle, SimQueue, TrafficProfile, Variants,
};
use genesys_exporter::timefmt::format_interval;
use serde_json::{json, Value};

const UP_TIMEOUT: Duration = Duration::from_secs(300);
const QUEUES: usize = 250;

/// One poll of each kind in the test's lifetime, so requests counted at the
/// simulator belong to the first queue-list and aggregates polls.
const ONCE: &[&str] = &[
    "--poll.interval",
    "1h",
    "--poll.observations-interval",
    "1h",
    "--poll.queues-interval",
    "1h",
];

/// A 250-queue org busy at any hour (the flat profile keeps the weekday peak).
fn busy_org(variants: Variants) -> SimConfig {
    SimConfig {
        queues: QUEUES,
        traffic_profile: TrafficProfile::Flat,
        variants,
        ..SimConfig::default()
    }
}

/// The test client, with room for the simulator's debug build to evaluate
/// a 7-day query over the whole org while other tests run.
fn client(sim: &SimHandle, chunk_size: usize) -> ClientConfig {
    let mut c = client_for(sim);
    c.request_timeout = Duration::from_secs(90);
    c.call_deadline = Duration::from_secs(240);
    c.chunk_size = chunk_size;
    c
}

/// The aggregates request bodies the simulator received, oldest first.
fn aggregate_bodies(sim: &SimHandle) -> Vec<Value> {
    sim.control()
        .recent_bodies(SimEndpoint::Aggregates)
        .iter()
        .map(|b| serde_json::from_slice(b).expect("JSON body"))
        .collect()
}

/// Every value of a `dimension` predicate anywhere in a body's filter.
fn predicate_values(filter: &Value, dimension: &str, out: &mut BTreeSet<String>) {
    for p in filter["predicates"].as_array().into_iter().flatten() {
        if p["dimension"] == dimension {
            out.insert(p["value"].as_str().expect("string value").to_owned());
        }
    }
    for c in filter["clauses"].as_array().into_iter().flatten() {
        predicate_values(c, dimension, out);
    }
}

/// The queue ids a body's filter names.
fn filtered_queues(body: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    predicate_values(&body["filter"], "queueId", &mut ids);
    ids
}

/// Scrapes until every window of the configured ones has its bounds, and
/// returns the samples and each window's `[start, end)` in ms.
async fn windows(base: &str, labels: &[&str]) -> (Vec<Sample>, Vec<(String, i64, i64)>) {
    let samples = wait_for_up(base, 1.0, UP_TIMEOUT).await;
    let bounds = labels
        .iter()
        .map(|label| {
            let at = |family: &str| {
                value(&samples, family, &[("window", label)])
                    .unwrap_or_else(|| panic!("{family} of window {label}"))
            };
            let start = at("genesys_window_start_timestamp_seconds");
            let end = at("genesys_window_end_timestamp_seconds");
            (
                label.to_string(),
                (start * 1000.0) as i64,
                (end * 1000.0) as i64,
            )
        })
        .collect();
    (samples, bounds)
}

/// Checks every window value of `queues` against ground truth, every
/// exported window row belongs to `queues`, and some traffic was seen.
fn assert_truth(
    sim: &SimHandle,
    samples: &[Sample],
    queues: &[SimQueue],
    windows: &[(String, i64, i64)],
) {
    let model = sim.model();
    let index: HashMap<(&str, &str, &str, &str), f64> = samples
        .iter()
        .filter(|s| s.name.starts_with("genesys_queue_") && !s.label("window").is_empty())
        .map(|s| {
            (
                (
                    s.name.as_str(),
                    s.label("queue"),
                    s.label("media_type"),
                    s.label("window"),
                ),
                s.value,
            )
        })
        .collect();
    let names: BTreeSet<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    for s in named(samples, "genesys_queue_offered") {
        assert!(
            names.contains(s.label("queue")),
            "{:?} is not an exported queue",
            s.label("queue")
        );
    }
    let (mut checked, mut offered) = (0, 0.0);
    for q in queues {
        for m in &q.media {
            for (label, start, end) in windows {
                let key = |family| {
                    (
                        family,
                        q.name.as_str(),
                        m.media_type.as_str(),
                        label.as_str(),
                    )
                };
                for (family, want) in expected_window(&model, &q.id, &m.media_type, *start, *end) {
                    let got = index.get(&key(family)).copied();
                    match (want, got) {
                        (Some(w), Some(g)) => assert!(
                            close(w, g),
                            "{family} {} {} {label}: exported {g}, truth {w}",
                            q.name,
                            m.media_type
                        ),
                        (None, None) => {}
                        _ => panic!(
                            "{family} {} {} {label}: exported {got:?}, truth {want:?}",
                            q.name, m.media_type
                        ),
                    }
                    if family == "genesys_queue_offered" {
                        offered += want.unwrap_or(0.0);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 21 * queues.len(), "checked {checked} values");
    assert!(offered > 0.0, "the simulated org has traffic");
}

/// Aggregates queries the exporter plans for these windows (one per window
/// that is not empty, the shared rolling ones counted once).
fn queries_for(windows: &[(String, i64, i64)]) -> usize {
    let rolling = windows.iter().any(|(l, _, _)| l != "today");
    let today = windows.iter().any(|(l, s, e)| l == "today" && e > s);
    usize::from(rolling) + usize::from(today)
}

/// 250 queues: the served-media lookback and each window query are one
/// request each, without any filter, grouped by queue × media; every value
/// equals the ground truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_wide_is_one_request_per_query() {
    let sim = start_roomy_sim(busy_org(Variants::default())).await;
    // Counts the observations polls' requests: polled, not pushed.
    let flags = [ONCE, &["--realtime.source", "poll"]].concat();
    let exporter = Exporter::start(&flags, client(&sim, 100)).await;
    let (samples, bounds) = windows(&exporter.base, &["30m", "today"]).await;
    let control = sim.control();
    let queries = queries_for(&bounds);
    assert_eq!(
        control.request_count(SimEndpoint::Aggregates),
        1 + queries as u64,
        "the lookback plus one request per window query, for {QUEUES} queues"
    );
    assert_eq!(
        control.request_count(SimEndpoint::Observations),
        QUEUES.div_ceil(200) as u64,
        "observations in chunks of 200"
    );
    let bodies = aggregate_bodies(&sim);
    assert_eq!(bodies.len(), 1 + queries);
    for body in &bodies {
        assert!(body.get("filter").is_none(), "no filter at all: {body}");
        assert_eq!(body["groupBy"], json!(["queueId", "mediaType"]));
    }
    assert_eq!(
        bodies[0]["metrics"],
        json!(["nOffered"]),
        "the lookback comes first"
    );
    let all = sim.model().queues();
    assert_eq!(all.len(), QUEUES);
    assert_truth(&sim, &samples, &all, &bounds);
    assert_eq!(
        value(&samples, "genesys_exporter_aggregates_fallbacks_total", &[]),
        Some(0.0)
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// `--queues.include` selecting 3 of 250 queues: every aggregates request
/// carries a filter of exactly those 3 queue ids, and only they are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_selection_is_one_filtered_request() {
    let sim = start_roomy_sim(busy_org(Variants::default())).await;
    let all = sim.model().queues();
    let chosen: Vec<SimQueue> = [7, 99, 201].iter().map(|&i| all[i].clone()).collect();
    let pattern = format!(
        "^(?:{})$",
        chosen
            .iter()
            .map(|q| regex::escape(&q.name))
            .collect::<Vec<_>>()
            .join("|")
    );
    let mut flags = ONCE.to_vec();
    flags.extend(["--queues.include", &pattern]);
    let exporter = Exporter::start(&flags, client(&sim, 100)).await;
    let (samples, bounds) = windows(&exporter.base, &["30m", "today"]).await;
    let bodies = aggregate_bodies(&sim);
    assert_eq!(bodies.len(), 1 + queries_for(&bounds));
    let want: BTreeSet<String> = chosen.iter().map(|q| q.id.clone()).collect();
    for body in &bodies {
        assert_eq!(filtered_queues(body), want, "exactly the 3 queues: {body}");
        assert_eq!(
            body["filter"]["predicates"].as_array().map(Vec::len),
            Some(3),
            "one predicate per queue, nothing else: {body}"
        );
    }
    assert_eq!(value(&samples, "genesys_exporter_queues", &[]), Some(3.0));
    assert_truth(&sim, &samples, &chosen, &bounds);
    exporter.stop().await;
    sim.shutdown().await;
}

/// The org refuses answers of more than 100 groups: the org-wide lookback
/// gets a 400, the same queue-list poll asks again in chunks of 20 queues,
/// the first aggregates poll is chunked too and serves the ground truth; the
/// fallback is counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_org_wide_answer_falls_back_to_chunks() {
    let variants = Variants {
        aggregates_max_groups: Some(100),
        ..Variants::default()
    };
    let sim = start_roomy_sim(busy_org(variants)).await;
    let exporter = Exporter::start(ONCE, client(&sim, 20)).await;
    let (samples, bounds) = windows(&exporter.base, &["30m", "today"]).await;
    let chunks = QUEUES.div_ceil(20);
    let bodies = aggregate_bodies(&sim);
    assert_eq!(
        bodies.len(),
        1 + chunks * (1 + queries_for(&bounds)),
        "one refused org-wide lookback, then every query in chunks"
    );
    assert!(bodies[0].get("filter").is_none(), "{}", bodies[0]);
    let mut asked = BTreeSet::new();
    for body in &bodies[1..] {
        let ids = filtered_queues(body);
        assert!(!ids.is_empty() && ids.len() <= 20, "{body}");
        asked.extend(ids);
    }
    assert_eq!(asked.len(), QUEUES, "every queue asked about in a chunk");
    assert_eq!(
        value(&samples, "genesys_exporter_aggregates_fallbacks_total", &[]),
        Some(1.0)
    );
    assert_truth(&sim, &samples, &sim.model().queues(), &bounds);
    exporter.stop().await;
    sim.shutdown().await;
}

/// Each queue-list refresh tries org-wide again: against an org that always
/// refuses it, every refresh costs one refused lookback and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refresh_tries_org_wide_again() {
    let variants = Variants {
        aggregates_max_groups: Some(100),
        ..Variants::default()
    };
    let sim = start_roomy_sim(busy_org(variants)).await;
    let flags = [
        "--poll.interval",
        "1h",
        "--poll.observations-interval",
        "1h",
        "--poll.queues-interval",
        "3s",
    ];
    let exporter = Exporter::start(&flags, client(&sim, 20)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    wait_until(UP_TIMEOUT, "a second refused org-wide lookback", || async {
        let samples = parse(&get(&exporter.base, "/metrics", false).await.text);
        value(&samples, "genesys_exporter_aggregates_fallbacks_total", &[]) >= Some(2.0)
    })
    .await;
    let org_wide = aggregate_bodies(&sim)
        .iter()
        .filter(|b| b.get("filter").is_none())
        .count();
    assert!(org_wide >= 2, "{org_wide} org-wide requests");
    let samples = wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    assert!(!named(&samples, "genesys_queue_offered").is_empty());
    exporter.stop().await;
    sim.shutdown().await;
}

/// The byte sizes of the simulator's answers to `body` asked org-wide and
/// in chunks of 20 queues (the largest chunk).
async fn answer_sizes(sim: &Sim, token: &str, body: &Value, ids: &[String]) -> (usize, usize) {
    let whole = sim.aggregates(token, body).await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    let mut largest = 0;
    for chunk in ids.chunks(20) {
        let mut b = body.clone();
        b["filter"] = queue_filter(chunk);
        let r = sim.aggregates(token, &b).await;
        assert_eq!(r.status, 200, "{}", r.text);
        largest = largest.max(r.text.len());
    }
    (whole.text.len(), largest)
}

/// An org-wide window answer larger than `--api.max-response-bytes` (while
/// the smaller org-wide lookback fits): the aggregates poll asks again in
/// chunks within the same poll, serves the ground truth, and counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_org_wide_answer_falls_back_in_the_same_poll() {
    let handle = start_roomy_sim(busy_org(Variants::default())).await;
    let sim = Sim {
        base: handle.base_url(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("http client"),
        handle,
    };
    let token = sim.token().await;
    let ids: Vec<String> = sim
        .handle
        .model()
        .queues()
        .into_iter()
        .map(|q| q.id)
        .collect();
    let end = sim.handle.control().now_ms().div_euclid(60_000) * 60_000;
    let interval = |len_ms: i64| format_interval(end - len_ms, end);
    let lookback = json!({"interval": interval(7 * 86_400_000),
        "groupBy": ["queueId", "mediaType"], "metrics": ["nOffered"]});
    let day = json!({"interval": interval(86_400_000),
        "groupBy": ["queueId", "mediaType"], "metrics": AGGREGATE_METRICS});
    let (lookback_whole, lookback_chunk) = answer_sizes(&sim, &token, &lookback, &ids).await;
    let (day_whole, day_chunk) = answer_sizes(&sim, &token, &day, &ids).await;
    let fits = lookback_whole.max(lookback_chunk).max(day_chunk);
    assert!(
        day_whole > 3 * fits,
        "the org-wide day answer ({day_whole} B) must dwarf every other ({fits} B)"
    );
    // Between the two, with room for the traffic of the minutes to come.
    let limit = 2 * fits;
    sim.handle.control().reset_counts();

    let mut client = client(&sim.handle, 20);
    client.max_body_bytes = limit;
    let mut flags = ONCE.to_vec();
    flags.extend(["--window", "1d"]);
    let exporter = Exporter::start(&flags, client).await;
    let (samples, bounds) = windows(&exporter.base, &["1day"]).await;
    let bodies = aggregate_bodies(&sim.handle);
    let chunks = QUEUES.div_ceil(20);
    assert_eq!(
        bodies.len(),
        2 + chunks,
        "the lookback, the refused window query, its chunks"
    );
    assert_eq!(bodies[0]["metrics"], json!(["nOffered"]));
    assert!(bodies[0].get("filter").is_none(), "{}", bodies[0]);
    assert!(
        bodies[1].get("filter").is_none() && bodies[1]["metrics"] != json!(["nOffered"]),
        "the window query went org-wide first: {}",
        bodies[1]
    );
    let mut asked = BTreeSet::new();
    for body in &bodies[2..] {
        let ids = filtered_queues(body);
        assert!((1..=20).contains(&ids.len()), "then in chunks: {body}");
        asked.extend(ids);
    }
    assert_eq!(asked.len(), QUEUES);
    assert_eq!(
        value(&samples, "genesys_exporter_aggregates_fallbacks_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "genesys_exporter_poll_failures_total",
            &[("poll", "aggregates"), ("kind", "too_large")]
        ),
        Some(0.0),
        "the fallback happened inside the poll"
    );
    assert_truth(&sim.handle, &samples, &sim.handle.model().queues(), &bounds);
    exporter.stop().await;
    sim.handle.shutdown().await;
}
