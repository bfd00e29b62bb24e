"""The store's fast fingerprint (lines built by SQLite) equals the reference scheme; CSV alone skips it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen import plugins
from reportgen.app import syncdigests
from reportgen.app.syncdigests import SyncDigests
from reportgen.config import Config
from reportgen.core.fingerprint import canonical_row, fingerprint_of, page_digests, row_digest
from reportgen.core.periods import parse_period
from reportgen.core.records import RowBatch, UsageRecord
from reportgen.gateway.parse import MAX_AMOUNT
from reportgen.hookspecs import hookimpl
from reportgen.store import DB_NAME, ROW_COLUMNS, Reader, Store

BASE = 1775001600  # 2026-04-01T00:00:00Z
TRICKY = '"\\/\b\f\n\r\t\x00\x1f\x7f\x80\x9f\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff键 '
# Every character a Python str stored in SQLite can hold (no lone surrogates), tricky ones often.
_text = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=["Cs"])), max_size=12)
_int = st.one_of(st.integers(-MAX_AMOUNT, MAX_AMOUNT), st.integers(-3, 3))  # what a sync stores
_maybe_int = st.one_of(st.none(), _int)
_maybe_text = st.one_of(st.none(), _text)

_records = st.builds(
    UsageRecord,
    created_at=st.integers(0, 86399),
    type=_int,
    token_name=_text,
    model_name=_text,
    quota=_int,
    prompt_tokens=_int,
    completion_tokens=_int,
    use_time_ms=_maybe_int,
    is_stream=st.booleans(),
    request_id=_maybe_text,
    client=_maybe_text,
    http_status=_maybe_int,
    billing_source=_maybe_text,
    token_id=_maybe_int,
    group=_text,
    username=_text,
    channel=_maybe_int,
    has_price=st.booleans(),
    raw=st.just("{}"),
)


def _values(r: UsageRecord, key: str) -> tuple[object, ...]:
    return (
        r.created_at, r.type, key, r.model_name, r.quota, r.prompt_tokens, r.completion_tokens,
        r.use_time_ms, int(r.is_stream), r.request_id, r.client, r.http_status, r.billing_source,
        r.token_id, r.group, r.username, r.channel, int(r.has_price),
    )  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_records, max_size=30), source=st.sampled_from(["default", "b"]))
def test_the_fast_fingerprint_equals_the_reference(
    tmp_path_factory: object, rows: list[UsageRecord], source: str
) -> None:
    directory = tmp_path_factory.mktemp("fp")  # type: ignore[attr-defined]
    rows = [r.__class__(**{**_fields(r), "created_at": BASE + r.created_at}) for r in rows]
    with Store.open(directory) as store:
        store.replace_window(BASE, BASE + 86399, rows, 1, 0, source=source)
    prefix = "" if source == "default" else f"{source}:"
    values = [_values(r, prefix + r.token_name) for r in rows]
    reference = sorted((row_digest(*v), canonical_row(v)) for v in values)
    with Reader.open(directory) as reader:
        reader.begin()
        assert reader.fingerprint(BASE, BASE + 86400) == fingerprint_of(d for d, _ in reference)
        assert list(reader.digests(BASE, BASE + 86400)) == [d for d, _ in reference]
        assert list(reader.canonical_rows(BASE, BASE + 86400)) == reference


def _fields(r: UsageRecord) -> dict[str, object]:
    return {name: getattr(r, name) for name in r.__dataclass_fields__}


_odd_value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # REAL in an INTEGER column: JSON differs
    st.integers(-(2**63), 2**63 - 1),  # a sum of these can overflow to REAL
    _text,  # text in an INTEGER column
)
_odd = st.one_of(_odd_value, st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(_odd_value, _odd, _odd), min_size=1, max_size=10))
def test_rows_sqlite_would_write_otherwise_are_written_by_python(
    tmp_path_factory: object, cells: list[tuple[object, object, object]]
) -> None:
    """Values no sync writes (a hand-edited store) still hash as the reference does, row by row."""
    directory = tmp_path_factory.mktemp("odd")  # type: ignore[attr-defined]
    Store.open(directory).close()
    with sqlite3.connect(directory / DB_NAME) as conn:
        for i, (quota, use_time, channel) in enumerate(cells):
            conn.execute(
                f"INSERT INTO logs ({ROW_COLUMNS}) VALUES (?, 2, 'k', 'm', ?, 1, 2, ?, 0, NULL, NULL, 200, "
                "NULL, 7, 'g', 'u', ?, 1)",
                (BASE + i, quota, use_time, channel),
            )
        stored = conn.execute(f"SELECT {ROW_COLUMNS} FROM logs").fetchall()  # as SQLite hands them back
    reference = sorted((row_digest(*v), canonical_row(v)) for v in stored)
    with Reader.open(directory) as reader:
        reader.begin()
        assert reader.fingerprint(BASE, BASE + 86400) == fingerprint_of(d for d, _ in reference)
        assert list(reader.canonical_rows(BASE, BASE + 86400)) == reference


class _Seen:
    """A plugin that records the fingerprint every prepared report carries."""

    def __init__(self) -> None:
        self.fingerprints: list[str] = []

    @hookimpl
    def report_prepared(self, report: object, context: object) -> None:
        self.fingerprints.append(report.provenance.fingerprint)  # type: ignore[attr-defined]


def test_a_csv_only_report_does_not_hash_the_rows(tmp_path: Path) -> None:
    from reportgen.app.documents import write_report

    store_dir = tmp_path / "store"
    row = UsageRecord(BASE + 60, 2, "k1", "m1", 1000, 10, 20, use_time_ms=900, raw="{}")
    with Store.open(store_dir) as store:
        store.replace_window(BASE, BASE + 86399, [row], 1, 0)
    config = Config(timezone="UTC", members={"alice": ("k1",)}, store_dir=store_dir)
    period = parse_period("2026-04", config.tz)
    with Reader.open(store_dir) as reader:
        reader.begin()
        expected = reader.fingerprint(period.start_ts, period.end_ts)
    seen = _Seen()
    pm = plugins.load_plugins()
    pm.register(seen)
    try:
        for formats in ("csv", "csv,csv-summary", "csv,xlsx"):
            write_report(
                config, period, plugins.select_exporters(formats), tmp_path / formats, allow_partial=True
            )
    finally:
        pm.unregister(seen)
    assert seen.fingerprints == ["", "", expected]
    assert expected


# The tricky text above, and what cuts a page's JSON array into rows: a string holding "],[".
_hostile = st.one_of(_text, st.sampled_from(["],[", "[", "]", ",", "張三", "a],[b"]))
_nullable_text = st.one_of(st.none(), _hostile)
_int64 = st.integers(-(2**63), 2**63 - 1)
_stored_row = st.tuples(
    _int64, _int64, _hostile, _hostile, _int64, _int64, _int64, st.one_of(st.none(), _int64), st.booleans(),
    _nullable_text, _nullable_text, st.one_of(st.none(), _int64), _nullable_text, st.one_of(st.none(), _int64),
    _hostile, _hostile, st.one_of(st.none(), _int64), st.booleans(),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_stored_row, max_size=12), st.sampled_from(["", "eu:"]))
def test_a_page_of_digests_is_the_row_by_row_digests(values, prefix):
    """The page written as one JSON array and cut into rows digests exactly as each row's
    canonical line does (booleans as 0/1, the key as reports name it)."""
    expected = sorted(
        row_digest(*(int(v) if isinstance(v, bool) else v for v in (*row[:2], prefix + row[2], *row[3:])))
        for row in values
    )
    batch = RowBatch(list(zip(*values, strict=True)) if values else [()] * 18, (), [])
    assert sorted(page_digests(batch.stored, prefix)) == expected


def _page(rows: list[tuple]) -> RowBatch:
    return RowBatch(list(zip(*rows, strict=True)) if rows else [()] * 18, (), [])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_stored_row, max_size=30), max_size=6), st.sampled_from([64, 1 << 20]))
def test_a_syncs_digests_give_the_fingerprint_of_its_rows(pages, spill):
    """Pages digested as they pass, bucketed by first byte (spilled to a file or not), give
    the fingerprint of every row; a span the windows do not cover exactly gives None."""
    old, syncdigests._SPILL = syncdigests._SPILL, spill
    try:
        every = [sorted(row, key=lambda r: r[0]) for row in pages]
        with SyncDigests("eu:") as runs:
            for _ in runs.pages(iter(map(_page, every)), -(2**63), 2**63 - 1):
                pass
            expected = fingerprint_of(
                sorted(page_digests([r for p in every for r in _page(p).stored], "eu:"))
            )
            assert runs.fingerprint((-(2**63), 2**63 - 1)) == expected
            assert runs.fingerprint((0, 2**63 - 1)) is None
    finally:
        syncdigests._SPILL = old


def test_a_page_outside_its_window_leaves_the_fingerprint_to_the_store():
    row = (5, 2, "k", "m", 1, 1, 1, None, False, None, None, None, None, None, "", "", None, True)
    with SyncDigests() as runs:
        list(runs.pages(iter([_page([row])]), 0, 4))
        assert runs.fingerprint((0, 4)) is None
