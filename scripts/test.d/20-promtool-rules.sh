#!/usr/bin/env bash
# Everything that needs promtool: lint (fatal) of the alert rules and the example
# Prometheus config, the rule unit tests, a promtool parse of every dashboard query,
# and `promtool check metrics` on a live scrape of the exporter in --demo mode.
# The static rule checks (exported metric names, severity, annotations, runbook
# anchors) run under `cargo test` (tests/it/rules_lint.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="target/debug/genesys_exporter"
[ -x "$BIN" ] || { echo "20-promtool-rules: $BIN is missing; build it first (cargo build --bins)" >&2; exit 1; }

# shellcheck source=scripts/live-common.bash
source scripts/live-common.bash

promtool check rules --lint=all --lint-fatal prometheus/alerts.yml
promtool check config --lint=all --lint-fatal prometheus/prometheus.yml
promtool test rules prometheus/tests/*.yml

python3 scripts/dashboard_queries.py rules grafana/dashboards/genesys-cloud-queues.json >"$work/dashboard-queries.yml"
echo "dashboard queries (as recording rules):"
promtool check rules "$work/dashboard-queries.yml"

port="$(free_port)"
"$BIN" --demo --web.listen-address "127.0.0.1:${port}" \
  --poll.interval 2s --poll.observations-interval 2s --poll.queues-interval 2s \
  --window 30m,1h,today >"$work/exporter.log" 2>&1 &
pids+=("$!")
exporter="http://127.0.0.1:${port}"
python3 scripts/prometheus_checks.py wait-http "$exporter/-/ready" 120
python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
  "$exporter/metrics" >"$work/metrics.txt"
if ! report="$(promtool check metrics <"$work/metrics.txt" 2>&1)" || [ -n "$report" ]; then
  echo "20-promtool-rules: promtool check metrics found problems in a live scrape:" >&2
  echo "$report" >&2
  exit 1
fi
echo "promtool check metrics: a live scrape of --demo has no problems"
