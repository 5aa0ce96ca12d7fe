"""SDK contract: OAuth client-credentials tokens and bearer authentication (§1, §7.4, §10.2, §10.3)."""

import base64
import json
import subprocess
import time

import pytest
import urllib3
from PureCloudPlatformClientV2 import AnalyticsApi, RoutingApi
from PureCloudPlatformClientV2.rest import ApiException

from conftest import BINARY, CLIENT_ID, CLIENT_SECRET
from sdk_queries import kpi_query, observation_query, yesterday
from sdk_support import (
    HTTP_TIMEOUT, assert_genesys_headers, error_body, expect_api_error, no_retry_http_client, sdk_client,
)

QUEUES_PATH = "/api/v2/routing/queues"


def capture_token_response(base_url, client_id, client_secret):
    """Fetches a token through the SDK and returns (client, raw response) via the SDK's post hook."""
    seen = []
    http = no_retry_http_client()

    def hook(response):
        seen.append(response)
        return response

    http.set_post_request_hook(hook)
    client = sdk_client(base_url, http)
    client.get_client_credentials_token(client_id, client_secret)
    assert len(seen) == 1, "the SDK token call made more than one request"
    return client, seen[0]


def raw_post(url, fields=None, headers=None):
    """A plain form POST (for what the SDK cannot express); returns the urllib3 response."""
    pool = urllib3.PoolManager(retries=False, timeout=HTTP_TIMEOUT)
    return pool.request("POST", url, fields=fields or {}, encode_multipart=False, headers=headers or {})


def token_error(exc):
    """Parses an OAuth error body (§1.3) from an `ApiException`."""
    body = json.loads(exc.body)
    assert set(body) >= {"error", "description", "error_description"}, body
    return body


def test_token_via_sdk_has_documented_shape(sim):
    """The SDK's get_client_credentials_token gets a bearer token whose body matches §1.2."""
    client, response = capture_token_response(sim.base_url, CLIENT_ID, CLIENT_SECRET)
    body = json.loads(response.data)
    assert set(body) <= {"access_token", "token_type", "expires_in"}, body
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 16
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int) and 3599 <= body["expires_in"] <= 3600
    assert client.access_token == body["access_token"]
    assert (response.getheader("Content-Type") or "").startswith("application/json")
    assert_genesys_headers(response.getheaders())


def test_each_token_request_gets_a_new_opaque_token(sim):
    """Two token requests return two different tokens, and both authorize API calls."""
    first, second = sim.client(), sim.client()
    assert first.access_token != second.access_token
    for client in (first, second):
        listing = RoutingApi(client).get_routing_queues(page_size=1)
        assert listing.total == int(sim.flags["--queues"])


def test_wrong_secret_is_rejected_with_oauth_body(sim):
    """A wrong secret raises ApiException 401 with the `invalid_client`/`authentication failed` body."""
    client = sdk_client(sim.base_url)
    with pytest.raises(ApiException) as info:
        client.get_client_credentials_token(CLIENT_ID, "not-the-secret")
    assert info.value.status == 401
    body = token_error(info.value)
    assert body["error"] == "invalid_client"
    assert body["description"] == body["error_description"] == "authentication failed"
    assert client.access_token == ""


def test_unknown_client_is_rejected_with_oauth_body(sim):
    """An unknown client id raises ApiException 401 with the `client not found` body."""
    with pytest.raises(ApiException) as info:
        sdk_client(sim.base_url).get_client_credentials_token("no-such-client", CLIENT_SECRET)
    assert info.value.status == 401
    body = token_error(info.value)
    assert body["error"] == "invalid_client"
    assert body["description"] == body["error_description"] == "client not found"


def test_token_with_form_field_credentials(sim):
    """client_secret_post style (form fields, no Basic header, as Airbyte sends) also gets a token."""
    response = raw_post(
        sim.base_url + "/oauth/token",
        fields={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert response.status == 200, response.data
    token = json.loads(response.data)["access_token"]
    client = sdk_client(sim.base_url)
    client.access_token = token
    assert RoutingApi(client).get_routing_queues(page_size=1).page_size == 1


def test_unsupported_grant_type_is_400(sim):
    """A grant type other than client_credentials answers 400 `unsupported_grant_type`."""
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = raw_post(
        sim.base_url + "/oauth/token",
        fields={"grant_type": "password", "username": "u", "password": "p"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status == 400, response.data
    assert json.loads(response.data)["error"] == "unsupported_grant_type"


def test_missing_authorization_header_is_authentication_required(sim):
    """A call without any Authorization header answers 401 `authentication.required`."""
    client = sdk_client(sim.base_url)
    call = lambda: client.call_api(QUEUES_PATH, "GET", auth_settings=[], response_type="QueueEntityListing")
    expect_api_error(call, 401, "authentication.required")


def test_sdk_without_token_is_401(sim):
    """The SDK with no token sends `Authorization: Bearer ` (empty); that is a 401 too."""
    client = sdk_client(sim.base_url)
    err = expect_api_error(lambda: RoutingApi(client).get_routing_queues(), 401)
    assert err.code in ("authentication.required", "bad.credentials"), err.code


def test_unknown_bearer_token_is_bad_credentials(sim):
    """An unknown bearer token answers 401 `bad.credentials` "Invalid login credentials."."""
    client = sdk_client(sim.base_url)
    client.access_token = "this-token-was-never-issued"
    err = expect_api_error(lambda: RoutingApi(client).get_routing_queues(), 401, "bad.credentials")
    assert err.message == "Invalid login credentials."


def test_bearer_prefix_is_case_insensitive(sim, api):
    """`bearer <token>` (lowercase, as some clients send) is accepted like `Bearer`."""
    client = sdk_client(sim.base_url)
    listing = client.call_api(
        QUEUES_PATH, "GET", header_params={"Authorization": f"bearer {api.access_token}"},
        auth_settings=[], query_params={"pageSize": 1}, response_type="QueueEntityListing",
    )
    assert listing.page_size == 1 and len(listing.entities) == 1


@pytest.mark.parametrize("code", ["bad.credentials", "credentials.expired"])
def test_token_expires_after_its_ttl(start_simulator, code):
    """With --token-ttl 2s, expires_in is 2 and the token is rejected with 401 (and the configured
    --expired-token-code) once it has expired; a fresh token works again."""
    short = start_simulator(**{"--token-ttl": "2s", "--expired-token-code": code})
    client, response = capture_token_response(short.base_url, CLIENT_ID, CLIENT_SECRET)
    assert json.loads(response.data)["expires_in"] in (1, 2)
    routing = RoutingApi(client)
    assert routing.get_routing_queues(page_size=1).page_size == 1
    deadline = time.monotonic() + 30
    rejected = None
    while time.monotonic() < deadline:
        try:
            routing.get_routing_queues(page_size=1)
        except ApiException as exc:
            rejected = exc
            break
        time.sleep(0.25)
    assert rejected is not None, "the token was still accepted 30 s after a 2 s TTL"
    assert rejected.status == 401, rejected.body
    err, _ = error_body(rejected)
    assert err.code == code, err.code
    fresh = short.client()
    assert RoutingApi(fresh).get_routing_queues(page_size=1).page_size == 1


def test_token_error_status_is_configurable(start_simulator):
    """--token-error-status 400 answers a wrong secret with 400 and the same OAuth body."""
    strict = start_simulator(**{"--token-error-status": "400"})
    with pytest.raises(ApiException) as info:
        sdk_client(strict.base_url).get_client_credentials_token(CLIENT_ID, "wrong")
    assert info.value.status == 400
    assert token_error(info.value)["error"] == "invalid_client"


LIMITED_ID, LIMITED_SECRET = "limited-client", "limited-secret"
NOBODY_ID, NOBODY_SECRET = "no-permissions", "nobody-secret"


def test_missing_permission_is_403_naming_it(start_simulator):
    """A client with only routing:queue:view lists queues but gets 403 `missing.any.permissions`
    naming the analytics permission it lacks on each analytics query; a client without any
    permission gets 403 naming routing:queue:view on the queue list."""
    usage = subprocess.run([str(BINARY), "simulate", "--help"], capture_output=True, text=True,
                           timeout=60).stdout
    assert "--extra-client" in usage, (
        "`genesys_exporter simulate` has no flag to add an OAuth client with fewer permissions "
        "(expected --extra-client ID:SECRET:PERMISSION[,PERMISSION...]), so a client outside the "
        "process cannot reach the 403 path"
    )
    sim = start_simulator(**{"--extra-client": [f"{LIMITED_ID}:{LIMITED_SECRET}:routing:queue:view",
                                                f"{NOBODY_ID}:{NOBODY_SECRET}:"]})
    client = sim.client(LIMITED_ID, LIMITED_SECRET)
    ids = [q.id for q in RoutingApi(client).get_routing_queues(page_size=2).entities]
    analytics = AnalyticsApi(client)
    for call, permission in [
        (lambda: analytics.post_analytics_conversations_aggregates_query(kpi_query(yesterday(), ids)),
         "analytics:conversationAggregate:view"),
        (lambda: analytics.post_analytics_queues_observations_query(observation_query(ids)),
         "analytics:queueObservation:view"),
    ]:
        err = expect_api_error(call, 403, "missing.any.permissions")
        assert permission in err.message, err.message
    nobody = sim.client(NOBODY_ID, NOBODY_SECRET)
    err = expect_api_error(lambda: RoutingApi(nobody).get_routing_queues(), 403, "missing.any.permissions")
    assert "routing:queue:view" in err.message, err.message


def test_awkward_secret_via_basic_and_form(start_simulator):
    """A secret with `:`, space, `+`, `%`, `&` and `=` works through the SDK's Basic header and as an
    url-encoded form field."""
    secret = "p:ss w+rd%&="
    odd = start_simulator(**{"--client-id": "odd.client", "--client-secret": secret})
    client = odd.client("odd.client", secret)
    assert RoutingApi(client).get_routing_queues(page_size=1).page_size == 1
    response = raw_post(odd.base_url + "/oauth/token", fields={
        "grant_type": "client_credentials", "client_id": "odd.client", "client_secret": secret})
    assert response.status == 200, response.data
