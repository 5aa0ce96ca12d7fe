#!/usr/bin/env bash
# Grafana provisioning files: a Prometheus datasource whose scrape interval matches
# prometheus/prometheus.yml, a file dashboard provider, a bare dashboard JSON.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 scripts/check_provisioning.py
