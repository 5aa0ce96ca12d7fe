//! The Grafana provisioning files agree with the dashboard and the example
//! Prometheus config, and a deliberately broken copy of each is caught.

use crate::util::dashboard::DASHBOARD;
use crate::util::provisioning::{lint, Files, DATASOURCES, PROMETHEUS, PROVIDERS};
use crate::util::read;
use serde_yaml_ng::Value;

fn files() -> Files {
    let yaml = |path: &str| -> Value {
        serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    Files {
        datasources: yaml(DATASOURCES),
        providers: yaml(PROVIDERS),
        prometheus: yaml(PROMETHEUS),
        dashboard: serde_json::from_str(&read(DASHBOARD)).expect("dashboard is valid JSON"),
    }
}

/// Checks copies changed by `mutate` and asserts a problem containing `expected`.
fn assert_caught(expected: &str, mutate: impl FnOnce(&mut Files)) {
    let mut f = files();
    mutate(&mut f);
    let problems = lint(&f);
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:#?}"
    );
}

/// The datasource, the dashboard provider and the dashboard JSON agree.
#[test]
fn provisioning_files_agree() {
    let problems = lint(&files());
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
}

/// A datasource scrape interval other than Prometheus's is caught.
#[test]
fn catches_wrong_time_interval() {
    assert_caught("timeInterval must equal the scrape interval", |f| {
        f.datasources["datasources"][0]["jsonData"]["timeInterval"] = Value::from("1m");
    });
}

/// A second Prometheus datasource and a wrong apiVersion are caught.
#[test]
fn catches_bad_datasource_file() {
    assert_caught("expected one prometheus datasource", |f| {
        let list = f.datasources["datasources"]
            .as_sequence_mut()
            .expect("datasources");
        list.push(list[0].clone());
    });
    assert_caught("apiVersion must be 1", |f| {
        f.datasources["apiVersion"] = Value::from(2);
    });
}

/// A file provider without a path is caught.
#[test]
fn catches_provider_without_path() {
    assert_caught("expected one file provider with options.path", |f| {
        f.providers["providers"][0]["options"]["path"] = Value::from("");
    });
}

/// A dashboard wrapped for the import UI is caught.
#[test]
fn catches_import_wrapper() {
    assert_caught("must be a bare dashboard", |f| {
        f.dashboard = serde_json::json!({ "dashboard": f.dashboard.clone() });
    });
}
