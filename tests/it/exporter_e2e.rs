//! End-to-end: the simulator and the exporter on 127.0.0.1:0, scraped over
//! real HTTP; values checked against ground truth from the simulator's model.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::util::exported::{parse_exported, EXPORTED_METRICS};
use crate::util::exporter::*;
use crate::util::read;
use crate::util::truth::{close, expected_window};
use genesys_exporter::simulator::{SimConfig, SimEndpoint, TrafficProfile};

const UP_TIMEOUT: Duration = Duration::from_secs(90);

const FAST: &[&str] = &[
    "--poll.interval",
    "2s",
    "--poll.observations-interval",
    "2s",
    "--poll.queues-interval",
    "2s",
    "--window",
    "30m,1h,today",
];

/// After the first poll every queue × media × window value equals ground truth
/// for the exported window, and every queue's settings and real-time series exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_values_match_ground_truth() {
    // Busy at any hour the test runs: the flat profile keeps the weekday peak.
    let busy_org = SimConfig {
        traffic_scale: 3.0,
        traffic_profile: TrafficProfile::Flat,
        ..SimConfig::default()
    };
    let sim = start_roomy_sim(busy_org).await;
    let exporter = Exporter::start(FAST, client_for(&sim)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let scrape = get(&exporter.base, "/metrics", true).await;
    assert!(scrape.gzipped, "gzip was offered and must be used");
    let samples = parse(&scrape.text);
    let model = sim.model();

    let mut windows = BTreeMap::new();
    for label in ["30m", "1h", "today"] {
        let start = value(
            &samples,
            "genesys_window_start_timestamp_seconds",
            &[("window", label)],
        )
        .expect("start");
        let end = value(
            &samples,
            "genesys_window_end_timestamp_seconds",
            &[("window", label)],
        )
        .expect("end");
        windows.insert(label, ((start * 1000.0) as i64, (end * 1000.0) as i64));
    }
    assert_eq!(windows["30m"].1 - windows["30m"].0, 1_800_000);
    assert_eq!(windows["1h"].1 - windows["1h"].0, 3_600_000);

    let mut expected_rows = BTreeSet::new();
    let mut checked = 0;
    let mut nonzero = BTreeSet::new();
    for q in model.queues() {
        for m in &q.media {
            for (label, (start, end)) in &windows {
                expected_rows.insert((q.name.clone(), m.media_type.clone(), label.to_string()));
                let labels = [
                    ("queue", q.name.as_str()),
                    ("media_type", m.media_type.as_str()),
                    ("window", label),
                ];
                for (family, want) in expected_window(&model, &q.id, &m.media_type, *start, *end) {
                    let got = value(&samples, family, &labels);
                    if want.is_some_and(|w| w > 0.0) {
                        nonzero.insert(family);
                    }
                    match (want, got) {
                        (Some(w), Some(g)) => {
                            assert!(close(w, g), "{family}{labels:?}: exported {g}, truth {w}")
                        }
                        (None, None) => {}
                        _ => panic!("{family}{labels:?}: exported {got:?}, truth {want:?}"),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "checked {checked} values");
    assert!(
        nonzero.len() >= 15,
        "too few families with data to be meaningful: {nonzero:?}"
    );
    let exported_rows: BTreeSet<_> = named(&samples, "genesys_queue_offered")
        .iter()
        .map(|s| {
            (
                s.label("queue").to_owned(),
                s.label("media_type").to_owned(),
                s.label("window").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        exported_rows, expected_rows,
        "exactly every queue × configured media × window"
    );
    let busy: f64 = named(&samples, "genesys_queue_offered")
        .iter()
        .map(|s| s.value)
        .sum();
    assert!(busy > 0.0, "the simulated org has traffic");

    for q in model.queues() {
        let info = named(&samples, "genesys_queue_info")
            .into_iter()
            .find(|s| s.label("queue_id") == q.id)
            .unwrap_or_else(|| panic!("info for {}", q.name));
        assert_eq!(
            (info.label("queue"), info.label("division"), info.value),
            (q.name.as_str(), q.division_name.as_str(), 1.0)
        );
        let members = value(&samples, "genesys_queue_members", &[("queue", &q.name)]);
        assert_eq!(members, Some(f64::from(q.member_count)));
        assert_eq!(
            named(&samples, "genesys_queue_agents")
                .iter()
                .filter(|s| s.label("queue") == q.name)
                .count(),
            4
        );
        for m in &q.media {
            let labels = [
                ("queue", q.name.as_str()),
                ("media_type", m.media_type.as_str()),
            ];
            let target = value(
                &samples,
                "genesys_queue_service_level_target_ratio",
                &labels,
            )
            .expect("target");
            assert!(close(target, m.sl_percentage));
            let threshold = value(
                &samples,
                "genesys_queue_service_level_threshold_seconds",
                &labels,
            )
            .expect("threshold");
            assert!(close(threshold, m.sl_duration_ms as f64 / 1000.0));
            for family in [
                "genesys_queue_waiting",
                "genesys_queue_interacting",
                "genesys_queue_alerting",
            ] {
                assert!(
                    value(&samples, family, &labels).is_some(),
                    "{family}{labels:?}"
                );
            }
        }
    }
    assert_eq!(
        value(&samples, "genesys_exporter_queues", &[]),
        Some(model.queues().len() as f64)
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// Awkward queue names are escaped on the wire and round-trip exactly; the
/// body is valid text format with unique families and the right content type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposition_is_well_formed() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(FAST, client_for(&sim)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let plain = get(&exporter.base, "/metrics", false).await;
    assert!(!plain.gzipped);
    assert_eq!(
        plain.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let awkward = "Support \"VIP\" \\ Billing";
    assert!(
        plain.text.contains(r#"queue="Support \"VIP\" \\ Billing""#),
        "escaped on the wire"
    );
    let samples = parse(&plain.text);
    assert!(named(&samples, "genesys_queue_info")
        .iter()
        .any(|s| s.label("queue") == awkward));
    let mut types = BTreeSet::new();
    for line in plain.text.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(
            types.insert(
                line.split_whitespace()
                    .nth(2)
                    .unwrap_or_default()
                    .to_owned()
            ),
            "family twice: {line}"
        );
    }
    let mut series = BTreeSet::new();
    for s in &samples {
        assert!(
            s.value.is_finite() || s.name.ends_with("_bucket"),
            "non-finite sample {s:?}"
        );
        assert!(
            series.insert((s.name.clone(), s.labels.clone())),
            "duplicate series {s:?}"
        );
    }
    for name in [
        "genesys_up",
        "genesys_exporter_build_info",
        "process_resident_memory_bytes",
    ] {
        assert!(value(&samples, name, &[]).is_some(), "{name}");
    }
    let gz = get(&exporter.base, "/metrics", true).await;
    let gz_families: BTreeSet<_> = parse(&gz.text).into_iter().map(|s| s.name).collect();
    let plain_families: BTreeSet<_> = samples.into_iter().map(|s| s.name).collect();
    assert_eq!(gz_families, plain_families);

    let landing = get(&exporter.base, "/", false).await;
    assert!(landing.text.contains("href=\"/metrics\"") && landing.text.contains("aggregates"));
    assert_eq!(get(&exporter.base, "/-/healthy", false).await.status, 200);
    assert_eq!(get(&exporter.base, "/-/ready", false).await.status, 200);
    exporter.stop().await;
    sim.shutdown().await;
}

/// A queue removed from the org disappears from /metrics on the next polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_queue_disappears() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(FAST, client_for(&sim)).await;
    let samples = wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let victim = sim
        .model()
        .queues()
        .into_iter()
        .nth(2)
        .expect("a third queue");
    let mentions = |samples: &[Sample]| {
        samples
            .iter()
            .filter(|s| s.label("queue") == victim.name)
            .count()
    };
    assert!(mentions(&samples) > 0);
    let before = value(&samples, "genesys_exporter_queues", &[]).expect("queue count");
    sim.control().remove_queue(&victim.id);
    let base = exporter.base.clone();
    wait_until(Duration::from_secs(60), "removed queue gone", || {
        let base = base.clone();
        async move {
            let samples = parse(&get(&base, "/metrics", false).await.text);
            mentions(&samples) == 0
                && value(&samples, "genesys_exporter_queues", &[]) == Some(before - 1.0)
        }
    })
    .await;
    exporter.stop().await;
    sim.shutdown().await;
}

/// Scrapes are served from memory: many scrapes cause no API request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_never_call_the_api() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let slow = [
        "--poll.interval",
        "1h",
        "--poll.observations-interval",
        "1h",
        "--poll.queues-interval",
        "1h",
    ];
    let exporter = Exporter::start(&slow, client_for(&sim)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let control = sim.control();
    control.reset_counts();
    for i in 0..20 {
        let s = get(&exporter.base, "/metrics", i % 2 == 0).await;
        assert_eq!(s.status, 200);
    }
    for e in [
        SimEndpoint::Token,
        SimEndpoint::Queues,
        SimEndpoint::Aggregates,
        SimEndpoint::Observations,
    ] {
        assert_eq!(control.request_count(e), 0, "{e:?} called during scrapes");
    }
    exporter.stop().await;
    sim.shutdown().await;
}

/// The real binary in `--demo` mode serves exactly the families of
/// `prometheus/exported-metrics.txt`, with their types and label names; only
/// the families that have no series while nothing waits or every denominator
/// is 0 may be absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_exactly_the_exported_families() {
    const MAY_BE_ABSENT: [&str; 3] = [
        "genesys_queue_longest_waiting_seconds",
        "genesys_queue_abandon_ratio",
        "genesys_queue_service_level_ratio",
    ];
    let listed = parse_exported(&read(EXPORTED_METRICS));
    for name in MAY_BE_ABSENT {
        assert!(listed.contains_key(name), "{name} is not listed");
    }
    let mut cmd = binary();
    cmd.args([
        "--demo",
        "--web.listen-address",
        "127.0.0.1:0",
        "--poll.interval",
        "5s",
        "--poll.observations-interval",
        "5s",
    ]);
    let (mut child, base) = spawn_listening(cmd);
    let ready_base = base.clone();
    wait_until(UP_TIMEOUT, "/-/ready answers 200", || {
        let base = ready_base.clone();
        async move { get(&base, "/-/ready", false).await.status == 200 }
    })
    .await;
    let text = get(&base, "/metrics", false).await.text;
    let _ = child.kill();
    let _ = child.wait();

    let served: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.trim().to_owned()))
        .collect();
    let family_of = |series: &str| -> String {
        ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|suffix| series.strip_suffix(suffix))
            .find(|base| served.get(*base).map(String::as_str) == Some("histogram"))
            .unwrap_or(series)
            .to_owned()
    };
    let mut served_labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sample in parse(&text) {
        served_labels
            .entry(family_of(&sample.name))
            .or_default()
            .extend(sample.labels.into_keys().filter(|l| l != "le"));
    }
    let mut problems = Vec::new();
    for (name, kind) in &served {
        match listed.get(name) {
            None => problems.push(format!("served but not listed: {name} ({kind})")),
            Some(f) if f.kind != *kind => {
                problems.push(format!("{name}: served as {kind}, listed as {}", f.kind))
            }
            Some(f) => {
                let want: BTreeSet<String> = f.labels.iter().cloned().collect();
                let got = served_labels.remove(name).unwrap_or_default();
                if got != want {
                    problems.push(format!(
                        "{name}: served with labels {got:?}, listed with {want:?}"
                    ));
                }
            }
        }
    }
    for (name, f) in &listed {
        if !served.contains_key(name) && !MAY_BE_ABSENT.contains(&name.as_str()) {
            problems.push(format!("listed but not served: {name} ({})", f.kind));
        }
    }
    assert!(
        problems.is_empty(),
        "/metrics and {EXPORTED_METRICS} differ:\n{}",
        problems.join("\n")
    );
}
