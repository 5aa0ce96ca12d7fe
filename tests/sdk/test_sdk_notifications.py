"""SDK contract of the Notifications API: channel and subscription bodies through the SDK's
`NotificationsApi` and its `Channel` / `ChannelTopic` models, and every queue observation event
the WebSocket sends parsed strictly as `StatEventQueueTopicStatsNotification`."""

import json
import time

import pytest
from PureCloudPlatformClientV2 import ApiClient, ChannelTopic, NotificationsApi
from PureCloudPlatformClientV2.rest import ApiException
from websockets.sync.client import connect

from sdk_queries import all_queues
from sdk_support import _Body, assert_contract, assert_uuid, check_json, expect_api_error

FROZEN = {"--fixed-now": "2026-11-20T10:30:00Z", "--traffic-scale": "5",
          "--traffic-profile": "office", "--heartbeat-interval": "300ms"}
#: Bounds of the socket reads: messages per test and seconds per message.
MAX_MESSAGES = 500
RECV_TIMEOUT_S = 10.0


def topic(queue_id):
    return f"v2.analytics.queues.{queue_id}.observations"


def topics(ids):
    out = []
    for qid in ids:
        t = ChannelTopic()
        t.id = topic(qid)
        out.append(t)
    return out


@pytest.fixture(scope="module")
def frozen(start_simulator):
    """A frozen simulator with short heartbeats, and an SDK client for it."""
    sim = start_simulator(**FROZEN)
    return sim, sim.client()


def test_channel_bodies_match_the_sdk_models(frozen):
    """Create, list (by token and by OAuth client) and HEAD parse strictly as Channel and
    ChannelEntityListing; the connectUri is ws:// on the simulator's host; an unknown channel is 404."""
    sim, client = frozen
    api = NotificationsApi(client)
    channel = api.post_notifications_channels()
    assert_contract(client, channel, "Channel")
    assert_uuid(channel.id, "channel id")
    host = sim.base_url.removeprefix("http://")
    assert channel.connect_uri == f"ws://{host}/channels/{channel.id}"
    assert channel.expires is not None
    for include in ("token", "oauthclient"):
        listing = api.get_notifications_channels(includechannels=include)
        assert_contract(client, listing, "ChannelEntityListing")
        assert channel.id in [c.id for c in listing.entities]
    api.head_notifications_channel(channel.id)
    with pytest.raises(ApiException) as gone:
        api.head_notifications_channel("no-such-channel")
    assert gone.value.status == 404, "HEAD of an unknown channel (no body, by HTTP)"


def test_subscription_bodies_match_the_sdk_models(frozen):
    """POST, GET and PUT answer ChannelTopicEntityListing with exactly the topics asked for;
    DELETE empties the list; 1,001 topics are a 400 with a Genesys error body."""
    _, client = frozen
    api = NotificationsApi(client)
    ids = [q.id for q in all_queues(client)]
    channel = api.post_notifications_channels()
    added = api.post_notifications_channel_subscriptions(channel.id, topics(ids[:3]))
    assert_contract(client, added, "ChannelTopicEntityListing")
    assert [t.id for t in added.entities] == [topic(q) for q in ids[:3]]
    listed = api.get_notifications_channel_subscriptions(channel.id)
    assert_contract(client, listed, "ChannelTopicEntityListing")
    assert [t.id for t in listed.entities] == [topic(q) for q in ids[:3]]
    replaced = api.put_notifications_channel_subscriptions(channel.id, topics(ids[3:4]))
    assert [t.id for t in replaced.entities] == [topic(ids[3])]
    many = topics([f"q{i}" for i in range(1001)])
    expect_api_error(lambda: api.put_notifications_channel_subscriptions(channel.id, many), 400)
    api.delete_notifications_channel_subscriptions(channel.id)
    assert api.get_notifications_channel_subscriptions(channel.id).entities == []


def test_every_event_parses_as_the_sdk_notification_model(frozen):
    """Every message on a socket subscribed to all queues is a heartbeat or a queue event whose
    eventBody parses strictly as StatEventQueueTopicStatsNotification, with one event per
    queue group (the user group and each media type) of the subscribed queues."""
    _, client = frozen
    api = NotificationsApi(client)
    ids = [q.id for q in all_queues(client)]
    channel = api.post_notifications_channels()
    api.post_notifications_channel_subscriptions(channel.id, topics(ids))
    groups = set()
    heartbeats = 0
    with connect(channel.connect_uri, open_timeout=RECV_TIMEOUT_S) as ws:
        deadline = time.monotonic() + 60
        for _ in range(MAX_MESSAGES):
            if heartbeats >= 8 or time.monotonic() > deadline:
                break
            message = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
            if message.get("topicName") == "channel.metadata":
                assert message["eventBody"] == {"message": "WebSocket Heartbeat"}
                heartbeats += 1
                continue
            body = message["eventBody"]
            problems = check_json(body, "StatEventQueueTopicStatsNotification")
            assert not problems, "event contract mismatches:\n  " + "\n  ".join(problems)
            event = ApiClient().deserialize(_Body(json.dumps(body)),
                                            "StatEventQueueTopicStatsNotification")
            queue_id = event.group["queueId"]
            assert message["topicName"] == topic(queue_id)
            assert queue_id in ids
            for interval in event.data:
                start, end = interval.interval.split("/")
                assert start == end, "observations cover a zero-length interval"
                assert interval.metrics, "an event carries metrics"
            groups.add((queue_id, event.group.get("mediaType")))
    assert heartbeats >= 8, "heartbeats at the configured interval"
    assert {q for q, _ in groups} == set(ids), "every subscribed queue published"
    assert any(m is None for _, m in groups) and any(m for _, m in groups)


def event_problems(body):
    """Strict contract problems of one queue event body, after an SDK deserialization."""
    problems = check_json(body, "StatEventQueueTopicStatsNotification")
    ApiClient().deserialize(_Body(json.dumps(body)), "StatEventQueueTopicStatsNotification")
    return problems


def test_changed_style_events_parse_as_the_sdk_notification_model(start_simulator):
    """With `--notify-style changed` and live traffic, the first event of a group and every later
    one (only the metrics that changed, a vanished count as 0) parse strictly as
    StatEventQueueTopicStatsNotification, and later events do come."""
    sim = start_simulator(**{"--notify-style": "changed", "--traffic-scale": "5",
                             "--traffic-profile": "flat", "--heartbeat-interval": "300ms"})
    client = sim.client()
    api = NotificationsApi(client)
    ids = [q.id for q in all_queues(client)]
    channel = api.post_notifications_channels()
    api.post_notifications_channel_subscriptions(channel.id, topics(ids))
    seen, later = set(), 0
    with connect(channel.connect_uri, open_timeout=RECV_TIMEOUT_S) as ws:
        deadline = time.monotonic() + 30
        for _ in range(MAX_MESSAGES * 4):
            if later >= 20 or time.monotonic() > deadline:
                break
            message = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
            if message.get("topicName") == "channel.metadata":
                continue
            body = message["eventBody"]
            problems = event_problems(body)
            assert not problems, "event contract mismatches:\n  " + "\n  ".join(problems)
            group = (body["group"]["queueId"], body["group"].get("mediaType"))
            if group in seen:
                later += 1
            seen.add(group)
    assert later >= 20, f"only {later} change events after the first state in 30 s"


def test_system_and_metadata_messages_match_the_sdk_models(start_simulator):
    """`v2.system.socket_closing` (sent before a scheduled close) parses strictly as the SDK's
    SystemMessageSystemMessage, the model the official SDKs' notification handlers bind to that
    topic; heartbeats and the pong carry only a `message`; the socket then closes."""
    sim = start_simulator(**{"--fixed-now": FROZEN["--fixed-now"], "--heartbeat-interval": "300ms",
                             "--notify-close-after": "2s", "--notify-closing-notice": "1s"})
    client = sim.client()
    channel = NotificationsApi(client).post_notifications_channels()
    closing, metadata = [], []
    with connect(channel.connect_uri, open_timeout=RECV_TIMEOUT_S) as ws:
        ws.send(json.dumps({"message": "ping"}))
        closed = False
        for _ in range(MAX_MESSAGES):
            try:
                message = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
            except Exception:  # the scheduled close ends the socket
                closed = True
                break
            if message.get("topicName") == "v2.system.socket_closing":
                closing.append(message)
            elif message.get("topicName") == "channel.metadata":
                metadata.append(message["eventBody"])
    assert closed, "the socket closed after --notify-close-after"
    assert len(closing) == 1, "one socket_closing notice before the close"
    body = closing[0]["eventBody"]
    problems = check_json(body, "SystemMessageSystemMessage")
    assert not problems, "socket_closing contract mismatches:\n  " + "\n  ".join(problems)
    parsed = ApiClient().deserialize(_Body(json.dumps(body)), "SystemMessageSystemMessage")
    assert parsed.message
    assert closing[0]["version"] == "2"
    assert {"message": "pong"} in metadata
    assert {"message": "WebSocket Heartbeat"} in metadata
    assert all(set(m) == {"message"} for m in metadata)
