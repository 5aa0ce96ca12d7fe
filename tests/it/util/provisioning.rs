//! Checks of the Grafana provisioning files against the dashboard and the
//! example Prometheus config: a Prometheus datasource whose scrape interval
//! (`timeInterval`) equals Prometheus's `scrape_interval`, one file dashboard
//! provider with a path, and a bare dashboard JSON (no `{"dashboard": …}`
//! import wrapper), which file provisioning needs.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

/// The datasource provisioning file, relative to the crate root.
pub const DATASOURCES: &str = "grafana/provisioning/datasources/prometheus.yml";
/// The dashboard provider file, relative to the crate root.
pub const PROVIDERS: &str = "grafana/provisioning/dashboards/genesys.yml";
/// The example Prometheus config, relative to the crate root.
pub const PROMETHEUS: &str = "prometheus/prometheus.yml";

/// The four files the check reads, parsed.
#[derive(Debug, Clone)]
pub struct Files {
    /// [`DATASOURCES`].
    pub datasources: Value,
    /// [`PROVIDERS`].
    pub providers: Value,
    /// [`PROMETHEUS`].
    pub prometheus: Value,
    /// The dashboard JSON.
    pub dashboard: serde_json::Value,
}

fn items<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    doc.get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
}

/// Every problem found; empty when the files agree.
pub fn lint(files: &Files) -> Vec<String> {
    let mut problems = Vec::new();
    let scrape = files.prometheus["global"]["scrape_interval"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut intervals: BTreeSet<String> = items(&files.prometheus, "scrape_configs")
        .map(|job| {
            job["scrape_interval"]
                .as_str()
                .unwrap_or(&scrape)
                .to_string()
        })
        .collect();
    intervals.insert(scrape.clone());
    for (doc, path) in [
        (&files.datasources, DATASOURCES),
        (&files.providers, PROVIDERS),
    ] {
        if doc["apiVersion"].as_u64() != Some(1) {
            problems.push(format!("{path}: apiVersion must be 1"));
        }
    }
    let sources: Vec<&Value> = items(&files.datasources, "datasources")
        .filter(|d| d["type"].as_str() == Some("prometheus"))
        .collect();
    match sources.as_slice() {
        [one] => {
            let interval = one["jsonData"]["timeInterval"].as_str().unwrap_or("");
            if !intervals.contains(interval) {
                problems.push(format!(
                    "{DATASOURCES}: jsonData.timeInterval must equal the scrape interval {scrape} of {PROMETHEUS}"
                ));
            }
        }
        _ => problems.push(format!("{DATASOURCES}: expected one prometheus datasource")),
    }
    let providers: Vec<&Value> = items(&files.providers, "providers")
        .filter(|p| p["type"].as_str() == Some("file"))
        .collect();
    let has_path = |p: &Value| !p["options"]["path"].as_str().unwrap_or("").is_empty();
    if providers.len() != 1 || !has_path(providers[0]) {
        problems.push(format!(
            "{PROVIDERS}: expected one file provider with options.path"
        ));
    }
    if files.dashboard.get("dashboard").is_some() || files.dashboard.get("panels").is_none() {
        problems.push(format!(
            "{}: must be a bare dashboard (no import wrapper)",
            super::dashboard::DASHBOARD
        ));
    }
    problems
}
