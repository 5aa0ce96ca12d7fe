//! The exported metric list (`prometheus/exported-metrics.txt`): every family the
//! exporter serves, with its type and labels, and how a series name in a query maps
//! to a family (histogram `_bucket`/`_sum`/`_count`, Prometheus's own scrape series).

use std::collections::BTreeMap;

/// Path of the exported metric list, relative to the crate root.
pub const EXPORTED_METRICS: &str = "prometheus/exported-metrics.txt";

/// Series that Prometheus itself attaches to every scrape target.
const SCRAPE_SERIES: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];
/// One metric family from the exported list.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// `counter`, `gauge` or `histogram`.
    pub kind: String,
    /// The family's own label names.
    pub labels: Vec<String>,
}

/// Parses `exported-metrics.txt`: `<name> <type> <labels|->` per line, `#` comments.
pub fn parse_exported(text: &str) -> BTreeMap<String, Family> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields.len(),
            3,
            "{EXPORTED_METRICS} line {}: expected `name type labels`: {line}",
            n + 1
        );
        assert!(
            ["counter", "gauge", "histogram"].contains(&fields[1]),
            "line {}: unknown type {}",
            n + 1,
            fields[1]
        );
        let labels = if fields[2] == "-" {
            Vec::new()
        } else {
            fields[2].split(',').map(str::to_string).collect()
        };
        let previous = out.insert(
            fields[0].to_string(),
            Family {
                kind: fields[1].to_string(),
                labels,
            },
        );
        assert!(
            previous.is_none(),
            "line {}: {} listed twice",
            n + 1,
            fields[0]
        );
    }
    out
}

/// The family a series name belongs to, with the labels it may carry and whether it is a counter.
pub fn resolve(name: &str, exported: &BTreeMap<String, Family>) -> Option<(Vec<String>, bool)> {
    if let Some(f) = exported.get(name) {
        return (f.kind != "histogram").then(|| (f.labels.clone(), f.kind == "counter"));
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(f) = name
            .strip_suffix(suffix)
            .and_then(|base| exported.get(base))
        {
            if f.kind == "histogram" {
                let mut labels = f.labels.clone();
                if suffix == "_bucket" {
                    labels.push("le".into());
                }
                return Some((labels, true));
            }
        }
    }
    SCRAPE_SERIES
        .contains(&name)
        .then(Vec::new)
        .map(|l| (l, false))
}
