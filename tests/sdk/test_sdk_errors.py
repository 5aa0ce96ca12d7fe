"""SDK contract: response headers, 404 for paths Genesys does not have, 429 with Retry-After,
injected 5xx faults and latency (§7.2–§7.5, §10.1, §10.4, §11.1)."""

import time

from PureCloudPlatformClientV2 import AnalyticsApi, RoutingApi
from PureCloudPlatformClientV2.rest import ApiException

from sdk_queries import kpi_query, observation_query, yesterday
from sdk_support import (
    assert_genesys_headers, error_body, expect_api_error, header, parse_error, retrying_http_client,
    sdk_client,
)


def test_every_endpoint_sends_correlation_and_rate_limit_headers(sim, api):
    """Queues, aggregates and observations answers carry ININ-Correlation-Id and inin-ratelimit-*;
    the count rises by one per request of the same token and `allowed` is the configured limit."""
    allowed = int(sim.flags["--rate-limit"])
    routing, analytics = RoutingApi(api), AnalyticsApi(api)
    queue_ids = [q.id for q in routing.get_routing_queues(page_size=3).entities]
    counts, ids = [], set()
    calls = [
        lambda: routing.get_routing_queues(page_size=2),
        lambda: analytics.post_analytics_conversations_aggregates_query(kpi_query(yesterday(), queue_ids)),
        lambda: analytics.post_analytics_queues_observations_query(observation_query(queue_ids)),
    ]
    for call in calls:
        call()
        headers = api.last_response.getheaders()
        counts.append(assert_genesys_headers(headers, allowed=allowed))
        ids.add(header(headers, "ININ-Correlation-Id"))
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2], counts
    assert len(ids) == 3, "correlation ids must differ per request"


def test_unknown_paths_are_404_with_genesys_body(api):
    """Paths Genesys does not have (tutorial inventions, §11.1) answer 404 `not.found` ErrorBody."""
    for method, path in [
        ("POST", "/api/v2/analytics/conversations/summary/query"),
        ("POST", "/api/v2/analytics/conversations/aggregates"),
        ("GET", "/api/v2/queues"),
        ("GET", "/api/v2/analytics/queues/summary"),
    ]:
        body = {"interval": "2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z"} if method == "POST" else None
        call = lambda: api.call_api(path, method, body=body, auth_settings=["PureCloud OAuth"],
                                    response_type="object")
        err = expect_api_error(call, 404, "not.found")
        assert err.status == 404


def test_rate_limit_answers_429_with_honest_retry_after(start_simulator):
    """Over --rate-limit per token: 429 `too.many.requests.retry.after` with an integer Retry-After
    matching the message; another token has its own budget; and one SDK (urllib3) retry that
    honours Retry-After then succeeds."""
    limited = start_simulator(**{"--rate-limit": "3"})
    client = limited.client()
    routing = RoutingApi(client)
    counts = []
    for _ in range(3):
        routing.get_routing_queues(page_size=1)
        counts.append(assert_genesys_headers(client.last_response.getheaders(), allowed=3))
    assert counts == [1, 2, 3]
    try:
        routing.get_routing_queues(page_size=1)
        raise AssertionError("the 4th request within a minute with --rate-limit 3 succeeded")
    except ApiException as exc:
        refused_at = time.monotonic()
        assert exc.status == 429, exc.body
        err, raw = error_body(exc)
        retry_after = header(exc.headers, "Retry-After")
        assert assert_genesys_headers(exc.headers, allowed=3) == 3
    assert err.code == "too.many.requests.retry.after"
    assert retry_after is not None and retry_after.isdigit(), f"Retry-After {retry_after!r}"
    wait = int(retry_after)
    assert 1 <= wait <= 60
    assert err.message == f"Rate limit exceeded the maximum. Retry the request in [{wait}] seconds"
    assert raw.get("details") == [] and raw.get("errors") == []

    other = limited.client()
    assert RoutingApi(other).get_routing_queues(page_size=1).page_size == 1

    retrying = sdk_client(limited.base_url, retrying_http_client(1))
    retrying.access_token = client.access_token
    listing = RoutingApi(retrying).get_routing_queues(page_size=1)
    assert listing.page_size == 1
    assert time.monotonic() - refused_at >= wait - 1, "succeeded before Retry-After had elapsed"


def test_fault_injection_answers_5xx_with_genesys_bodies(start_simulator):
    """With --fault-rate 0.5, about half the calls fail with 500/502/503/504 and a Genesys ErrorBody;
    Retry-After appears only on 503; the other calls succeed and deserialize."""
    faulty = start_simulator(**{"--fault-rate": "0.5"})
    client = None
    for _ in range(40):
        try:
            client = faulty.client()
            break
        except ApiException as exc:
            assert exc.status in (500, 502, 503, 504), exc.body
    assert client is not None, "40 token requests in a row failed at --fault-rate 0.5"
    routing = RoutingApi(client)
    statuses, successes = [], 0
    for _ in range(60):
        try:
            listing = routing.get_routing_queues(page_size=5)
            assert len(listing.entities) == 5
            successes += 1
        except ApiException as exc:
            assert exc.status in (500, 502, 503, 504), f"HTTP {exc.status}: {exc.body}"
            error_body(exc)
            retry_after = header(exc.headers, "Retry-After")
            if retry_after is not None:
                assert exc.status == 503, f"Retry-After on HTTP {exc.status}"
                assert retry_after.isdigit(), f"Retry-After {retry_after!r}"
            statuses.append(exc.status)
    assert 10 <= len(statuses) <= 50, f"{len(statuses)} faults in 60 calls at rate 0.5"
    assert successes == 60 - len(statuses)
    assert len(set(statuses)) >= 2, f"only {set(statuses)} injected"


def test_latency_is_added_to_api_responses(start_simulator):
    """With --latency 400ms, every API response takes at least that long."""
    slow = start_simulator(**{"--latency": "400ms"})
    client = slow.client()
    routing = RoutingApi(client)
    for _ in range(3):
        started = time.monotonic()
        routing.get_routing_queues(page_size=1)
        assert time.monotonic() - started >= 0.39


def test_bad_request_body_is_400_genesys_body(api):
    """A body that is not JSON at all answers 400 with a Genesys ErrorBody (bad.request)."""
    http = api.get_http_client().rest_client.pool_manager
    response = http.request(
        "POST", api.host + "/api/v2/analytics/conversations/aggregates/query", body=b"{not json",
        headers={"Authorization": f"Bearer {api.access_token}", "Content-Type": "application/json"},
    )
    assert response.status == 400, response.data
    err, _ = parse_error(400, response.data.decode(), response.headers)
    assert err.code in ("bad.request", "invalid.value", "general.bad.request"), err.code
