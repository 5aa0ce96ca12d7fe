//! Simulator real-org variants over real HTTP on 127.0.0.1:0: rejected metrics,
//! clock-aligned buckets, accepted granularities, all-media queues, the three
//! nextUri forms, per-endpoint predicate limits, the real-org preset, and the
//! `inin-ratelimit-*` headers. Values are checked against ground truth folded
//! from the model's conversation events, or against the default simulator.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::sim::{
    assert_error, assert_stat, ms, parse_results, queue_filter, GroupKey, Reply, Sim, METRICS,
};
use crate::util::truth::aggregate_truth;
use genesys_exporter::simulator::{
    BucketAlignment, MediaSettingsMode, NextUri, Preset, SimConfig, TrafficProfile, Variants,
};
use genesys_exporter::timefmt::{format_interval, parse_interval};
use serde_json::{json, Value};

const QUEUES: &str = "/api/v2/routing/queues";
const OBS_METRICS: [&str; 6] = [
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oMemberUsers",
    "oOnQueueUsers",
];
const HOUR: i64 = 3_600_000;
/// Asia/Kolkata is UTC+05:30 all year (no DST).
const KOLKATA_OFFSET: i64 = 5 * HOUR + HOUR / 2;

/// (count or numerator, sum or denominator) per (group, metric).
type Sums = BTreeMap<(GroupKey, String), (i64, i64)>;

/// A config with a frozen clock, flat traffic and the given variants.
fn config(variants: Variants) -> SimConfig {
    SimConfig {
        queues: 6,
        seed: 77,
        traffic_profile: TrafficProfile::Flat,
        fixed_now_ms: Some(ms("2025-03-12T16:00:00Z")),
        variants,
        ..SimConfig::default()
    }
}

fn ids(sim: &Sim) -> Vec<String> {
    sim.handle
        .model()
        .queues()
        .into_iter()
        .map(|q| q.id)
        .collect()
}

fn agg_body(
    interval: &str,
    granularity: Option<&str>,
    zone: Option<&str>,
    ids: &[String],
) -> Value {
    let mut b = json!({
        "interval": interval,
        "groupBy": ["queueId", "mediaType"],
        "filter": queue_filter(ids),
        "metrics": METRICS,
    });
    if let Some(g) = granularity {
        b["granularity"] = json!(g);
    }
    if let Some(z) = zone {
        b["timeZone"] = json!(z);
    }
    b
}

fn obs_body(ids: &[String], metrics: &[&str], detail: &[&str]) -> Value {
    json!({"filter": queue_filter(ids), "metrics": metrics, "detailMetrics": detail})
}

/// Asserts a Genesys `invalid.value` 400 naming `value` for `field_type`, with
/// `messageWithParams`/`messageParams`, whose allowable values exclude `value`.
fn assert_invalid_value(r: &Reply, value: &str, field_type: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["code"], "invalid.value", "{}", r.text);
    assert_eq!(b["status"], 400);
    assert_eq!(b["contextId"], r.header("inin-correlation-id"));
    assert_eq!(b["details"], json!([]));
    assert_eq!(b["errors"], json!([]));
    let message = b["message"].as_str().expect("message");
    let head = format!(
        "Value [{value}] is not valid for field type [{field_type}]. Allowable values are: "
    );
    let allowed = message
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("message {message:?}"));
    assert!(
        !allowed.split(", ").any(|a| a == value),
        "{value} still allowed: {allowed}"
    );
    assert_eq!(b["messageParams"]["value"], value);
    assert_eq!(b["messageParams"]["fieldType"], field_type);
    assert_eq!(b["messageParams"]["allowableValues"], allowed);
    assert!(b["messageWithParams"]
        .as_str()
        .is_some_and(|t| t.contains("{value}") && t.contains("{allowableValues}")));
}

/// A rejected metric gets the invalid.value 400 naming it in aggregate metrics,
/// observation metrics and observation detailMetrics; queries without it answer.
#[tokio::test]
async fn rejected_metrics_get_invalid_value() {
    let sim = Sim::start(config(Variants {
        reject_metrics: vec![
            "oLongestWaiting".into(),
            "tShortAbandon".into(),
            "oAlerting".into(),
        ],
        ..Variants::default()
    }))
    .await;
    let token = sim.token().await;
    let ids = ids(&sim);
    let day = "2025-03-12T00:00:00.000Z/2025-03-12T12:00:00.000Z";
    let r = sim
        .aggregates(&token, &agg_body(day, None, None, &ids))
        .await;
    assert_invalid_value(&r, "tShortAbandon", "ConversationAggregateMetric");
    let mut without = agg_body(day, None, None, &ids);
    without["metrics"] = json!(["nOffered", "tAnswered"]);
    assert_eq!(sim.aggregates(&token, &without).await.status, 200);

    let r = sim
        .observations(
            &token,
            &obs_body(&ids, &["oWaiting", "oLongestWaiting"], &[]),
        )
        .await;
    assert_invalid_value(&r, "oLongestWaiting", "QueueObservationMetric");
    let r = sim
        .observations(&token, &obs_body(&ids, &["oWaiting"], &["oAlerting"]))
        .await;
    assert_invalid_value(&r, "oAlerting", "QueueObservationDetailMetric");
    let r = sim
        .observations(
            &token,
            &obs_body(&ids, &["oWaiting", "oInteracting"], &["oWaiting"]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Clock-aligned PT1H buckets in Asia/Kolkata start on the zone's whole hours
/// (hh:30 UTC), the first and last clipped to the interval; each bucket equals
/// the ground truth, and their sums equal the interval-aligned single bucket.
#[tokio::test]
async fn clock_buckets_follow_the_zone_and_sum_to_the_interval() {
    let clock = Sim::start(config(Variants {
        bucket_alignment: BucketAlignment::Clock,
        ..Variants::default()
    }))
    .await;
    let plain = Sim::start(config(Variants::default())).await;
    let (from, to) = (ms("2025-03-12T08:10:00Z"), ms("2025-03-12T12:40:00Z"));
    let interval = format_interval(from, to);
    let ids = ids(&clock);
    let token = clock.token().await;
    let r = clock
        .aggregates(
            &token,
            &agg_body(&interval, Some("PT1H"), Some("Asia/Kolkata"), &ids),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The expected buckets, by arithmetic: boundaries where local time is a whole hour.
    let mut cuts = vec![from];
    let mut t = (from + KOLKATA_OFFSET).div_euclid(HOUR) * HOUR - KOLKATA_OFFSET + HOUR;
    while t < to {
        cuts.push(t);
        t += HOUR;
    }
    cuts.push(to);
    let buckets: Vec<(i64, i64)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    assert_eq!(buckets.len(), 6, "08:10, 08:30, …, 12:30, 12:40");
    let want_intervals: BTreeSet<String> = buckets
        .iter()
        .map(|&(a, b)| format_interval(a, b))
        .collect();

    let parsed = parse_results(&r.body);
    assert!(!parsed.is_empty(), "flat traffic has data");
    let model = clock.handle.model();
    let sl = model.service_level_options();
    let mut checked = 0;
    for (group, got) in &parsed {
        let value = |k: &str| group.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (q, m) = (
            value("queueId").expect("queueId"),
            value("mediaType").expect("mediaType"),
        );
        for iv in got.keys() {
            assert!(
                want_intervals.contains(iv),
                "bucket {iv} is not clock-aligned"
            );
        }
        let want = aggregate_truth(&model, &q, &m, &buckets, sl);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "non-empty buckets of {q}/{m}"
        );
        for (iv, metrics) in &want {
            for (metric, stat) in metrics {
                assert_stat(metric, &got[iv][metric], stat, &format!("{q}/{m} {iv}"));
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} values checked");

    // Sums over the clock buckets equal the interval-aligned answer without granularity.
    let ptoken = plain.token().await;
    let single = plain
        .aggregates(&ptoken, &agg_body(&interval, None, None, &ids))
        .await;
    assert_eq!(single.status, 200);
    let mut summed: Sums = BTreeMap::new();
    for (group, got) in &parsed {
        for metrics in got.values() {
            for (metric, s) in metrics.iter().filter(|(m, _)| *m != "oServiceTarget") {
                let e = summed.entry((group.clone(), metric.clone())).or_default();
                e.0 += s["count"].as_i64().or(s["numerator"].as_i64()).unwrap_or(0);
                e.1 += s["sum"].as_i64().or(s["denominator"].as_i64()).unwrap_or(0);
            }
        }
    }
    let mut whole: Sums = BTreeMap::new();
    for (group, got) in parse_results(&single.body) {
        let metrics = got.get(&interval).expect("one bucket, the interval");
        for (metric, s) in metrics.iter().filter(|(m, _)| *m != "oServiceTarget") {
            whole.insert(
                (group.clone(), metric.clone()),
                (
                    s["count"].as_i64().or(s["numerator"].as_i64()).unwrap_or(0),
                    s["sum"].as_i64().or(s["denominator"].as_i64()).unwrap_or(0),
                ),
            );
        }
    }
    assert_eq!(summed, whole);
}

/// Clock-aligned P1D buckets start at UTC midnight when no timeZone is given.
#[tokio::test]
async fn clock_days_start_at_utc_midnight() {
    let sim = Sim::start(config(Variants {
        bucket_alignment: BucketAlignment::Clock,
        ..Variants::default()
    }))
    .await;
    let token = sim.token().await;
    let (from, to) = (ms("2025-03-10T15:00:00Z"), ms("2025-03-12T15:00:00Z"));
    let r = sim
        .aggregates(
            &token,
            &agg_body(&format_interval(from, to), Some("P1D"), None, &ids(&sim)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut seen = BTreeSet::new();
    for buckets in parse_results(&r.body).values() {
        seen.extend(buckets.keys().cloned());
    }
    let want: BTreeSet<String> = [
        (from, ms("2025-03-11T00:00:00Z")),
        (ms("2025-03-11T00:00:00Z"), ms("2025-03-12T00:00:00Z")),
        (ms("2025-03-12T00:00:00Z"), to),
    ]
    .iter()
    .map(|&(a, b)| format_interval(a, b))
    .collect();
    assert_eq!(seen, want);
}

/// With a granularity list, listed granularities and none at all answer, and
/// any other granularity gets invalid.value naming it.
#[tokio::test]
async fn only_listed_granularities_are_accepted() {
    let sim = Sim::start(config(Variants {
        granularities: Some(vec![
            "PT15M".into(),
            "PT30M".into(),
            "PT1H".into(),
            "P1D".into(),
        ]),
        ..Variants::default()
    }))
    .await;
    let token = sim.token().await;
    let ids = ids(&sim);
    let day = "2025-03-12T00:00:00.000Z/2025-03-12T12:00:00.000Z";
    for ok in [Some("PT15M"), Some("P1D"), None] {
        let r = sim.aggregates(&token, &agg_body(day, ok, None, &ids)).await;
        assert_eq!(r.status, 200, "{ok:?}: {}", r.text);
    }
    for bad in ["PT5M", "PT2H", "P1M"] {
        let r = sim
            .aggregates(&token, &agg_body(day, Some(bad), None, &ids))
            .await;
        assert_invalid_value(&r, bad, "Granularity");
        assert_eq!(
            r.body["messageParams"]["allowableValues"],
            "PT15M, PT30M, PT1H, P1D"
        );
    }
}

/// `--next-uri none`: no page has nextUri, pageCount/pageNumber stay right, and
/// paging by pageNumber up to pageCount reaches every queue exactly once.
#[tokio::test]
async fn paging_by_page_number_without_next_uri() {
    let sim = Sim::start(SimConfig {
        queues: 23,
        variants: Variants {
            next_uri: NextUri::None,
            ..Variants::default()
        },
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let first = sim.get(&format!("{QUEUES}?pageSize=5"), Some(&token)).await;
    assert_eq!(first.status, 200);
    let page_count = first.body["pageCount"].as_i64().expect("pageCount");
    assert_eq!(page_count, 5);
    let mut seen = Vec::new();
    for n in 1..=page_count {
        let r = sim
            .get(&format!("{QUEUES}?pageSize=5&pageNumber={n}"), Some(&token))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["pageNumber"], n);
        assert_eq!(r.body["pageCount"], page_count);
        assert!(r.body.get("nextUri").is_none(), "page {n} has nextUri");
        for e in r.body["entities"].as_array().expect("entities") {
            seen.push(e["id"].as_str().expect("id").to_string());
        }
    }
    let mut want = ids(&sim);
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
}

/// `--next-uri absolute`: links are full URLs on the host the request came to;
/// following them from the first page reaches the last page and every queue.
#[tokio::test]
async fn absolute_next_uri_is_on_the_request_host() {
    let sim = Sim::start(SimConfig {
        queues: 23,
        variants: Variants {
            next_uri: NextUri::Absolute,
            ..Variants::default()
        },
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let prefix = format!("{}{QUEUES}?", sim.base);
    let mut next = Some(format!("{prefix}pageSize=5"));
    let (mut seen, mut pages) = (Vec::new(), 0);
    while let Some(url) = next {
        assert!(url.starts_with(&prefix), "{url} is not on {}", sim.base);
        pages += 1;
        assert!(pages <= 5, "more pages than pageCount");
        let r = sim.get(&url[sim.base.len()..], Some(&token)).await;
        assert_eq!(r.status, 200);
        for e in r.body["entities"].as_array().expect("entities") {
            seen.push(e["id"].as_str().expect("id").to_string());
        }
        next = r.body["nextUri"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);

    let r = sim
        .http
        .get(format!("{}{QUEUES}?pageSize=5", sim.base))
        .bearer_auth(&token)
        .header("Host", "api.example.test")
        .send()
        .await
        .expect("GET");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["nextUri"],
        "http://api.example.test/api/v2/routing/queues?pageSize=5&pageNumber=2"
    );
}

/// `--media-settings all`: every queue lists all five media, its own with its
/// service level and the rest with the default; observations answer six media
/// groups per queue with zeros for media it does not serve; aggregates add
/// sparse cobrowse/unknown groups with zero counts and targets only, while every
/// other group equals the default simulator's answer.
#[tokio::test]
async fn all_media_settings_add_zero_groups_only() {
    let all = Sim::start(config(Variants {
        media_settings: MediaSettingsMode::All,
        ..Variants::default()
    }))
    .await;
    let plain = Sim::start(config(Variants::default())).await;
    let (ta, tp) = (all.token().await, plain.token().await);
    let model = all.handle.model();
    let served: BTreeMap<String, BTreeMap<String, (f64, u64)>> = model
        .queues()
        .into_iter()
        .map(|q| {
            let m = q
                .media
                .iter()
                .map(|m| (m.media_type.clone(), (m.sl_percentage, m.sl_duration_ms)))
                .collect();
            (q.id, m)
        })
        .collect();

    let r = all.get(&format!("{QUEUES}?pageSize=100"), Some(&ta)).await;
    for e in r.body["entities"].as_array().expect("entities") {
        let own = &served[e["id"].as_str().expect("id")];
        let settings = e["mediaSettings"].as_object().expect("mediaSettings");
        let keys: BTreeSet<&str> = settings.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["call", "callback", "chat", "email", "message"])
        );
        for (key, s) in settings {
            let analytics = if key == "call" { "voice" } else { key.as_str() };
            let (pct, dur) = own.get(analytics).copied().unwrap_or((0.8, 20_000));
            assert_eq!(s["serviceLevel"]["percentage"].as_f64(), Some(pct), "{key}");
            assert_eq!(s["serviceLevel"]["durationMs"].as_u64(), Some(dur), "{key}");
        }
    }

    let ids = ids(&all);
    let body = obs_body(&ids, &OBS_METRICS, &["oWaiting"]);
    let (ra, rp) = (
        all.observations(&ta, &body).await,
        plain.observations(&tp, &body).await,
    );
    assert_eq!((ra.status, rp.status), (200, 200));
    let by_group = |v: &Value| -> BTreeMap<String, Value> {
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|g| (g["group"].to_string(), g["data"].clone()))
            .collect()
    };
    let (ga, gp) = (by_group(&ra.body), by_group(&rp.body));
    for (group, data) in &gp {
        assert_eq!(ga.get(group), Some(data), "served group {group} changed");
    }
    let mut idle = 0;
    for q in &ids {
        for media in ["voice", "callback", "chat", "email", "message", "video"] {
            let key = json!({"queueId": q, "mediaType": media}).to_string();
            let data = ga.get(&key).unwrap_or_else(|| panic!("no group {key}"));
            if served[q].contains_key(media) {
                continue;
            }
            idle += 1;
            for d in data.as_array().expect("data") {
                assert_eq!(d["stats"], json!({"count": 0}), "{key}");
                assert_ne!(d["metric"], "oLongestWaiting");
            }
            let waiting = data
                .as_array()
                .expect("data")
                .iter()
                .find(|d| d["metric"] == "oWaiting");
            assert_eq!(waiting.expect("oWaiting")["observations"], json!([]));
        }
    }
    assert!(idle >= ids.len(), "video alone is idle for every queue");

    let body = agg_body(
        "2025-03-12T00:00:00.000Z/2025-03-12T12:00:00.000Z",
        None,
        None,
        &ids,
    );
    let (ra, rp) = (
        all.aggregates(&ta, &body).await,
        plain.aggregates(&tp, &body).await,
    );
    let (pa, pp) = (parse_results(&ra.body), parse_results(&rp.body));
    let mut sparse = 0;
    for (group, buckets) in &pa {
        let media = &group
            .iter()
            .find(|(k, _)| k == "mediaType")
            .expect("mediaType")
            .1;
        if ["cobrowse", "unknown"].contains(&media.as_str()) {
            sparse += 1;
            for metrics in buckets.values() {
                for (m, s) in metrics {
                    match m.as_str() {
                        "oServiceTarget" => assert!(s["current"].as_f64().is_some()),
                        _ => assert_eq!(s, &json!({"count": 0}), "{m} in {group:?}"),
                    }
                }
            }
        } else {
            assert_eq!(pp.get(group), Some(buckets), "group {group:?} changed");
        }
    }
    assert_eq!(sparse, 2 * ids.len());
    assert_eq!(pa.len() - sparse, pp.len());
}

/// Aggregates and observations have their own predicate limits, each answered
/// above the limit with the Genesys 400 naming the maximum.
#[tokio::test]
async fn predicate_limits_are_per_endpoint() {
    let sim = Sim::start(config(Variants {
        aggregates_max_predicates: Some(3),
        observations_max_predicates: Some(5),
        ..Variants::default()
    }))
    .await;
    let token = sim.token().await;
    let ids = ids(&sim);
    let day = "2025-03-12T00:00:00.000Z/2025-03-12T12:00:00.000Z";
    assert_eq!(
        sim.aggregates(&token, &agg_body(day, None, None, &ids[..3]))
            .await
            .status,
        200
    );
    let r = sim
        .aggregates(&token, &agg_body(day, None, None, &ids[..4]))
        .await;
    assert_error(&r, 400, "bad.request", "more than the maximum of 3");
    let r = sim
        .observations(&token, &obs_body(&ids[..5], &["oWaiting"], &[]))
        .await;
    assert_eq!(r.status, 200);
    let r = sim
        .observations(&token, &obs_body(&ids[..6], &["oWaiting"], &[]))
        .await;
    assert_error(&r, 400, "bad.request", "more than the maximum of 5");
}

/// The real-org preset: absolute links, clock buckets, the four granularities,
/// 100 aggregate and 200 observation predicates, all media in mediaSettings.
#[tokio::test]
async fn real_org_preset() {
    let sim = Sim::start(config(Variants::preset(Preset::RealOrg))).await;
    let token = sim.token().await;
    let r = sim.get(&format!("{QUEUES}?pageSize=2"), Some(&token)).await;
    assert!(r.body["nextUri"]
        .as_str()
        .is_some_and(|u| u.starts_with(&sim.base)));
    assert_eq!(
        r.body["entities"][0]["mediaSettings"]
            .as_object()
            .map(|m| m.len()),
        Some(5)
    );
    let fake: Vec<String> = (0..201)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let day = "2025-03-12T00:10:00.000Z/2025-03-12T02:00:00.000Z";
    let r = sim
        .aggregates(&token, &agg_body(day, Some("PT1H"), None, &fake[..100]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = sim
        .aggregates(&token, &agg_body(day, None, None, &fake[..101]))
        .await;
    assert_eq!(r.status, 400);
    let r = sim
        .aggregates(&token, &agg_body(day, Some("PT5M"), None, &fake[..1]))
        .await;
    assert_invalid_value(&r, "PT5M", "Granularity");
    let real = ids(&sim);
    let r = sim
        .aggregates(&token, &agg_body(day, Some("PT1H"), None, &real))
        .await;
    for buckets in parse_results(&r.body).values() {
        for iv in buckets.keys() {
            let (a, b) = parse_interval(iv).expect("interval");
            assert!(
                a == ms("2025-03-12T00:10:00Z") || a % HOUR == 0,
                "{iv} starts off the hour"
            );
            assert!(b == ms("2025-03-12T02:00:00Z") || b % HOUR == 0, "{iv}");
        }
    }
    let r = sim
        .observations(&token, &obs_body(&fake[..200], &["oWaiting"], &[]))
        .await;
    assert_eq!(r.status, 200);
    let r = sim
        .observations(&token, &obs_body(&fake[..201], &["oWaiting"], &[]))
        .await;
    assert_eq!(r.status, 400);
}

/// Every API response carries inin-ratelimit-allowed (the configured limit),
/// -count (requests of this token in the rolling minute) and -reset (seconds,
/// 1–60); the request over the limit is a 429 whose Retry-After equals -reset.
#[tokio::test]
async fn rate_limit_headers_follow_the_limiter() {
    let sim = Sim::start(SimConfig {
        rate_limit_per_minute: 4,
        ..config(Variants::default())
    })
    .await;
    let token = sim.token().await;
    let anonymous = sim.get(QUEUES, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("inin-ratelimit-allowed"), "4");
    for n in 1..=4 {
        let r = sim.get(QUEUES, Some(&token)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("inin-ratelimit-allowed"), "4");
        assert_eq!(r.header("inin-ratelimit-count"), n.to_string());
        let reset: u32 = r.header("inin-ratelimit-reset").parse().expect("reset");
        assert!((1..=60).contains(&reset), "reset {reset}");
    }
    let r = sim.get(QUEUES, Some(&token)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("inin-ratelimit-count"), "4");
    assert_eq!(r.header("inin-ratelimit-reset"), r.header("retry-after"));
}
