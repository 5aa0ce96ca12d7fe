//! Lint of the bundled Grafana dashboard: the real dashboard passes every rule, and a
//! deliberately broken copy is caught by each rule (so the lint cannot pass vacuously).

use serde_json::{json, Value};

use crate::util::dashboard::{all_panels, lint, DASHBOARD};
use crate::util::exported::{parse_exported, Family, EXPORTED_METRICS};
use crate::util::promql::{scan, Call};
use crate::util::read;

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).expect("dashboard is valid JSON")
}

fn exported() -> std::collections::BTreeMap<String, Family> {
    parse_exported(&read(EXPORTED_METRICS))
}

/// Lints a copy of the dashboard changed by `mutate` and asserts a problem containing `expected`.
fn assert_caught(expected: &str, mutate: impl FnOnce(&mut Value)) {
    let mut d = dashboard();
    mutate(&mut d);
    let problems = lint(&d, &exported());
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:#?}"
    );
}

/// The first non-row panel with a query whose expression contains `needle`.
fn panel_with<'a>(d: &'a mut Value, needle: &str) -> &'a mut Value {
    let (i, j) = locate(d, needle);
    match j {
        None => &mut d["panels"][i],
        Some(j) => &mut d["panels"][i]["panels"][j],
    }
}

fn locate(d: &Value, needle: &str) -> (usize, Option<usize>) {
    let has = |p: &Value| {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["expr"].as_str().unwrap_or("").contains(needle))
    };
    for (i, p) in d["panels"].as_array().expect("panels").iter().enumerate() {
        if has(p) {
            return (i, None);
        }
        for (j, c) in p["panels"].as_array().into_iter().flatten().enumerate() {
            if has(c) {
                return (i, Some(j));
            }
        }
    }
    panic!("no panel queries {needle}");
}

/// The shipped dashboard passes every lint rule.
#[test]
fn dashboard_passes_lint() {
    let problems = lint(&dashboard(), &exported());
    assert!(
        problems.is_empty(),
        "dashboard lint problems:\n{}",
        problems.join("\n")
    );
}

/// The dashboard keeps its stable uid, so links and provisioning survive updates.
#[test]
fn dashboard_uid_is_stable() {
    assert_eq!(dashboard()["uid"], "genesys-cloud-queues");
}

/// The dashboard has the required rows and charts every panel query from the exporter.
#[test]
fn dashboard_has_required_rows() {
    let d = dashboard();
    let rows: Vec<&str> = all_panels(&d)
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for prefix in [
        "Now",
        "Rolling window",
        "Trends",
        "Queues",
        "Exporter health",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(prefix)),
            "missing row {prefix}: {rows:?}"
        );
    }
    let queries = all_panels(&d)
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .count();
    assert!(queries >= 40, "only {queries} queries");
}

/// The PromQL reader finds metric names, matcher labels, ranges and enclosing aggregations.
#[test]
fn scanner_reads_selectors() {
    let s = scan(
        r#"sum by (queue) (rate(a_total{job=~"$job", code=~"5.."}[$__rate_interval])) / on (queue) group_left () b{x="{y}"} or vector(0)"#,
    )
    .expect("parses");
    assert_eq!(s.ranges, vec!["$__rate_interval"]);
    assert_eq!(s.selectors.len(), 2);
    assert_eq!(s.selectors[0].metric, "a_total");
    assert_eq!(s.selectors[0].labels, vec!["job", "code"]);
    assert_eq!(
        s.selectors[0].calls,
        vec![
            Call {
                name: "sum".into(),
                by: Some(vec!["queue".into()]),
                without: None
            },
            Call {
                name: "rate".into(),
                by: None,
                without: None
            }
        ]
    );
    assert_eq!(s.selectors[1].metric, "b");
    assert_eq!(s.selectors[1].labels, vec!["x"]);
    assert!(s.selectors[1].calls.is_empty());
}

/// A hard-coded datasource uid on a panel is caught.
#[test]
fn catches_hard_coded_datasource() {
    assert_caught("hard-coded datasource", |d| {
        d["panels"][1]["datasource"] = json!({"type": "prometheus", "uid": "P1809F7CD0C75ACF3"})
    });
}

/// An import placeholder (`__inputs`, `${DS_…}`) is caught.
#[test]
fn catches_import_placeholders() {
    assert_caught("__inputs", |d| {
        d["__inputs"] = json!([{"name": "DS_PROMETHEUS"}])
    });
    assert_caught("import placeholder", |d| {
        d["panels"][1]["targets"][0]["datasource"] = json!("${DS_PROMETHEUS}")
    });
}

/// A panel without unit or description is caught.
#[test]
fn catches_missing_unit_and_description() {
    assert_caught("unit", |d| {
        d["panels"][1]["fieldConfig"]["defaults"]["unit"] = Value::Null
    });
    assert_caught("no description", |d| {
        d["panels"][1]["description"] = json!("")
    });
}

/// A fixed rate range instead of `$__rate_interval` is caught.
#[test]
fn catches_fixed_rate_range() {
    assert_caught("range [5m]", |d| {
        let p = panel_with(d, "genesys_exporter_api_requests_total");
        let expr = p["targets"][0]["expr"]
            .as_str()
            .unwrap()
            .replace("$__rate_interval", "5m");
        p["targets"][0]["expr"] = json!(expr);
    });
}

/// A metric the exporter does not export (e.g. a counter-style name) is caught.
#[test]
fn catches_unknown_metric() {
    assert_caught("genesys_queue_offered_total is not exported", |d| {
        d["panels"][1]["targets"][0]["expr"] =
            json!(r#"sum(genesys_queue_offered_total{queue=~"$queue"})"#)
    });
}

/// A label the metric does not have is caught.
#[test]
fn catches_unknown_label() {
    assert_caught("genesys_queue_agents has no label state", |d| {
        d["panels"][1]["targets"][0]["expr"] =
            json!(r#"sum by (queue) (genesys_queue_agents{state="idle"})"#)
    });
}

/// A counter used without rate/increase is caught.
#[test]
fn catches_raw_counter() {
    assert_caught("must be inside rate", |d| {
        d["panels"][1]["targets"][0]["expr"] =
            json!(r#"sum(genesys_exporter_api_requests_total{job=~"$job"})"#)
    });
}

/// Averaging, aggregating a ratio and summing agents across queues are caught.
#[test]
fn catches_wrong_aggregation() {
    assert_caught("averaged", |d| {
        d["panels"][1]["targets"][0]["expr"] = json!("avg(genesys_queue_handle_time_seconds)")
    });
    assert_caught("ratio genesys_queue_abandon_ratio is aggregated", |d| {
        d["panels"][1]["targets"][0]["expr"] = json!("max(genesys_queue_abandon_ratio)")
    });
    assert_caught("summed across queues", |d| {
        d["panels"][1]["targets"][0]["expr"] = json!(r#"sum(genesys_queue_agents{status="idle"})"#)
    });
}

/// An undefined variable is caught.
#[test]
fn catches_undefined_variable() {
    assert_caught("undefined variable $team", |d| {
        d["panels"][1]["targets"][0]["expr"] =
            json!(r#"sum(genesys_queue_waiting{queue=~"$team"})"#)
    });
}

/// Variables that are not multi-select with "All" = `.+` are caught.
#[test]
fn catches_single_select_variable() {
    assert_caught("queue must be multi", |d| {
        let vars = d["templating"]["list"].as_array_mut().unwrap();
        let queue = vars.iter_mut().find(|v| v["name"] == "queue").unwrap();
        queue["multi"] = json!(false);
    });
}

/// Layout faults are caught: too wide, duplicate id, overlapping panels.
#[test]
fn catches_layout_faults() {
    assert_caught("x + w <= 24", |d| {
        d["panels"][1]["gridPos"]["x"] = json!(22)
    });
    assert_caught("not unique", |d| {
        d["panels"][2]["id"] = d["panels"][1]["id"].clone()
    });
    assert_caught("overlaps", |d| {
        d["panels"][2]["gridPos"] = d["panels"][1]["gridPos"].clone()
    });
}

/// The README describes every row and panel of the dashboard by its title.
#[test]
fn readme_describes_every_panel() {
    let readme = read("README.md");
    for p in all_panels(&dashboard()) {
        let title = p["title"].as_str().expect("title");
        let needle = if p["type"] == "row" {
            format!("Row: {title}")
        } else {
            format!("| {title} |")
        };
        assert!(
            readme.contains(&needle),
            "README.md does not describe {needle:?}"
        );
    }
}
