//! The served metric families agree with `prometheus/exported-metrics.txt`: a
//! full snapshot (window, queue-settings and real-time parts plus the
//! self-metrics, exactly what `/metrics` concatenates) is rendered, and its
//! families — names, `# TYPE` and label names — are compared with the list
//! both ways, so the list, the dashboard lint and the alert-rule checks cannot
//! drift from the code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::util::exported;

use genesys_exporter::exporter::poll_error::PollError;
use genesys_exporter::exporter::realtime::realtime_snapshot;
use genesys_exporter::exporter::render::{render_queues, render_realtime, render_windows};
use genesys_exporter::exporter::selfmetrics::SelfMetrics;
use genesys_exporter::exporter::snapshot::{
    window_snapshot, MediaInfo, QueueInfo, QueueSet, WindowTotals,
};
use genesys_exporter::exporter::state::PollKind;
use genesys_exporter::exporter::window::ResolvedWindow;
use genesys_exporter::genesys::{
    ApiObserver, Endpoint, MediaObs, ObservationSnapshot, QueueObs, RateLimitReport, RetryReason,
};
use genesys_exporter::kpi::{StatValues, Totals};

/// One queue with one media type, with data for every family.
fn queue_set() -> QueueSet {
    QueueSet::new(vec![QueueInfo {
        id: String::from("q-1"),
        name: Arc::from("Sales"),
        division: String::from("Home"),
        member_count: Some(5),
        media: vec![MediaInfo {
            media_type: Arc::from("voice"),
            sl_target: Some(0.8),
            sl_threshold_ms: Some(20_000),
        }],
    }])
}

/// Totals with something offered and eligible, so the ratios are present too.
fn totals() -> Totals {
    let mut t = Totals::default();
    let stat = |count: f64| StatValues {
        count: Some(count),
        sum: Some(count * 1_000.0),
        ..StatValues::default()
    };
    t.record("nOffered", &stat(4.0));
    t.record("tAbandon", &stat(1.0));
    let sl = StatValues {
        numerator: Some(2.0),
        denominator: Some(3.0),
        ..StatValues::default()
    };
    t.record("oServiceLevel", &sl);
    t
}

/// The text of `/metrics` with every part fresh and every self-metric touched.
fn full_snapshot() -> String {
    let set = queue_set();
    let mut by_queue = WindowTotals::new();
    by_queue.insert((String::from("q-1"), String::from("voice")), vec![totals()]);
    let windows = vec![ResolvedWindow {
        label: String::from("30m"),
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_001_800_000,
    }];
    let window_part = render_windows(&window_snapshot(&set, windows, &by_queue, |_| true));
    let observations = ObservationSnapshot {
        media: vec![MediaObs {
            queue_id: String::from("q-1"),
            media_type: String::from("voice"),
            waiting: 1,
            interacting: 2,
            alerting: 0,
            longest_waiting_ms: Some(12_000),
        }],
        queues: vec![QueueObs {
            queue_id: String::from("q-1"),
            members: Some(5),
            active: Some(4),
            on_queue: BTreeMap::from([(String::from("IDLE"), 2)]),
        }],
    };
    let realtime_part = render_realtime(&realtime_snapshot(&set, &observations, |_| true));
    let queue_part = render_queues(&set);

    let metrics = SelfMetrics::new();
    metrics.set_up(true);
    metrics.set_queues(set.len());
    metrics.request_finished(Endpoint::Aggregates, "200", Duration::from_millis(40));
    metrics.retried(Endpoint::Aggregates, RetryReason::RateLimited);
    metrics.throttled(Endpoint::Aggregates, Duration::from_secs(1));
    metrics.rate_limit_reported(&RateLimitReport {
        allowed: Some(300),
        count: Some(1),
        reset: Some(Duration::from_secs(60)),
    });
    metrics.budget_changed(120);
    metrics.chunk_size_changed(Endpoint::Observations, 200);
    for kind in PollKind::ALL {
        metrics.poll_finished(kind, Duration::from_millis(20), Ok(()));
        metrics.set_plan(kind, Some(Duration::from_secs(60)), 2.0);
    }
    let late = PollError::Deadline(Duration::from_secs(60));
    metrics.poll_finished(PollKind::Aggregates, Duration::from_secs(60), Err(&late));

    let mut text = String::new();
    for part in [&queue_part, &window_part, &realtime_part] {
        text.push_str(&part.text());
    }
    text.push_str(&String::from_utf8(metrics.render()).expect("utf8"));
    text
}

/// The label names of one sample line (`name{a="x",b="y"} 1`), honouring escapes.
fn sample_labels(line: &str) -> (String, BTreeSet<String>) {
    let name_end = line.find(['{', ' ']).expect("sample line");
    let name = line[..name_end].to_string();
    let mut labels = BTreeSet::new();
    if line[name_end..].starts_with('{') {
        let mut rest = &line[name_end + 1..];
        while !rest.starts_with('}') {
            let eq = rest.find("=\"").expect("label");
            labels.insert(rest[..eq].to_string());
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => {
                        chars.next();
                    }
                    (i, '"') => break eq + 2 + i + 1,
                    _ => {}
                }
            };
            rest = rest[end..].trim_start_matches(',');
        }
    }
    (name, labels)
}

/// The families of a text-format body: `# TYPE` per name, and every sample's
/// label names checked against the exported list as it goes.
fn served_families(
    text: &str,
    listed: &BTreeMap<String, exported::Family>,
) -> BTreeMap<String, String> {
    let mut types = BTreeMap::new();
    let mut helped = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            let previous = types.insert(name.to_string(), kind.to_string());
            assert!(previous.is_none(), "{name} served twice");
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP line");
            assert!(!help.trim().is_empty(), "{name} has an empty HELP");
            helped.insert(name.to_string());
        } else if !line.is_empty() && !line.starts_with('#') {
            let (name, labels) = sample_labels(line);
            let Some((expected, _)) = exported::resolve(&name, listed) else {
                panic!(
                    "{name} is served but not listed in {}",
                    exported::EXPORTED_METRICS
                );
            };
            let expected: BTreeSet<String> = expected.into_iter().collect();
            assert_eq!(labels, expected, "label names of {line}");
        }
    }
    assert_eq!(
        helped,
        types.keys().cloned().collect::<BTreeSet<_>>(),
        "every family has a HELP"
    );
    types
}

/// Every family the exporter serves is in the exported list with the same
/// type and label names, and every listed family is served.
#[test]
fn served_families_match_the_exported_list() {
    let path = format!(
        "{}/{}",
        env!("CARGO_MANIFEST_DIR"),
        exported::EXPORTED_METRICS
    );
    let listed = exported::parse_exported(&std::fs::read_to_string(&path).expect("read list"));
    let served = served_families(&full_snapshot(), &listed);
    // The process collector reports only on Linux.
    let platform = |n: &String| cfg!(target_os = "linux") || !n.starts_with("process_");
    let missing: Vec<&String> = listed
        .keys()
        .filter(|n| platform(n) && !served.contains_key(*n))
        .collect();
    assert!(missing.is_empty(), "listed but not served: {missing:?}");
    let extra: Vec<&String> = served.keys().filter(|n| !listed.contains_key(*n)).collect();
    assert!(extra.is_empty(), "served but not listed: {extra:?}");
    for (name, kind) in &served {
        assert_eq!(*kind, listed[name].kind, "# TYPE of {name}");
    }
}

/// The sample-line reader finds label names inside escaped values, so a
/// label name check cannot be fooled by a queue name containing `",x="`.
#[test]
fn sample_labels_honour_escapes() {
    let (name, labels) = sample_labels(r#"m{a="x\",b=\"y",c="\\"} 1"#);
    assert_eq!(name, "m");
    assert_eq!(labels, BTreeSet::from(["a".to_string(), "c".to_string()]));
    assert!(sample_labels("up 1").1.is_empty());
}
