#!/usr/bin/env bash
# The deployment files under deploy/, proven offline (no cluster, no Docker engine):
# - Kubernetes: the generated PrometheusRule and dashboard ConfigMap equal their
#   sources; `kubectl kustomize` renders the base and the example overlay; every
#   core object validates against the Kubernetes schemas (kubernetes-validate,
#   strict), the ServiceMonitor and PrometheusRule against the prometheus-operator
#   CRD schemas; probes, ports, selectors, security context, secret mount and the
#   scrape job agree; the rule passes promtool; the overlay's web config loads.
# - compose: the file validates against the compose specification schema, its
#   mounts exist, Prometheus's config passes promtool, Grafana's provisioning
#   leads to the dashboard file.
# - systemd: `systemd-analyze verify` accepts the unit (with the built binary in
#   ExecStart) without a warning, `systemd-analyze security` rates its hardening
#   at most 2.0 ("OK"), and ExecStart + check-config exits 0 in the unit's
#   environment (EnvironmentFile, Environment, the LoadCredential directory);
#   under systemd-socket-activate the exporter serves on both passed sockets.
# Installs kubectl (Debian's kubernetes-client), systemd-analyze (Debian's
# systemd) and promtool where missing; the Python tools come from .venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
apt_updated=""
need_deb() { # need_deb COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need_deb kubectl kubernetes-client
need_deb systemd-analyze systemd
need_deb promtool prometheus
need_deb openssl openssl
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; PATH="$PWD/.venv/bin:$PATH"; else PY=python3; fi
for tool in check-jsonschema; do
  command -v "$tool" >/dev/null || { echo "60-deploy: $tool missing: pip install -r scripts/requirements.txt" >&2; exit 1; }
done
kubectl version --client 2>/dev/null | head -2 || true

BIN="$PWD/target/debug/genesys_exporter"
[ -x "$BIN" ] || cargo build --locked --quiet --bin genesys_exporter

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== kubernetes"
"$PY" deploy/kubernetes/generate.py --check
echo "generated PrometheusRule and dashboard ConfigMap equal their sources"
"$PY" deploy/checks/check_deploy.py kubernetes
# The overlay's web config, with its certificate paths pointed at a test certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=genesys-exporter \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1
sed "s|/etc/genesys-exporter/tls/|$tmp/|" deploy/kubernetes/overlays/example/web-config.yml >"$tmp/web-config.yml"
promtool check web-config "$tmp/web-config.yml"
"$BIN" check-config --demo --web.config.file "$tmp/web-config.yml" >/dev/null
echo "overlay web config: promtool and the exporter's check-config accept it"

echo "== compose"
check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/compose.yaml
"$PY" deploy/checks/check_deploy.py compose

echo "== systemd"
unit="$tmp/genesys_exporter.service"
sed "s|^ExecStart=/usr/local/bin/genesys_exporter|ExecStart=$BIN|" deploy/systemd/genesys_exporter.service >"$unit"
cp deploy/systemd/genesys_exporter.socket "$tmp/"
grep -q "^ExecStart=$BIN" "$unit" || { echo "60-deploy: ExecStart not found in the unit" >&2; exit 1; }
# verify prints a line for every problem (unknown keys are only warnings): any output fails.
if ! out="$(systemd-analyze verify "$unit" "$tmp/genesys_exporter.socket" 2>&1)" || [ -n "$out" ]; then
  echo "60-deploy: systemd-analyze verify: $out" >&2
  exit 1
fi
echo "systemd-analyze verify: service and socket units accepted"
systemd-analyze security --offline=yes --threshold=20 "$unit" | tail -1
"$PY" deploy/checks/check_deploy.py systemd "$BIN"
# Socket activation through the same protocol systemd uses (LISTEN_FDS).
"$PY" deploy/checks/check_deploy.py socket "$BIN"
