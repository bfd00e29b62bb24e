"""Aggregation: exact sums, every member present, totals equal the sum of their parts."""

import math
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.config import Config
from reportgen.core.aggregate import aggregate, aggregate_records, latency_bucket, partials_from_records
from reportgen.core.periods import parse_period
from reportgen.core.records import GatewayStatus, KeyInfo, UsageRecord
from reportgen.store import Store

SH = ZoneInfo("Asia/Shanghai")
APRIL = parse_period("2026-04", SH)
CONFIG = Config(
    timezone="Asia/Shanghai",
    members={"张三": ("key-zhangsan", "key-zhangsan-batch"), "Alice": ("key-alice",)},
)
STATUS = GatewayStatus(quota_per_unit=Decimal(500000), read_at=APRIL.end_ts, usd_exchange_rate=Decimal("7.3"))

KEYS = ["key-zhangsan", "key-zhangsan-batch", "key-alice", "ci-pipeline", "=cmd|' /C calc'!A0"]
MODELS = ["gpt-5-mini", "claude-sonnet-4-5", "sora-2"]

records = st.builds(
    UsageRecord,
    created_at=st.integers(APRIL.start_ts - 86400, APRIL.end_ts + 86400),
    type=st.sampled_from([1, 2, 2, 2, 5, 6]),
    token_name=st.sampled_from(KEYS),
    model_name=st.sampled_from(MODELS),
    quota=st.integers(0, 10**7),
    prompt_tokens=st.integers(0, 10**5),
    completion_tokens=st.integers(0, 10**5),
    use_time_ms=st.none() | st.integers(0, 120_000),
    http_status=st.none() | st.sampled_from([200, 429, 500]),
    billing_source=st.sampled_from([None, "wallet", "subscription"]),
    has_price=st.booleans(),
)


def stat_fields(s):
    return (s.requests, s.errors, s.consumed_quota, s.refunded_quota, s.subscription_quota, s.prompt_tokens,
            s.completion_tokens, s.status_known, s.status_ok)  # fmt: skip


def summed(lines):
    sums = [0] * 9
    for line in lines:
        for i, value in enumerate(stat_fields(line.stats)):
            sums[i] += value
    return tuple(sums)


def test_example_from_the_gateway_contract():
    rows = [
        UsageRecord(1775100000, 2, "key-zhangsan", "gpt-5-mini", 1215, 3000, 310, 3000),
        UsageRecord(1775099000, 6, "key-lisi", "sora-2", 250000),
    ]
    report = aggregate_records(rows, period=APRIL, config=CONFIG, status=STATUS)
    assert report.totals.consumed_quota == 1215
    assert report.totals.refunded_quota == 250000
    assert report.totals.quota == 1215 - 250000
    assert report.totals.cost_usd == Decimal("-0.49757")
    assert report.cny(report.totals.cost_usd) == Decimal("-0.49757") * Decimal("7.3")
    names = [m.name for m in report.members]
    assert names[:2] == ["张三", "Alice"]  # configured members first, even with no spend
    assert "key-lisi" in names  # unmapped keys are members named after the key
    alice = next(m for m in report.members if m.name == "Alice")
    assert alice.stats.quota == 0 and not alice.stats.active


def test_keys_of_the_account_appear_with_zeros():
    report = aggregate_records([], period=APRIL, config=CONFIG, keys=[KeyInfo(1, "key-idle")])
    assert "key-idle" in [m.name for m in report.members]
    assert "key-idle" in [k.name for k in report.keys]
    assert len(report.days) == 30
    assert report.totals.cost_usd == 0


def test_twins_and_boundaries():
    twin = UsageRecord(APRIL.start_ts, 2, "key-alice", "gpt-5-mini", 7, 1, 1)
    last = UsageRecord(APRIL.end_ts - 1, 2, "key-alice", "gpt-5-mini", 11)
    outside = UsageRecord(APRIL.end_ts, 2, "key-alice", "gpt-5-mini", 1000)
    report = aggregate_records([twin, twin, last, outside], period=APRIL, config=CONFIG)
    assert report.totals.requests == 3
    assert report.totals.consumed_quota == 25
    assert report.days[0].stats.consumed_quota == 14
    assert report.days[-1].stats.consumed_quota == 11


def test_latency_percentiles_and_success_rate():
    rows = [UsageRecord(APRIL.start_ts + i, 2, "key-alice", "m", 1, use_time_ms=ms, http_status=200)
            for i, ms in enumerate([100, 200, 300, 400, 5000])]  # fmt: skip
    rows.append(UsageRecord(APRIL.start_ts, 5, "key-alice", "m", 0, http_status=500))
    t = aggregate_records(rows, period=APRIL, config=CONFIG).totals
    assert (t.latency_p50_ms, t.latency_p95_ms) == (300, 5000)
    assert t.success_rate == Decimal(5) / Decimal(6)
    assert latency_bucket(1234) == 1200 and latency_bucket(987) == 980 and latency_bucket(61_234) == 60_000


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=80))
def test_totals_equal_the_sum_of_their_parts(rows):
    report = aggregate_records(rows, period=APRIL, config=CONFIG, status=STATUS)
    total = stat_fields(report.totals)
    for lines in (report.members, report.keys, report.models, report.days, report.member_models):
        assert summed(lines) == total
    assert sum((m.stats.cost_usd for m in report.members), Decimal(0)) == report.totals.cost_usd
    inside = [r for r in rows if APRIL.contains(r.created_at)]
    assert report.totals.consumed_quota == sum(r.quota for r in inside if r.type == 2)
    assert report.totals.refunded_quota == sum(r.quota for r in inside if r.type == 6)
    assert report.totals.cost_usd == Decimal(report.totals.quota) / Decimal(500000)


@settings(max_examples=40, deadline=None)
@given(st.lists(records, max_size=60), st.integers(1, 29))
def test_periods_partition_the_rows(rows, split_day):
    cut = APRIL.start + timedelta(days=split_day)
    first = type(APRIL)("a", APRIL.start, cut)
    second = type(APRIL)("b", cut, APRIL.end)
    whole = aggregate_records(rows, period=APRIL, config=CONFIG).totals
    a = aggregate_records(rows, period=first, config=CONFIG).totals
    b = aggregate_records(rows, period=second, config=CONFIG).totals
    assert tuple(x + y for x, y in zip(stat_fields(a), stat_fields(b), strict=True)) == stat_fields(whole)


@settings(max_examples=30, deadline=None)
@given(st.lists(records, max_size=60))
def test_store_grouping_equals_the_reference(tmp_path_factory, rows):
    store = Store.open(tmp_path_factory.mktemp("store"))
    try:
        store.replace_window(APRIL.start_ts - 86400, APRIL.end_ts + 86400, rows, 1, 0)
        assert store.partials(APRIL) == partials_from_records(rows, APRIL)
        got = aggregate(store.partials(APRIL), period=APRIL, config=CONFIG, status=STATUS)
        want = aggregate_records(rows, period=APRIL, config=CONFIG, status=STATUS)
        assert got.totals == want.totals and got.members == want.members and got.days == want.days
        assert list(store.iter_records(APRIL.start_ts, APRIL.end_ts)) == sorted(
            (r for r in rows if APRIL.contains(r.created_at)), key=lambda r: r.created_at
        )
    finally:
        store.close()


def test_member_filter_keeps_only_that_member():
    rows = [
        UsageRecord(APRIL.start_ts, 2, "key-alice", "m", 5),
        UsageRecord(APRIL.start_ts, 2, "key-zhangsan", "m", 7),
    ]
    report = aggregate_records(rows, period=APRIL, config=CONFIG, member="张三")
    assert [m.name for m in report.members] == ["张三"]
    assert report.totals.consumed_quota == 7
    assert [r.record.quota for r in report.rows()] == [7]


@given(st.dictionaries(st.integers(0, 100_000), st.integers(1, 50), max_size=30))
def test_percentiles_are_nearest_rank_over_every_latency(histogram: dict[int, int]) -> None:
    from reportgen.core.aggregate import _percentiles

    expanded = sorted(v for v, n in histogram.items() for _ in range(n))
    ps = (Decimal("0.50"), Decimal("0.95"))
    expected = [expanded[max(1, math.ceil(p * len(expanded))) - 1] if expanded else None for p in ps]
    assert _percentiles(histogram, ps) == expected
