#!/usr/bin/env python3
"""Every query of the Grafana dashboard, with its variables substituted as Grafana
does for "All", listed or run against a Prometheus server.

  dashboard_queries.py rules DASHBOARD          print the panel and variable queries as a
                                                Prometheus rules file (for promtool check rules)
  dashboard_queries.py check DASHBOARD URL      resolve every variable through URL's label API,
                                                run every panel query (instant, and range for
                                                time series) and fail unless each one succeeds
                                                and returns at least one series

Substitution: $__rate_interval -> 1m, $__range -> 5m, $__interval -> 15s. A multi-value
variable set to "All" becomes its allValue (".+") or, without one, the regex alternation
of the values its own query found, escaped as Grafana's Prometheus data source does.
Standard library only.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BUILTINS = {"__rate_interval": "1m", "__range": "5m", "__interval": "15s"}
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>[a-zA-Z_]\w*)\s*\)\s*$", re.S)
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
HTTP_TIMEOUT_S = 20


def panels(dashboard):
    """Every panel, rows' nested panels included, in dashboard order."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard):
    """(panel title, panel type, refId, expr) for every panel target."""
    out = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            out.append((panel.get("title", ""), panel.get("type", ""), target.get("refId", ""), target["expr"]))
    return out


def query_variables(dashboard):
    """The dashboard's query variables, in order, as dicts with name/query/allValue/multi/includeAll."""
    out = []
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        out.append({"name": var["name"], "query": query or var.get("definition", ""),
                    "allValue": var.get("allValue"), "multi": var.get("multi", False),
                    "includeAll": var.get("includeAll", False)})
    return out


def regex_escape(value):
    """Grafana's prometheusSpecialRegexEscape: backslash-escape regex metacharacters inside a PromQL string."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0), value)


def all_value(var, values):
    """What Grafana substitutes for a multi-value variable set to "All"."""
    if var.get("allValue"):
        return var["allValue"]
    escaped = [regex_escape(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute(expr, values):
    """Replace $name, ${name} and ${name:format} by values[name]; unknown names are an error."""
    def repl(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"undefined variable ${name} in: {expr}")
        return values[name]
    return VARIABLE.sub(repl, expr)


def parse_label_values(query):
    """(selector or None, label) of a label_values(...) variable query."""
    match = LABEL_VALUES.match(query)
    if not match:
        raise ValueError(f"unsupported variable query (expected label_values(...)): {query}")
    return match.group("selector"), match.group("label")


def offline_values(dashboard):
    """Substitutions for a syntax check without a server: every variable matches anything."""
    values = dict(BUILTINS)
    for var in query_variables(dashboard):
        values[var["name"]] = ".+"
    values["datasource"] = "prometheus"
    return values


def rules_file(dashboard):
    """A Prometheus rules file with one recording rule per query (selectors of variable queries included)."""
    values = offline_values(dashboard)
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    exprs = []
    for var in query_variables(dashboard):
        selector, _ = parse_label_values(substitute(var["query"], values))
        if selector:
            exprs.append(selector)
    exprs += [substitute(expr, values) for _, _, _, expr in panel_queries(dashboard)]
    for i, expr in enumerate(exprs):
        lines.append(f"      - record: dashboard:query_{i}")
        lines.append(f"        expr: {json.dumps(expr)}")
    return "\n".join(lines) + "\n"


def api_get(base, path, params):
    """GET base+path with params; returns the decoded JSON body (also for HTTP 4xx answers)."""
    url = base.rstrip("/") + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        return json.load(err)


def resolve_variables(dashboard, base, now):
    """Run every variable query as Grafana does (label values API over the last hour)."""
    values = dict(BUILTINS)
    values["datasource"] = "prometheus"
    problems = []
    for var in query_variables(dashboard):
        selector, label = parse_label_values(substitute(var["query"], values))
        params = {"start": now - 3600, "end": now}
        if selector:
            params["match[]"] = [selector]
        body = api_get(base, f"/api/v1/label/{label}/values", params)
        found = body.get("data") or []
        status = body.get("status")
        print(f"variable ${var['name']}: {status}, {len(found)} value(s) {found[:6]}")
        if status != "success" or not found:
            problems.append(f"variable ${var['name']} ({var['query']}): status {status}, {len(found)} values")
            found = found or ["__none__"]
        values[var["name"]] = all_value(var, found)
    return values, problems


def run_panel_queries(dashboard, base, values, now):
    """Run every panel query; returns the problems found."""
    problems = []
    for title, ptype, ref, expr in panel_queries(dashboard):
        query = substitute(expr, values)
        checks = [("instant", "/api/v1/query", {"query": query, "time": now})]
        if ptype == "timeseries":
            checks.append(("range", "/api/v1/query_range",
                           {"query": query, "start": now - 120, "end": now, "step": 15}))
        for kind, path, params in checks:
            body = api_get(base, path, params)
            series = (body.get("data") or {}).get("result") or []
            ok = body.get("status") == "success" and len(series) > 0
            print(f"{'ok  ' if ok else 'FAIL'} {title} [{ref}] {kind}: {body.get('status')}, {len(series)} series"
                  + ("" if ok else f" {body.get('error', '')}"))
            if not ok:
                problems.append(f"panel '{title}' query {ref} ({kind}) returned {body.get('status')} with "
                                f"{len(series)} series: {query}")
    return problems


def main(argv):
    if len(argv) < 3 or argv[1] not in ("rules", "check") or (argv[1] == "check" and len(argv) != 4):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: dashboard_queries.py rules DASHBOARD | check DASHBOARD PROMETHEUS_URL", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as f:
        dashboard = json.load(f)
    if argv[1] == "rules":
        sys.stdout.write(rules_file(dashboard))
        return 0
    now = time.time()
    values, problems = resolve_variables(dashboard, argv[3], now)
    problems += run_panel_queries(dashboard, argv[3], values, now)
    total = len(panel_queries(dashboard))
    if problems:
        print(f"{len(problems)} dashboard query problem(s) out of {total} panel queries:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"all {total} panel queries and {len(query_variables(dashboard))} variable queries returned data")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
