//! Property test ("fuzz target") over the queue-list, aggregates and
//! observations decoders, the conversion into snapshots and the renderers:
//! generated structured-but-hostile JSON (huge, negative, fractional and
//! out-of-range numbers, numbers spelled as strings, missing and extra
//! fields, control characters, duplicate and colliding names) is either
//! rejected as bad input or renders text the strict checker accepts, with
//! unique series and finite, non-negative queue values.
//!
//! The case count is proptest's default of 256, or `PROPTEST_CASES`.

use std::collections::HashSet;
use std::time::Instant;

use genesys_exporter::exporter::config::QueueFilter;
use genesys_exporter::exporter::ingest::queue_set;
use genesys_exporter::exporter::poll_fold::PollFold;
use genesys_exporter::exporter::realtime::realtime_snapshot;
use genesys_exporter::exporter::render::{render_queues, render_realtime, render_windows};
use genesys_exporter::exporter::served_media::ServedMedia;
use genesys_exporter::exporter::snapshot::window_snapshot;
use genesys_exporter::exporter::snapshot::WindowTotals;
use genesys_exporter::exporter::window::{PlannedQuery, QueryPlan, ResolvedWindow};
use genesys_exporter::genesys::decode::{
    queue_from_entity, series_from_responses, snapshot_from_responses, AggregateResponse,
    ObservationResponse, QueueListing,
};
use genesys_exporter::genesys::AggregateRequest;
use genesys_exporter::genesys::QueueMediaSeries;
use genesys_exporter::kpi::{Timed, Totals, AGGREGATE_METRICS};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::text_format::{check_queue_values, parse_strict};

/// 2025-01-01T00:00:00Z, the start of the one 30-minute window.
const START_MS: i64 = 1_735_689_600_000;
const END_MS: i64 = START_MS + 1_800_000;

/// A JSON value written as text by hand, so numbers can be any literal
/// (`1e400`, `-0`, 20 digits) and strings any escape (`\ud800`).
#[derive(Debug, Clone)]
enum J {
    /// Written as is.
    Raw(String),
    /// A string, escaped by serde_json.
    Str(String),
    /// An object; keys may repeat.
    Obj(Vec<(String, J)>),
    /// An array.
    Arr(Vec<J>),
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Raw(raw) => out.push_str(raw),
            J::Str(s) => out.push_str(&serde_json::to_string(s).expect("string")),
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    J::Str(k.clone()).write(out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

fn raw(s: &str) -> J {
    J::Raw(s.to_owned())
}

/// Number literals, hostile ones weighted in.
fn number() -> impl Strategy<Value = J> {
    let literal = prop_oneof![
        Just("0"),
        Just("-0"),
        Just("1"),
        Just("-1"),
        Just("2.5"),
        Just("0.5"),
        Just("-80000"),
        Just("1e308"),
        Just("1.7976931348623157e308"),
        Just("-1.7976931348623157e308"),
        Just("1e400"),
        Just("5e-324"),
        Just("9007199254740993"),
        Just("9.0e15"),
        Just("18446744073709551615"),
        Just("18446744073709551616"),
        Just("1741784651000"),
        Just("1e12"),
    ]
    .prop_map(raw);
    prop_oneof![
        4 => literal,
        2 => (0u32..100_000).prop_map(|n| J::Raw(n.to_string())),
        1 => any::<i64>().prop_map(|n| J::Raw(n.to_string())),
        1 => any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| J::Raw(format!("{f:e}"))),
    ]
}

/// A value where a number belongs: mostly numbers, sometimes nulls or the
/// wrong type ("NaN" as a string, a bool, an object).
fn numeric() -> impl Strategy<Value = J> {
    prop_oneof![
        60 => number(),
        2 => Just(raw("null")),
        1 => prop_oneof![Just("\"NaN\""), Just("\"Infinity\""), Just("true"), Just("{}"), Just("[]")]
            .prop_map(raw),
    ]
}

/// Text: plain, colliding, escaped, control characters, a lone surrogate.
fn text(pool: &'static [&'static str]) -> impl Strategy<Value = J> {
    prop_oneof![
        24 => prop::sample::select(pool).prop_map(|s| J::Str(s.to_owned())),
        8 => prop::collection::vec(any::<char>(), 0..8).prop_map(|c| J::Str(c.into_iter().collect())),
        4 => Just(J::Str(String::from("tab\tnul\u{0}esc\u{1b}cr\r\nquote\"back\\"))),
        1 => Just(raw("\"lone \\ud800 surrogate\"")),
        1 => Just(raw("42")),
    ]
}

const IDS: &[&str] = &["q1", "q2", "q3", "Dup", "q1 (q2)", ""];
const NAMES: &[&str] = &[
    "Dup",
    "Dup (q2)",
    "Dup (q2) (2)",
    "Dup (q3)",
    "Sales",
    "",
    "✓ 日本",
];
const MEDIA: &[&str] = &["voice", "chat", "email", "callback", "message", "call"];
const STATUSES: &[&str] = &[
    "IDLE",
    "INTERACTING",
    "COMMUNICATING",
    "NOT_RESPONDING",
    "idle",
];
const INTERVALS: &[&str] = &[
    "2025-01-01T00:00:00.000Z/2025-01-01T00:30:00.000Z",
    "2025-01-01T00:30:00.000Z/2025-01-01T00:00:00.000Z",
    "not an interval",
];

/// An object of optional fields, with a chance of an unknown extra field.
fn object(fields: Vec<BoxedStrategy<Option<(String, J)>>>) -> impl Strategy<Value = J> {
    (fields, prop::option::weighted(0.2, numeric())).prop_map(|(fields, extra)| {
        let mut obj: Vec<(String, J)> = fields.into_iter().flatten().collect();
        obj.extend(extra.map(|v| (String::from("unexpected"), v)));
        J::Obj(obj)
    })
}

fn field(
    key: &'static str,
    value: impl Strategy<Value = J> + 'static,
) -> BoxedStrategy<Option<(String, J)>> {
    prop::option::weighted(0.85, value)
        .prop_map(move |v| v.map(|v| (key.to_owned(), v)))
        .boxed()
}

fn list(item: impl Strategy<Value = J>, max: usize) -> impl Strategy<Value = J> {
    prop::collection::vec(item, 0..max).prop_map(J::Arr)
}

fn queue_listing() -> impl Strategy<Value = J> {
    let level = object(vec![
        field("percentage", numeric()),
        field("durationMs", numeric()),
    ]);
    let setting = prop_oneof![
        4 => object(vec![field("serviceLevel", level)]),
        1 => Just(raw("null")),
    ];
    let settings = prop::collection::vec((prop::sample::select(MEDIA), setting), 0..3)
        .prop_map(|s| J::Obj(s.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    let division = object(vec![field("id", text(IDS)), field("name", text(NAMES))]);
    let entity = object(vec![
        field("id", text(IDS)),
        field("name", text(NAMES)),
        field("division", division),
        field("memberCount", numeric()),
        field("mediaSettings", settings),
    ]);
    object(vec![field("entities", list(entity, 7))])
}

fn aggregate_response() -> impl Strategy<Value = J> {
    let stats = object(
        [
            "count",
            "sum",
            "max",
            "min",
            "numerator",
            "denominator",
            "target",
            "current",
            "ratio",
        ]
        .into_iter()
        .map(|k| {
            prop::option::weighted(0.4, numeric())
                .prop_map(move |v| v.map(|v| (k.to_owned(), v)))
                .boxed()
        })
        .collect(),
    );
    let mut names: Vec<&'static str> = AGGREGATE_METRICS.to_vec();
    names.extend(["nBogus", ""]);
    let metric = object(vec![
        field(
            "metric",
            prop::sample::select(names).prop_map(|m| J::Str(m.to_owned())),
        ),
        field("stats", stats),
    ]);
    let bucket = object(vec![
        field("interval", text(INTERVALS)),
        field("metrics", list(metric, 8)),
    ]);
    let group = object(vec![
        field("queueId", text(IDS)),
        field("mediaType", text(MEDIA)),
    ]);
    let result = object(vec![field("group", group), field("data", list(bucket, 3))]);
    object(vec![field("results", list(result, 6))])
}

fn observation_response() -> impl Strategy<Value = J> {
    let stats = object(vec![
        field("count", numeric()),
        field("calculatedMetricValue", numeric()),
    ]);
    const OBS_METRICS: &[&str] = &[
        "oWaiting",
        "oInteracting",
        "oAlerting",
        "oLongestWaiting",
        "oOnQueueUsers",
        "oMemberUsers",
    ];
    let metric = object(vec![
        field(
            "metric",
            prop::sample::select(OBS_METRICS).prop_map(|m| J::Str(m.to_owned())),
        ),
        field("qualifier", text(STATUSES)),
        field("stats", stats),
    ]);
    let group = object(vec![
        field("queueId", text(IDS)),
        prop::option::weighted(0.6, text(MEDIA))
            .prop_map(|v| v.map(|v| (String::from("mediaType"), v)))
            .boxed(),
    ]);
    let result = object(vec![field("group", group), field("data", list(metric, 6))]);
    object(vec![field("results", list(result, 6))])
}

/// One hostile poll: a queue-list page, an aggregates and an observations answer.
#[derive(Debug, Clone)]
struct Answers {
    queues: String,
    aggregates: String,
    observations: String,
}

fn answers() -> impl Strategy<Value = Answers> {
    (
        queue_listing(),
        aggregate_response(),
        observation_response(),
    )
        .prop_map(|(q, a, o)| Answers {
            queues: q.text(),
            aggregates: a.text(),
            observations: o.text(),
        })
}

/// How many bodies of each kind decoded, and series rendered, over a run:
/// shows the generator reaches past the decoders.
#[derive(Debug, Default)]
struct Tally {
    listings: usize,
    aggregates: usize,
    observations: usize,
    series: usize,
}

/// Decodes and renders one hostile poll the way the exporter does, and
/// checks the text; a body the decoder rejects contributes nothing (the
/// exporter keeps its last good part then).
fn decode_and_render(a: &Answers, tally: &mut Tally) -> Result<(), String> {
    let listing = serde_json::from_str::<QueueListing>(&a.queues);
    tally.listings += usize::from(listing.is_ok());
    let listing = listing.unwrap_or_default();
    let queues: Vec<_> = listing
        .entities
        .into_iter()
        .filter_map(queue_from_entity)
        .collect();
    let distinct_ids: HashSet<&str> = queues.iter().map(|q| q.id.as_str()).collect();
    let want_queues = distinct_ids.len();
    let ids: Vec<String> = {
        let mut ids: Vec<String> = distinct_ids.iter().map(|s| (*s).to_owned()).collect();
        ids.sort();
        ids
    };
    let plan = QueryPlan {
        windows: vec![ResolvedWindow {
            label: "30m".into(),
            start_ms: START_MS,
            end_ms: END_MS,
        }],
        queries: vec![PlannedQuery {
            request: AggregateRequest {
                start_ms: START_MS,
                end_ms: END_MS,
                granularity_ms: None,
                time_zone: None,
                scope: genesys_exporter::genesys::QueryScope::Queues(ids),
                media_types: Vec::new(),
            },
            windows: vec![0],
        }],
    };
    // As the poller does: every answer with activity marks its media as
    // served, then the queue set and the answers keep only served media.
    let mut served = ServedMedia::new(&[]);
    // The poller's path (buckets summed as decoded), checked against the
    // decoded model folded bucket by bucket whenever the model reads it.
    let folded = PollFold::from_bodies(plan.clone(), &[(0, a.aggregates.as_bytes())]);
    if let Ok(response) = serde_json::from_str::<AggregateResponse>(&a.aggregates) {
        let series = series_from_responses(&plan.queries[0].request, [response]);
        let reference = fold_series(&plan, &series);
        match &folded {
            Ok(Ok(totals)) if same_totals(totals, &reference) => {}
            other => {
                return Err(format!(
                    "fold {other:?} differs from the model {reference:?}"
                ))
            }
        }
    }
    let totals = folded.ok().and_then(Result::ok).inspect(|totals| {
        tally.aggregates += 1;
        served.note_totals(totals);
    });
    let observations = serde_json::from_str::<ObservationResponse>(&a.observations)
        .ok()
        .map(|response| {
            tally.observations += 1;
            let obs = snapshot_from_responses([response], END_MS);
            served.note_observations(&obs);
            obs
        });
    let set = queue_set(queues, &QueueFilter::default(), &served);
    let mut text = render_queues(&set).text();
    if let Some(totals) = totals {
        let totals = served.retain_totals(totals);
        let snap = window_snapshot(&set, plan.windows.clone(), &totals, |_| true);
        text.push_str(&render_windows(&snap).text());
    }
    if let Some(obs) = observations {
        let obs = served.retain_observations(&obs);
        let snap = realtime_snapshot(&set, &obs, |_| true);
        text.push_str(&render_realtime(&snap).text());
    }
    let series = parse_strict(&text).map_err(|e| format!("{e}\n{text}"))?;
    check_queue_values(&series).map_err(|e| format!("{e}\n{text}"))?;
    tally.series += series.len();
    let info = series
        .iter()
        .filter(|s| s.name == "genesys_queue_info")
        .count();
    if info != want_queues {
        return Err(format!(
            "{want_queues} distinct queue ids but {info} genesys_queue_info series"
        ));
    }
    Ok(())
}

/// Any generated hostile poll is rejected or renders valid, unique, finite,
/// non-negative text (`PROPTEST_CASES` sets the number of cases).
#[test]
fn fuzz_decoders_render_valid_text() {
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let tally = std::cell::RefCell::new(Tally::default());
    let started = Instant::now();
    let result = runner.run(&answers(), |a| {
        decode_and_render(&a, &mut tally.borrow_mut()).map_err(TestCaseError::fail)
    });
    let secs = started.elapsed().as_secs_f64();
    let t = tally.into_inner();
    eprintln!(
        "fuzz: {cases} cases in {secs:.1} s ({:.0} executions/s); decoded {} listings, {} \
         aggregates, {} observations; {} series rendered",
        f64::from(cases) / secs.max(1e-9),
        t.listings,
        t.aggregates,
        t.observations,
        t.series
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let decoded = t.listings.min(t.aggregates).min(t.observations);
    assert!(
        decoded * 4 >= cases as usize,
        "the generator must mostly produce decodable bodies: {t:?}"
    );
}

/// Every bucket of `series` merged into the plan's windows, group by group
/// (the reference the streamed fold must equal).
fn fold_series(plan: &QueryPlan, series: &[QueueMediaSeries]) -> WindowTotals {
    let mut totals = WindowTotals::new();
    for s in series {
        let entry = totals
            .entry((s.queue_id.clone(), s.media_type.clone()))
            .or_insert_with(|| vec![Totals::default(); plan.windows.len()]);
        for b in &s.buckets {
            for w in plan.windows_for_bucket(0, b.start_ms, b.end_ms) {
                entry[w].merge(&b.totals);
            }
        }
    }
    totals
}

/// Equal window totals, up to the order in which float sums were added (the
/// model merges buckets by span first): counts and bad-value reasons exactly,
/// sums and extremes to 1e-9 relative.
fn same_totals(a: &WindowTotals, b: &WindowTotals) -> bool {
    let close = |x: f64, y: f64| x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
    let close_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => close(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    let same_timed = |x: &Timed, y: &Timed| {
        x.count == y.count
            && close(x.sum_ms, y.sum_ms)
            && close_opt(x.max_ms, y.max_ms)
            && close_opt(x.min_ms, y.min_ms)
    };
    let same = |x: &Totals, y: &Totals| {
        let timed = |t: &Totals| {
            [
                t.answered,
                t.abandoned,
                t.short_abandoned,
                t.flowouts,
                t.handled,
                t.wait,
                t.talk,
                t.hold,
                t.acw,
            ]
        };
        x.bad == y.bad
            && (!x.is_valid()
                || (x.offered == y.offered
                    && x.transferred == y.transferred
                    && x.over_sla == y.over_sla
                    && close(x.sl_numerator, y.sl_numerator)
                    && close(x.sl_denominator, y.sl_denominator)
                    && x.sl_target.is_some() == y.sl_target.is_some()
                    && timed(x)
                        .iter()
                        .zip(timed(y).iter())
                        .all(|(p, q)| same_timed(p, q))))
    };
    a.len() == b.len()
        && a.iter().all(|(key, per_window)| {
            b.get(key).is_some_and(|other| {
                per_window.len() == other.len()
                    && per_window.iter().zip(other).all(|(x, y)| same(x, y))
            })
        })
}
