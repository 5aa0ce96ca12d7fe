"""SDK contract under the simulator's alternative readings of INFERRED behaviour: empty body as
`{"results": []}`, oLongestWaiting as a duration, small detail cap, other service-level options and
short-abandon threshold, and lower limits (§2.5, §3.2, §4.2, §10.5–§10.7)."""

import time
from datetime import timedelta

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi, RoutingApi

from sdk_queries import all_queues, kpi_query, observation_query, single_bucket, yesterday
from sdk_support import assert_contract, expect_api_error, raw_body

DETAIL_CAP = 2
SHORT_ABANDON_MS = 20_000
ALT_FLAGS = {
    "--empty-results": "empty-array",
    "--longest-waiting": "duration",
    "--observation-detail-cap": str(DETAIL_CAP),
    "--traffic-scale": "20",
    "--sl-include-abandons": "true",
    "--sl-include-short-abandons": "true",
    "--sl-include-flowouts": "true",
    "--short-abandon-threshold": "20s",
    "--max-page-size": "50",
    "--max-predicates": "10",
    "--max-interval-days": "7",
}


@pytest.fixture(scope="module")
def alt(start_simulator):
    """A simulator started with every alternative knob of ALT_FLAGS, and a client of it."""
    sim = start_simulator(**ALT_FLAGS)
    client = sim.client()
    return sim, client, all_queues(client, page_size=50)


def test_empty_results_as_empty_array(alt):
    """--empty-results empty-array answers a query without data with exactly `{"results": []}`."""
    _, client, _ = alt
    q = kpi_query(yesterday(), ["00000000-0000-4000-8000-00000000dead"])
    response = AnalyticsApi(client).post_analytics_conversations_aggregates_query(q)
    assert_contract(client, response, "ConversationAggregateQueryResponse")
    assert response.results == [] and raw_body(client) == {"results": []}


def test_longest_waiting_as_duration_and_small_detail_cap(alt):
    """--longest-waiting duration gives the AGE of the oldest item (now − oldest observationDate);
    --observation-detail-cap 2 truncates details to the oldest and the newest, `truncated: true`."""
    _, client, queues = alt
    ids = [q.id for q in queues]
    results = []
    before = int(time.time() * 1000)
    for i in range(0, len(ids), 10):
        q = observation_query(ids[i:i + 10], detail_metrics=["oWaiting", "oInteracting"])
        response = AnalyticsApi(client).post_analytics_queues_observations_query(q)
        assert_contract(client, response, "QueueObservationQueryResponse")
        results.extend(response.results)
    after = int(time.time() * 1000)
    truncated_seen = longest_seen = 0
    for result in results:
        if "mediaType" not in result.group:
            continue
        data = {d.metric: d for d in result.data}
        for count_metric, longest in (("oWaiting", "oLongestWaiting"), ("oInteracting", "oLongestInteracting")):
            entry = data[count_metric]
            observations = entry.observations or []
            assert len(observations) == min(entry.stats.count, DETAIL_CAP), (result.group, count_metric)
            assert bool(entry.truncated) == (entry.stats.count > DETAIL_CAP)
            truncated_seen += bool(entry.truncated)
            if entry.stats.count == 0:
                continue
            age = data[longest].stats.calculated_metric_value
            oldest = int(observations[0].observation_date.timestamp() * 1000)
            assert 0 <= age < 10**12, f"{longest} {age} is not a duration"
            assert before - oldest - 1000 <= age <= after - oldest + 1000, (result.group, longest, age)
            longest_seen += 1
    assert truncated_seen, "no media group had more than 2 waiting/interacting at 20x traffic"
    assert longest_seen


def test_service_level_options_and_short_abandon_threshold(alt):
    """With abandons, short abandons and flow-outs all included, the SL denominator is
    answered + abandoned + flow-outs; short abandons are exactly the abandons under 20 s."""
    _, client, queues = alt
    q = kpi_query(yesterday(), [q.id for q in queues[:10]])
    response = AnalyticsApi(client).post_analytics_conversations_aggregates_query(q)
    assert_contract(client, response, "ConversationAggregateQueryResponse")
    checked = 0
    for key, metrics in single_bucket(response).items():
        count = lambda name: metrics.get(name, {}).get("count", 0)
        if "oServiceLevel" in metrics:
            den = count("tAnswered") + count("tAbandon") + count("tFlowOut")
            assert metrics["oServiceLevel"]["denominator"] == den, (key, metrics)
            checked += 1
        if "tShortAbandon" in metrics:
            assert metrics["tShortAbandon"]["max"] < SHORT_ABANDON_MS, (key, metrics["tShortAbandon"])
        if "tAbandon" in metrics and metrics["tAbandon"]["min"] < SHORT_ABANDON_MS:
            assert count("tShortAbandon") >= 1, f"{key}: an abandon under 20 s is not a short abandon"
        if count("tShortAbandon") < count("tAbandon"):
            assert metrics["tAbandon"]["max"] >= SHORT_ABANDON_MS, (key, metrics)
    assert checked


def test_lower_limits_are_enforced(alt):
    """--max-page-size 50, --max-predicates 10 and --max-interval-days 7 answer 400 just above."""
    _, client, queues = alt
    routing, analytics = RoutingApi(client), AnalyticsApi(client)
    assert len(routing.get_routing_queues(page_size=50).entities) == 40
    expect_api_error(lambda: routing.get_routing_queues(page_size=51), 400)
    ids = [q.id for q in queues]
    analytics.post_analytics_queues_observations_query(observation_query(ids[:10], metrics=["oWaiting"]))
    expect_api_error(lambda: analytics.post_analytics_queues_observations_query(
        observation_query(ids[:11], metrics=["oWaiting"])), 400)
    end = yesterday()[1]
    analytics.post_analytics_conversations_aggregates_query(kpi_query((end - timedelta(days=7), end), ids[:10]))
    expect_api_error(lambda: analytics.post_analytics_conversations_aggregates_query(
        kpi_query((end - timedelta(days=7), end), ids[:11])), 400)
    expect_api_error(lambda: analytics.post_analytics_conversations_aggregates_query(
        kpi_query((end - timedelta(days=8), end), ids[:10])), 400)
