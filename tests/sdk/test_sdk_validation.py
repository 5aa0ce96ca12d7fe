"""SDK contract: query validation — each bad aggregate or observation query raises ApiException 400
with a Genesys ErrorBody (§2.7, §4.3, §7.4, §10.6, §10.7)."""

import uuid
from datetime import timedelta

import pytest
from PureCloudPlatformClientV2 import (
    AggregationRange, AnalyticsApi, ConversationAggregationSort, ConversationAggregationView,
)
from PureCloudPlatformClientV2.rest import ApiException

from sdk_queries import (
    agg_clause, agg_filter, agg_predicate, all_queues, group_key, kpi_query, obs_predicate,
    observation_query, single_bucket, yesterday,
)
from sdk_support import OUTDATED, assert_contract, error_body, expect_api_error


@pytest.fixture(scope="module")
def queue_ids(api):
    """Ids of a few queues of the default simulator."""
    return [q.id for q in all_queues(api)[:3]]


def aggregate(api, q):
    """A deferred aggregate query call."""
    return lambda: AnalyticsApi(api).post_analytics_conversations_aggregates_query(q)


def observe(api, q):
    """A deferred observation query call."""
    return lambda: AnalyticsApi(api).post_analytics_queues_observations_query(q)


def invalid_value(err, value):
    """Asserts an `invalid.value` body names `value` in the documented template."""
    assert err.code == "invalid.value", err.code
    assert err.message.startswith(f"Value [{value}] is not valid for field type ["), err.message
    assert "]. Allowable values are: " in err.message, err.message


@pytest.mark.parametrize("metric", ["tHold", "nAbandon", "oLongestWaiting", "handledCount"])
def test_aggregate_unknown_metric_is_invalid_value(api, queue_ids, metric):
    """Metrics that do not exist (tutorial inventions, §11.4) answer 400 invalid.value naming them."""
    q = kpi_query(yesterday(), queue_ids, metrics=["nOffered", metric])
    invalid_value(expect_api_error(aggregate(api, q), 400), metric)


def test_aggregate_unknown_group_by_is_invalid_value(api, queue_ids):
    """A groupBy dimension outside the 83 answers 400 invalid.value."""
    q = kpi_query(yesterday(), queue_ids, group_by=["queueId", "queueName"])
    invalid_value(expect_api_error(aggregate(api, q), 400), "queueName")


@pytest.mark.parametrize("interval", [
    "yesterday",
    "2026-01-02T00:00:00.000Z",
    "2026-01-02T00:00:00.000Z/2026-01-01T00:00:00.000Z",
    "2026-01-01T00:00:00.000Z/2026-01-01T00:00:00.000Z",
    "2026-13-01T00:00:00.000Z/2026-13-02T00:00:00.000Z",
])
def test_aggregate_bad_interval_is_400(api, queue_ids, interval):
    """An interval that is not two ISO instants with start < end answers 400."""
    err = expect_api_error(aggregate(api, kpi_query(interval, queue_ids)), 400)
    assert err.code in ("invalid.date", "bad.request", "invalid.value"), err.code


def test_aggregate_interval_over_the_maximum_is_400(api, queue_ids):
    """An interval longer than the default maximum (31 days) answers 400."""
    end = yesterday()[1]
    expect_api_error(aggregate(api, kpi_query((end - timedelta(days=40), end), queue_ids)), 400)


def test_aggregate_missing_required_fields_are_400(api, queue_ids):
    """No interval, or no metrics, answers 400."""
    q = kpi_query(yesterday(), queue_ids)
    q.interval = None
    expect_api_error(aggregate(api, q), 400)
    q = kpi_query(yesterday(), queue_ids)
    q.metrics = None
    expect_api_error(aggregate(api, q), 400)


@pytest.mark.parametrize("field,value", [("granularity", "PT30X"), ("time_zone", "Mars/Olympus_Mons")])
def test_aggregate_bad_granularity_or_time_zone_is_400(api, queue_ids, field, value):
    """A granularity that is not an ISO-8601 duration, or an unknown IANA zone, answers 400."""
    q = kpi_query(yesterday(), queue_ids)
    setattr(q, field, value)
    expect_api_error(aggregate(api, q), 400)


def test_aggregate_bad_filter_type_is_invalid_value(api, queue_ids):
    """The SDK sends an unknown filter type as `outdated_sdk_version`; that answers 400 invalid.value."""
    q = kpi_query(yesterday(), queue_ids)
    q.filter.type = "xor"
    assert q.filter.type == OUTDATED
    invalid_value(expect_api_error(aggregate(api, q), 400), OUTDATED)


def test_aggregate_two_level_filter_is_evaluated(api, queue_ids):
    """and(or(queueId…), or(mediaType voice, chat)) is accepted and evaluated (two levels of nesting)."""
    q = kpi_query(yesterday(), None)
    q.filter = agg_filter("and", clauses=[agg_clause("or", [agg_predicate("queueId", i) for i in queue_ids]),
                                          agg_clause("or", [agg_predicate("mediaType", "voice"),
                                                            agg_predicate("mediaType", "chat")])])
    response = AnalyticsApi(api).post_analytics_conversations_aggregates_query(q)
    assert_contract(api, response, "ConversationAggregateQueryResponse")
    for result in response.results or []:
        assert result.group["queueId"] in queue_ids and result.group["mediaType"] in ("voice", "chat")


def test_aggregate_top_n(api, queue_ids):
    """topN with several metrics and no sortMetric answers 400; with sortMetric nOffered/count and
    limit 2 it answers the 2 groups with most offers, in that order, with the groupBy figures (or
    refuses with 400, never an unranked answer)."""
    metrics = ["nOffered", "tAnswered"]
    q = kpi_query(yesterday(), queue_ids, metrics=metrics)
    q.query_type = "topN"
    q.limit = 2
    expect_api_error(aggregate(api, q), 400)
    sort = ConversationAggregationSort()
    sort.name = "nOffered"
    sort.function = "count"
    q.sort_metric = sort
    try:
        top = aggregate(api, q)()
    except ApiException as exc:
        assert exc.status == 400, exc.body
        error_body(exc)
        return
    assert_contract(api, top, "ConversationAggregateQueryResponse")
    full = single_bucket(aggregate(api, kpi_query(yesterday(), queue_ids, metrics=metrics))())
    ranked = sorted((m["nOffered"]["count"] for m in full.values() if "nOffered" in m), reverse=True)
    got = [group_key(r.group) for r in top.results or []]
    assert len(got) == min(2, len(ranked)), got
    assert [full[k]["nOffered"]["count"] for k in got] == ranked[:2]
    top_buckets = single_bucket(top)
    assert all(top_buckets[k] == full[k] for k in got)


def test_aggregate_views_are_answered_or_refused(api, queue_ids):
    """A rangeBound view is either answered (the named view appears) or refused with 400, never ignored."""
    q = kpi_query(yesterday(), queue_ids, metrics=["tAnswered"])
    view = ConversationAggregationView()
    view.target, view.name, view.function = "tAnswered", "answeredWithin20s", "rangeBound"
    view.range = AggregationRange()
    view.range.gte, view.range.lt = 0, 20000
    q.views = [view]
    try:
        response = aggregate(api, q)()
    except ApiException as exc:
        assert exc.status == 400, exc.body
        error_body(exc)
        return
    assert_contract(api, response, "ConversationAggregateQueryResponse")
    names = {v.name for r in response.results or [] for d in r.data for v in d.views or []}
    assert names == {"answeredWithin20s"}, "the view was silently ignored"


def test_observation_bad_filter_type_has_the_documented_message(api, queue_ids):
    """An unknown filter type answers 400 invalid.value "… field type [QueryFilterType]. Allowable values are: and, or"."""
    q = observation_query(queue_ids)
    q.filter.type = "xor"
    err = expect_api_error(observe(api, q), 400, "invalid.value")
    assert err.message == (f"Value [{OUTDATED}] is not valid for field type [QueryFilterType]. "
                           "Allowable values are: and, or")


def test_observation_dimension_outside_queue_and_media_is_400(api, queue_ids):
    """Only queueId and mediaType may be filtered on; the SDK sends others as outdated_sdk_version."""
    q = observation_query(queue_ids)
    bad = obs_predicate("userId", str(uuid.uuid4()))
    assert bad.dimension == OUTDATED
    q.filter.predicates.append(bad)
    err = expect_api_error(observe(api, q), 400)
    assert err.code == "invalid.value", err.code


@pytest.mark.parametrize("metrics,detail", [
    (["oWaiting", "oFoo"], None),
    ([], None),
    (["oWaiting"], ["oLongestWaiting"]),
    (["oWaiting"], ["tAnswered"]),
])
def test_observation_bad_metrics_are_400(api, queue_ids, metrics, detail):
    """Unknown or empty metrics, and detailMetrics outside the 9 allowed, answer 400."""
    q = observation_query(queue_ids, metrics=metrics or ["oWaiting"], detail_metrics=detail)
    if not metrics:
        q.metrics = []
    err = expect_api_error(observe(api, q), 400)
    assert err.code in ("invalid.value", "bad.request"), err.code


def test_aggregate_predicate_limit(api, queue_ids):
    """An aggregate filter of 200 queueId predicates is accepted; 201 answer 400 (default limit)."""
    filler = [str(uuid.uuid4()) for _ in range(200 - len(queue_ids))]
    response = aggregate(api, kpi_query(yesterday(), queue_ids + filler, metrics=["nOffered"]))()
    assert {r.group["queueId"] for r in response.results} == set(queue_ids)
    expect_api_error(aggregate(api, kpi_query(yesterday(), queue_ids + filler + [str(uuid.uuid4())])), 400)


def test_observation_predicate_limit(api, queue_ids):
    """200 predicates are accepted; 201 answer 400 (default limit, §10.6)."""
    filler = [str(uuid.uuid4()) for _ in range(200 - len(queue_ids))]
    q = observation_query(queue_ids + filler, metrics=["oWaiting"])
    response = observe(api, q)()
    assert {r.group["queueId"] for r in response.results} == set(queue_ids)
    q = observation_query(queue_ids + filler + [str(uuid.uuid4())], metrics=["oWaiting"])
    expect_api_error(observe(api, q), 400)

