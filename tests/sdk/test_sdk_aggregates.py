"""SDK contract: `post_analytics_conversations_aggregates_query` — typed response shapes, stats per
metric kind, service level, and additivity across buckets and intervals (§2, §3, §10.7)."""

from datetime import datetime, timedelta, timezone
from itertools import product

import pytest
from PureCloudPlatformClientV2 import AnalyticsApi

from sdk_queries import (
    agg_clause, agg_filter, agg_predicate, all_queues, fold_stats, folded, kpi_query,
    metrics_by_group, queue_media, single_bucket, yesterday,
)
from sdk_support import KPI_METRICS, assert_contract, fmt_interval, parse_interval, raw_body

STATS_KEYS = {
    "t": {"max", "min", "count", "sum"},
    "n": {"count"},
    "oServiceLevel": {"ratio", "numerator", "denominator", "target"},
    "oServiceTarget": {"current"},
}


@pytest.fixture(scope="module")
def queues(api):
    """{queue id: Queue} of the default simulator."""
    return {q.id: q for q in all_queues(api)}


@pytest.fixture(scope="module")
def day(api, queues):
    """Yesterday (UTC) for every queue in one bucket: (window, response, raw JSON)."""
    window = yesterday()
    response = AnalyticsApi(api).post_analytics_conversations_aggregates_query(kpi_query(window, list(queues)))
    assert_contract(api, response, "ConversationAggregateQueryResponse")
    return window, response, raw_body(api)


def query(api, q):
    """Runs an aggregate query and checks the raw response against the SDK model."""
    response = AnalyticsApi(api).post_analytics_conversations_aggregates_query(q)
    assert_contract(api, response, "ConversationAggregateQueryResponse")
    return response


def kind(metric):
    """The stats shape family of a metric name."""
    return metric if metric.startswith("o") else metric[0]


def test_day_query_groups_buckets_and_stats_shapes(day, queues):
    """Every group has queueId + mediaType of a requested queue's configured media, one bucket equal
    to the interval, only requested metrics, and the documented stats keys per metric kind."""
    window, response, raw = day
    assert response.results, "a whole day over 40 queues returned no data"
    interval = fmt_interval(*window)
    for result, raw_result in zip(response.results, raw["results"]):
        group = result.group
        assert set(group) == {"queueId", "mediaType"}, group
        queue = queues.get(group["queueId"])
        assert queue is not None, f"group for an unrequested queue {group}"
        assert group["mediaType"] in queue_media(queue), f"{group} not configured on {queue.name!r}"
        assert [d.interval for d in result.data] == [interval]
        for metric, raw_metric in zip(result.data[0].metrics, raw_result["data"][0]["metrics"]):
            assert metric.metric in KPI_METRICS, metric.metric
            assert metric.qualifier is None
            keys = set(raw_metric["stats"])
            assert keys == STATS_KEYS[kind(metric.metric)], f"{metric.metric} stats keys {keys}"
            stats = metric.stats
            if kind(metric.metric) in ("t", "n"):
                assert stats.count >= 1, f"{metric.metric} with count 0 should be omitted"
            if kind(metric.metric) == "t":
                for field in ("max", "min", "sum"):
                    value = raw_metric["stats"][field]
                    assert float(value).is_integer() and value >= 0, f"{metric.metric}.{field} {value} not whole ms"
                assert stats.min <= stats.max
                assert stats.min * stats.count <= stats.sum <= stats.max * stats.count


def test_service_level_matches_its_definition(day, queues):
    """oServiceLevel: numerator = tAnswered.count − nOverSla.count (§3.2), ratio = num/den, target =
    oServiceTarget.current = the queue's configured percentage; the denominator follows one org-wide
    choice of the §3.2 options; nOverSla agrees with the configured threshold."""
    _, response, _ = day
    combos = set(product([False, True], repeat=3))
    for key, metrics in single_bucket(response).items():
        group = dict(key)
        sl_config = queue_media(queues[group["queueId"]])[group["mediaType"]].service_level
        answered = metrics.get("tAnswered", {}).get("count", 0)
        over = metrics.get("nOverSla", {}).get("count", 0)
        abandoned = metrics.get("tAbandon", {}).get("count", 0)
        short = metrics.get("tShortAbandon", {}).get("count", 0)
        flowouts = metrics.get("tFlowOut", {}).get("count", 0)
        assert over <= answered and short <= abandoned, (group, metrics)
        if "tAnswered" in metrics:
            if metrics["tAnswered"]["max"] < sl_config.duration_ms:
                assert over == 0, f"{group}: answers all within {sl_config.duration_ms} ms but nOverSla {over}"
            if metrics["tAnswered"]["min"] > sl_config.duration_ms:
                assert over == answered, f"{group}: every answer late but nOverSla {over} of {answered}"
        assert metrics["oServiceTarget"]["current"] == pytest.approx(sl_config.percentage), group
        sl = metrics.get("oServiceLevel")
        if sl is None:
            assert answered == 0, f"{group}: answered {answered} but no oServiceLevel"
            continue
        assert sl["target"] == pytest.approx(sl_config.percentage), group
        assert sl["numerator"] == answered - over, (group, sl, answered, over)
        if sl["denominator"] > 0:
            assert raw_ratio(response, key) == pytest.approx(sl["numerator"] / sl["denominator"], abs=1e-6)
        combos = {
            (inc_ab, inc_short, inc_flow) for inc_ab, inc_short, inc_flow in combos
            if sl["denominator"] == answered + (abandoned - (0 if inc_short else short) if inc_ab else 0)
            + (flowouts if inc_flow else 0)
        }
        assert combos, f"{group}: denominator {sl['denominator']} fits no §3.2 option set {metrics}"
    assert (True, False, False) in combos, f"default options (abandons in, short abandons and flow-outs out) do not fit: {combos}"


def raw_ratio(response, key):
    """The oServiceLevel ratio of a group in a single-bucket response."""
    (bucket,) = metrics_by_group(response)[key].values()
    return bucket["oServiceLevel"].ratio


def test_day_figures_are_plausible(day):
    """Over a day (issue 2): offered ≈ answered + abandoned + flow-outs, abandon rate a few percent,
    voice ASA seconds to minutes, AHT minutes; handle ⊇ talk + ACW of the same conversations."""
    _, response, _ = day
    totals, voice = {}, {}
    for key, metrics in single_bucket(response).items():
        for name, stats in metrics.items():
            for target in (totals, voice) if dict(key)["mediaType"] == "voice" else (totals,):
                slot = target.setdefault(name, {"count": 0, "sum": 0})
                slot["count"] += stats.get("count", 0)
                slot["sum"] += stats.get("sum", 0)
        handle, talk, acw = (metrics.get(m, {}) for m in ("tHandle", "tTalkComplete", "tAcw"))
        assert handle.get("count", 0) >= talk.get("count", 0), (key, metrics)
        assert handle.get("sum", 0) >= talk.get("sum", 0) + acw.get("sum", 0), (key, metrics)
    offered = totals["nOffered"]["count"]
    ended = sum(totals.get(m, {"count": 0})["count"] for m in ("tAnswered", "tAbandon", "tFlowOut"))
    assert abs(offered - ended) <= 0.05 * offered + 5, (offered, ended)
    abandon_rate = totals["tAbandon"]["count"] / offered
    assert 0.002 <= abandon_rate <= 0.25, abandon_rate
    asa_s = voice["tAnswered"]["sum"] / voice["tAnswered"]["count"] / 1000
    aht_s = voice["tHandle"]["sum"] / voice["tHandle"]["count"] / 1000
    assert 1 <= asa_s <= 600, asa_s
    assert 60 <= aht_s <= 3600, aht_s


def test_pt30m_buckets_are_aligned_and_add_up_to_the_day(api, day, queues):
    """With granularity PT30M: buckets are aligned 30-minute UTC-rendered intervals from the interval
    start, empty ones omitted, and their counts/sums/max/min/SL parts fold to the one-bucket day;
    a timeZone (America/New_York) does not move half-hour buckets aligned to the interval start."""
    window, whole, _ = day
    start, end = window
    response = query(api, kpi_query(window, list(queues), granularity="PT30M"))
    starts = set()
    for key, buckets in metrics_by_group(response).items():
        previous = None
        for interval in buckets:
            b_start, b_end = parse_interval(interval)
            assert b_end - b_start == timedelta(minutes=30), interval
            assert start <= b_start and b_end <= end, interval
            assert (b_start - start) % timedelta(minutes=30) == timedelta(0), interval
            assert previous is None or b_start > previous, f"buckets out of order in {key}"
            previous = b_start
            starts.add(b_start)
    assert len(starts) > 24, "fewer than half the half-hours of a day had any data"
    assert folded(response) == single_bucket(whole)
    zoned = query(api, kpi_query(window, list(queues), granularity="PT30M", time_zone="America/New_York"))
    assert metrics_by_group(zoned) == metrics_by_group(response), "PT30M buckets moved with timeZone"


def test_adjacent_intervals_add_up(api, day, queues):
    """[00:00, 12:00) + [12:00, 24:00) fold to exactly the whole-day answer."""
    window, whole, _ = day
    start, end = window
    noon = start + timedelta(hours=12)
    parts = [query(api, kpi_query(w, list(queues))) for w in ((start, noon), (noon, end))]
    merged = {}
    for part in parts:
        for key, metrics in metrics_by_group(part).items():
            target = merged.setdefault(key, {})
            for metrics_one in metrics.values():
                for name, stats in metrics_one.items():
                    target.setdefault(name, []).append(stats)
    assert {k: {n: fold_stats(s) for n, s in v.items()} for k, v in merged.items()} == single_bucket(whole)


def test_time_zone_day_buckets_follow_dst(api, queues):
    """granularity P1D with timeZone Europe/Paris across the 2026-03-29 DST change gives a 23-hour
    bucket then a 24-hour one, rendered in UTC, and they add up to the one-bucket answer."""
    start = datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)
    end = datetime(2026, 3, 30, 22, 0, tzinfo=timezone.utc)
    response = query(api, kpi_query((start, end), list(queues), granularity="P1D", time_zone="Europe/Paris"))
    expected = {"2026-03-28T23:00:00.000Z/2026-03-29T22:00:00.000Z",
                "2026-03-29T22:00:00.000Z/2026-03-30T22:00:00.000Z"}
    seen = set()
    for buckets in metrics_by_group(response).values():
        assert set(buckets) <= expected, sorted(buckets)
        seen |= set(buckets)
    assert seen == expected
    whole = query(api, kpi_query((start, end), list(queues)))
    assert folded(response) == single_bucket(whole)


def test_interval_with_offsets_equals_its_utc_form(api, day, queues):
    """An interval written with +02:00 offsets answers like the same instants in Z, buckets in UTC."""
    window, whole, _ = day
    start, end = window
    plus2 = timezone(timedelta(hours=2))
    text = f"{start.astimezone(plus2).isoformat(timespec='milliseconds')}/{end.astimezone(plus2).isoformat(timespec='milliseconds')}"
    assert "+02:00" in text
    response = query(api, kpi_query(text, list(queues)))
    assert single_bucket(response) == single_bucket(whole)
    assert {d.interval for r in response.results for d in r.data} == {fmt_interval(start, end)}


def test_group_by_queue_only_still_groups_by_media_type(api, day, queues):
    """groupBy [queueId] alone still yields {queueId, mediaType} groups (§2.5), same figures."""
    window, whole, _ = day
    response = query(api, kpi_query(window, list(queues), group_by=["queueId"]))
    assert single_bucket(response) == single_bucket(whole)


def test_no_group_by_groups_by_media_type(api, day, queues):
    """No groupBy: groups are {mediaType} only, each the sum over the queues of that media."""
    window, whole, _ = day
    response = query(api, kpi_query(window, list(queues), metrics=["nOffered", "tAnswered"], group_by=None))
    by_media = {}
    for key, metrics in single_bucket(whole).items():
        slot = by_media.setdefault(dict(key)["mediaType"], {"nOffered": 0, "tAnswered": 0})
        for name in slot:
            slot[name] += metrics.get(name, {}).get("count", 0)
    got = {}
    for key, metrics in single_bucket(response).items():
        assert set(dict(key)) == {"mediaType"}, key
        got[dict(key)["mediaType"]] = {n: metrics.get(n, {}).get("count", 0) for n in ("nOffered", "tAnswered")}
    assert got == by_media


def test_media_type_predicate_in_an_and_filter(api, day, queues):
    """filter and(clause or(queueId…), mediaType=voice) keeps only the voice groups, same figures."""
    window, whole, _ = day
    q = kpi_query(window, None)
    q.filter = agg_filter("and", predicates=[agg_predicate("mediaType", "voice")],
                          clauses=[agg_clause("or", [agg_predicate("queueId", qid) for qid in queues])])
    response = query(api, q)
    expected = {k: v for k, v in single_bucket(whole).items() if dict(k)["mediaType"] == "voice"}
    assert expected, "no voice traffic yesterday"
    assert single_bucket(response) == expected


def test_each_metric_is_independent_of_the_others_requested(api, day, queues):
    """Asking for the KPI metrics in two halves gives, per group, exactly the all-metrics figures."""
    window, whole, _ = day
    merged = {}
    for half in (KPI_METRICS[::2], KPI_METRICS[1::2]):
        for key, metrics in single_bucket(query(api, kpi_query(window, list(queues), metrics=half))).items():
            merged.setdefault(key, {}).update(metrics)
    assert merged == single_bucket(whole)


def test_and_of_two_queue_ids_matches_nothing(api, queues):
    """filter and(queueId=A, queueId=B) matches no conversation: an empty answer."""
    a, b = list(queues)[:2]
    q = kpi_query(yesterday(), None)
    q.filter = agg_filter("and", predicates=[agg_predicate("queueId", a), agg_predicate("queueId", b)])
    assert not query(api, q).results


def test_no_data_answers_an_empty_body(api):
    """No matching data (unknown queue; or a future interval) gives `{}` or `{"results": []}`,
    which the SDK deserializes to an empty response."""
    window = yesterday()
    tomorrow = (window[1] + timedelta(days=1), window[1] + timedelta(days=2))
    for q in (kpi_query(window, ["00000000-0000-4000-8000-00000000dead"]), kpi_query(tomorrow, None)):
        response = query(api, q)
        assert not response.results
        assert raw_body(api) in ({}, {"results": []}), raw_body(api)


def test_past_interval_is_deterministic_across_processes(api, day, queues, start_simulator, sim):
    """A second simulator with the same seed lists the same queues and answers yesterday identically."""
    window, whole, _ = day
    twin = start_simulator(**{"--seed": sim.flags["--seed"]})
    twin_api = twin.client()
    assert [(q.id, q.name) for q in all_queues(twin_api)] == [(q.id, q.name) for q in queues.values()]
    again = query(twin_api, kpi_query(window, list(queues)))
    assert single_bucket(again) == single_bucket(whole)
    assert single_bucket(query(api, kpi_query(window, list(queues)))) == single_bucket(whole)
