//! Lint rules for the bundled Grafana dashboard (after grafana/dashboard-linter and the
//! project's dashboard guidance): datasource only through the `datasource` variable,
//! required variables, title/description/unit on every panel, ids and grid layout,
//! rate ranges, and PromQL that uses only metrics and labels the exporter exports
//! (the list in `prometheus/exported-metrics.txt`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value;

use super::exported::{resolve, Family, EXPORTED_METRICS};
use super::promql;

/// Path of the dashboard, relative to the crate root.
pub const DASHBOARD: &str = "grafana/dashboards/genesys-cloud-queues.json";

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];
/// Units a panel may declare (a subset of Grafana's unit ids).
const UNITS: &[&str] = &[
    "short",
    "none",
    "percent",
    "percentunit",
    "s",
    "ms",
    "dtdurations",
    "dthms",
    "cpm",
    "reqps",
    "ops",
    "bytes",
    "bool",
    "bool_yes_no",
    "bool_on_off",
];
/// Ranges a query may use in brackets.
const RANGES: &[&str] = &["$__rate_interval", "$__range"];
/// Grafana's built-in variables that queries may use.
const BUILTIN_VARIABLES: &[&str] = &["__rate_interval", "__range", "__interval"];
/// A Grafana variable reference: `$name` or `${name}`.
static VARIABLE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\$\{?(\w+)").expect("valid regex"));
/// A `label_values(selector, label)` variable query.
static LABEL_VALUES: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^\s*label_values\((?:(.+),)?\s*(\w+)\s*\)\s*$").expect("valid regex")
});
/// Variables every dashboard must offer, as multi-select with an "All" of `.+`.
const REQUIRED_VARIABLES: &[&str] = &["queue", "media_type", "window"];

/// Problems with one PromQL expression used in `place`.
pub fn lint_expr(
    place: &str,
    expr: &str,
    variables: &BTreeSet<String>,
    exported: &BTreeMap<String, Family>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let scan = match promql::scan(expr) {
        Ok(scan) => scan,
        Err(e) => return vec![format!("{place}: does not parse: {e}")],
    };
    for range in &scan.ranges {
        if !RANGES.contains(&range.as_str()) {
            problems.push(format!(
                "{place}: range [{range}] must be [$__rate_interval] (or [$__range])"
            ));
        }
    }
    for var in VARIABLE.captures_iter(expr) {
        if !variables.contains(&var[1]) && !BUILTIN_VARIABLES.contains(&&var[1]) {
            problems.push(format!("{place}: undefined variable ${}", &var[1]));
        }
    }
    for sel in &scan.selectors {
        let Some((labels, counter)) = resolve(&sel.metric, exported) else {
            problems.push(format!(
                "{place}: metric {} is not exported ({EXPORTED_METRICS})",
                sel.metric
            ));
            continue;
        };
        for label in &sel.labels {
            if !labels.contains(label)
                && !TARGET_LABELS.contains(&label.as_str())
                && label != "__name__"
            {
                problems.push(format!("{place}: {} has no label {label}", sel.metric));
            }
        }
        let inner = sel.calls.last().map(|c| c.name.as_str()).unwrap_or("");
        if counter && (sel.range.is_none() || !["rate", "irate", "increase"].contains(&inner)) {
            problems.push(format!(
                "{place}: counter {} must be inside rate/irate/increase(...[$__rate_interval])",
                sel.metric
            ));
        }
        for call in &sel.calls {
            if call.name == "avg" || call.name.starts_with("avg_") {
                problems.push(format!(
                    "{place}: {} is averaged; divide sums instead",
                    sel.metric
                ));
            }
            let aggregates = AGGREGATOR_NAMES.contains(&call.name.as_str());
            if aggregates
                && sel.metric.ends_with("_ratio")
                && !sel.metric.ends_with("_target_ratio")
            {
                problems.push(format!(
                    "{place}: ratio {} is aggregated; divide summed numerators and denominators",
                    sel.metric
                ));
            }
            let keeps_queue = call
                .by
                .as_ref()
                .map(|b| b.iter().any(|l| l == "queue"))
                .or_else(|| {
                    call.without
                        .as_ref()
                        .map(|w| !w.iter().any(|l| l == "queue"))
                })
                .unwrap_or(false);
            if sel.metric == "genesys_queue_agents" && call.name == "sum" && !keeps_queue {
                problems.push(format!("{place}: genesys_queue_agents summed across queues (agents belong to several queues)"));
            }
        }
    }
    problems
}

const AGGREGATOR_NAMES: &[&str] = &[
    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile",
];

/// Every panel, rows' nested panels included.
pub fn all_panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

fn walk_datasources(value: &Value, path: &str, problems: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{path}/{key}");
                if key == "datasource" {
                    let ok = child == &Value::String("${datasource}".into())
                        || (child["uid"] == "${datasource}" && child["type"] == "prometheus");
                    if !ok {
                        problems.push(format!("{here}: hard-coded datasource {child}; use {{\"type\":\"prometheus\",\"uid\":\"${{datasource}}\"}}"));
                    }
                }
                walk_datasources(child, &here, problems);
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| walk_datasources(v, &format!("{path}/{i}"), problems)),
        Value::String(s) if s.contains("${DS_") => {
            problems.push(format!("{path}: import placeholder {s}"))
        }
        _ => {}
    }
}

fn lint_variables(
    dashboard: &Value,
    exported: &BTreeMap<String, Family>,
    names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    let vars: Vec<&Value> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ds: Vec<&&Value> = vars.iter().filter(|v| v["type"] == "datasource").collect();
    if ds.len() != 1 || ds[0]["name"] != "datasource" || ds[0]["query"] != "prometheus" {
        problems.push("templating: need exactly one datasource variable named datasource with query prometheus".into());
    }
    for required in REQUIRED_VARIABLES {
        match vars.iter().find(|v| v["name"] == *required) {
            None => problems.push(format!("templating: missing variable {required}")),
            Some(v) => {
                if v["multi"] != true
                    || v["includeAll"] != true
                    || v["allValue"] != ".+"
                    || v["refresh"] != 2
                {
                    problems.push(format!("templating: {required} must be multi, includeAll, allValue \".+\", refresh 2"));
                }
            }
        }
    }
    for v in vars.iter().filter(|v| v["type"] == "query") {
        let place = format!("variable {}", v["name"]);
        if v.get("datasource").is_none() {
            problems.push(format!("{place}: no datasource"));
        }
        let query = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        let Some(caps) = LABEL_VALUES.captures(query) else {
            problems.push(format!("{place}: query must be label_values(...): {query}"));
            continue;
        };
        let Some(selector) = caps.get(1).map(|m| m.as_str()) else {
            continue;
        };
        problems.extend(lint_expr(&place, selector, names, exported));
        let scan = promql::scan(selector).unwrap_or_default();
        if let Some(sel) = scan.selectors.first() {
            let labels = resolve(&sel.metric, exported)
                .map(|(l, _)| l)
                .unwrap_or_default();
            if !labels.contains(&caps[2].to_string()) && !TARGET_LABELS.contains(&&caps[2]) {
                problems.push(format!("{place}: {} has no label {}", sel.metric, &caps[2]));
            }
        }
    }
}

fn lint_layout(panels: &[&Value], problems: &mut Vec<String>) {
    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(String, i64, i64, i64, i64)> = Vec::new();
    for p in panels {
        let title = p["title"].as_str().unwrap_or("?").to_string();
        if !p["id"].is_i64() || !ids.insert(p["id"].as_i64()) {
            problems.push(format!(
                "panel {title}: id {} missing or not unique",
                p["id"]
            ));
        }
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_i64().unwrap_or(-1));
        if x < 0 || y < 0 || w < 1 || h < 1 || x + w > 24 {
            problems.push(format!(
                "panel {title}: gridPos {g} must have x >= 0, w >= 1, h >= 1 and x + w <= 24"
            ));
        }
        if p["type"] == "row" && (w != 24 || h != 1) {
            problems.push(format!("row {title}: gridPos must be w 24, h 1"));
        }
        for (other, ox, oy, ow, oh) in &boxes {
            if x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h {
                problems.push(format!("panel {title}: overlaps panel {other}"));
            }
        }
        boxes.push((title, x, y, w, h));
    }
}

/// Every problem found in the dashboard; empty when it passes.
pub fn lint(dashboard: &Value, exported: &BTreeMap<String, Family>) -> Vec<String> {
    let mut problems = Vec::new();
    let uid = dashboard["uid"].as_str().unwrap_or("");
    if uid.is_empty()
        || uid.len() > 40
        || !uid
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "uid {uid:?} must be a stable lowercase id of at most 40 characters"
        ));
    }
    for key in ["__inputs", "__requires"] {
        if dashboard.get(key).is_some() {
            problems.push(format!("{key} only works through the import UI; remove it"));
        }
    }
    if !dashboard["id"].is_null() {
        problems.push("id must be null".into());
    }
    walk_datasources(dashboard, "", &mut problems);
    let names: BTreeSet<String> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    lint_variables(dashboard, exported, &names, &mut problems);
    let panels = all_panels(dashboard);
    lint_layout(&panels, &mut problems);
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let title = p["title"].as_str().unwrap_or("");
        if title.trim().is_empty() {
            problems.push(format!("panel id {}: no title", p["id"]));
        }
        if p["description"].as_str().unwrap_or("").trim().is_empty() {
            problems.push(format!("panel {title}: no description"));
        }
        let unit = p["fieldConfig"]["defaults"]["unit"].as_str().unwrap_or("");
        if !UNITS.contains(&unit) {
            problems.push(format!(
                "panel {title}: unit {unit:?} is missing or not one of {UNITS:?}"
            ));
        }
        if p.get("datasource").is_none() {
            problems.push(format!("panel {title}: no datasource"));
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("panel {title}: no queries"));
        }
        let mut refs = BTreeSet::new();
        for t in &targets {
            let place = format!("panel {title} query {}", t["refId"]);
            if !refs.insert(t["refId"].to_string()) {
                problems.push(format!("{place}: duplicate refId"));
            }
            match t["expr"].as_str() {
                Some(expr) if !expr.trim().is_empty() => {
                    problems.extend(lint_expr(&place, expr, &names, exported))
                }
                _ => problems.push(format!("{place}: empty expr")),
            }
        }
    }
    problems
}
