"""Helpers for the SDK contract tests: SDK clients without hidden retries, a strict
checker of raw JSON against the SDK's own models, error-body parsing and time maths.

Everything here is independent of the simulator's code: the contract is the
official Python SDK (`PureCloudPlatformClientV2`) plus the documented API shapes.
"""

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import urllib3
from dateutil.parser import isoparse
from PureCloudPlatformClientV2 import ApiClient, models
from PureCloudPlatformClientV2.default_http_client import DefaultHttpClient
from PureCloudPlatformClientV2.rest import ApiException

#: The value the SDK stores when a response carries an enum value it does not know.
OUTDATED = "outdated_sdk_version"

#: Genesys instant as rendered in aggregate buckets: UTC with milliseconds.
INSTANT_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
INTERVAL_RE = re.compile(rf"^({INSTANT_RE})/({INSTANT_RE})$")

#: The queue KPI metrics an exporter asks for (the same list the exporter requests).
KPI_METRICS = [
    "nOffered", "tAnswered", "tAbandon", "tShortAbandon", "tFlowOut", "tWait", "tHandle",
    "tTalkComplete", "tHeldComplete", "tAcw", "nTransferred", "nOverSla",
    "oServiceLevel", "oServiceTarget",
]

#: Queue configuration media key -> analytics mediaType (§6: `call` is `voice`).
CONFIG_TO_ANALYTICS_MEDIA = {
    "call": "voice", "callback": "callback", "chat": "chat", "email": "email", "message": "message",
}

#: Per request socket limits, so a stuck server fails a test instead of hanging it.
HTTP_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)


def no_retry_http_client():
    """An SDK HTTP client whose urllib3 pool never retries and has socket timeouts.

    The stock SDK pool uses `urllib3.util.Retry()` with POST allowed, so it silently
    sleeps through up to 10 retries of a 429/503 that carries `Retry-After`
    (urllib3 honours Retry-After by default), and it sets no socket timeout at all.
    """
    http = DefaultHttpClient()
    http.rest_client.pool_manager = urllib3.PoolManager(
        num_pools=4, maxsize=4, block=True, retries=False, timeout=HTTP_TIMEOUT
    )
    return http


def retrying_http_client(retries):
    """An SDK HTTP client that keeps the SDK's retry semantics but caps the count.

    Like the stock client it retries every method and honours `Retry-After` on
    413/429/503; unlike it, it stops after `retries` retries.
    """
    http = DefaultHttpClient()
    policy = urllib3.util.Retry(
        total=retries, connect=0, read=0, redirect=0, other=0, raise_on_status=False
    )
    policy.allowed_methods = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "TRACE"}
    http.rest_client.pool_manager = urllib3.PoolManager(
        num_pools=4, maxsize=4, block=True, retries=policy, timeout=HTTP_TIMEOUT
    )
    return http


def sdk_client(base_url, http_client=None):
    """An `ApiClient` pointed at `base_url` (the token POST goes to the same host)."""
    client = ApiClient(base_url)
    client.set_http_client(http_client or no_retry_http_client())
    return client


def authed_client(base_url, client_id, client_secret, http_client=None):
    """An `ApiClient` that already holds a client-credentials token."""
    client = sdk_client(base_url, http_client)
    client.get_client_credentials_token(client_id, client_secret)
    return client


# --------------------------------------------------------------------------------------
# Strict contract checks
# --------------------------------------------------------------------------------------

def check_json(data, klass, path="$"):
    """Returns every way the raw JSON `data` departs from SDK model `klass` (a name).

    Unknown keys (which the SDK silently drops), `null` values (Genesys omits absent
    fields), and values whose JSON type does not fit the model's declared type (which
    the SDK would silently coerce, e.g. `"count": 3.0` into an int) are all reported.
    """
    model = getattr(models, klass)()
    if not isinstance(data, dict):
        return [f"{path}: expected a JSON object ({klass}), got {type(data).__name__}"]
    by_json_key = {json_key: attr for attr, json_key in model.attribute_map.items()}
    problems = []
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in by_json_key:
            problems.append(f"{where}: not a field of the SDK model {klass}")
        elif value is None:
            problems.append(f"{where}: null (Genesys omits absent fields)")
        else:
            problems.extend(check_value(value, model.swagger_types[by_json_key[key]], where))
    return problems


def check_value(value, type_name, path):
    """Checks one JSON value against an SDK swagger type name (see `check_json`)."""
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a JSON array, got {type(value).__name__}"]
        inner = type_name[5:-1]
        out = []
        for i, item in enumerate(value):
            out.extend(check_value(item, inner, f"{path}[{i}]"))
        return out
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object (map), got {type(value).__name__}"]
        inner = re.match(r"dict\(([^,]*), (.*)\)", type_name).group(2)
        out = []
        for k, v in value.items():
            out.extend(check_value(v, inner, f"{path}[{k!r}]"))
        return out
    if type_name == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a JSON integer, got {value!r}"]
    if type_name == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a JSON number, got {value!r}"]
    if type_name == "str":
        return [] if isinstance(value, str) else [f"{path}: expected a JSON string, got {value!r}"]
    if type_name == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected true/false, got {value!r}"]
    if type_name in ("datetime", "date"):
        if not isinstance(value, str):
            return [f"{path}: expected an ISO-8601 string, got {value!r}"]
        try:
            isoparse(value)
        except ValueError:
            return [f"{path}: not an ISO-8601 date-time: {value!r}"]
        return []
    if type_name == "object":
        return []
    return check_json(value, type_name, path)


def outdated_enums(obj, path="$"):
    """Paths of deserialized fields the SDK marked `outdated_sdk_version` (unknown enum values)."""
    found = []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            found.extend(outdated_enums(item, f"{path}[{i}]"))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found.extend(outdated_enums(v, f"{path}[{k!r}]"))
    elif hasattr(obj, "swagger_types"):
        for attr in obj.swagger_types:
            found.extend(outdated_enums(getattr(obj, attr), f"{path}.{attr}"))
    elif obj == OUTDATED:
        found.append(path)
    return found


def raw_body(client):
    """The JSON body of the client's last successful response."""
    return json.loads(client.last_response.data)


def assert_contract(client, result, klass):
    """Asserts the last response matches SDK model `klass` strictly and deserialized cleanly."""
    problems = check_json(raw_body(client), klass)
    assert not problems, f"{klass} contract mismatches:\n  " + "\n  ".join(problems[:20])
    bad = outdated_enums(result)
    assert not bad, f"unknown enum values in {klass}: {bad[:10]}"
    content_type = client.last_response.getheader("Content-Type") or ""
    assert content_type.startswith("application/json"), f"Content-Type {content_type!r}"


# --------------------------------------------------------------------------------------
# Errors and headers
# --------------------------------------------------------------------------------------

class _Body:
    """Just enough of a RESTResponse for `ApiClient.deserialize`."""

    def __init__(self, data):
        self.data = data

    def getheader(self, _name, default=None):
        return "application/json"


def error_body(exc):
    """Parses an `ApiException` body as the SDK's `ErrorBody`, strictly; returns (model, raw)."""
    return parse_error(exc.status, exc.body, exc.headers)


def parse_error(status, body, headers):
    """Strictly parses a Platform API error body (§7.4) of an HTTP `status` answer."""
    assert body, f"HTTP {status} error without a body"
    raw = json.loads(body)
    problems = check_json(raw, "ErrorBody")
    assert not problems, "ErrorBody contract mismatches:\n  " + "\n  ".join(problems)
    parsed = ApiClient().deserialize(_Body(body), "ErrorBody")
    assert parsed.status == status, f"body status {parsed.status} != HTTP {status}"
    assert parsed.code, "error body without a code"
    assert parsed.message, "error body without a message"
    assert_genesys_headers(headers)
    correlation = header(headers, "ININ-Correlation-Id")
    assert parsed.context_id == correlation, (
        f"contextId {parsed.context_id!r} != ININ-Correlation-Id {correlation!r}"
    )
    return parsed, raw


def expect_api_error(call, status, code=None):
    """Runs `call`, asserts it raises `ApiException` with `status` (and `code`); returns the ErrorBody."""
    try:
        call()
    except ApiException as exc:
        assert exc.status == status, f"expected HTTP {status}, got {exc.status}: {exc.body}"
        parsed, _ = error_body(exc)
        if code is not None:
            assert parsed.code == code, f"expected code {code!r}, got {parsed.code!r}: {exc.body}"
        return parsed
    raise AssertionError(f"expected HTTP {status}, but the call succeeded")


def header(headers, name):
    """Case-insensitive header lookup on urllib3 or plain-dict headers."""
    if headers is None:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def assert_uuid(text, what):
    """Asserts `text` is a UUID string."""
    try:
        uuid.UUID(str(text))
    except ValueError as exc:
        raise AssertionError(f"{what} is not a UUID: {text!r}") from exc


def assert_genesys_headers(headers, allowed=None):
    """Asserts the correlation and `inin-ratelimit-*` headers of §7.2 / §10.1; returns the count."""
    assert_uuid(header(headers, "ININ-Correlation-Id"), "ININ-Correlation-Id")
    values = {}
    for name in ("inin-ratelimit-count", "inin-ratelimit-allowed", "inin-ratelimit-reset"):
        text = header(headers, name)
        assert text is not None, f"missing header {name}"
        assert re.fullmatch(r"\d+", text), f"{name} is not an integer: {text!r}"
        values[name] = int(text)
    if allowed is not None:
        assert values["inin-ratelimit-allowed"] == allowed
    assert values["inin-ratelimit-count"] <= values["inin-ratelimit-allowed"]
    assert 0 <= values["inin-ratelimit-reset"] <= 60
    return values["inin-ratelimit-count"]


# --------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------

def fmt_instant(dt):
    """`YYYY-MM-DDTHH:mm:ss.SSSZ` for an aware datetime."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def fmt_interval(start, end):
    """`start/end` in Genesys format."""
    return f"{fmt_instant(start)}/{fmt_instant(end)}"


def parse_interval(text):
    """Parses a bucket interval `start/end` (strict Genesys format) into two datetimes."""
    match = INTERVAL_RE.match(text)
    assert match, f"bucket interval not in YYYY-MM-DDTHH:mm:ss.SSSZ/… form: {text!r}"
    return isoparse(match.group(1)), isoparse(match.group(2))


def utc_midnight_days_ago(days):
    """The UTC midnight `days` days before today's."""
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)
