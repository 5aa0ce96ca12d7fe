"""SDK contract under the simulator's real-org variants (issue 9): `--preset real-org` (all
media in mediaSettings, absolute nextUri, clock-aligned buckets, four granularities, 100/200
predicates), `--reject-metric` and `--next-uri none`. Every answer still deserializes with the
official SDK models, and every 400 is a documented Genesys `ErrorBody` (§2.2, §2.7, §4.2,
§4.3, §5.2, §7.4)."""

from datetime import timedelta

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi, RoutingApi

from sdk_queries import all_queues, kpi_query, observation_query, queue_media, yesterday
from sdk_support import assert_contract, expect_api_error, parse_interval, raw_body

REAL_ORG_FLAGS = {"--preset": "real-org"}
REJECT_FLAGS = {"--reject-metric": ["oLongestWaiting", "tShortAbandon"]}
CONFIG_MEDIA = {"call", "callback", "chat", "email", "message"}
OBSERVATION_MEDIA = {"voice", "callback", "chat", "email", "message", "video"}
SPARSE_MEDIA = {"cobrowse", "unknown"}
#: Asia/Kolkata is UTC+05:30, so its whole hours fall on hh:30 UTC.
KOLKATA_OFFSET = timedelta(hours=5, minutes=30)


def fake_ids(n):
    """`n` distinct queue ids the org does not have (predicate counting needs no real queue)."""
    return [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]


@pytest.fixture(scope="module")
def real_org(start_simulator):
    """A simulator started with `--preset real-org`, a client of it and its queues."""
    sim = start_simulator(**REAL_ORG_FLAGS)
    client = sim.client()
    routing = RoutingApi(client)
    queues = []
    for page in range(1, 11):
        listing = routing.get_routing_queues(page_size=25, page_number=page)
        assert_contract(client, listing, "QueueEntityListing")
        queues.extend(listing.entities)
        if page >= listing.page_count:
            break
    return sim, client, queues


def test_real_org_queue_listing(real_org):
    """Every queue lists all five mediaSettings keys with a service level, and nextUri is an
    absolute URL on the API host that names the next page."""
    sim, client, queues = real_org
    assert len(queues) == 40
    for q in queues:
        settings = {k for k, v in q.media_settings.to_dict().items() if v is not None}
        assert settings == CONFIG_MEDIA, (q.name, settings)
        for key in CONFIG_MEDIA:
            level = getattr(q.media_settings, key).service_level
            assert 0 < level.percentage <= 1 and level.duration_ms > 0, (q.name, key)
    listing = RoutingApi(client).get_routing_queues(page_size=25, page_number=1)
    assert listing.next_uri == f"{sim.base_url}/api/v2/routing/queues?pageSize=25&pageNumber=2"
    assert raw_body(client)["nextUri"] == listing.next_uri


def test_real_org_observations_answer_every_media(real_org, api):
    """Observations answer six media groups per queue (video included); media the queue does
    not serve (its mediaSettings in the default simulator of the same seed) count zero and
    carry no oLongestWaiting; the answer fits the SDK model."""
    _, client, queues = real_org
    ids = [q.id for q in queues[:20]]
    query = observation_query(ids, detail_metrics=["oWaiting"])
    response = AnalyticsApi(client).post_analytics_queues_observations_query(query)
    assert_contract(client, response, "QueueObservationQueryResponse")
    served = {q.id: set(queue_media(q)) for q in all_queues(api)}
    assert set(ids) <= set(served), "same seed, same queues"
    media_seen = {qid: set() for qid in ids}
    for result in response.results:
        media = result.group.get("mediaType")
        if media is None:
            continue
        media_seen[result.group["queueId"]].add(media)
        if media in served[result.group["queueId"]]:
            continue
        for d in result.data:
            assert d.metric != "oLongestWaiting", result.group
            assert d.stats.count == 0, (result.group, d.metric, d.stats)
    assert all(seen == OBSERVATION_MEDIA for seen in media_seen.values()), media_seen


def test_real_org_clock_buckets_and_sparse_groups(real_org):
    """PT1H buckets in Asia/Kolkata start on the zone's whole hours (clipped to the interval),
    and sparse cobrowse/unknown groups carry only zero counts and the service-level target."""
    _, client, queues = real_org
    start, _ = yesterday()
    window = (start + timedelta(minutes=10), start + timedelta(hours=6, minutes=40))
    query = kpi_query(window, [q.id for q in queues[:10]], granularity="PT1H",
                      time_zone="Asia/Kolkata")
    response = AnalyticsApi(client).post_analytics_conversations_aggregates_query(query)
    assert_contract(client, response, "ConversationAggregateQueryResponse")
    sparse = 0
    for result in response.results:
        for data in result.data:
            a, b = parse_interval(data.interval)
            for edge, clip in ((a, window[0]), (b, window[1])):
                local = edge + KOLKATA_OFFSET
                assert edge == clip or (local.minute, local.second) == (0, 0), data.interval
        if result.group["mediaType"] in SPARSE_MEDIA:
            sparse += 1
            for data in result.data:
                for m in data.metrics:
                    if m.metric == "oServiceTarget":
                        assert 0 < m.stats.current <= 1
                    else:
                        assert m.metric.startswith("n") and m.stats.count == 0, (result.group, m)
    assert sparse == 2 * 10


def test_real_org_rejects_unlisted_granularity(real_org):
    """A granularity outside PT15M/PT30M/PT1H/P1D is a 400 invalid.value ErrorBody naming it,
    with messageParams; a listed one answers."""
    _, client, queues = real_org
    analytics = AnalyticsApi(client)
    ids = [queues[0].id]
    analytics.post_analytics_conversations_aggregates_query(
        kpi_query(yesterday(), ids, granularity="PT30M"))
    err = expect_api_error(lambda: analytics.post_analytics_conversations_aggregates_query(
        kpi_query(yesterday(), ids, granularity="PT5M")), 400, "invalid.value")
    assert "[PT5M]" in err.message
    assert err.message_params["value"] == "PT5M"
    assert err.message_params["allowableValues"] == "PT15M, PT30M, PT1H, P1D"


def test_real_org_predicate_limits(real_org):
    """Aggregates accept 100 queue predicates and refuse 101; observations accept 200 and
    refuse 201; each refusal is a Genesys ErrorBody naming the maximum."""
    _, client, _ = real_org
    analytics = AnalyticsApi(client)
    ids = fake_ids(201)
    analytics.post_analytics_conversations_aggregates_query(kpi_query(yesterday(), ids[:100]))
    err = expect_api_error(lambda: analytics.post_analytics_conversations_aggregates_query(
        kpi_query(yesterday(), ids[:101])), 400, "bad.request")
    assert "maximum of 100" in err.message
    analytics.post_analytics_queues_observations_query(observation_query(ids[:200], metrics=["oWaiting"]))
    err = expect_api_error(lambda: analytics.post_analytics_queues_observations_query(
        observation_query(ids[:201], metrics=["oWaiting"])), 400, "bad.request")
    assert "maximum of 200" in err.message


def test_real_org_rejected_metrics(start_simulator):
    """`--reject-metric oLongestWaiting --reject-metric tShortAbandon`: queries naming either get
    the 400 invalid.value ErrorBody naming it (no longer among the allowable values); the same
    queries without them deserialize as usual."""
    sim = start_simulator(**REJECT_FLAGS)
    client = sim.client()
    analytics = AnalyticsApi(client)
    ids = [q.id for q in RoutingApi(client).get_routing_queues(page_size=10).entities]
    err = expect_api_error(lambda: analytics.post_analytics_queues_observations_query(
        observation_query(ids)), 400, "invalid.value")
    assert err.message.startswith("Value [oLongestWaiting] is not valid for field type")
    assert err.message_params["value"] == "oLongestWaiting"
    assert "oLongestWaiting" not in err.message_params["allowableValues"].split(", ")
    ok = analytics.post_analytics_queues_observations_query(
        observation_query(ids, metrics=["oWaiting", "oInteracting", "oLongestInteracting"]))
    assert_contract(client, ok, "QueueObservationQueryResponse")
    err = expect_api_error(lambda: analytics.post_analytics_conversations_aggregates_query(
        kpi_query(yesterday(), ids)), 400, "invalid.value")
    assert err.message_params["value"] == "tShortAbandon"
    metrics = [m for m in kpi_query(yesterday(), ids).metrics if m != "tShortAbandon"]
    ok = analytics.post_analytics_conversations_aggregates_query(kpi_query(yesterday(), ids, metrics))
    assert_contract(client, ok, "ConversationAggregateQueryResponse")


def test_paging_without_next_uri(start_simulator):
    """`--next-uri none`: no page carries nextUri, yet pageNumber up to pageCount reaches every
    queue exactly once, and each page fits the SDK's QueueEntityListing."""
    sim = start_simulator(**{"--next-uri": "none"})
    client = sim.client()
    routing = RoutingApi(client)
    first = routing.get_routing_queues(page_size=7, page_number=1)
    assert first.page_count == 6 and first.total == 40
    ids = []
    for page in range(1, first.page_count + 1):
        listing = routing.get_routing_queues(page_size=7, page_number=page)
        assert_contract(client, listing, "QueueEntityListing")
        assert listing.next_uri is None and "nextUri" not in raw_body(client)
        assert listing.page_number == page and listing.page_count == first.page_count
        ids.extend(q.id for q in listing.entities)
    assert len(ids) == len(set(ids)) == 40
