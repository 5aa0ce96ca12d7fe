#!/usr/bin/env bash
# Live proof against a real Prometheus: the exporter runs in --demo mode (embedded
# simulator) and Debian's Prometheus scrapes it with a config derived from
# prometheus/prometheus.yml (alert rules included). Then:
#   - the exporter target is up and has been scraped several times (that /metrics
#     serves exactly the families of prometheus/exported-metrics.txt is a cargo test);
#   - every dashboard variable query finds values and every panel query returns
#     status success with at least one series (variables set to "All");
#   - the stat panels' values equal the same KPIs computed in Python from the raw
#     series (sums over sums, never averaged ratios);
#   - every alert rule loads and evaluates healthy.
# Everything listens on 127.0.0.1; every wait is bounded; both processes are
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="target/debug/genesys_exporter"
DASHBOARD="grafana/dashboards/genesys-cloud-queues.json"
SCRAPE_INTERVAL="2s"
[ -x "$BIN" ] || { echo "50-prometheus-live: $BIN is missing; build it first (cargo build --bins)" >&2; exit 1; }

# shellcheck source=scripts/live-common.bash
source scripts/live-common.bash

exporter_port="$(free_port)"
"$BIN" --demo --web.listen-address "127.0.0.1:${exporter_port}" \
  --poll.interval 5s --poll.observations-interval 5s >"$work/exporter.log" 2>&1 &
pids+=("$!")
exporter="http://127.0.0.1:${exporter_port}"
python3 scripts/prometheus_checks.py wait-http "$exporter/-/ready" 120

prometheus_port="$(free_port)"
job="$(python3 scripts/prometheus_checks.py config prometheus/prometheus.yml "$work/prometheus.yml" \
  "127.0.0.1:${exporter_port}" "$SCRAPE_INTERVAL")"
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:${prometheus_port}" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=("$!")
prom="http://127.0.0.1:${prometheus_port}"
python3 scripts/prometheus_checks.py wait-http "$prom/-/ready" 60
python3 scripts/prometheus_checks.py wait-scrapes "$prom" "$job" 6 120

python3 scripts/dashboard_queries.py check "$DASHBOARD" "$prom"
python3 scripts/dashboard_values.py "$DASHBOARD" "$prom"
python3 scripts/prometheus_checks.py rules "$prom" 60
echo "50-prometheus-live: exporter, Prometheus, rules and every dashboard query check out"
