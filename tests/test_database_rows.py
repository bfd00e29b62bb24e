"""The database source's fast path parses rows exactly as the API path's ``parse_log_row`` does.

``parse_log_rows`` takes the common case of each field inline and hands every other value
to the same field functions; these tests hold the two paths to the same records, the same
errors and the same raw JSON value on hostile and ordinary values alike.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import astuple
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.app.sync import plan_windows
from reportgen.core.records import RowBatch
from reportgen.errors import GatewayDataError
from reportgen.gateway.parse import MAX_AMOUNT, parse_log_row, parse_log_rows
from reportgen.sources.schema import detect_log_schema
from reportgen.store import DB_NAME, Store

NEWAPI = ("id", "user_id", "created_at", "type", "username", "token_name", "model_name", "quota",
          "prompt_tokens", "completion_tokens", "content", "use_time", "is_stream", "channel", "token_id",
          "group", "ip", "other", "request_id")  # fmt: skip

_ints = st.one_of(
    st.integers(-5, 5),
    st.integers(0, 10**7),
    st.sampled_from(
        [MAX_AMOUNT, MAX_AMOUNT + 1, -MAX_AMOUNT - 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**70]
    ),
)
_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["", " 12 ", "1215.0", "1.5", "-3", "abc", "1e3", "NaN", "inf", "9" * 45]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6).map(round).map(float),
)
_value = st.one_of(_ints, _ints, _ints, _odd)
_text = st.one_of(st.text(max_size=12), st.text(max_size=12), st.none(), _ints)
_other = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "null",
            "{",
            "[1]",
            '"x"',
            "{}",
            '{"model_price":-1}',
            '{"model_price":"x"}',
            '{"model_ratio":null,"model_price":0}',
            "[" * 40 + "]" * 40,
        ]
    ),  # fmt: skip
    st.fixed_dictionaries(
        {},
        optional={
            "model_ratio": st.one_of(st.none(), st.floats(0, 10)),
            "model_price": st.one_of(st.none(), st.integers(-1, 3), st.text(max_size=3)),
            "request_id": _text,
            "client": _text,
            "http_status": st.one_of(_value, st.just("200")),
            "billing_source": st.one_of(st.sampled_from(["wallet", "subscription", ""]), _text),
        },
    ).map(lambda d: json.dumps(d, ensure_ascii=False)),
)
_rows = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        _ints,
        _value,
        _value,
        _text,
        _text,
        _text,
        _value,
        _value,
        _value,
        _text,
        _value,
        st.one_of(st.booleans(), st.integers(0, 1), _odd),
        _value,
        _value,
        _text,
        _text,
        _other,
        _text,
    ),  # fmt: skip
    max_size=8,
)


def _reference(fields: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...] | str:
    try:
        record = parse_log_row(dict(zip(fields, row, strict=True)))
    except GatewayDataError as exc:
        return str(exc)
    return astuple(record)


def _fast(fields: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...] | str:
    try:
        batch = parse_log_rows(fields, [row])
    except GatewayDataError as exc:
        return str(exc)
    return (*batch.values[0], batch.raws[0], batch.usage[0])


def _same(reference: tuple[Any, ...] | str, fast: tuple[Any, ...] | str) -> None:
    if isinstance(reference, str) or isinstance(fast, str):
        assert fast == reference
        return
    assert fast[-1] == reference[-1]  # the token usage
    fast, reference = fast[:-1], reference[:-1]
    assert fast[:-1] == reference[:-1]
    assert [type(v) for v in fast[:-1]] == [type(v) for v in reference[:-1]]  # True is not 1
    # The raw JSON: the same value (orjson may spell a float's exponent otherwise).
    assert json.loads(fast[-1]) == json.loads(reference[-1]) or fast[-1] == reference[-1]


@settings(max_examples=400, deadline=None)
@given(_rows)
def test_fast_path_equals_parse_log_row(rows):
    for row in rows:
        _same(_reference(NEWAPI, row), _fast(NEWAPI, row))


@settings(max_examples=150, deadline=None)
@given(_rows, st.sets(st.sampled_from(["content", "use_time", "is_stream", "channel", "token_id", "group",
                                       "ip", "other", "request_id"])))  # fmt: skip
def test_fast_path_with_missing_columns(rows, dropped):
    keep = [i for i, name in enumerate(NEWAPI) if name not in dropped]
    fields = tuple(NEWAPI[i] for i in keep)
    for row in rows:
        cut = tuple(row[i] for i in keep)
        _same(_reference(fields, cut), _fast(fields, cut))


def test_one_api_rows_through_the_schema_equal_the_items():
    """one-api: ``elapsed_time`` (ms) becomes ``use_time`` as ``to_items`` makes it, on both paths."""
    columns = {c: "bigint" for c in ("id", "user_id", "created_at", "type", "quota", "prompt_tokens",
                                     "completion_tokens", "elapsed_time", "channel_id", "token_id")}  # fmt: skip
    columns |= {c: "text" for c in ("username", "token_name", "model_name", "content")}
    schema = detect_log_schema(columns, "x")
    rows = [
        tuple({"elapsed_time": ms, "created_at": 1775000000 + i, "type": 2, "quota": 7}.get(c, 3)
              if c not in ("username", "token_name", "model_name", "content") else f"v{i}" for c in schema.columns)
        for i, ms in enumerate([None, 0, 1, 1500, 2999, 123456789])
    ]  # fmt: skip
    batch = parse_log_rows(schema.api_fields, schema.api_rows(rows))
    reference = [parse_log_row(item) for item in schema.to_items(rows)]
    assert list(batch) == [r for r in reference]
    assert [json.loads(r) for r in batch.raws] == [json.loads(r.raw) for r in reference]


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), -float("inf"), 1e-05, 1e16, 2**70, "\ud800"])
def test_raw_json_keeps_odd_values(odd):
    row = tuple(dict(zip(NEWAPI, range(19), strict=True), content=odd, use_time=odd).values())
    fast, reference = _fast(NEWAPI, row), _reference(NEWAPI, row)
    _same(reference, fast)
    if isinstance(odd, float) and odd != odd:
        assert "NaN" in fast[-2]


def test_a_refused_value_names_the_row_as_the_api_path_does():
    row = dict(zip(NEWAPI, [17, 42, 1775000000, 2, "u", "k", "m", 1.5, 1, 1, "", 1, True, 1, 1, "", "", "", "rid"],
                   strict=True))  # fmt: skip
    with pytest.raises(GatewayDataError) as fast:
        parse_log_rows(NEWAPI, [tuple(row.values())])
    with pytest.raises(GatewayDataError) as reference:
        parse_log_row(row)
    assert str(fast.value) == str(reference.value)
    assert "row id 17" in str(fast.value) and "fractional" in str(fast.value)


def test_a_batch_reads_as_records():
    rows = [tuple(dict(zip(NEWAPI, range(19), strict=True)).values())]
    batch = parse_log_rows(NEWAPI, rows)
    assert isinstance(batch, RowBatch) and len(batch) == 1
    assert (
        batch[0] == list(batch)[0] == batch[:1][0] == parse_log_row(dict(zip(NEWAPI, rows[0], strict=True)))
    )


def test_rows_out_of_time_order_leave_the_window_as_it_was(tmp_path):
    def row(i: int, ts: int) -> tuple[Any, ...]:
        item = dict(zip(NEWAPI, range(19), strict=True))
        item.update(id=i, created_at=ts, type=2, quota=100, token_name="key-a", model_name="m")
        return tuple(item.values())

    good = parse_log_rows(NEWAPI, [row(1, 1000), row(2, 1001)])
    with Store.open(tmp_path) as store:
        store.stream_window(1000, 1999, [good], 5000)
        before = store.count_rows(1000, 2000)
        late = parse_log_rows(NEWAPI, [row(3, 1500)])
        early = parse_log_rows(NEWAPI, [row(4, 1100)])
        with pytest.raises(GatewayDataError, match="out of time order"):
            store.stream_window(1000, 1999, [late, early], 6000)
        assert store.count_rows(1000, 2000) == before == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(_rows.filter(bool), min_size=1, max_size=4).map(lambda parts: [r for p in parts for r in p]))
def test_a_batch_of_many_rows_equals_each_row_parsed_alone(rows):
    """The columnar path (every column checked at once) gives each row's own record, or the first
    failing row's error, whatever mix of common and odd values the batch's columns hold."""
    references = [_reference(NEWAPI, row) for row in rows]
    failed = [r for r in references if isinstance(r, str)]
    try:
        batch = parse_log_rows(NEWAPI, rows)
    except GatewayDataError as exc:
        assert failed and str(exc) == failed[0]
        return
    assert not failed
    raws = batch.raws
    for i, reference in enumerate(references):
        assert not isinstance(reference, str)
        _same(reference, (*batch.values[i], raws[i], batch.usage[i]))


_plain = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8), st.none(), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(*[_plain] * 19), min_size=1, max_size=6),
    st.sampled_from([None, float("nan"), float("inf"), 2**64, "\ud800", Decimal("1.5"), b"x"]),
)
def test_raw_rows_read_back_from_the_store_as_written(tmp_path_factory, rows, odd):
    """A batch's raw rows kept as one table (or, for values JSON cannot carry exactly, as each
    row's text) read back from the store as the very text ``RowBatch.raws`` gives."""
    rows = [(*row[:2], 1000 + i, 2, *row[4:7], 5, 6, 7, *row[10:]) for i, row in enumerate(rows)]
    if odd is not None:
        rows[-1] = (*rows[-1][:10], odd, *rows[-1][11:])  # content
    batch = parse_log_rows(NEWAPI, rows)
    assert batch.faithful == (odd is None or odd == 2**64 or odd == "\ud800")
    expected = batch.raws
    Store.prepare(batch)  # as the reading process does: the raw table compressed, the rows dropped
    with Store.open(tmp_path_factory.mktemp("store")) as store:
        store.stream_window(1000, 1999, [batch], 5000)
        stored = [r.raw for r in store.iter_records(1000, 2000, raw=True)]
    assert stored == expected


_BASE = 1775001600  # 2026-04-01T00:00:00Z
_latency_row = st.tuples(
    st.integers(0, 3 * 86400 - 1),
    st.sampled_from([1, 2, 2, 2, 5, 6]),
    st.sampled_from(["k1", "键"]),
    st.sampled_from(["m1", "m2"]),
    # seconds as new-api (ints, some below zero) and Crazyrouter (floats) log them, or none
    st.one_of(
        st.none(),
        st.integers(-5, 4000),
        st.floats(-2, 4000, allow_nan=False).map(lambda f: round(f, 3)),
        st.sampled_from([-1.234, -0.005, 0.999, 9.9999, 59.5, 3600.25]),
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_latency_row, max_size=60),
    st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
    st.integers(1, 25),
    st.booleans(),
)
def test_latency_counted_as_written_equals_the_days_rows(tmp_path_factory, rows, zone, size, spill):
    """The latency cells of the days a window holds whole, counted as the rows pass, are what
    grouping the day's rows in SQL gives (a zone change rebuilds them that way); so are the
    days it holds in part, which are grouped from rows."""
    items = []
    for i, (offset, kind, key, model, seconds) in enumerate(sorted(rows, key=lambda r: r[0])):
        item = dict(zip(NEWAPI, range(19), strict=True))
        item.update(id=i + 1, created_at=_BASE + offset, type=kind, quota=1, token_name=key, model_name=model,
                    use_time=seconds, other=None)  # fmt: skip
        items.append(tuple(item.values()))
    tz = ZoneInfo(zone)
    windows, _ = plan_windows(_BASE, _BASE + 3 * 86400 - 1, [], tz=tz)
    directory = tmp_path_factory.mktemp("store")
    with Store.open(directory) as store:
        store.set_rollup_zone(zone)
        for lo, hi in windows:
            given_rows = [r for r in items if lo <= r[2] and (spill or r[2] <= hi)]  # spill: later rows too
            pages = [
                parse_log_rows(NEWAPI, given_rows[i : i + size]) for i in range(0, len(given_rows), size)
            ]
            store.stream_window(lo, hi, pages, 5000)
        counted = _histograms(directory)
        store.set_rollup_zone("Asia/Kolkata")
        store.set_rollup_zone(zone)  # rebuilt from the rows in SQL
        assert _histograms(directory) == counted


def _histograms(directory: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(directory / DB_NAME)) as conn:
        return conn.execute(
            "SELECT * FROM rollup_histograms ORDER BY day, source, token_name, model_name"
        ).fetchall()
