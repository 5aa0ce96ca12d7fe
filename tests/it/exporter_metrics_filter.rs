//! `--metrics.include` / `--metrics.exclude` end to end: the exporter in
//! front of a recording proxy to the simulator. Excluded families are not
//! served, the API metrics only they read are not asked for, the families
//! kept equal the ground truth, and a poll kind left without a family does
//! not run.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::util::exporter::*;
use crate::util::recorder::{Recorded, Recorder};
use crate::util::truth::{close, expected_window};
use genesys_exporter::genesys::ClientConfig;
use genesys_exporter::simulator::{SimConfig, SimEndpoint, SimHandle, TrafficProfile};

const UP_TIMEOUT: Duration = Duration::from_secs(90);

const FAST: &[&str] = &[
    "--poll.interval",
    "2s",
    "--poll.observations-interval",
    "2s",
    "--poll.queues-interval",
    "2s",
];

/// Families excluded, and the one API metric each alone reads.
const EXCLUDED: [(&str, &str); 3] = [
    ("genesys_queue_short_abandoned", "tShortAbandon"),
    ("genesys_queue_transferred", "nTransferred"),
    ("genesys_queue_alerting", "oAlerting"),
];

/// A client for `sim` that sends everything through `proxy`.
fn through(sim: &SimHandle, proxy: &Recorder) -> ClientConfig {
    let mut c = client_for(sim);
    let routed = ClientConfig::for_base_url(&proxy.base, &c.client_id, c.client_secret.clone())
        .expect("proxy config");
    c.api_base = routed.api_base;
    c.login_base = routed.login_base;
    c
}

/// The `metrics` lists of the recorded requests.
fn metric_lists(seen: &[Recorded]) -> Vec<BTreeSet<String>> {
    seen.iter()
        .filter_map(|r| r.body.as_ref()?.get("metrics")?.as_array().cloned())
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn busy_org() -> SimConfig {
    SimConfig {
        traffic_scale: 3.0,
        traffic_profile: TrafficProfile::Flat,
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_families_are_neither_asked_for_nor_served() {
    let sim = start_roomy_sim(busy_org()).await;
    let proxy = Recorder::start(&sim.base_url()).await;
    let exclude = format!("^({})$", EXCLUDED.map(|(f, _)| f).join("|"));
    let mut flags = FAST.to_vec();
    flags.extend(["--metrics.exclude", exclude.as_str()]);
    let exporter = Exporter::start(&flags, through(&sim, &proxy)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    // Let a few more polls of each kind go through the proxy.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let scrape = get(&exporter.base, "/metrics", false).await;
    let samples = parse(&scrape.text);
    exporter.stop().await;

    // Asked for: every window query without the excluded families' metrics
    // (the served-media lookback asks for nOffered alone).
    let aggregates = metric_lists(&proxy.seen("/aggregates/query"));
    let windows: Vec<_> = aggregates.iter().filter(|m| m.len() > 1).collect();
    assert!(!windows.is_empty(), "window queries recorded");
    for ms in &windows {
        assert!(
            ms.contains("tAnswered") && ms.contains("tAbandon"),
            "{ms:?}"
        );
        for (_, metric) in &EXCLUDED[..2] {
            assert!(!ms.contains(*metric), "{metric} asked for: {ms:?}");
        }
    }
    let observations = metric_lists(&proxy.seen("/observations/query"));
    assert!(!observations.is_empty(), "observations recorded");
    for ms in &observations {
        assert!(
            ms.contains("oWaiting") && ms.contains("oOnQueueUsers"),
            "{ms:?}"
        );
        assert!(!ms.contains("oAlerting"), "{ms:?}");
    }

    // Served: none of the excluded families, every other one, with the truth.
    for (family, _) in EXCLUDED {
        assert!(named(&samples, family).is_empty(), "{family} served");
        assert!(!scrape.text.contains(&format!("# HELP {family} ")));
    }
    for kept in [
        "genesys_queue_waiting",
        "genesys_queue_interacting",
        "genesys_queue_longest_waiting_seconds",
        "genesys_queue_agents",
        "genesys_queue_info",
        "genesys_window_start_timestamp_seconds",
        "genesys_exporter_api_requests_total",
    ] {
        assert!(!named(&samples, kept).is_empty(), "{kept} missing");
    }
    let model = sim.model();
    let mut checked = 0;
    let mut nonzero = BTreeSet::new();
    for label in ["30m", "today"] {
        let bound =
            |name| value(&samples, name, &[("window", label)]).expect("window bound") * 1000.0;
        let (start, end) = (
            bound("genesys_window_start_timestamp_seconds") as i64,
            bound("genesys_window_end_timestamp_seconds") as i64,
        );
        for q in model.queues() {
            for m in &q.media {
                let labels = [
                    ("queue", q.name.as_str()),
                    ("media_type", m.media_type.as_str()),
                    ("window", label),
                ];
                for (family, want) in expected_window(&model, &q.id, &m.media_type, start, end) {
                    let got = value(&samples, family, &labels);
                    if EXCLUDED.iter().any(|(f, _)| *f == family) {
                        continue;
                    }
                    match (want, got) {
                        (Some(w), Some(g)) => {
                            assert!(close(w, g), "{family}{labels:?}: exported {g}, truth {w}");
                            if w > 0.0 {
                                nonzero.insert(family);
                            }
                        }
                        (None, None) => {}
                        _ => panic!("{family}{labels:?}: exported {got:?}, truth {want:?}"),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 300, "checked {checked} values");
    assert!(
        nonzero.len() >= 12,
        "too few families with data: {nonzero:?}"
    );
    sim.shutdown().await;
}

/// Excluding every real-time family stops the observations poll: the
/// simulator sees none, and the exporter is up without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_real_time_family_no_observations_poll() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let mut flags = FAST.to_vec();
    flags.extend([
        "--metrics.exclude",
        "^genesys_queue_(waiting|interacting|alerting|longest_waiting_seconds|agents)$",
    ]);
    let exporter = Exporter::start(&flags, client_for(&sim)).await;
    wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let samples = parse(&get(&exporter.base, "/metrics", false).await.text);
    exporter.stop().await;
    assert_eq!(sim.control().request_count(SimEndpoint::Observations), 0);
    assert!(sim.control().request_count(SimEndpoint::Aggregates) > 0);
    assert!(named(&samples, "genesys_queue_waiting").is_empty());
    assert!(!named(&samples, "genesys_queue_offered").is_empty());
    let interval = |poll| {
        value(
            &samples,
            "genesys_exporter_poll_interval_seconds",
            &[("poll", poll)],
        )
    };
    assert_eq!(interval("observations"), None, "not polled, no interval");
    assert_eq!(interval("aggregates"), Some(2.0));
    sim.shutdown().await;
}

/// `check-config` prints the families served and the polls they turn off; a
/// bad expression is one line naming the flag and its variable, exit 2.
#[test]
fn check_config_prints_the_family_set() {
    let run = |args: &[&str]| {
        binary()
            .arg("check-config")
            .arg("--demo")
            .args(args)
            .output()
            .expect("binary runs")
    };
    let all = run(&[]);
    assert!(all.status.success());
    assert!(String::from_utf8_lossy(&all.stdout).contains("families: all queue families"));
    let some = run(&[
        "--metrics.include",
        "^genesys_queue_(waiting|agents|offered)$",
    ]);
    assert!(some.status.success(), "{some:?}");
    let text = String::from_utf8_lossy(&some.stdout);
    assert!(
        text.contains(
            "families: 3 of 32: genesys_queue_offered, genesys_queue_agents, genesys_queue_waiting"
        ),
        "{text}"
    );
    assert!(!text.contains("not polled"), "{text}");
    let none = run(&["--metrics.exclude", "^genesys_queue_(offered|answered)"]);
    let text = String::from_utf8_lossy(&none.stdout);
    assert!(text.contains("families: 30 of 32"), "{text}");
    let bad = run(&["--metrics.exclude", "(unclosed"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "--metrics.exclude (GENESYS_EXPORTER_METRICS_EXCLUDE): invalid regular expression"
        ),
        "{err}"
    );
}
