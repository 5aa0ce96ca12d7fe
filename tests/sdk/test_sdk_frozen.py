"""SDK contract with a frozen clock (`--fixed-now`): identical real-time answers across processes
and calls, truncated details made of the oldest and newest halves, and no future (§4.2, §10.6)."""

from datetime import datetime, timedelta, timezone

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi

from sdk_queries import all_queues, kpi_query, observation_query, single_bucket
from sdk_support import assert_contract, raw_body

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc)
#: A Friday morning under the office-hours profile: busy, and the same at every run.
FROZEN = {"--fixed-now": "2026-11-20T10:30:00Z", "--traffic-scale": "5", "--traffic-profile": "office"}
CAP = 4


@pytest.fixture(scope="module")
def pair(start_simulator):
    """Two frozen simulators of the same seed: default detail cap, and cap 4."""
    full = start_simulator(**FROZEN)
    capped = start_simulator(**FROZEN, **{"--observation-detail-cap": str(CAP)})
    return full.client(), capped.client()


def observe(client, ids):
    """{(queueId, mediaType|None, metric, qualifier): ObservationMetricData} and the raw body."""
    response = AnalyticsApi(client).post_analytics_queues_observations_query(
        observation_query(ids, detail_metrics=["oWaiting", "oInteracting"]))
    assert_contract(client, response, "QueueObservationQueryResponse")
    out = {}
    for result in response.results:
        for d in result.data:
            out[(result.group["queueId"], result.group.get("mediaType"), d.metric, d.qualifier)] = d
    return out, raw_body(client)


def test_frozen_observations_are_identical_across_calls_and_processes(pair):
    """With --fixed-now, two calls and two processes of the same seed answer the same body, and
    every oLongestWaiting instant is before the frozen now."""
    full, capped = pair
    ids = [q.id for q in all_queues(full)]
    first, raw_first = observe(full, ids)
    _, raw_again = observe(full, ids)
    assert raw_first == raw_again
    other, _ = observe(capped, ids)
    assert {k: v.stats.to_dict() for k, v in first.items()} == {k: v.stats.to_dict() for k, v in other.items()}
    longest = [d.stats.calculated_metric_value for k, d in first.items() if k[2] == "oLongestWaiting"]
    assert longest and max(longest) <= int(NOW.timestamp() * 1000)


def test_truncated_details_are_the_oldest_and_the_newest_halves(pair):
    """Capped at 4, a list of more than 4 observations keeps its 2 oldest and its 2 newest items."""
    full, capped = pair
    ids = [q.id for q in all_queues(full)]
    whole, _ = observe(full, ids)
    cut, _ = observe(capped, ids)
    compared = 0
    for key, data in whole.items():
        if not data.observations or data.truncated:
            continue
        expected = [o.conversation_id for o in data.observations]
        if len(expected) > CAP:
            expected = expected[:CAP // 2] + expected[-CAP // 2:]
            assert cut[key].truncated, key
            compared += 1
        assert [o.conversation_id for o in cut[key].observations] == expected, key
    assert compared, "no observation list longer than the cap to compare"


def test_frozen_clock_hides_everything_after_now(pair):
    """An interval reaching past the frozen now answers exactly like the one ending at now."""
    full, _ = pair
    ids = [q.id for q in all_queues(full)][:20]
    hour = timedelta(hours=1)
    analytics = AnalyticsApi(full)
    to_now = analytics.post_analytics_conversations_aggregates_query(kpi_query((NOW - hour, NOW), ids))
    beyond = analytics.post_analytics_conversations_aggregates_query(kpi_query((NOW - hour, NOW + hour), ids))
    assert to_now.results, "no traffic in the hour before the frozen now"
    assert single_bucket(beyond) == single_bucket(to_now)
