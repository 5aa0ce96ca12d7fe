//! Static checks of `prometheus/alerts.yml` beyond promtool: the real rules
//! pass, and a deliberately broken copy is caught by each check (so the checks
//! cannot pass vacuously).

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use crate::util::alert_rules::{anchors, github_anchor, lint, ALERTS, RUNBOOK_BASE};
use crate::util::exported::{parse_exported, Family, EXPORTED_METRICS};
use crate::util::read;

fn rules() -> Value {
    serde_yaml_ng::from_str(&read(ALERTS)).expect("alert rules are valid YAML")
}

fn exported() -> BTreeMap<String, Family> {
    parse_exported(&read(EXPORTED_METRICS))
}

fn readme_anchors() -> BTreeSet<String> {
    anchors(&read("README.md"))
}

/// The first alerting rule of the rules file.
fn first_alert(doc: &mut Value) -> &mut Value {
    let rules = doc["groups"][0]["rules"]
        .as_sequence_mut()
        .expect("a rule list");
    rules
        .iter_mut()
        .find(|r| r.get("alert").is_some())
        .expect("an alert in the first group")
}

/// Checks a copy of the rules changed by `mutate` and asserts a problem containing `expected`.
fn assert_caught(expected: &str, mutate: impl FnOnce(&mut Value)) {
    let mut doc = rules();
    mutate(&mut doc);
    let problems = lint(&doc, &exported(), &readme_anchors());
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:#?}"
    );
}

/// The bundled alert rules pass every check.
#[test]
fn alert_rules_pass_checks() {
    let doc = rules();
    let problems = lint(&doc, &exported(), &readme_anchors());
    assert!(
        problems.is_empty(),
        "alert rule problems:\n{}",
        problems.join("\n")
    );
    let alerts = doc["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
        .filter(|r| r.get("alert").is_some())
        .count();
    assert!(alerts >= 10, "only {alerts} alerts");
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
#[test]
fn anchors_follow_github() {
    assert_eq!(
        github_anchor(" Runbook: GenesysExporterDown "),
        "runbook-genesysexporterdown"
    );
    assert_eq!(
        github_anchor("Tests and benchmarks"),
        "tests-and-benchmarks"
    );
    let found = anchors("# Top\n##### Runbook: AlertA ##\ntext # not a heading\n");
    assert_eq!(
        found,
        BTreeSet::from(["top".to_string(), "runbook-alerta".to_string()])
    );
}

/// An expression selecting a metric the exporter does not serve is caught,
/// and so is one that does not parse.
#[test]
fn catches_unknown_metric_and_bad_expression() {
    assert_caught("metric genesys_queue_offered_total is not in", |d| {
        first_alert(d)["expr"] = Value::from("sum(genesys_queue_offered_total) > 0");
    });
    assert_caught("does not parse", |d| {
        first_alert(d)["expr"] = Value::from("sum(genesys_up > ");
    });
}

/// A missing or unknown severity is caught.
#[test]
fn catches_bad_severity() {
    assert_caught("severity label", |d| {
        first_alert(d)["labels"]["severity"] = Value::from("page");
    });
}

/// A missing annotation and a templated or unfinished summary are caught.
#[test]
fn catches_bad_annotations() {
    assert_caught("missing annotation description", |d| {
        first_alert(d)["annotations"]["description"] = Value::from("");
    });
    assert_caught("static sentence", |d| {
        first_alert(d)["annotations"]["summary"] = Value::from("Queue {{ $labels.queue }} is bad.");
    });
    assert_caught("static sentence", |d| {
        first_alert(d)["annotations"]["summary"] = Value::from("No period");
    });
}

/// A runbook_url that is not the alert's README anchor is caught, and so is
/// an alert without a runbook heading.
#[test]
fn catches_bad_runbook() {
    assert_caught("runbook_url must be", |d| {
        first_alert(d)["annotations"]["runbook_url"] =
            Value::from(format!("{RUNBOOK_BASE}#runbook"));
    });
    assert_caught("no heading 'Runbook: GenesysNoSuchAlert'", |d| {
        let a = first_alert(d);
        a["alert"] = Value::from("GenesysNoSuchAlert");
        a["annotations"]["runbook_url"] =
            Value::from(format!("{RUNBOOK_BASE}#runbook-genesysnosuchalert"));
    });
}

/// An alert name used twice is caught.
#[test]
fn catches_duplicate_alert() {
    assert_caught("alert name used twice", |d| {
        let rules = d["groups"][0]["rules"].as_sequence_mut().expect("rules");
        let copy = rules
            .iter()
            .find(|r| r.get("alert").is_some())
            .cloned()
            .expect("an alert");
        rules.push(copy);
    });
}
