//! Simulator aggregates over real HTTP: they equal the ground truth computed
//! from the model's conversation events, are deterministic and additive, follow
//! the time zone, drop dimensions a metric lacks, and look like a contact center.

use std::collections::BTreeMap;

use crate::util::sim::{assert_stat, ms, parse_results, queue_filter, GroupKey, Sim, METRICS};
use crate::util::truth::aggregate_truth;
use genesys_exporter::simulator::{EmptyResults, SimConfig, SlOptions};
use genesys_exporter::timefmt::format_interval;
use serde_json::{json, Value};

const FROM: &str = "2025-03-12T08:00:00.000Z";
const TO: &str = "2025-03-12T12:00:00.000Z";

fn ids(sim: &Sim) -> Vec<String> {
    sim.handle
        .model()
        .queues()
        .into_iter()
        .map(|q| q.id)
        .collect()
}

fn body(from: i64, to: i64, granularity: Option<&str>, ids: &[String]) -> Value {
    let mut b = json!({
        "interval": format_interval(from, to),
        "groupBy": ["queueId", "mediaType"],
        "filter": queue_filter(ids),
        "metrics": METRICS,
    });
    if let Some(g) = granularity {
        b["granularity"] = json!(g);
    }
    b
}

/// Sums a response's stats per (group, metric) over all buckets.
/// (count or numerator, sum or denominator, max, min) per (group, metric).
type Totals = BTreeMap<(GroupKey, String), (i64, i64, i64, i64)>;

fn totals(body: &Value) -> Totals {
    let mut out = BTreeMap::new();
    for (group, buckets) in parse_results(body) {
        for metrics in buckets.values() {
            for (m, s) in metrics {
                if m == "oServiceTarget" {
                    continue;
                }
                let e = out
                    .entry((group.clone(), m.clone()))
                    .or_insert((0, 0, i64::MIN, i64::MAX));
                let n = s["count"].as_i64().or(s["numerator"].as_i64()).unwrap_or(0);
                let d = s["sum"].as_i64().or(s["denominator"].as_i64()).unwrap_or(0);
                e.0 += n;
                e.1 += d;
                e.2 = e.2.max(s["max"].as_i64().unwrap_or(i64::MIN));
                e.3 = e.3.min(s["min"].as_i64().unwrap_or(i64::MAX));
            }
        }
    }
    out
}

/// Every group, bucket and metric equals the ground truth computed from events.
#[tokio::test]
async fn aggregates_equal_ground_truth() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let (from, to) = (ms(FROM), ms(TO));
    let buckets: Vec<(i64, i64)> = (0..8)
        .map(|i| (from + i * 1_800_000, from + (i + 1) * 1_800_000))
        .collect();
    let r = sim
        .aggregates(&token, &body(from, to, Some("PT30M"), &ids(&sim)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = parse_results(&r.body);
    let mut expected_groups = 0;
    for q in model.queues() {
        for m in &q.media {
            let want =
                aggregate_truth(&model, &q.id, &m.media_type, &buckets, SlOptions::default());
            if want.is_empty() {
                continue;
            }
            expected_groups += 1;
            let key = vec![
                ("mediaType".to_string(), m.media_type.clone()),
                ("queueId".to_string(), q.id.clone()),
            ];
            let g = got
                .get(&key)
                .unwrap_or_else(|| panic!("group {key:?} missing"));
            assert_eq!(
                g.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "non-empty buckets of {}",
                q.name
            );
            for (interval, metrics) in &want {
                let gm = &g[interval];
                for (metric, stat) in metrics {
                    assert_stat(
                        metric,
                        &gm[metric],
                        stat,
                        &format!("{} {} {interval}", q.name, m.media_type),
                    );
                }
                let extra: Vec<&String> = gm
                    .keys()
                    .filter(|k| !metrics.contains_key(*k) && *k != "oServiceTarget")
                    .collect();
                assert!(extra.is_empty(), "unexpected metrics {extra:?}");
                assert_eq!(gm["oServiceTarget"], json!({"current": m.sl_percentage}));
            }
        }
    }
    assert!(expected_groups > 10);
    assert_eq!(got.len(), expected_groups, "no extra groups");
    sim.handle.shutdown().await;
}

/// Two simulators with the same seed answer identically; another seed differs.
#[tokio::test]
async fn same_seed_same_answers() {
    // The queue list's joinedMemberCount follows the clock, so both simulators
    // share a frozen one (after the queried interval).
    let frozen = SimConfig {
        fixed_now_ms: Some(ms("2025-06-01T00:00:00Z")),
        ..SimConfig::default()
    };
    let a = Sim::start(frozen.clone()).await;
    let b = Sim::start(frozen).await;
    let c = Sim::start(SimConfig {
        seed: 2,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(ids(&a), ids(&c));
    let (from, to) = (ms(FROM), ms(TO));
    let ra = a
        .aggregates(&a.token().await, &body(from, to, Some("PT1H"), &ids(&a)))
        .await;
    let rb = b
        .aggregates(&b.token().await, &body(from, to, Some("PT1H"), &ids(&b)))
        .await;
    assert_eq!(ra.status, 200);
    assert_eq!(ra.text, rb.text);
    let la = a
        .get(
            "/api/v2/routing/queues?pageSize=100",
            Some(&a.token().await),
        )
        .await;
    let lb = b
        .get(
            "/api/v2/routing/queues?pageSize=100",
            Some(&b.token().await),
        )
        .await;
    assert_eq!(la.body["entities"], lb.body["entities"]);
    for s in [a, b, c] {
        s.handle.shutdown().await;
    }
}

/// Adjacent intervals add up to the whole; granularity buckets add up to the whole.
#[tokio::test]
async fn intervals_and_buckets_add_up() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let ids = ids(&sim);
    let (from, mid, to) = (ms(FROM), ms("2025-03-12T09:37:12.345Z"), ms(TO));
    let whole = sim.aggregates(&token, &body(from, to, None, &ids)).await;
    let first = sim.aggregates(&token, &body(from, mid, None, &ids)).await;
    let second = sim.aggregates(&token, &body(mid, to, None, &ids)).await;
    let hourly = sim
        .aggregates(&token, &body(from, to, Some("PT1H"), &ids))
        .await;
    let whole_t = totals(&whole.body);
    let mut split = totals(&first.body);
    for (k, v) in totals(&second.body) {
        let e = split.entry(k).or_insert((0, 0, i64::MIN, i64::MAX));
        *e = (e.0 + v.0, e.1 + v.1, e.2.max(v.2), e.3.min(v.3));
    }
    assert!(whole_t.len() > 50);
    assert_eq!(whole_t, split, "adjacent intervals add up");
    assert_eq!(whole_t, totals(&hourly.body), "buckets add up");
    let hours = parse_results(&hourly.body)
        .values()
        .next()
        .map(|b| b.len())
        .unwrap_or(0);
    assert!(hours > 1, "several buckets");
    sim.handle.shutdown().await;
}

/// P1D buckets in Europe/Paris follow the DST change; P1M follows calendar months.
#[tokio::test]
async fn time_zone_granularity() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let ids = ids(&sim);
    let (from, to) = (
        ms("2025-03-29T00:00:00+01:00"),
        ms("2025-04-01T00:00:00+02:00"),
    );
    let mut b = body(from, to, Some("P1D"), &ids[..2]);
    b["timeZone"] = json!("Europe/Paris");
    b["metrics"] = json!(["nOffered"]);
    let r = sim.aggregates(&token, &b).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let intervals: Vec<String> = parse_results(&r.body)
        .values()
        .next()
        .expect("a group")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        intervals,
        vec![
            "2025-03-28T23:00:00.000Z/2025-03-29T23:00:00.000Z",
            "2025-03-29T23:00:00.000Z/2025-03-30T22:00:00.000Z",
            "2025-03-30T22:00:00.000Z/2025-03-31T22:00:00.000Z",
        ]
    );
    let mut whole = b.clone();
    whole.as_object_mut().expect("object").remove("granularity");
    assert_eq!(
        totals(&r.body),
        totals(&sim.aggregates(&token, &whole).await.body)
    );
    let mut m = body(
        ms("2025-01-15T00:00:00Z"),
        ms("2025-02-14T00:00:00Z"),
        Some("P1M"),
        &ids[..1],
    );
    m["metrics"] = json!(["nOffered"]);
    let r = sim.aggregates(&token, &m).await;
    let intervals: Vec<String> = parse_results(&r.body)
        .values()
        .next()
        .expect("a group")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        intervals,
        vec!["2025-01-15T00:00:00.000Z/2025-02-14T00:00:00.000Z"]
    );
    sim.handle.shutdown().await;
}

/// Grouping by userId leaves queue-side metrics in groups without userId, agent-side ones with it.
#[tokio::test]
async fn partial_groups_for_missing_dimensions() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let q = sim.handle.model().queues()[0].clone();
    let b = json!({
        "interval": format_interval(ms(FROM), ms(TO)),
        "groupBy": ["queueId", "userId"],
        "filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": q.id}, {"dimension": "mediaType", "value": "voice"}]},
        "metrics": ["nOffered", "tAnswered", "tAbandon"],
    });
    let r = sim.aggregates(&token, &b).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let groups = parse_results(&r.body);
    let (mut offered, mut answered_by_user, mut user_groups) = (0, 0, 0);
    for (g, buckets) in &groups {
        let has_user = g.iter().any(|(k, _)| k == "userId");
        assert!(g.iter().any(|(k, v)| k == "mediaType" && v == "voice"));
        for metrics in buckets.values() {
            if has_user {
                user_groups += 1;
                assert!(!metrics.contains_key("nOffered") && !metrics.contains_key("tAbandon"));
                answered_by_user += metrics["tAnswered"]["count"].as_i64().unwrap_or(0);
            } else {
                assert!(!metrics.contains_key("tAnswered"));
                offered += metrics["nOffered"]["count"].as_i64().unwrap_or(0);
            }
        }
    }
    let buckets = [(ms(FROM), ms(TO))];
    let want = aggregate_truth(
        &sim.handle.model(),
        &q.id,
        "voice",
        &buckets,
        SlOptions::default(),
    );
    let want = want.values().next().expect("traffic");
    assert!(user_groups > 1);
    assert_eq!(offered, want["nOffered"].count);
    assert_eq!(answered_by_user, want["tAnswered"].count);
    sim.handle.shutdown().await;
}

/// Service-level options change the denominator exactly as §3.2 says.
#[tokio::test]
async fn service_level_options() {
    let sl = SlOptions {
        include_abandons: true,
        include_short_abandons: true,
        include_flowouts: true,
        short_abandon_threshold_ms: 30_000,
    };
    let sim = Sim::start(SimConfig {
        sl_options: sl,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let q = model.queues()[0].clone();
    let (from, to) = (ms(FROM), ms(TO));
    let r = sim
        .aggregates(&token, &body(from, to, None, std::slice::from_ref(&q.id)))
        .await;
    let got = parse_results(&r.body);
    for m in &q.media {
        let want = aggregate_truth(&model, &q.id, &m.media_type, &[(from, to)], sl);
        let key = vec![
            ("mediaType".to_string(), m.media_type.clone()),
            ("queueId".to_string(), q.id.clone()),
        ];
        let w = &want[&format_interval(from, to)];
        let g = &got[&key][&format_interval(from, to)];
        assert_stat(
            "oServiceLevel",
            &g["oServiceLevel"],
            &w["oServiceLevel"],
            &m.media_type,
        );
        let n = |k: &str| w.get(k).map_or(0, |s| s.count);
        assert_eq!(
            w["oServiceLevel"].sum,
            n("tAnswered") + n("tAbandon") + n("tFlowOut")
        );
    }
    sim.handle.shutdown().await;
}

/// No data gives `{}`, or `{"results": []}` with the knob; the future is never revealed.
#[tokio::test]
async fn empty_results_and_no_future() {
    let now = ms("2025-03-12T10:00:00Z");
    let a = Sim::start(SimConfig {
        fixed_now_ms: Some(now),
        ..SimConfig::default()
    })
    .await;
    let b = Sim::start(SimConfig {
        fixed_now_ms: Some(now),
        empty_results: EmptyResults::EmptyArray,
        ..SimConfig::default()
    })
    .await;
    let future = body(now + 3_600_000, now + 7_200_000, None, &ids(&a));
    assert_eq!(
        a.aggregates(&a.token().await, &future).await.body,
        json!({})
    );
    assert_eq!(
        b.aggregates(&b.token().await, &future).await.body,
        json!({"results": []})
    );
    let token = a.token().await;
    let straddling = a
        .aggregates(&token, &body(ms(FROM), ms(TO), None, &ids(&a)))
        .await;
    let until_now = a
        .aggregates(&token, &body(ms(FROM), now, None, &ids(&a)))
        .await;
    assert_eq!(
        totals(&straddling.body),
        totals(&until_now.body),
        "events at or after now are hidden"
    );
    for s in [a, b] {
        s.handle.shutdown().await;
    }
}

/// Over a weekday the traffic looks like a contact center: few abandons, ASA in seconds, AHT in minutes.
#[tokio::test]
async fn daily_figures_are_plausible() {
    let sim = Sim::start(SimConfig::default()).await;
    let model = sim.handle.model();
    let (from, to) = (ms("2025-03-12T00:00:00Z"), ms("2025-03-13T00:00:00Z"));
    let (
        mut offered,
        mut answered,
        mut abandoned,
        mut flowed,
        mut asa_ms,
        mut handle_ms,
        mut handled,
    ) = (0i64, 0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
    for q in model.queues() {
        for m in q.media.iter().filter(|m| m.media_type == "voice") {
            let t = aggregate_truth(
                &model,
                &q.id,
                &m.media_type,
                &[(from, to)],
                SlOptions::default(),
            );
            let t = t.values().next().expect("traffic every day");
            let c = |k: &str| t.get(k).map_or((0, 0), |s| (s.count, s.sum));
            offered += c("nOffered").0;
            answered += c("tAnswered").0;
            asa_ms += c("tAnswered").1;
            abandoned += c("tAbandon").0;
            flowed += c("tFlowOut").0;
            handled += c("tHandle").0;
            handle_ms += c("tHandle").1;
        }
    }
    let ended = answered + abandoned + flowed;
    assert!(
        (ended - offered).abs() * 100 < offered,
        "offered {offered} vs ended {ended}"
    );
    let abandon_rate = abandoned as f64 / offered as f64;
    assert!(
        (0.01..0.10).contains(&abandon_rate),
        "abandon rate {abandon_rate}"
    );
    let asa = asa_ms as f64 / answered as f64 / 1000.0;
    assert!((3.0..180.0).contains(&asa), "ASA {asa}s");
    let aht = handle_ms as f64 / handled as f64 / 60_000.0;
    assert!((2.0..15.0).contains(&aht), "AHT {aht} min");
    sim.handle.shutdown().await;
}

/// A 5,000-queue org answers a 100-queue query, and its events stay within the lifetime cap.
#[tokio::test]
async fn large_org_answers() {
    let sim = Sim::start(SimConfig {
        queues: 5000,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let ids: Vec<String> = ids(&sim).into_iter().step_by(50).collect();
    assert_eq!(ids.len(), 100);
    let r = sim
        .aggregates(
            &token,
            &body(
                ms("2025-03-12T10:00:00Z"),
                ms("2025-03-12T11:00:00Z"),
                None,
                &ids,
            ),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["results"].as_array().expect("results").len() > 100);
    let model = sim.handle.model();
    for c in model.conversations(&ids[0], "voice", ms(FROM), ms(TO)) {
        for e in c.events() {
            assert!(
                e.at_ms >= c.offered_ms
                    && e.at_ms - c.offered_ms <= genesys_exporter::simulator::MAX_LIFETIME_MS
            );
        }
    }
    sim.handle.shutdown().await;
}

/// topN keeps the `limit` groups with the largest sort metric, in descending order.
#[tokio::test]
async fn top_n_ranks_groups() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let (from, to) = (ms(FROM), ms(TO));
    let mut want: Vec<i64> = Vec::new();
    for q in model.queues() {
        for m in &q.media {
            let t = aggregate_truth(
                &model,
                &q.id,
                &m.media_type,
                &[(from, to)],
                SlOptions::default(),
            );
            if let Some(s) = t.values().next().and_then(|b| b.get("tAnswered")) {
                want.push(s.sum);
            }
        }
    }
    want.sort_unstable_by(|a, b| b.cmp(a));
    let mut b = body(from, to, None, &ids(&sim));
    b["metrics"] = json!(["tAnswered", "nOffered"]);
    b["queryType"] = json!("topN");
    b["sortMetric"] = json!({"name": "tAnswered", "function": "sum"});
    b["limit"] = json!(3);
    let r = sim.aggregates(&token, &b).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got: Vec<i64> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|g| {
            g["data"][0]["metrics"][0]["stats"]["sum"]
                .as_i64()
                .expect("sum")
        })
        .collect();
    assert_eq!(got, want[..3].to_vec());
    sim.handle.shutdown().await;
}

/// A userId predicate keeps only the events that carry that agent.
#[tokio::test]
async fn user_filter_selects_agent_events() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let q = model.queues()[0].clone();
    let (from, to) = (ms(FROM), ms(TO));
    let convs = model.conversations(&q.id, "voice", from, to);
    let user = convs
        .iter()
        .find_map(|c| c.user_id.clone())
        .expect("an answered call");
    let answered = convs
        .iter()
        .filter(|c| c.user_id.as_deref() == Some(user.as_str()))
        .flat_map(|c| c.events())
        .filter(|e| e.metric == "tAnswered" && from <= e.at_ms && e.at_ms < to)
        .count() as i64;
    let b = json!({
        "interval": format_interval(from, to),
        "groupBy": ["queueId"],
        "filter": {"type": "and", "predicates": [
            {"dimension": "queueId", "value": q.id},
            {"dimension": "mediaType", "value": "voice"},
            {"dimension": "userId", "operator": "matches", "value": user},
        ]},
        "metrics": ["tAnswered", "nOffered"],
    });
    let r = sim.aggregates(&token, &b).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "one queue, one media type");
    let metrics = &results[0]["data"][0]["metrics"];
    assert_eq!(
        metrics.as_array().map(Vec::len),
        Some(1),
        "nOffered carries no userId"
    );
    assert_eq!(metrics[0]["metric"], "tAnswered");
    assert_eq!(metrics[0]["stats"]["count"], answered);
    sim.handle.shutdown().await;
}
