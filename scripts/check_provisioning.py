#!/usr/bin/env python3
"""Checks the Grafana provisioning files against the dashboard and the example
Prometheus config: a Prometheus datasource whose scrape interval (timeInterval)
equals Prometheus's scrape_interval, a file dashboard provider with a path, and a
bare dashboard JSON (no {"dashboard": ...} import wrapper), which file provisioning
needs.

usage: check_provisioning.py   (run from the repository root)
"""

import json
import sys

import yaml

DATASOURCES = "grafana/provisioning/datasources/prometheus.yml"
PROVIDERS = "grafana/provisioning/dashboards/genesys.yml"
DASHBOARD = "grafana/dashboards/genesys-cloud-queues.json"
PROMETHEUS = "prometheus/prometheus.yml"


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def problems():
    out = []
    ds, prov, prom = load(DATASOURCES), load(PROVIDERS), load(PROMETHEUS)
    scrape = prom["global"]["scrape_interval"]
    jobs = {j.get("scrape_interval", scrape) for j in prom["scrape_configs"]}
    for doc, path in ((ds, DATASOURCES), (prov, PROVIDERS)):
        if doc.get("apiVersion") != 1:
            out.append(f"{path}: apiVersion must be 1")
    sources = [d for d in ds.get("datasources", []) if d.get("type") == "prometheus"]
    if len(sources) != 1:
        out.append(f"{DATASOURCES}: expected one prometheus datasource")
    elif sources[0].get("jsonData", {}).get("timeInterval") not in jobs | {scrape}:
        out.append(f"{DATASOURCES}: jsonData.timeInterval must equal the scrape interval {scrape} of {PROMETHEUS}")
    files = [p for p in prov.get("providers", []) if p.get("type") == "file"]
    if len(files) != 1 or not files[0].get("options", {}).get("path"):
        out.append(f"{PROVIDERS}: expected one file provider with options.path")
    with open(DASHBOARD, encoding="utf-8") as f:
        dash = json.load(f)
    if "dashboard" in dash or "panels" not in dash:
        out.append(f"{DASHBOARD}: must be a bare dashboard (no import wrapper)")
    return out


def main():
    found = problems()
    for p in found:
        print(f"check_provisioning: {p}", file=sys.stderr)
    if not found:
        print("check_provisioning: datasource, dashboard provider and dashboard JSON agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
