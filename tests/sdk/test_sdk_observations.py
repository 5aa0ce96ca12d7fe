"""SDK contract: `post_analytics_queues_observations_query` — groups, qualifiers, presence mappings,
oLongestWaiting and detail observations (§4, §10.6)."""

import time
import uuid

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi

from sdk_queries import all_queues, observation_query, queue_media
from sdk_support import assert_contract, assert_uuid, raw_body

SYSTEM_PRESENCES = {"AVAILABLE", "AWAY", "BUSY", "OFFLINE", "IDLE", "ON_QUEUE", "MEAL", "TRAINING",
                    "MEETING", "BREAK", "UNKNOWN"}
ON_QUEUE_STATUSES = {"IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}
ROUTING_STATUSES = ON_QUEUE_STATUSES | {"OFF_QUEUE"}
QUALIFIED = {"oOnQueueUsers", "oOffQueueUsers", "oUserPresences", "oUserRoutingStatuses"}
QUEUE_LEVEL = {"oActiveUsers", "oMemberUsers"} | QUALIFIED
MEDIA_COUNTS = {"oWaiting", "oInteracting", "oAlerting"}
LONGEST = {"oLongestWaiting", "oLongestInteracting"}
DETAIL_CAP = 100


@pytest.fixture(scope="module")
def queues(api):
    """{queue id: Queue} of the default simulator."""
    return {q.id: q for q in all_queues(api)}


@pytest.fixture(scope="module")
def snapshot(api, queues):
    """All 11 metrics for every queue with oWaiting details: (response, raw, request time in ms)."""
    before = int(time.time() * 1000)
    q = observation_query(list(queues), detail_metrics=["oWaiting", "oInteracting"])
    response = AnalyticsApi(api).post_analytics_queues_observations_query(q)
    after = int(time.time() * 1000)
    assert_contract(api, response, "QueueObservationQueryResponse")
    return response, raw_body(api), (before, after)


def split(response):
    """({queue id: {metric: [data]}}, {(queue id, media): {metric: data}}) from a response."""
    per_queue, per_media = {}, {}
    for result in response.results or []:
        group = result.group
        if set(group) == {"queueId"}:
            slot = per_queue.setdefault(group["queueId"], {})
            for d in result.data:
                slot.setdefault(d.metric, []).append(d)
        else:
            assert set(group) == {"queueId", "mediaType"}, group
            key = (group["queueId"], group["mediaType"])
            assert key not in per_media, f"group {group} twice"
            per_media[key] = {}
            for d in result.data:
                assert d.metric not in per_media[key], f"{d.metric} twice in {group}"
                per_media[key][d.metric] = d
    return per_queue, per_media


def counts(entries):
    """{qualifier: count} of one qualified metric's data entries."""
    out = {}
    for d in entries or []:
        assert d.qualifier not in out, f"{d.metric} qualifier {d.qualifier} twice"
        assert d.stats.count >= 0
        out[d.qualifier] = d.stats.count
    return out


def test_presence_mappings_are_present(snapshot):
    """systemToOrganizationMappings maps system presences to organization presence UUIDs."""
    response, _, _ = snapshot
    mappings = response.system_to_organization_mappings
    assert mappings and "ON_QUEUE" in mappings, mappings
    for system, org_ids in mappings.items():
        assert system in SYSTEM_PRESENCES, system
        assert org_ids, system
        for org_id in org_ids:
            assert_uuid(org_id, f"organization presence of {system}")


def test_queue_groups_carry_user_metrics_with_qualifiers(snapshot, queues):
    """Each requested queue has a {queueId} group: member/active counts, on-queue and routing-status
    counts qualified by status, presence counts qualified by organization presence ids, consistent
    with each other and with the queue's memberCount. A qualified metric with nobody to count (no
    member off queue, say) has no entries at all."""
    response, _, _ = snapshot
    per_queue, _ = split(response)
    assert set(per_queue) == set(queues), "queue-level groups differ from the requested queues"
    mappings = response.system_to_organization_mappings
    org_ids = {i for ids in mappings.values() for i in ids}
    on_queue_ids = set(mappings["ON_QUEUE"])
    for qid, metrics in per_queue.items():
        assert {"oMemberUsers", "oActiveUsers"} <= set(metrics) <= QUEUE_LEVEL, (qid, sorted(metrics))
        for name in ("oMemberUsers", "oActiveUsers"):
            assert len(metrics[name]) == 1 and metrics[name][0].qualifier is None
        members = metrics["oMemberUsers"][0].stats.count
        active = metrics["oActiveUsers"][0].stats.count
        assert members == queues[qid].member_count, (qid, members, queues[qid].member_count)
        if queues[qid].joined_member_count is not None:
            assert active == queues[qid].joined_member_count, (qid, active, queues[qid].joined_member_count)
        assert active <= members
        on_queue = counts(metrics.get("oOnQueueUsers"))
        routing = counts(metrics.get("oUserRoutingStatuses"))
        presences = counts(metrics.get("oUserPresences"))
        off_queue = counts(metrics.get("oOffQueueUsers"))
        assert set(on_queue) <= ON_QUEUE_STATUSES and set(routing) <= ROUTING_STATUSES
        assert set(presences) <= org_ids and set(off_queue) <= org_ids - on_queue_ids
        for status in ON_QUEUE_STATUSES:
            assert on_queue.get(status, 0) == routing.get(status, 0), (qid, status, on_queue, routing)
        population = sum(routing.values())
        assert population in (members, active), (qid, routing, members, active)
        assert sum(presences.values()) == population, (qid, presences, population)
        assert sum(on_queue.values()) + sum(off_queue.values()) == population
        assert sum(presences.get(i, 0) for i in on_queue_ids) == sum(on_queue.values())
    for name in QUALIFIED:
        assert any(name in metrics for metrics in per_queue.values()), f"no queue has {name}"


def test_media_groups_have_zero_including_counts(snapshot, queues):
    """Each configured media of each queue has a {queueId, mediaType} group with oWaiting,
    oInteracting and oAlerting counts (zeros included); stats carry `count` only, except the
    oLongest* metrics whose value is `calculatedMetricValue`."""
    response, raw, _ = snapshot
    _, per_media = split(response)
    expected = {(qid, media) for qid, q in queues.items() for media in queue_media(q)}
    assert expected <= set(per_media), sorted(expected - set(per_media))[:5]
    for result in raw["results"]:
        for d in result["data"]:
            if d["metric"] in LONGEST:
                assert "calculatedMetricValue" in d["stats"] and set(d["stats"]) <= {"count", "calculatedMetricValue"}, d
            else:
                assert set(d["stats"]) == {"count"}, d
    for key, metrics in per_media.items():
        assert key[0] in queues
        assert MEDIA_COUNTS <= set(metrics) <= MEDIA_COUNTS | LONGEST, (key, sorted(metrics))
        for name in MEDIA_COUNTS:
            assert metrics[name].qualifier is None and metrics[name].stats.count >= 0
    assert any(m["oWaiting"].stats.count > 0 for m in per_media.values()), "nobody waits anywhere"


def test_longest_waiting_is_the_oldest_waiting_observation(snapshot):
    """oLongestWaiting/oLongestInteracting are present iff something waits/interacts; their
    calculatedMetricValue is an epoch-ms instant in the past that equals the first (oldest) detail
    observation; details are ascending, capped at 100 with `truncated`."""
    response, _, (before, after) = snapshot
    _, per_media = split(response)
    for key, metrics in per_media.items():
        for count_metric, longest in (("oWaiting", "oLongestWaiting"), ("oInteracting", "oLongestInteracting")):
            data = metrics[count_metric]
            count = data.stats.count
            observations = data.observations or []
            assert len(observations) == min(count, DETAIL_CAP), (key, count_metric, count, len(observations))
            assert bool(data.truncated) == (count > DETAIL_CAP), (key, count_metric, data.truncated)
            dates = [o.observation_date for o in observations]
            assert dates == sorted(dates), f"{key} {count_metric} observations not ascending"
            for o in observations:
                assert o.conversation_id and o.observation_date.tzinfo is not None
            if count == 0:
                assert longest not in metrics, f"{key}: {longest} without anything to measure"
                continue
            assert longest in metrics, f"{key}: {count} {count_metric} but no {longest}"
            value = metrics[longest].stats.calculated_metric_value
            assert isinstance(value, int) and value > 10**12, f"{key} {longest} = {value!r}, not epoch ms"
            assert value <= after, f"{key} {longest} is in the future"
            assert before - value <= 7 * 86_400_000, f"{key} {longest} more than a week old"
            oldest_ms = int(observations[0].observation_date.timestamp() * 1000)
            assert abs(oldest_ms - value) < 1000, (key, longest, value, oldest_ms)


def test_media_type_predicate_restricts_media_groups(api, queues):
    """filter and(clause or(queueId…), mediaType=voice) returns only voice media groups."""
    q = observation_query(list(queues), metrics=["oWaiting", "oInteracting"], media_type="voice")
    response = AnalyticsApi(api).post_analytics_queues_observations_query(q)
    assert_contract(api, response, "QueueObservationQueryResponse")
    media = {r.group.get("mediaType") for r in response.results or [] if "mediaType" in r.group}
    assert media == {"voice"}, media


def test_unknown_queue_ids_yield_no_groups(api, queues):
    """Predicates for queues that do not exist produce no groups for them (but mappings still come)."""
    known = list(queues)[:2]
    unknown = [str(uuid.uuid4()) for _ in range(3)]
    response = AnalyticsApi(api).post_analytics_queues_observations_query(observation_query(known + unknown))
    assert_contract(api, response, "QueueObservationQueryResponse")
    assert {r.group["queueId"] for r in response.results} == set(known)
    assert response.system_to_organization_mappings
