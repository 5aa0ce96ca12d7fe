//! The end-to-end ground-truth check against every real-org variant of the
//! simulator: whatever way the org answers (clock-aligned buckets, refused
//! granularities, all five media in every queue, refused metrics, the
//! `real-org` preset), every served queue × media × window value equals the
//! truth folded from the simulator's event log, nothing is NaN, exactly the
//! served rows exist and `genesys_up` is 1 after the first polls.
//!
//! Adding a variant is one `case!` line.

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

/// One variant of the matrix: how the org answers, and which refused
/// metric (query kind, metric) the exporter must report.
struct Case {
    variants: Variants,
    refused: Option<(&'static str, &'static str)>,
    /// Window families the refused metric makes absent.
    absent: &'static [&'static str],
    /// True when the variant must make the exporter split its shared query.
    falls_back: bool,
}

fn variants(f: impl FnOnce(&mut Variants)) -> Variants {
    let mut v = Variants::default();
    f(&mut v);
    v
}

macro_rules! case {
    ($(#[$doc:meta])* $name:ident, $case:expr) => {
        $(#[$doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            check($case).await;
        }
    };
}

case!(
    /// Buckets aligned to clock multiples of the granularity.
    real_org_bucket_alignment_clock,
    Case {
        variants: variants(|v| v.bucket_alignment = BucketAlignment::Clock),
        refused: None,
        absent: &[],
        falls_back: false,
    }
);
case!(
    /// Only hourly and daily granularities accepted: the shared `PT30M` query
    /// is refused and the windows are queried one at a time.
    real_org_granularities,
    Case {
        variants: variants(|v| v.granularities = Some(vec!["PT1H".into(), "P1D".into()])),
        refused: None,
        absent: &[],
        falls_back: true,
    }
);
case!(
    /// Every queue lists all five media and observations answer every group.
    real_org_media_settings_all,
    Case {
        variants: variants(|v| v.media_settings = MediaSettingsMode::All),
        refused: None,
        absent: &[],
        falls_back: false,
    }
);
case!(
    /// The `real-org` preset with a relative `nextUri`.
    real_org_preset_relative_next_uri,
    Case {
        variants: Variants {
            next_uri: NextUri::Relative,
            ..Variants::preset(Preset::RealOrg)
        },
        refused: None,
        absent: &[],
        falls_back: false,
    }
);
case!(
    /// `oLongestWaiting` refused by observations.
    real_org_reject_longest_waiting,
    Case {
        variants: variants(|v| v.reject_metrics = vec!["oLongestWaiting".into()]),
        refused: Some(("observations", "oLongestWaiting")),
        absent: &[],
        falls_back: false,
    }
);
case!(
    /// `tShortAbandon` refused by aggregates: only its own gauge is absent.
    real_org_reject_short_abandon,
    Case {
        variants: variants(|v| v.reject_metrics = vec!["tShortAbandon".into()]),
        refused: Some(("aggregates", "tShortAbandon")),
        absent: &["genesys_queue_short_abandoned"],
        falls_back: false,
    }
);

async fn check(case: Case) {
    let org = SimConfig {
        queues: 5,
        traffic_scale: 2.0,
        traffic_profile: TrafficProfile::Flat,
        variants: case.variants,
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
                    let want = if case.absent.contains(&family) {
                        None
                    } else {
                        want
                    };
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
    for family in [
        "genesys_queue_service_level_target_ratio",
        "genesys_queue_service_level_threshold_seconds",
        "genesys_queue_waiting",
        "genesys_queue_interacting",
        "genesys_queue_alerting",
    ] {
        assert_eq!(pairs(family), served, "{family}: served media only");
    }
    for s in &samples {
        assert!(s.value.is_finite(), "non-finite sample {s:?}");
    }

    for kind in ["aggregates", "observations"] {
        for s in named(&samples, "genesys_exporter_unsupported_metric")
            .into_iter()
            .filter(|s| s.label("query") == kind)
        {
            let refused = case.refused == Some((kind, s.label("metric")));
            assert_eq!(s.value, f64::from(u8::from(refused)), "{s:?}");
        }
    }
    if let Some((kind, metric)) = case.refused {
        let labels = [("query", kind), ("metric", metric)];
        assert_eq!(
            value(&samples, "genesys_exporter_unsupported_metric", &labels),
            Some(1.0)
        );
    }
    if case.refused == Some(("observations", "oLongestWaiting")) {
        // Without the metric the age of a waiting interaction is unknown: the
        // gauge says 0 only where nothing waits.
        for s in named(&samples, "genesys_queue_longest_waiting_seconds") {
            let labels = [
                ("queue", s.label("queue")),
                ("media_type", s.label("media_type")),
            ];
            assert_eq!(s.value, 0.0, "{s:?}");
            assert_eq!(
                value(&samples, "genesys_queue_waiting", &labels),
                Some(0.0),
                "{s:?}"
            );
        }
    }
    let fallbacks = value(
        &samples,
        "genesys_exporter_granularity_fallbacks_total",
        &[],
    )
    .expect("fallback counter");
    if case.falls_back {
        assert!(fallbacks >= 1.0, "the refused granularity was counted");
    }
    exporter.stop().await;
    sim.shutdown().await;
}
