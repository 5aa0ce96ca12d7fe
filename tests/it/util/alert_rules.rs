//! Static checks of the alert rules that promtool does not make: every
//! expression parses and selects only metrics from
//! `prometheus/exported-metrics.txt` (or Prometheus's scrape series); every
//! alert has a unique name, a severity label (critical, warning or info) and
//! summary, description and runbook_url annotations, a summary that is one
//! static sentence ending with a period, and a runbook_url that is
//! [`RUNBOOK_BASE`]`#runbook-<alert name in lower case>`, an anchor that is a
//! heading (`Runbook: <AlertName>`) of the README.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_yaml_ng::Value;

use super::exported::{resolve, Family, EXPORTED_METRICS};
use super::promql;

/// Path of the alert rules, relative to the crate root.
pub const ALERTS: &str = "prometheus/alerts.yml";
/// Where every runbook lives.
pub const RUNBOOK_BASE: &str =
    "https://github.com/genesys-exporter/genesys_exporter/blob/main/README.md";
/// Severities an alert may carry.
const SEVERITIES: &[&str] = &["critical", "warning", "info"];
/// A Markdown ATX heading; group 1 is its text without closing hashes.
static HEADING: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^#{1,6}\s+(.*?)\s*#*\s*$").expect("valid regex"));

/// The anchor GitHub generates for a Markdown heading.
pub fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every heading anchor of a Markdown text.
pub fn anchors(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter_map(|line| HEADING.captures(line))
        .map(|caps| github_anchor(&caps[1]))
        .collect()
}

/// A YAML scalar as text ("" when absent or not a scalar).
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// Every problem found in the rules file `doc`; empty when it passes.
pub fn lint(
    doc: &Value,
    exported: &BTreeMap<String, Family>,
    anchors: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let groups = doc["groups"].as_sequence().cloned().unwrap_or_default();
    if groups.is_empty() {
        problems.push(format!("{ALERTS}: no rule groups"));
    }
    for group in &groups {
        for rule in group["rules"].as_sequence().into_iter().flatten() {
            let alert = rule.get("alert").map(|a| text(Some(a)));
            let name = alert.clone().unwrap_or_else(|| text(rule.get("record")));
            match promql::scan(&text(rule.get("expr"))) {
                Err(e) => problems.push(format!("{name}: expression does not parse: {e}")),
                Ok(scan) => {
                    let metrics: BTreeSet<&str> =
                        scan.selectors.iter().map(|s| s.metric.as_str()).collect();
                    for metric in metrics {
                        if resolve(metric, exported).is_none() {
                            problems.push(format!(
                                "{name}: metric {metric} is not in {EXPORTED_METRICS}"
                            ));
                        }
                    }
                }
            }
            if alert.is_none() {
                continue;
            }
            if !seen.insert(name.clone()) {
                problems.push(format!("{name}: alert name used twice"));
            }
            let severity = text(rule.get("labels").and_then(|l| l.get("severity")));
            if !SEVERITIES.contains(&severity.as_str()) {
                problems.push(format!(
                    "{name}: severity label must be one of {SEVERITIES:?}"
                ));
            }
            let notes = rule.get("annotations");
            let note = |key: &str| text(notes.and_then(|n| n.get(key)));
            for key in ["summary", "description", "runbook_url"] {
                if note(key).trim().is_empty() {
                    problems.push(format!("{name}: missing annotation {key}"));
                }
            }
            let summary = note("summary");
            if summary.contains("{{") || !summary.ends_with('.') {
                problems.push(format!(
                    "{name}: summary must be a static sentence ending with a period"
                ));
            }
            let anchor = format!("runbook-{}", name.to_lowercase());
            let expected = format!("{RUNBOOK_BASE}#{anchor}");
            if note("runbook_url") != expected {
                problems.push(format!("{name}: runbook_url must be {expected}"));
            }
            if !anchors.contains(&anchor) {
                problems.push(format!("{name}: no heading 'Runbook: {name}' in README.md"));
            }
        }
    }
    problems
}
