//! The `report` command as users run it: the real binary against a simulator
//! on 127.0.0.1, checked against ground truth computed from the simulator's
//! own conversation events, in all three formats, with its request count and
//! its exit statuses.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use crate::util::client::{closed_port, run_binary_async, DEMO_ID, DEMO_SECRET};
use crate::util::report_output::{parse_csv, parse_json_rows, Scalar};
use crate::util::sim::start_sim;
use crate::util::truth::Tally;
use genesys_exporter::report::rows::COLUMNS;
use genesys_exporter::simulator::{SimConfig, SimEndpoint, SimHandle, SlOptions};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A range of `days` ending two hours ago on an hour boundary: fully in the past.
fn past_range(days: i64) -> (i64, i64) {
    let now = jiff::Timestamp::now().as_millisecond();
    let end = now - now.rem_euclid(HOUR) - 2 * HOUR;
    (end - days * DAY, end)
}

fn rfc3339(ms: i64) -> String {
    genesys_exporter::timefmt::format_instant(ms)
}

async fn report(sim_base: &str, args: &[&str], secret: &str) -> Output {
    let mut all = vec![
        "report".to_string(),
        "--genesys.api-url".to_string(),
        sim_base.to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut env = vec![("GENESYS_CLIENT_SECRET".to_string(), secret.to_string())];
    if !args.contains(&"--genesys.client-id") {
        env.push(("GENESYS_CLIENT_ID".to_string(), DEMO_ID.to_string()));
    }
    run_binary_async(all, env).await
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "report failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

type JsonRow = BTreeMap<String, Scalar>;

/// The JSON rows with exact numbers, after checking the output is valid JSON.
fn json_rows(out: &Output) -> Vec<JsonRow> {
    let text = stdout(out);
    serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    parse_json_rows(&text)
}

fn key_of(r: &JsonRow) -> (String, String) {
    (
        r["queue"].str().to_string(),
        r["media_type"].str().to_string(),
    )
}

fn count_of(r: &JsonRow, k: &str) -> i64 {
    let n = r[k].num().expect("a number");
    assert!(n >= 0.0 && n.fract() == 0.0, "{k} is a count");
    n as i64
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// One clear line on stderr, no panic or backtrace, the given exit status.
fn assert_one_line_failure(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

/// Every row of a 9-day report split into 3 chunks equals the KPIs computed
/// independently from the simulator's conversation events, and no queue ×
/// media type with data is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_matches_ground_truth() {
    let sim = start_sim(SimConfig::default()).await;
    let (from, to) = past_range(9);
    let out = report(
        &sim.base_url(),
        &[
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--max-interval",
            "4d",
            "--format",
            "json",
        ],
        DEMO_SECRET,
    )
    .await;
    let rows = json_rows(&out);
    let model = sim.model();
    let options = model.service_level_options();
    let kpi_metrics = genesys_exporter::kpi::AGGREGATE_METRICS;
    let mut expected = BTreeMap::new();
    for q in model.queues() {
        for m in &q.media {
            let truth = Tally::compute(&model, &q.id, &m.media_type, from, to);
            if kpi_metrics.iter().any(|k| truth.count(k) > 0) {
                expected.insert(
                    (q.name.clone(), m.media_type.clone()),
                    (q.id.clone(), truth),
                );
            }
        }
    }
    assert!(expected.len() > 20, "the default org has traffic");
    let got: BTreeSet<(String, String)> = rows.iter().map(key_of).collect();
    assert_eq!(got, expected.keys().cloned().collect::<BTreeSet<_>>());
    for row in &rows {
        let key = key_of(row);
        let (id, t) = &expected[&key];
        assert_eq!(row["queue_id"].str(), id.as_str());
        assert_eq!(count_of(row, "offered"), t.count("nOffered"), "{key:?}");
        assert_eq!(count_of(row, "answered"), t.count("tAnswered"), "{key:?}");
        assert_eq!(count_of(row, "abandoned"), t.count("tAbandon"), "{key:?}");
        assert_eq!(
            count_of(row, "transferred"),
            t.count("nTransferred"),
            "{key:?}"
        );
        assert_eq!(count_of(row, "flowouts"), t.count("tFlowOut"), "{key:?}");
        let exact = |k: &str, want: Option<f64>| {
            assert_eq!(row[k].num(), want, "{k} of {key:?}");
            assert_eq!(row[k] == Scalar::Null, want.is_none(), "{k} of {key:?}");
        };
        exact(
            "abandon_ratio",
            ratio(t.count("tAbandon"), t.count("nOffered")),
        );
        exact("asa_seconds", t.mean_seconds("tAnswered"));
        exact("aht_seconds", t.mean_seconds("tHandle"));
        exact("avg_wait_seconds", t.mean_seconds("tWait"));
        exact("service_level_ratio", t.service_level_ratio(&options));
    }
    let have: BTreeSet<&str> = rows[0].keys().map(String::as_str).collect();
    assert_eq!(
        have,
        COLUMNS.iter().map(|c| c.key).collect::<BTreeSet<_>>(),
        "exactly the documented keys"
    );
    let order: Vec<(String, String)> = rows.iter().map(key_of).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "sorted by queue then media type");
    assert_eq!(
        options,
        SlOptions::default(),
        "the formula above is checked against the default options"
    );
    sim.shutdown().await;
}

/// Queue names with quotes, backslashes and non-Latin scripts come out intact
/// in JSON, in RFC 4180 CSV and in the table, and the three formats agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_names_render_in_every_format() {
    let sim = start_sim(SimConfig::default()).await;
    let (from, to) = past_range(2);
    let names: Vec<String> = sim
        .model()
        .queues()
        .into_iter()
        .map(|q| q.name)
        .filter(|n| n.contains('"') || n.contains('\\') || !n.is_ascii() || n.contains('&'))
        .collect();
    assert!(
        names.len() >= 3,
        "the simulator has awkward names: {names:?}"
    );
    let mut args = vec![
        "--from".to_string(),
        rfc3339(from),
        "--to".to_string(),
        rfc3339(to),
    ];
    for n in &names {
        args.push("--queue".into());
        args.push(n.clone());
    }
    let run = |format: &'static str| {
        let mut a: Vec<String> = args.clone();
        a.push("--format".into());
        a.push(format.into());
        let base = sim.base_url();
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            report(&base, &refs, DEMO_SECRET).await
        }
    };
    let rows = json_rows(&run("json").await);
    let json_names: BTreeSet<&str> = rows.iter().map(|r| r["queue"].str()).collect();
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(json_names, wanted);

    let csv = parse_csv(&stdout(&run("csv").await));
    assert_eq!(csv[0], COLUMNS.map(|c| c.key.to_string()).to_vec());
    assert_eq!(csv.len(), rows.len() + 1);
    for (line, row) in csv[1..].iter().zip(&rows) {
        assert_eq!(line.len(), COLUMNS.len());
        for (i, column) in COLUMNS.iter().map(|c| c.key).enumerate() {
            let want = match &row[column] {
                Scalar::Str(s) => s.clone(),
                Scalar::Num(n) => n.to_string(),
                Scalar::Null => String::new(),
            };
            assert_eq!(line[i], want, "{column}");
        }
    }

    let table = stdout(&run("table").await);
    for row in &rows {
        let (name, media) = (row["queue"].str(), row["media_type"].str());
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(name) && l[name.len()..].trim_start().starts_with(media)),
            "{name} / {media} not in:\n{table}"
        );
    }
    sim.shutdown().await;
}

async fn count_report(sim: &SimHandle, extra: &[&str]) -> (u64, u64, u64) {
    let control = sim.control();
    control.reset_counts();
    let (from, to) = past_range(3);
    let mut args = vec![
        "--from",
        "",
        "--to",
        "",
        "--max-interval",
        "1d",
        "--format",
        "csv",
    ];
    let (f, t) = (rfc3339(from), rfc3339(to));
    args[1] = &f;
    args[3] = &t;
    args.extend_from_slice(extra);
    stdout(&report(&sim.base_url(), &args, DEMO_SECRET).await);
    (
        control.request_count(SimEndpoint::Token),
        control.request_count(SimEndpoint::Queues),
        control.request_count(SimEndpoint::Aggregates),
    )
}

/// A 3-day report on 250 queues with a 1-day maximum interval costs exactly
/// 1 token + ceil(250/100) pages + ceil(250/100) × 3 queries; selecting one
/// queue cuts the queries to 1 × 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_request_count_is_minimal() {
    let sim = start_sim(SimConfig {
        queues: 250,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(count_report(&sim, &[]).await, (1, 3, 9));
    let one = sim.model().queues()[0].name.clone();
    assert_eq!(count_report(&sim, &["--queue", &one]).await, (1, 3, 3));
    sim.shutdown().await;
}

/// Bad credentials, a missing permission, an unreachable API and bad
/// arguments each exit non-zero with one clear line and no secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_exit_with_one_clear_line() {
    let sim = start_sim(SimConfig::default()).await;
    let base = sim.base_url();

    let out = report(&base, &["--window", "1d"], "not-the-secret-42").await;
    assert_one_line_failure(&out, 3, "client credentials");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-the-secret-42"));

    sim.control()
        .add_client("queues-only", "pw-queues", &["routing:queue:view"]);
    let out = report(
        &base,
        &["--window", "1d", "--genesys.client-id", "queues-only"],
        "pw-queues",
    )
    .await;
    assert_one_line_failure(
        &out,
        3,
        "missing permission analytics:conversationAggregate:view",
    );

    let dead = format!("http://127.0.0.1:{}", closed_port());
    let out = report(
        &dead,
        &["--window", "1d", "--api.max-retries", "1"],
        DEMO_SECRET,
    )
    .await;
    assert_one_line_failure(&out, 4, "cannot reach the Genesys API at 127.0.0.1");

    let out = report(&base, &["--time-zone", "Nowhere/Land"], DEMO_SECRET).await;
    assert_one_line_failure(&out, 2, "--time-zone");
    let out = report(&base, &["--window", "1d"], "").await;
    assert_one_line_failure(&out, 2, "GENESYS_CLIENT_SECRET");
    let out = report(
        &base,
        &["--window", "1d", "--queue", "No such queue*"],
        DEMO_SECRET,
    )
    .await;
    assert_one_line_failure(&out, 2, "no queue matches --queue");
    let out = report(&base, &["--media-type", "call"], DEMO_SECRET).await;
    assert_one_line_failure(&out, 2, "voice");
    sim.shutdown().await;
}
