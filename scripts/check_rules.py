#!/usr/bin/env python3
"""Static checks of the alert rules that promtool does not make:

- every metric an expression selects is in prometheus/exported-metrics.txt (or is a
  Prometheus scrape series such as up);
- every alert has a severity label (critical, warning or info) and summary, description
  and runbook_url annotations, a summary that is one sentence ending with a period;
- every runbook_url is RUNBOOK_BASE + "#runbook-<alert name in lower case>" and that
  anchor is a heading ("Runbook: <AlertName>") in one of the given Markdown files.

usage: check_rules.py RULES_YML EXPORTED_METRICS_TXT MARKDOWN...
"""

import re
import sys

import yaml

from promql_names import is_exported, load_exported, metric_names

RUNBOOK_BASE = "https://github.com/genesys-exporter/genesys_exporter/blob/main/README.md"
SEVERITIES = {"critical", "warning", "info"}


def github_anchor(heading):
    """The anchor GitHub generates for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(paths):
    """Every heading anchor in the given Markdown files."""
    out = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if match:
                    out.add(github_anchor(match.group(1)))
    return out


def check(rules_path, exported_path, markdown):
    """The problems found; empty when the rules pass."""
    with open(rules_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    exported = load_exported(exported_path)
    known_anchors = anchors(markdown)
    problems, seen = [], set()
    for group in doc["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            for metric in sorted(metric_names(rule["expr"])):
                if not is_exported(metric, exported):
                    problems.append(f"{name}: metric {metric} is not in {exported_path}")
            if "alert" not in rule:
                continue
            if name in seen:
                problems.append(f"{name}: alert name used twice")
            seen.add(name)
            if rule.get("labels", {}).get("severity") not in SEVERITIES:
                problems.append(f"{name}: severity label must be one of {sorted(SEVERITIES)}")
            notes = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not str(notes.get(key, "")).strip():
                    problems.append(f"{name}: missing annotation {key}")
            summary = str(notes.get("summary", ""))
            if "{{" in summary or not summary.endswith("."):
                problems.append(f"{name}: summary must be a static sentence ending with a period")
            expected = f"{RUNBOOK_BASE}#runbook-{name.lower()}"
            if notes.get("runbook_url") != expected:
                problems.append(f"{name}: runbook_url must be {expected}")
            if f"runbook-{name.lower()}" not in known_anchors:
                problems.append(f"{name}: no heading 'Runbook: {name}' in {', '.join(markdown)}")
    return problems


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = check(argv[1], argv[2], argv[3:])
    for p in problems:
        print(f"check_rules: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_rules: {argv[1]} passes (metric names, labels, annotations, runbook anchors)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
