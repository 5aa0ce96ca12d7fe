#!/usr/bin/env bash
# --web.config.file against a real Prometheus: a test CA, a server certificate
# and a client certificate are made with openssl; promtool accepts the web config
# file in the exporter-toolkit format; the exporter (--demo) serves it with TLS,
# required client certificates and basic auth; Prometheus scrapes it over HTTPS
# with its own tls_config and basic_auth (target up), while a job with the wrong
# password is refused with 401.
# Everything listens on 127.0.0.1; every wait is bounded; processes stop on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="target/debug/genesys_exporter"
[ -x "$BIN" ] || { echo "55-prometheus-tls: $BIN is missing; build it first (cargo build --bins)" >&2; exit 1; }
# bcrypt (cost 10) of "scrape-me", as `htpasswd -nBC 10 prometheus` would print it.
HASH='$2y$10$DPIyBWQdEj3kRAFw7.uBN.OxG3N9T3ez4RwBzvH1C8Gsm.XjjafxG'

# shellcheck source=scripts/live-common.bash
source scripts/live-common.bash

# A CA, a server certificate for 127.0.0.1 and a client certificate for Prometheus.
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec_key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj "/CN=genesys_exporter test CA" -days 2 \
  -out "$work/ca.crt" 2>/dev/null
issue() { # name subject extensions
  ec_key "$work/$1.key"
  openssl req -new -key "$work/$1.key" -subj "$2" -out "$work/$1.csr" 2>/dev/null
  printf '%b' "$3" >"$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/$1.ext" -out "$work/$1.crt" 2>/dev/null
}
issue server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
issue client "/CN=prometheus" "extendedKeyUsage=clientAuth\n"

cat >"$work/web-config.yml" <<YAML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: '$HASH'
YAML
promtool check web-config "$work/web-config.yml"
"$BIN" check-config --demo --web.config.file "$work/web-config.yml"

exporter_port="$(free_port)"
"$BIN" --demo --web.listen-address "127.0.0.1:${exporter_port}" --web.config.file "$work/web-config.yml" \
  --poll.interval 5s --poll.observations-interval 5s >"$work/exporter.log" 2>&1 &
pids+=("$!")

scrape_job() { # name password
  cat <<YAML
  - job_name: $1
    scheme: https
    scrape_interval: 2s
    scrape_timeout: 2s
    basic_auth:
      username: prometheus
      password: $2
    tls_config:
      ca_file: $work/ca.crt
      cert_file: $work/client.crt
      key_file: $work/client.key
    static_configs:
      - targets: ['127.0.0.1:${exporter_port}']
YAML
}
{
  echo "scrape_configs:"
  scrape_job genesys-exporter-tls scrape-me
  scrape_job genesys-exporter-wrong-password not-the-password
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null

prometheus_port="$(free_port)"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:${prometheus_port}" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=("$!")
prom="http://127.0.0.1:${prometheus_port}"
python3 scripts/prometheus_checks.py wait-http "$prom/-/ready" 60
python3 scripts/prometheus_checks.py wait-scrapes "$prom" genesys-exporter-tls 3 120
python3 scripts/prometheus_checks.py target-down "$prom" genesys-exporter-wrong-password 401 60
python3 scripts/prometheus_checks.py wait-value "$prom" 'genesys_up{job="genesys-exporter-tls"}' 1 120
echo "55-prometheus-tls: Prometheus scrapes the exporter over mutual TLS with basic auth; a wrong password is refused"
