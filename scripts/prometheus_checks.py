#!/usr/bin/env python3
"""Helpers for the live Prometheus tests (scripts/test.d/50-prometheus-live.sh and
55-prometheus-tls.sh).
Every wait is bounded; every address is the one given (the script passes loopback).

  prometheus_checks.py config SRC DEST TARGET INTERVAL
      write DEST: the example config SRC with TARGET as the only exporter target, every
      interval set to INTERVAL and rule files made absolute (relative to SRC); prints
      the job name
  prometheus_checks.py wait-http URL TIMEOUT_S
      wait until URL answers 200
  prometheus_checks.py wait-scrapes PROMETHEUS JOB COUNT TIMEOUT_S
      wait until every target of JOB is up and has been scraped COUNT times
  prometheus_checks.py target-down PROMETHEUS JOB ERROR_PART TIMEOUT_S
      wait until every target of JOB is down with ERROR_PART in its last scrape error
  prometheus_checks.py wait-value PROMETHEUS QUERY VALUE TIMEOUT_S
      wait until QUERY returns at least one series and every one equals VALUE
  prometheus_checks.py rules PROMETHEUS TIMEOUT_S
      wait until every rule group has been evaluated; fail unless every rule is healthy
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

HTTP_TIMEOUT_S = 10
POLL_S = 1.0


def get(url, params=None):
    """(status, body bytes) of a GET; status 0 when nothing answered."""
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def api(base, path, params=None):
    """Decoded "data" of a Prometheus API answer, or None."""
    status, body = get(base.rstrip("/") + path, params)
    if status != 200:
        return None
    doc = json.loads(body)
    return doc.get("data") if doc.get("status") == "success" else None


def until(what, timeout_s, probe):
    """Call probe() every POLL_S until it returns a true value or timeout_s passes."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(POLL_S)
    raise SystemExit(f"prometheus_checks: timed out after {timeout_s:.0f}s waiting for {what}")


def write_config(src, dest, target, interval):
    with open(src, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(src))
    config["rule_files"] = [os.path.join(base, r) for r in config.get("rule_files", [])]
    config.setdefault("global", {}).update({"scrape_interval": interval, "evaluation_interval": interval})
    jobs = config["scrape_configs"]
    if len(jobs) != 1:
        raise SystemExit(f"prometheus_checks: expected one scrape job in {src}, found {len(jobs)}")
    jobs[0].update({"scrape_interval": interval, "scrape_timeout": interval,
                    "static_configs": [{"targets": [target]}]})
    with open(dest, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    print(f"prometheus config: job {jobs[0]['job_name']} -> {target}, interval {interval}, "
          f"rules {config['rule_files']}", file=sys.stderr)
    print(jobs[0]["job_name"])


def wait_scrapes(base, job, count, timeout_s):
    def probe():
        data = api(base, "/api/v1/query", {"query": f'count_over_time(up{{job="{job}"}}[10m])'})
        targets = api(base, "/api/v1/targets", {"state": "active"})
        if not data or not targets:
            return False
        mine = [t for t in targets["activeTargets"] if t["labels"].get("job") == job]
        up = mine and all(t["health"] == "up" for t in mine)
        scrapes = min(float(r["value"][1]) for r in data["result"]) if data["result"] else 0
        return up and scrapes >= count and (mine, scrapes)
    mine, scrapes = until(f"{count} successful scrapes of job {job}", timeout_s, probe)
    for t in mine:
        print(f"target {t['scrapeUrl']}: health {t['health']}, {scrapes:.0f} scrapes, last error {t['lastError']!r}")


def target_down(base, job, error_part, timeout_s):
    def probe():
        targets = api(base, "/api/v1/targets", {"state": "active"})
        if not targets:
            return False
        mine = [t for t in targets["activeTargets"] if t["labels"].get("job") == job]
        down = mine and all(t["health"] == "down" and error_part in t["lastError"] for t in mine)
        return down and mine
    for t in until(f"job {job} to be down with {error_part!r}", timeout_s, probe):
        print(f"target {t['scrapeUrl']} ({job}): health {t['health']}, last error {t['lastError']!r}")


def wait_value(base, query, expected, timeout_s):
    def probe():
        data = api(base, "/api/v1/query", {"query": query})
        values = [float(r["value"][1]) for r in data["result"]] if data else []
        return values and all(v == float(expected) for v in values) and values
    values = until(f"{query} == {expected}", timeout_s, probe)
    print(f"{query}: {values}")


def check_rules(base, timeout_s):
    def probe():
        data = api(base, "/api/v1/rules")
        if not data or not data["groups"]:
            return False
        rules = [r for g in data["groups"] for r in g["rules"]]
        evaluated = all(g["lastEvaluation"] and not g["lastEvaluation"].startswith("0001") for g in data["groups"])
        return evaluated and rules
    rules = until("every rule group to be evaluated", timeout_s, probe)
    bad = [r for r in rules if r.get("health") != "ok"]
    for r in rules:
        print(f"rule {r.get('name')}: health {r.get('health')}, state {r.get('state', '-')}"
              + (f", error {r.get('lastError')}" if r.get("lastError") else ""))
    if bad:
        raise SystemExit(f"prometheus_checks: {len(bad)} of {len(rules)} rules unhealthy")
    print(f"all {len(rules)} rules healthy")


def main(argv):
    cmd, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if cmd == "config" and len(args) == 4:
        write_config(*args)
    elif cmd == "wait-http" and len(args) == 2:
        until(f"{args[0]} to answer 200", float(args[1]), lambda: get(args[0])[0] == 200)
        print(f"{args[0]}: 200")
    elif cmd == "wait-scrapes" and len(args) == 4:
        wait_scrapes(args[0], args[1], int(args[2]), float(args[3]))
    elif cmd == "target-down" and len(args) == 4:
        target_down(args[0], args[1], args[2], float(args[3]))
    elif cmd == "wait-value" and len(args) == 4:
        wait_value(args[0], args[1], args[2], float(args[3]))
    elif cmd == "rules" and len(args) == 2:
        check_rules(args[0], float(args[1]))
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
