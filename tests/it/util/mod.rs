//! Helpers shared by the integration tests: a simulator on 127.0.0.1:0 and
//! HTTP calls to it, ground truth folded from the model's conversation events,
//! the client's observer and log capture, the exporter in-process and as the
//! real binary, independent parsers of its outputs, and the static checks of
//! the dashboard, the alert rules and the provisioning files, and the REST
//! truth of the real-time gauges.

pub mod alert_rules;
pub mod client;
pub mod dashboard;
pub mod exported;
pub mod exporter;
pub mod promql;
pub mod provisioning;
pub mod realtime_truth;
pub mod recorder;
pub mod report_output;
pub mod sim;
pub mod truth;

use std::path::Path;

/// Reads a file relative to the crate root.
pub fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}
