"""SDK contract around "now": today-so-far grows monotonically, an interval reaching into the future
never reveals it, and real-time observations agree with the aggregate conversation log (§2.6, §10)."""

from datetime import datetime, timedelta, timezone

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi

from sdk_queries import all_queues, kpi_query, observation_query, single_bucket
from sdk_support import assert_contract, utc_midnight_days_ago

MAX_POINT_CHECKS = 12


@pytest.fixture(scope="module")
def queue_ids(api):
    """Ids of every queue of the default simulator."""
    return [q.id for q in all_queues(api)]


def aggregate(api, window, queue_ids, metrics=None):
    """One-bucket aggregate answer as {group: {metric: stats}}."""
    response = AnalyticsApi(api).post_analytics_conversations_aggregates_query(
        kpi_query(window, queue_ids, metrics=metrics))
    assert_contract(api, response, "ConversationAggregateQueryResponse")
    return single_bucket(response)


def assert_grows(earlier, later, what):
    """Every count, sum, numerator, denominator and max of `earlier` is ≤ the one in `later`."""
    for key, metrics in earlier.items():
        assert key in later, f"{what}: group {key} disappeared"
        for name, stats in metrics.items():
            assert name in later[key], f"{what}: {name} disappeared from {key}"
            for field in ("count", "sum", "numerator", "denominator", "max"):
                if field in stats:
                    assert stats[field] <= later[key][name][field], (what, key, name, field)
            if "min" in stats:
                assert later[key][name]["min"] <= stats["min"], (what, key, name, "min")


def test_today_so_far_never_reveals_the_future(api, queue_ids):
    """[today, tomorrow) asked at t1 is ≤ [today, t2) for a past t2 ≥ t1, which is ≤ [today,
    tomorrow) asked later: the open interval only holds events emitted before "now"."""
    today = utc_midnight_days_ago(0)
    tomorrow = today + timedelta(days=1)
    open_first = aggregate(api, (today, tomorrow), queue_ids)
    cut = datetime.now(timezone.utc)
    closed = aggregate(api, (today, cut), queue_ids)
    open_later = aggregate(api, (today, tomorrow), queue_ids)
    assert_grows(open_first, closed, "open interval at t1 vs [today, t2)")
    assert_grows(closed, open_later, "[today, t2) vs open interval later")


def test_observations_match_the_conversation_log(api, queue_ids):
    """The oldest waiting item of a queue × media was offered (nOffered emitted) at its
    observationDate, and the oldest interacting one answered (tAnswered emitted) at its own."""
    q = observation_query(queue_ids, metrics=["oWaiting", "oInteracting"],
                          detail_metrics=["oWaiting", "oInteracting"])
    response = AnalyticsApi(api).post_analytics_queues_observations_query(q)
    assert_contract(api, response, "QueueObservationQueryResponse")
    checks = []
    for result in response.results:
        if "mediaType" not in result.group:
            continue
        for data in result.data:
            if data.observations:
                metric = "nOffered" if data.metric == "oWaiting" else "tAnswered"
                checks.append((result.group, metric, data.observations[0].observation_date))
    assert checks, "nothing waiting or interacting anywhere"
    for group, metric, at in checks[:MAX_POINT_CHECKS]:
        window = (at, at + timedelta(milliseconds=1))
        answer = aggregate(api, window, [group["queueId"]], metrics=[metric])
        key = tuple(sorted(group.items()))
        assert answer.get(key, {}).get(metric, {}).get("count", 0) >= 1, (
            f"{group}: no {metric} emitted at the observationDate {at}")
