#!/usr/bin/env bash
# Grafana provisioning files: a Prometheus datasource whose scrape interval matches
# prometheus/prometheus.yml, a file dashboard provider, a bare dashboard JSON. The
# checks are Rust tests (tests/it/provisioning_lint.rs), which plain `cargo test`
# also runs; this runs just them.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --locked --test it -- provisioning_lint
