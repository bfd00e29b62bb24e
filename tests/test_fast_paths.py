"""The shortcuts taken for speed at a million rows give exactly what the plain code gives."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.core.records import UsageRecord
from reportgen.render.cells import CONTROL_RE, FORMULA_START, QuotientText, csv_text, plain_decimal
from reportgen.store import Store


def _reference_csv_text(value: object) -> str:
    text = "" if value is None else CONTROL_RE.sub("", str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def test_csv_text_fast_path_equals_the_regex_path():
    samples = [None, "", "key-a", "=1+2", " =1", "\t=1", "\x00=1", "a\x7fb", "张三", "=张三", "\u2028x",
               "-5", 5, -2.5, "\n\n@x", "é", "\x1f", "@SUM(1)", "+1", "a\r\nb"]  # fmt: skip
    for value in samples:
        assert csv_text(value) == _reference_csv_text(value), value


def test_records_without_raw_equal_the_full_records_but_raw(tmp_path):
    rows = [
        UsageRecord(
            100, 2, "key-a", "m", 5, 1, 2, 300, True, "r1", "c", 200, None, 7, "g", "u", 3, True, '{"a":1}'
        ),
        UsageRecord(101, 6, "键", "m2", 9, raw='{"b":2}'),
        UsageRecord(102, 5, "key-a", "m", 0, has_price=False),
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(0, 1000, rows, 1, 0)
        full = list(store.iter_records(0, 1000))
        assert full == rows
        bare = list(store.iter_records(0, 1000, raw=False))
        assert bare == [dataclasses.replace(r, raw="") for r in rows]
        assert list(store.iter_records(0, 1000, ("键",), raw=False)) == [dataclasses.replace(rows[1], raw="")]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**15), 10**15),
    st.sampled_from([Decimal(500000), Decimal(1000), Decimal(1), Decimal(3), Decimal("2.5"), Decimal(1024)]),
)
def test_quotient_text_is_plain_decimal_of_the_exact_quotient(n, divisor):
    assert QuotientText(divisor)(n) == plain_decimal(Decimal(n) / divisor)


class _RecordsOnly:
    """A report's source without its SQL detail path: the detail goes through the records."""

    def __init__(self, source):
        self._source = source

    def iter_records(self, start_ts, end_ts, token_names=None):
        return self._source.iter_records(start_ts, end_ts, token_names)


#: The token usage columns of the detail (issue 22), empty where a row does not report them.
_USAGE = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
)


def _reference_detail(report, ctx) -> bytes:
    """The CSV detail written the plain way, from :meth:`Report.rows` (record objects)."""
    import codecs
    import csv
    import io

    from reportgen.render import row_type_label

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow([csv_text(ctx.label(c)) for c in (
        "time", "member", "key", "model", "type", "prompt_tokens", "completion_tokens", *_USAGE, "quota",
        "cost_usd", "latency_s", "client", "request_id", "http_status",
    )])  # fmt: skip
    for row in report.rows():
        r = row.record
        usage = [
            "" if r.usage is None or getattr(r.usage, k) is None else getattr(r.usage, k) for k in _USAGE
        ]
        out.writerow(
            (
                row.local_time.isoformat(), csv_text(row.member), csv_text(r.token_name), csv_text(r.model_name),
                csv_text(ctx.label(row_type_label(r.type))), r.prompt_tokens, r.completion_tokens, *usage,
                row.signed_quota, plain_decimal(Decimal(row.signed_quota) / report.quota_per_unit),
                "" if r.use_time_ms is None else plain_decimal(Decimal(r.use_time_ms) / 1000),
                csv_text(r.client), csv_text(r.request_id), "" if r.http_status is None else r.http_status,
            )
        )  # fmt: skip
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def _same_detail_three_ways(report, ctx) -> bytes:
    """The CSV detail from the store's SQL, from the records, and the plain reference: one set of bytes."""
    import io

    from reportgen.exporters.csv_exporter import write_detail

    fast, slow = io.BytesIO(), io.BytesIO()
    write_detail(report, fast, ctx)
    write_detail(dataclasses.replace(report, source=_RecordsOnly(report.source)), slow, ctx)
    assert fast.getvalue() == slow.getvalue()
    assert fast.getvalue() == _reference_detail(report, ctx)
    return fast.getvalue()


_DETAIL_ROWS = st.lists(
    st.builds(
        UsageRecord,
        created_at=st.integers(1774828800, 1774828800 + 40 * 86400),  # across Europe/Berlin's switch to DST
        type=st.sampled_from([2, 2, 5, 6, 1]),
        token_name=st.sampled_from(["k1", "=k2", "键", "unmapped"]),
        model_name=st.sampled_from(["m", "-m", "模型"]),
        quota=st.integers(0, 10**7),
        prompt_tokens=st.integers(0, 10**5),
        completion_tokens=st.integers(0, 10**5),
        use_time_ms=st.one_of(st.none(), st.integers(0, 10**6)),
        client=st.one_of(st.none(), st.text(max_size=5)),
        request_id=st.one_of(st.none(), st.text(max_size=8)),
        http_status=st.one_of(st.none(), st.sampled_from([200, 502])),
    ),
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(rows=_DETAIL_ROWS, zone=st.sampled_from(["Europe/Berlin", "Asia/Shanghai", "Asia/Kolkata"]))
def test_the_tuple_stream_writes_the_same_bytes_as_the_record_path(tmp_path_factory, rows, zone):
    from pathlib import Path

    from reportgen.config import Config
    from reportgen.core.periods import parse_period
    from reportgen.read import open_period
    from tests.report_factory import context as ctx

    directory: Path = tmp_path_factory.mktemp("tuples")
    config = Config(timezone=zone, store_dir=directory, members={"张三": ("k1", "键"), "=x": ("=k2",)})
    period = parse_period("2026-04", config.tz)
    with Store.open(directory) as store:
        store.replace_window(period.start_ts - 86400, period.end_ts + 86400, rows, 1, 0)
    for member in (None, "张三"):
        with open_period(config, period) as view:
            report = dataclasses.replace(view.report, member_filter=member)
            written = _same_detail_three_ways(report, ctx())
            assert len(written.splitlines()) == 1 + sum(
                1 for r in rows if r.type in (2, 6) and period.contains(r.created_at)
                and (member is None or r.token_name in ("k1", "键"))
            )  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(rows=_DETAIL_ROWS, other=_DETAIL_ROWS)
def test_the_tuple_stream_names_and_filters_sources_as_the_record_path(tmp_path_factory, rows, other):
    """Two sources in one store: the tuple stream reads the same rows, keys named ``SOURCE:NAME``."""
    from pathlib import Path

    from reportgen.config import Config, GatewayConfig
    from reportgen.core.periods import parse_period
    from reportgen.read import open_period
    from tests.report_factory import context as ctx

    directory: Path = tmp_path_factory.mktemp("tuples2")
    gateways = (GatewayConfig(name="default"), GatewayConfig(name="b"))
    config = Config(
        timezone="Asia/Shanghai", store_dir=directory, gateways=gateways,
        members={"张三": ("k1", "b:键"), "李四": ("b:k1",)},
    )  # fmt: skip
    period = parse_period("2026-04", config.tz)
    with Store.open(directory) as store:
        store.replace_window(period.start_ts - 86400, period.end_ts + 86400, rows, 1, 0)
        store.replace_window(period.start_ts - 86400, period.end_ts + 86400, other, 1, 0, "b")
    named = [(r.token_name, r) for r in rows] + [(f"b:{r.token_name}", r) for r in other]
    for only in (None, "b"):
        scoped = config.with_source(only)
        for member, keys in ((None, None), ("张三", ("k1", "b:键")), ("李四", ("b:k1",))):
            with open_period(scoped, period) as view:
                report = dataclasses.replace(view.report, member_filter=member)
                written = _same_detail_three_ways(report, ctx())
                assert len(written.splitlines()) == 1 + sum(
                    1 for name, r in named if r.type in (2, 6) and period.contains(r.created_at)
                    and (keys is None or name in keys) and (only is None or name.startswith("b:"))
                )  # fmt: skip
