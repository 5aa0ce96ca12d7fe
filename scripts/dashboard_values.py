#!/usr/bin/env python3
"""Checks that the dashboard's stat panels compute what their descriptions say: each
panel's query (variables at "All") is evaluated by Prometheus at one instant, and the
same KPI is computed here in Python from the exporter's raw series at that instant
(sums of numerators over sums of denominators per window, maxima, counts), without
using the panel's PromQL. Any difference fails.

usage: dashboard_values.py DASHBOARD PROMETHEUS_URL
"""

import json
import math
import sys
import time
from collections import defaultdict

from dashboard_queries import api_get, panel_queries, resolve_variables, substitute

SETTLED_S = 6
ON_QUEUE = {"idle", "interacting", "communicating", "not_responding"}
# Stat panel title -> metric summed per window.
WINDOW_SUMS = {
    "Offered": "genesys_queue_offered",
    "Answered": "genesys_queue_answered",
    "Abandoned": "genesys_queue_abandoned",
    "Flow-outs": "genesys_queue_flowouts",
    "Short abandons": "genesys_queue_short_abandoned",
}
# Stat panel title -> (numerator, denominator, leave out web messaging), summed per window.
WINDOW_RATIOS = {
    "Abandon rate": ("genesys_queue_abandoned", "genesys_queue_offered", True),
    "Service level": ("genesys_queue_service_level_met", "genesys_queue_service_level_eligible", False),
    "Average speed of answer": ("genesys_queue_answer_time_seconds", "genesys_queue_answered", False),
    "Average handle time": ("genesys_queue_handle_time_seconds", "genesys_queue_handled", False),
    "Average wait": ("genesys_queue_wait_time_seconds", "genesys_queue_waited", False),
    "Transfer rate": ("genesys_queue_transferred", "genesys_queue_answered", False),
}
# Stat panel title -> real-time metric summed over everything.
NOW_SUMS = {"Waiting": "genesys_queue_waiting", "Interacting": "genesys_queue_interacting",
            "Alerting": "genesys_queue_alerting"}


def raw(base, metric, at):
    """[(labels, value)] of every series of metric at instant `at`."""
    body = api_get(base, "/api/v1/query", {"query": metric, "time": at})
    return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]


def divide(num, den):
    return num / den if den else math.nan


def expected_values(base, at):
    """{panel title: {window or "": value}} computed from raw series."""
    cache = {}

    def series(metric):
        if metric not in cache:
            cache[metric] = raw(base, metric, at)
        return cache[metric]

    def per_window(metric, skip_message=False, weight=None):
        out = defaultdict(float)
        for labels, value in series(metric):
            if skip_message and labels["media_type"] == "message":
                continue
            key = (labels["instance"], labels["queue"], labels["media_type"])
            if weight is not None:
                if key not in weight:
                    continue
                value *= weight[key]
            out[labels["window"]] += value
        return out

    expected = {}
    for title, metric in WINDOW_SUMS.items():
        expected[title] = dict(per_window(metric))
    for title, (num, den, skip) in WINDOW_RATIOS.items():
        n, d = per_window(num, skip), per_window(den, skip)
        expected[title] = {w: divide(n.get(w, 0.0), d[w]) for w in d}
    targets = {(l["instance"], l["queue"], l["media_type"]): v
               for l, v in series("genesys_queue_service_level_target_ratio")}
    n = per_window("genesys_queue_service_level_eligible", weight=targets)
    d = per_window("genesys_queue_service_level_eligible", weight={k: 1.0 for k in targets})
    expected["Service level target"] = {w: divide(n.get(w, 0.0), d[w]) for w in d}
    for title, metric in NOW_SUMS.items():
        expected[title] = {"": sum(v for _, v in series(metric))}
    longest = [v for _, v in series("genesys_queue_longest_waiting_seconds")]
    expected["Longest waiting"] = {"": max(longest + [0.0] * bool(series("genesys_queue_waiting")))}
    waiting, agents = defaultdict(float), defaultdict(float)
    for labels, value in series("genesys_queue_waiting"):
        waiting[(labels["instance"], labels["queue"])] += value
    for labels, value in series("genesys_queue_agents"):
        if labels["status"] in ON_QUEUE:
            agents[(labels["instance"], labels["queue"])] += value
    expected["Queues waiting with no agent on queue"] = {
        "": float(sum(1 for q, w in waiting.items() if w > 0 and agents.get(q, 0.0) == 0))}
    return expected


def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        dashboard = json.load(f)
    base = argv[2]
    # A few scrape intervals back, so that no scrape still being stored can change the
    # data between the panel query and the raw-series queries.
    at = time.time() - SETTLED_S
    values, problems = resolve_variables(dashboard, base, at)
    expected = expected_values(base, at)
    queries = {(title, ref): expr for title, ptype, ref, expr in panel_queries(dashboard) if ptype == "stat"}
    checked = 0
    for title, want in expected.items():
        expr = queries.get((title, "A"))
        if expr is None:
            problems.append(f"no stat panel titled {title!r}")
            continue
        body = api_get(base, "/api/v1/query", {"query": substitute(expr, values), "time": at})
        got = {r["metric"].get("window", ""): float(r["value"][1]) for r in body["data"]["result"]}
        if set(got) != set(want) or not all(same(got[k], want[k]) for k in want):
            problems.append(f"{title}: panel {got} != independent {want}")
        else:
            checked += 1
            print(f"ok   {title}: {got}")
    if problems:
        for p in problems:
            print(f"dashboard_values: {p}", file=sys.stderr)
        return 1
    print(f"{checked} stat panels equal the KPIs computed independently from the raw series")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
