"""Metric names used by a PromQL expression (a small scanner, no evaluation).

Used by check_rules.py to compare rule expressions with prometheus/exported-metrics.txt.
"""

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "inf", "nan", "atan2"}
_AGGREGATORS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk",
                "bottomk", "quantile", "count_values"}


def metric_names(expr):
    """The set of metric names selected by expr."""
    text = _STRING.sub('""', expr)
    text = _BRACKETS.sub("", text)
    text = _BRACES.sub("", text)
    text = _LABEL_LIST.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word in _KEYWORDS or word in _AGGREGATORS:
            continue
        names.add(word)
    return names


def load_exported(path):
    """{name: (type, [labels])} from exported-metrics.txt."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, kind, labels = line.split()
            out[name] = (kind, [] if labels == "-" else labels.split(","))
    return out


SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"}


def is_exported(name, exported):
    """True when name is an exported family, a histogram's series, or a Prometheus scrape series."""
    if name in SCRAPE_SERIES:
        return True
    if name in exported:
        return exported[name][0] != "histogram"
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and exported.get(base, ("",))[0] == "histogram":
            return True
    return False
