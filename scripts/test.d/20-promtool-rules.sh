#!/usr/bin/env bash
# Alert rules and the example Prometheus config: promtool lint (fatal), config check
# and rule unit tests; static rule checks (exported metric names, severity,
# annotations, runbook anchors); a promtool parse of every dashboard query.
set -euo pipefail
cd "$(dirname "$0")/../.."

promtool check rules --lint=all --lint-fatal prometheus/alerts.yml
promtool check config --lint=all --lint-fatal prometheus/prometheus.yml
promtool test rules prometheus/tests/*.yml
# Every alert's runbook_url points at a "Runbook: <alert>" heading in README.md.
python3 scripts/check_rules.py prometheus/alerts.yml prometheus/exported-metrics.txt README.md

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 scripts/dashboard_queries.py rules grafana/dashboards/genesys-cloud-queues.json >"$tmp/dashboard-queries.yml"
echo "dashboard queries (as recording rules):"
promtool check rules "$tmp/dashboard-queries.yml"
