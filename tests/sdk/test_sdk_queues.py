"""SDK contract: `RoutingApi.get_routing_queues` — paging envelope, filters, wildcard, entities (§5, §10.5)."""

import math
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from PureCloudPlatformClientV2 import RoutingApi

from sdk_queries import all_queues, queue_media
from sdk_support import HTTP_TIMEOUT, assert_contract, assert_uuid, expect_api_error

QUEUES_PATH = "/api/v2/routing/queues"


@pytest.fixture(scope="module")
def queues(api):
    """Every queue of the default simulator, in the default (name ascending) order."""
    return all_queues(api)


def uri_params(uri):
    """Asserts `uri` is a relative queue-listing path and returns its single-valued query params."""
    parts = urlsplit(uri)
    assert not parts.scheme and not parts.netloc, f"URI not relative: {uri}"
    assert parts.path == QUEUES_PATH, uri
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_paging_to_the_last_page_matches_the_envelope(sim, api):
    """page_size 7 over 40 queues: 6 pages, exact envelope on each, nextUri absent only on the last."""
    total = int(sim.flags["--queues"])
    routing = RoutingApi(api)
    size, pages = 7, math.ceil(total / 7)
    seen = []
    for number in range(1, pages + 2):
        listing = routing.get_routing_queues(page_size=size, page_number=number)
        assert_contract(api, listing, "QueueEntityListing")
        assert (listing.page_size, listing.page_number) == (size, number)
        assert (listing.total, listing.page_count) == (total, pages)
        entities = listing.entities or []
        assert len(entities) == max(0, min(size, total - (number - 1) * size))
        seen.extend(q.id for q in entities)
        if number < pages:
            assert listing.next_uri, f"page {number} of {pages} has no nextUri"
            params = uri_params(listing.next_uri)
            assert params.get("pageNumber") == str(number + 1) and params.get("pageSize") == str(size)
        else:
            assert listing.next_uri is None, f"page {number} of {pages} has nextUri {listing.next_uri}"
        if number > 1 and number <= pages:
            assert uri_params(listing.previous_uri).get("pageNumber") == str(number - 1)
        if number == 1:
            assert listing.previous_uri is None
        assert uri_params(listing.first_uri).get("pageNumber") == "1"
        assert uri_params(listing.last_uri).get("pageNumber") == str(pages)
        assert uri_params(listing.self_uri).get("pageNumber") == str(number)
    assert len(seen) == total == len(set(seen))


def test_following_next_uri_visits_every_queue(api, queues):
    """Following `nextUri` with the SDK's call_api (as Splunk/Airbyte do) yields the same queues in order."""
    listing = RoutingApi(api).get_routing_queues(page_size=10)
    ids = [q.id for q in listing.entities]
    for _ in range(20):
        if not listing.next_uri:
            break
        listing = api.call_api(listing.next_uri, "GET", auth_settings=["PureCloud OAuth"],
                               response_type="QueueEntityListing")
        assert_contract(api, listing, "QueueEntityListing")
        ids.extend(q.id for q in listing.entities)
    assert listing.next_uri is None
    assert ids == [q.id for q in queues]


def test_next_uri_keeps_the_filters(api, queues):
    """Following nextUri page by page under a name wildcard (non-ASCII) and an id list (comma-joined)
    yields exactly the filtered queues: nextUri carries the filters, correctly encoded."""
    accented = {q.id for q in queues if "é" in q.name}
    assert len(accented) >= 2, "need two queues with é in their name"
    chosen = [q.id for q in queues[::3]]
    for kwargs, expected in [({"name": "*é*"}, accented), ({"id": chosen}, set(chosen))]:
        listing = RoutingApi(api).get_routing_queues(page_size=1, **kwargs)
        got = [q.id for q in listing.entities]
        for _ in range(len(queues)):
            if not listing.next_uri:
                break
            listing = api.call_api(listing.next_uri, "GET", auth_settings=["PureCloud OAuth"],
                                   response_type="QueueEntityListing")
            got.extend(q.id for q in listing.entities)
        assert listing.next_uri is None
        assert len(got) == len(set(got)) and set(got) == expected, kwargs


def test_default_page_size_is_25(sim, api):
    """Without paging params the listing uses pageNumber 1 and pageSize 25."""
    listing = RoutingApi(api).get_routing_queues()
    assert (listing.page_number, listing.page_size, len(listing.entities)) == (1, 25, 25)
    assert listing.page_count == math.ceil(int(sim.flags["--queues"]) / 25)


def test_bad_paging_and_sort_params_are_400(api):
    """pageSize above the documented default maximum (500) or below 1, pageNumber 0 and an unknown
    sortOrder answer 400 with an ErrorBody."""
    routing = RoutingApi(api)
    for kwargs in ({"page_size": 501}, {"page_size": 0}, {"page_number": 0}):
        expect_api_error(lambda: routing.get_routing_queues(**kwargs), 400)
    err = expect_api_error(lambda: routing.get_routing_queues(sort_order="sideways"), 400, "invalid.value")
    assert err.message.startswith("Value [sideways] is not valid for field type ["), err.message


def test_ignored_params_are_accepted(api, queues):
    """hasPeer and expand are accepted and do not change the listing (§10.5)."""
    listing = RoutingApi(api).get_routing_queues(page_size=100, has_peer=False, expand=["identityresolution"])
    assert [q.id for q in listing.entities] == [q.id for q in queues]


def test_queue_entities_carry_the_documented_fields(queues):
    """Each queue has id, name, division{id,name,selfUri}, memberCount, mediaSettings with SL, selfUri."""
    for q in queues:
        assert_uuid(q.id, "queue id")
        assert q.name and q.name == q.name.strip()
        assert q.self_uri == f"{QUEUES_PATH}/{q.id}"
        assert_uuid(q.division.id, "division id")
        assert q.division.name
        assert q.division.self_uri == f"/api/v2/authorization/divisions/{q.division.id}"
        assert isinstance(q.member_count, int) and q.member_count >= 0
        media = queue_media(q)
        assert media, f"queue {q.name!r} has no mediaSettings"
        for name, settings in media.items():
            sl = settings.service_level
            assert sl is not None, f"{q.name!r} {name} has no serviceLevel"
            assert 0 < sl.percentage <= 1, f"{q.name!r} {name} percentage {sl.percentage}"
            assert isinstance(sl.duration_ms, int) and sl.duration_ms > 0


def test_queue_names_include_awkward_characters(queues):
    """Names with spaces, non-ASCII letters, double quotes and backslashes exist and survive the SDK."""
    names = [q.name for q in queues]
    assert any(" " in n for n in names), names
    assert any(any(ord(c) > 127 for c in n) for n in names), names
    assert any('"' in n for n in names), names
    assert any("\\" in n for n in names), names
    assert len(set(names)) == len(names), "queue names repeat"


def test_sort_order_desc_reverses_asc(api, queues):
    """sortOrder desc lists the same queues as asc in reverse; asc is sorted by name."""
    names = [q.name for q in queues]
    assert names in (sorted(names), sorted(names, key=str.casefold)), names
    desc = RoutingApi(api).get_routing_queues(page_size=100, sort_order="desc").entities
    assert [q.id for q in desc] == [q.id for q in reversed(queues)]


def test_id_filter_comma_joined_by_the_sdk(api, queues):
    """`id=[a,b,c]` (the SDK comma-joins lists) returns exactly those queues."""
    wanted = [queues[3].id, queues[17].id, queues[-1].id]
    listing = RoutingApi(api).get_routing_queues(id=wanted, page_size=100)
    assert_contract(api, listing, "QueueEntityListing")
    assert sorted(q.id for q in listing.entities) == sorted(wanted)
    assert listing.total == 3 and listing.page_count == 1 and listing.next_uri is None


def test_id_filter_with_repeated_keys(sim, api, queues):
    """`id=a&id=b` (repeated keys, as the Go SDK sends; not expressible with the Python SDK) works too."""
    wanted = [queues[0].id, queues[5].id]
    pool = urllib3.PoolManager(retries=False, timeout=HTTP_TIMEOUT)
    response = pool.request(
        "GET", sim.base_url + QUEUES_PATH, fields=[("id", wanted[0]), ("id", wanted[1])],
        headers={"Authorization": f"Bearer {api.access_token}"},
    )
    assert response.status == 200, response.data
    assert sorted(e["id"] for e in response.json()["entities"]) == sorted(wanted)


def test_division_filter(api, queues):
    """`divisionId=[d1,d2]` returns exactly the queues of those divisions, with a filtered total."""
    divisions = sorted({q.division.id for q in queues})
    assert len(divisions) >= 2, "the org has a single division; cannot test the filter"
    chosen = divisions[:2]
    expected = [q.id for q in queues if q.division.id in chosen]
    listing = RoutingApi(api).get_routing_queues(division_id=chosen, page_size=100)
    assert_contract(api, listing, "QueueEntityListing")
    assert [q.id for q in listing.entities] == expected
    assert listing.total == len(expected)


def search(api, name):
    """Names returned by a `name` search (all pages, bounded)."""
    listing = RoutingApi(api).get_routing_queues(name=name, page_size=100)
    assert listing.page_count <= 1
    return [q.name for q in listing.entities or []]


def test_name_wildcards(api, queues):
    """`name` with leading/trailing `*` matches prefixes/suffixes/substrings; without `*` the exact name."""
    names = [q.name for q in queues]
    target = max(names, key=len)
    prefix, suffix, middle = target[:4], target[-4:], target[2:6]
    cases = [
        (prefix + "*", lambda n, cf: n.startswith(prefix) if not cf else n.casefold().startswith(prefix.casefold())),
        ("*" + suffix, lambda n, cf: n.endswith(suffix) if not cf else n.casefold().endswith(suffix.casefold())),
        ("*" + middle + "*", lambda n, cf: middle in n if not cf else middle.casefold() in n.casefold()),
        (target, lambda n, cf: n == target if not cf else n.casefold() == target.casefold()),
    ]
    for pattern, matches in cases:
        got = set(search(api, pattern))
        exact = {n for n in names if matches(n, False)}
        loose = {n for n in names if matches(n, True)}
        assert exact <= got <= loose, f"name={pattern!r}: got {sorted(got)}, expected {sorted(exact)}"
        assert target in got


def test_search_without_match_is_an_empty_page(api):
    """A name that matches nothing answers entities [], total 0, pageCount 0 and no nextUri."""
    listing = RoutingApi(api).get_routing_queues(name="No such queue*")
    assert_contract(api, listing, "QueueEntityListing")
    assert listing.entities == [] and listing.total == 0 and listing.page_count == 0
    assert listing.next_uri is None


def test_name_search_with_non_ascii_and_quotes(api, queues):
    """Exact `name` searches round-trip non-ASCII, quotes and backslashes through the SDK's URL encoding."""
    awkward = [q.name for q in queues if any(ord(c) > 127 for c in q.name) or '"' in q.name or "\\" in q.name]
    assert awkward
    for name in awkward:
        assert name in search(api, name), f"name={name!r} did not find itself"
