"""Typed SDK request builders and result folding shared by the SDK contract tests."""

from datetime import timedelta

from PureCloudPlatformClientV2 import (
    ConversationAggregateQueryClause, ConversationAggregateQueryFilter,
    ConversationAggregateQueryPredicate, ConversationAggregationQuery, QueueObservationQuery,
    QueueObservationQueryClause, QueueObservationQueryFilter, QueueObservationQueryPredicate,
    RoutingApi,
)

from sdk_support import KPI_METRICS, fmt_interval, utc_midnight_days_ago

#: The 11 queue-observation metrics (§4.1) and the 9 allowed as detailMetrics.
OBSERVATION_METRICS = [
    "oActiveUsers", "oAlerting", "oInteracting", "oLongestInteracting", "oLongestWaiting",
    "oMemberUsers", "oOffQueueUsers", "oOnQueueUsers", "oUserPresences", "oUserRoutingStatuses",
    "oWaiting",
]
MAX_PAGES = 200


def yesterday():
    """(start, end) of the last complete UTC day: fully in the past, so it never changes."""
    start = utc_midnight_days_ago(1)
    return start, start + timedelta(days=1)


def agg_predicate(dimension, value):
    """A `matches` dimension predicate of a conversation aggregate filter."""
    p = ConversationAggregateQueryPredicate()
    p.type = "dimension"
    p.dimension = dimension
    p.operator = "matches"
    p.value = value
    return p


def agg_filter(kind, predicates=None, clauses=None):
    """A conversation aggregate filter of `kind` (and/or)."""
    f = ConversationAggregateQueryFilter()
    f.type = kind
    f.predicates = predicates
    f.clauses = clauses
    return f


def agg_clause(kind, predicates):
    """A conversation aggregate clause."""
    c = ConversationAggregateQueryClause()
    c.type = kind
    c.predicates = predicates
    return c


def kpi_query(window, queue_ids, metrics=None, group_by=("queueId", "mediaType"),
              granularity=None, time_zone=None):
    """The exporter-style aggregate query: queueId `or` filter, KPI metrics, `window` = (start, end)."""
    q = ConversationAggregationQuery()
    q.interval = window if isinstance(window, str) else fmt_interval(*window)
    q.metrics = list(metrics or KPI_METRICS)
    q.group_by = list(group_by) if group_by is not None else None
    if granularity:
        q.granularity = granularity
    if time_zone:
        q.time_zone = time_zone
    if queue_ids is not None:
        q.filter = agg_filter("or", [agg_predicate("queueId", qid) for qid in queue_ids])
    return q


def obs_predicate(dimension, value):
    """A `matches` predicate of a queue observation filter."""
    p = QueueObservationQueryPredicate()
    p.dimension = dimension
    p.operator = "matches"
    p.value = value
    return p


def observation_query(queue_ids, metrics=None, detail_metrics=None, media_type=None):
    """A queue observation query over `queue_ids`, optionally restricted to one media type."""
    q = QueueObservationQuery()
    by_queue = [obs_predicate("queueId", qid) for qid in queue_ids]
    f = QueueObservationQueryFilter()
    if media_type is None:
        f.type = "or"
        f.predicates = by_queue
    else:
        clause = QueueObservationQueryClause()
        clause.type = "or"
        clause.predicates = by_queue
        f.type = "and"
        f.clauses = [clause]
        f.predicates = [obs_predicate("mediaType", media_type)]
    q.filter = f
    q.metrics = list(metrics or OBSERVATION_METRICS)
    q.detail_metrics = detail_metrics
    return q


def all_queues(client, page_size=100):
    """Every queue, paging the SDK's get_routing_queues until `nextUri` is absent."""
    routing = RoutingApi(client)
    queues = []
    for page in range(1, MAX_PAGES + 1):
        listing = routing.get_routing_queues(page_size=page_size, page_number=page)
        queues.extend(listing.entities or [])
        if not listing.next_uri:
            return queues
    raise AssertionError(f"queue listing still had a nextUri after {MAX_PAGES} pages")


def queue_media(queue):
    """Analytics media types configured on a queue (`mediaSettings` keys, `call` -> `voice`)."""
    settings = queue.media_settings
    media = {}
    for key, analytics in (("call", "voice"), ("callback", "callback"), ("chat", "chat"),
                           ("email", "email"), ("message", "message")):
        value = getattr(settings, key, None) if settings else None
        if value is not None:
            media[analytics] = value
    return media


def group_key(group):
    """A hashable key for a result group map."""
    return tuple(sorted((group or {}).items()))


def metrics_by_group(response):
    """{group key: {interval: {metric: stats}}} from a ConversationAggregateQueryResponse."""
    out = {}
    for result in response.results or []:
        key = group_key(result.group)
        assert key not in out, f"group {result.group} appears twice"
        buckets = out[key] = {}
        for data in result.data or []:
            assert data.interval not in buckets, f"bucket {data.interval} twice in {result.group}"
            names = [m.metric for m in data.metrics or []]
            assert len(names) == len(set(names)), f"a metric repeats in {result.group} {data.interval}"
            buckets[data.interval] = {m.metric: m.stats for m in data.metrics or []}
    return out


def fold_stats(items):
    """Combines one metric's stats across buckets: counts/sums/numerators/denominators add,
    max/min combine, current/target must agree. Returns a plain dict."""
    out = {}
    for stats in items:
        for field in ("count", "sum", "numerator", "denominator"):
            value = getattr(stats, field)
            if value is not None:
                out[field] = out.get(field, 0) + value
        if stats.max is not None:
            out["max"] = max(out.get("max", stats.max), stats.max)
        if stats.min is not None:
            out["min"] = min(out.get("min", stats.min), stats.min)
        for field in ("current", "target"):
            value = getattr(stats, field)
            if value is not None:
                assert out.setdefault(field, value) == value, f"{field} differs between buckets"
    return out


def stats_dict(stats):
    """The stats fields that fold_stats produces, read from one StatisticalSummary."""
    fields = ("count", "sum", "numerator", "denominator", "max", "min", "current", "target")
    return {f: getattr(stats, f) for f in fields if getattr(stats, f) is not None}


def folded(response):
    """{group key: {metric: folded stats}} over all buckets of a response."""
    out = {}
    for key, buckets in metrics_by_group(response).items():
        per_metric = {}
        for metrics in buckets.values():
            for name, stats in metrics.items():
                per_metric.setdefault(name, []).append(stats)
        out[key] = {name: fold_stats(items) for name, items in per_metric.items()}
    return out


def single_bucket(response):
    """{group key: {metric: stats dict}} for a response with one bucket per group."""
    out = {}
    for key, buckets in metrics_by_group(response).items():
        assert len(buckets) == 1, f"{len(buckets)} buckets in {key} without granularity"
        (metrics,) = buckets.values()
        out[key] = {name: stats_dict(stats) for name, stats in metrics.items()}
    return out
