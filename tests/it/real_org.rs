//! The end-to-end ground-truth check against every real-org variant of the
//! simulator: whatever way the org answers (clock-aligned buckets, refused
//! granularities, all five media in every queue, refused metrics, the
//! `real-org` preset), every served queue × media × window value equals the
//! truth folded from the simulator's event log, nothing is NaN, exactly the
//! served rows exist and `genesys_up` is 1 after the first polls.
//!
//! Adding a variant is one line in `case!` (with its `///` sentence); what
//! the exporter must report (refused metrics, absent families, a granularity
//! fallback) follows from the variants.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::util::exporter::*;
use crate::util::truth::{close, expected_window, Tally};
use genesys_exporter::simulator::{
    BucketAlignment, MediaSettingsMode, NextUri, Preset, SimConfig, TrafficProfile, Variants,
};

const UP_TIMEOUT: Duration = Duration::from_secs(120);
const WINDOWS: [&str; 3] = ["30m", "1h", "today"];
/// How far back the exporter looks for the media a queue serves.
const LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// The queue list is read once: its 7-day lookback is the costly query.
const FLAGS: &[&str] = &[
    "--poll.interval",
    "2s",
    "--poll.observations-interval",
    "2s",
    "--poll.queues-interval",
    "1h",
    "--window",
    "30m,1h,today",
];

/// The Genesys metrics each window family is built from (README, "Window
/// gauges"): a refused metric makes the families reading it absent.
const SOURCES: [(&str, &[&str]); 21] = [
    ("genesys_queue_offered", &["nOffered"]),
    ("genesys_queue_answered", &["tAnswered"]),
    ("genesys_queue_abandoned", &["tAbandon"]),
    ("genesys_queue_short_abandoned", &["tShortAbandon"]),
    ("genesys_queue_flowouts", &["tFlowOut"]),
    ("genesys_queue_transferred", &["nTransferred"]),
    ("genesys_queue_handled", &["tHandle"]),
    ("genesys_queue_answer_time_seconds", &["tAnswered"]),
    ("genesys_queue_handle_time_seconds", &["tHandle"]),
    ("genesys_queue_wait_time_seconds", &["tWait"]),
    ("genesys_queue_waited", &["tWait"]),
    ("genesys_queue_talk_time_seconds", &["tTalkComplete"]),
    ("genesys_queue_talked", &["tTalkComplete"]),
    ("genesys_queue_hold_time_seconds", &["tHeldComplete"]),
    ("genesys_queue_held", &["tHeldComplete"]),
    ("genesys_queue_acw_time_seconds", &["tAcw"]),
    ("genesys_queue_wrapped_up", &["tAcw"]),
    ("genesys_queue_service_level_met", &["oServiceLevel"]),
    ("genesys_queue_service_level_eligible", &["oServiceLevel"]),
    ("genesys_queue_abandon_ratio", &["tAbandon", "nOffered"]),
    ("genesys_queue_service_level_ratio", &["oServiceLevel"]),
];

/// The metrics queue observations may ask for; every other refused metric
/// is an aggregates metric.
const OBSERVATION_METRICS: [&str; 7] = [
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oMemberUsers",
    "oActiveUsers",
    "oOnQueueUsers",
];

/// Default variants changed by `f`.
fn variants(f: impl FnOnce(&mut Variants)) -> Variants {
    let mut v = Variants::default();
    f(&mut v);
    v
}

/// Default variants refusing `metric`.
fn refusing(metric: &str) -> Variants {
    variants(|v| v.reject_metrics = vec![metric.to_owned()])
}

/// One test per variant: `case! { /// what it proves \n name: variants; }`.
macro_rules! case {
    ($($(#[$doc:meta])* $name:ident: $variants:expr;)*) => {$(
        $(#[$doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            check($variants).await;
        }
    )*};
}

case! {
    /// Buckets aligned to clock multiples of the granularity.
    real_org_bucket_alignment_clock: variants(|v| v.bucket_alignment = BucketAlignment::Clock);
    /// Only hourly and daily granularities: the shared `PT30M` query is refused.
    real_org_granularities: variants(|v| v.granularities = Some(vec!["PT1H".into(), "P1D".into()]));
    /// Every queue lists all five media and observations answer every group.
    real_org_media_settings_all: variants(|v| v.media_settings = MediaSettingsMode::All);
    /// The `real-org` preset with a relative `nextUri`.
    real_org_preset_relative_next_uri: Variants { next_uri: NextUri::Relative, ..Variants::preset(Preset::RealOrg) };
    /// The whole `real-org` preset, absolute `nextUri` links included.
    real_org_preset: Variants::preset(Preset::RealOrg);
    /// Absolute `nextUri` links on the API host.
    real_org_next_uri_absolute: variants(|v| v.next_uri = NextUri::Absolute);
    /// No `nextUri` at all: paging by page number.
    real_org_next_uri_none: variants(|v| v.next_uri = NextUri::None);
    /// Predicate limits below the org size: both endpoints shrink their chunks.
    real_org_predicate_limits: variants(|v| {
        v.aggregates_max_predicates = Some(2);
        v.observations_max_predicates = Some(3);
    });
    /// `oLongestWaiting` refused by observations: the oldest waiting detail stands in.
    real_org_reject_longest_waiting: refusing("oLongestWaiting");
    /// `tShortAbandon` refused by aggregates: only its own gauge is absent.
    real_org_reject_short_abandon: refusing("tShortAbandon");
    /// `oAlerting` refused by observations: only its own gauge is absent.
    real_org_reject_alerting: refusing("oAlerting");
}

/// Runs the simulator with `variants` and the exporter against it, and
/// checks the first complete scrape against ground truth.
async fn check(variants: Variants) {
    let refused: Vec<(&str, String)> = variants
        .reject_metrics
        .iter()
        .map(|m| {
            let kind = if OBSERVATION_METRICS.contains(&m.as_str()) {
                "observations"
            } else {
                "aggregates"
            };
            (kind, m.clone())
        })
        .collect();
    let absent: Vec<&str> = SOURCES
        .iter()
        .filter(|(_, sources)| {
            sources
                .iter()
                .any(|s| refused.iter().any(|(k, m)| *k == "aggregates" && m == s))
        })
        .map(|(family, _)| *family)
        .collect();
    // The windows 30m and 1h share one PT30M query unless it is refused.
    let falls_back = variants
        .granularities
        .as_ref()
        .is_some_and(|g| !g.iter().any(|g| g == "PT30M"));
    let org = SimConfig {
        queues: 5,
        traffic_scale: 2.0,
        traffic_profile: TrafficProfile::Flat,
        variants,
        ..SimConfig::default()
    };
    let sim = start_roomy_sim(org).await;
    let exporter = Exporter::start(FLAGS, client_for(&sim)).await;
    let samples = wait_for_up(&exporter.base, 1.0, UP_TIMEOUT).await;
    let model = sim.model();

    let mut windows = Vec::new();
    for label in WINDOWS {
        let at = |family| value(&samples, family, &[("window", label)]).expect(family);
        let start = at("genesys_window_start_timestamp_seconds");
        let end = at("genesys_window_end_timestamp_seconds");
        windows.push((label, (start * 1000.0) as i64, (end * 1000.0) as i64));
    }
    let end = windows[0].2;

    // Served: media with an offered interaction in the 7 days before the windows end.
    let mut served = BTreeSet::new();
    for q in model.queues() {
        for m in &q.media {
            let week = Tally::compute(&model, &q.id, &m.media_type, end - LOOKBACK_MS, end);
            if week.count("nOffered") > 0 {
                served.insert((q.name.clone(), m.media_type.clone()));
            }
        }
    }
    assert!(!served.is_empty(), "the simulated org has traffic");

    let mut expected_rows = BTreeSet::new();
    let mut checked = 0;
    for q in model.queues() {
        for m in q
            .media
            .iter()
            .filter(|m| served.contains(&(q.name.clone(), m.media_type.clone())))
        {
            for &(label, start, end) in &windows {
                expected_rows.insert((q.name.clone(), m.media_type.clone(), label.to_owned()));
                let labels = [
                    ("queue", q.name.as_str()),
                    ("media_type", m.media_type.as_str()),
                    ("window", label),
                ];
                for (family, want) in expected_window(&model, &q.id, &m.media_type, start, end) {
                    let want = if absent.contains(&family) { None } else { want };
                    let got = value(&samples, family, &labels);
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
    assert!(checked > 100, "checked {checked} values");

    let rows = |family: &str| -> BTreeSet<(String, String, String)> {
        named(&samples, family)
            .iter()
            .map(|s| {
                let l = |n| s.label(n).to_owned();
                (l("queue"), l("media_type"), l("window"))
            })
            .collect()
    };
    assert_eq!(
        rows("genesys_queue_offered"),
        expected_rows,
        "exactly the served rows"
    );
    let pairs = |family: &str| -> BTreeSet<(String, String)> {
        named(&samples, family)
            .iter()
            .map(|s| {
                (
                    s.label("queue").to_owned(),
                    s.label("media_type").to_owned(),
                )
            })
            .collect()
    };
    for (family, source) in [
        ("genesys_queue_service_level_target_ratio", ""),
        ("genesys_queue_service_level_threshold_seconds", ""),
        ("genesys_queue_waiting", "oWaiting"),
        ("genesys_queue_interacting", "oInteracting"),
        ("genesys_queue_alerting", "oAlerting"),
    ] {
        if refused.iter().any(|(_, m)| m == source) {
            assert!(
                pairs(family).is_empty(),
                "{family}: absent without {source}"
            );
        } else {
            assert_eq!(pairs(family), served, "{family}: served media only");
        }
    }
    for s in &samples {
        assert!(s.value.is_finite(), "non-finite sample {s:?}");
    }

    for kind in ["aggregates", "observations"] {
        for s in named(&samples, "genesys_exporter_unsupported_metric")
            .into_iter()
            .filter(|s| s.label("query") == kind)
        {
            let is_refused = refused
                .iter()
                .any(|(k, m)| *k == kind && m == s.label("metric"));
            assert_eq!(s.value, f64::from(u8::from(is_refused)), "{s:?}");
        }
    }
    for (kind, metric) in &refused {
        let labels = [("query", *kind), ("metric", metric.as_str())];
        assert_eq!(
            value(&samples, "genesys_exporter_unsupported_metric", &labels),
            Some(1.0)
        );
    }
    if refused.iter().any(|(_, m)| m == "oLongestWaiting") {
        // The oldest oWaiting detail stands in: the gauge exists for every
        // served row, 0 exactly where nothing waits.
        assert_eq!(pairs("genesys_queue_longest_waiting_seconds"), served);
        let mut waited = 0;
        for s in named(&samples, "genesys_queue_longest_waiting_seconds") {
            let labels = [
                ("queue", s.label("queue")),
                ("media_type", s.label("media_type")),
            ];
            let waiting = value(&samples, "genesys_queue_waiting", &labels).expect("waiting");
            assert!(s.value >= 0.0, "{s:?}");
            if waiting == 0.0 {
                assert_eq!(s.value, 0.0, "{s:?}");
            } else {
                waited += 1;
            }
        }
        assert!(waited > 0, "something waits in the busy org");
    }
    let fallbacks = value(
        &samples,
        "genesys_exporter_granularity_fallbacks_total",
        &[],
    )
    .expect("fallback counter");
    if falls_back {
        assert!(fallbacks >= 1.0, "the refused granularity was counted");
    }
    exporter.stop().await;
    sim.shutdown().await;
}
