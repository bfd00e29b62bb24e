"""Rollups kept at sync time equal the raw grouping of the rows, whatever was written how."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.app.closing import freeze_period
from reportgen.config import Config
from reportgen.core.aggregate import aggregate, latency_bucket, partials_from_records
from reportgen.core.partials import Partials
from reportgen.core.periods import Period, date_range_period
from reportgen.core.rates import Exchange
from reportgen.core.records import UsageRecord
from reportgen.store import Reader, Store, snapshot_dir
from reportgen.store.packed import PACKED_NAME
from reportgen.store.rollups import LATENCY_BUCKET_SQL
from reportgen.store.schema import CREDIT_TYPES_SQL
from tests.conftest import closed_rows

BASE = 1775145600  # 2026-04-02T16:00:00Z: local midnight in Asia/Shanghai
SPAN = 3 * 86400
ZONES = ("Asia/Shanghai", "UTC", "Asia/Kolkata", "America/New_York")

_records = st.builds(
    UsageRecord,
    created_at=st.integers(0, SPAN - 1),  # an offset inside the window, made absolute below
    type=st.sampled_from([1, 2, 2, 2, 5, 6]),
    token_name=st.sampled_from(["k1", "k2", "键"]),
    model_name=st.sampled_from(["m1", "m2"]),
    quota=st.integers(0, 5000),
    prompt_tokens=st.integers(0, 50),
    completion_tokens=st.integers(0, 50),
    # up to 70 s, and past the hour where packed histograms keep a tail
    use_time_ms=st.one_of(st.none(), st.integers(0, 70000), st.integers(3_590_000, 4_000_000)),
    http_status=st.one_of(st.none(), st.sampled_from([200, 429, 502])),
    billing_source=st.one_of(st.none(), st.just("subscription"), st.just("wallet")),
    has_price=st.booleans(),
    raw=st.just('{"x":1}'),
)


@st.composite
def _window(draw: st.DrawFn) -> tuple[int, int, list[UsageRecord]]:
    lo = BASE + draw(st.integers(0, SPAN - 1))
    hi = min(BASE + SPAN - 1, lo + draw(st.integers(0, 86400)))
    rows = draw(st.lists(_records, max_size=25))
    width = hi - lo + 1
    return lo, hi, [_at(r, lo + r.created_at % width) for r in rows]


def _at(r: UsageRecord, ts: int) -> UsageRecord:
    return replace(r, created_at=ts)


def _all(reader: Reader) -> list[UsageRecord]:
    return list(reader.iter_records(0, 2**40))


_RATES = {"default": Exchange(Decimal("7.1"), "t"), "b": Exchange(Decimal("6.9"), "t")}


def _same_report(
    store: Reader, period: Period, keys: tuple[str, ...] | None, records: list[UsageRecord]
) -> None:
    """The report from the store's summed groups equals the one from every bucket, and from the rows.

    With a different rate per source, so that days are summed per rate exactly as keys are.
    """
    summed = store.partials(period, keys)
    assert summed.key_models is not None and summed.days is not None  # the path `summary` takes
    whole = store.partials(period, keys)
    every = Partials(whole.buckets, whole.latency_by_key_model, whole.latency_by_day)  # no sums given
    config = Config(timezone=str(period.tz), store_dir=Path("."))
    at = datetime(2026, 5, 1, tzinfo=period.tz)
    for rates in (None, _RATES):
        got, from_buckets, from_rows = (
            aggregate(p, period=period, config=config, generated_at=at, rates=rates)
            for p in (summed, every, partials_from_records(records, period))
        )
        for want in (from_buckets, from_rows):
            for name in ("totals", "members", "keys", "models", "days", "member_models", "exchange"):
                assert getattr(got, name) == getattr(want, name), name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    windows=st.lists(_window(), min_size=1, max_size=6),  # later windows refetch or amend earlier ones
    zone=st.sampled_from(ZONES),
    asked=st.sampled_from(ZONES),
    keys=st.one_of(st.none(), st.just(("k1", "键")), st.just(())),
)
def test_rollups_equal_the_raw_grouping(
    tmp_path_factory: object,
    windows: list[tuple[int, int, list[UsageRecord]]],
    zone: str,
    asked: str,
    keys: tuple[str, ...] | None,
) -> None:
    directory = tmp_path_factory.mktemp("rollups")  # type: ignore[attr-defined]
    with Store.open(directory) as store:
        store.set_rollup_zone(zone)
        for lo, hi, rows in windows:
            store.replace_window(lo, hi, rows, 1, 0)
        period = date_range_period(date(2026, 4, 2), date(2026, 4, 6), ZoneInfo(asked))
        records = [r for r in _all(store) if keys is None or r.token_name in keys]
        assert store.partials(period, keys) == partials_from_records(records, period)
        _same_report(store, period, keys, records)
        assert store.token_names(period.start_ts, period.end_ts) == sorted(
            {r.token_name for r in _all(store) if r.type in (2, 5, 6) and period.contains(r.created_at)}
        )
        # A zone change rebuilds them from the rows.
        store.set_rollup_zone(asked)
        assert store.rolled_days(period.start_ts, period.end_ts)
        assert store.partials(period, keys) == partials_from_records(records, period)
        assert [r.raw for r in _all(store)] == ['{"x":1}'] * len(_all(store))


def test_a_closed_snapshot_carries_its_rollups(tmp_path: Path) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    config = Config(timezone="Asia/Shanghai", store_dir=tmp_path)
    period = date_range_period(date(2026, 4, 3), date(2026, 4, 4), tz)
    rows = [
        UsageRecord(period.start_ts + i * 3001, 2 + (i % 3 == 0) * 4, f"k{i % 3}", "m", i) for i in range(60)
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(period.start_ts - 3600, period.end_ts, rows, 1, 0)  # zone: UTC
        closure = freeze_period(store, config, period, 1, 0)
    with Reader.open(snapshot_dir(store, closure), snapshot=True) as snap:
        assert len(snap.rolled_days(period.start_ts, period.end_ts)) == 2  # local days of the period
        expected = partials_from_records([r for r in rows if period.contains(r.created_at)], period)
        assert snap.partials(period) == expected


_SOURCES = ("default", "b")


@st.composite
def _source_window(draw: st.DrawFn) -> tuple[str, int, int, list[UsageRecord]]:
    source = draw(st.sampled_from(_SOURCES))
    lo, hi, rows = draw(_window())
    # Each row's raw JSON names its source and place, so a row's raw found under another is seen.
    return source, lo, hi, [replace(r, raw=f'{{"s":"{source}","i":{i}}}') for i, r in enumerate(rows)]


def _named(source: str, r: UsageRecord) -> UsageRecord:
    """A row as reports name its key (bare on the default source, ``SOURCE:NAME`` on others)."""
    return r if source == "default" else replace(r, token_name=f"{source}:{r.token_name}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    windows=st.lists(_source_window(), min_size=1, max_size=8),
    zone=st.sampled_from(ZONES),
    asked=st.sampled_from(ZONES),
    read=st.sampled_from([None, ("default",), ("b",), ("default", "b")]),
    # "b:k1" is both the default source's key named so and source b's key k1: one key in reports.
    keys=st.one_of(st.none(), st.just(("k1", "b:键")), st.just(("b:k1",)), st.just(())),
)
def test_rollups_equal_the_raw_grouping_with_two_sources(
    tmp_path_factory: object,
    windows: list[tuple[str, int, int, list[UsageRecord]]],
    zone: str,
    asked: str,
    read: tuple[str, ...] | None,
    keys: tuple[str, ...] | None,
) -> None:
    directory = tmp_path_factory.mktemp("rollups2")  # type: ignore[attr-defined]
    held: dict[str, list[UsageRecord]] = {name: [] for name in _SOURCES}  # what each source holds
    with Store.open(directory) as store:
        store.set_rollup_zone(zone)
        for source, lo, hi, rows in windows:
            if source == "default":  # the default source also has a key whose name looks qualified
                rows = [replace(r, token_name="b:k1") if r.token_name == "k2" else r for r in rows]
            store.replace_window(lo, hi, rows, 1, 0, source)
            held[source] = [r for r in held[source] if not lo <= r.created_at <= hi] + rows
        store.use_sources(read)
        period = date_range_period(date(2026, 4, 2), date(2026, 4, 6), ZoneInfo(asked))
        chosen = [_named(s, r) for s in (read or _SOURCES) for r in held[s]]
        records = sorted(
            (r for r in chosen if keys is None or r.token_name in keys), key=lambda r: r.created_at
        )
        # The raw JSON of each source's rows survives the other source's replaced windows.
        assert sorted(map(repr, _all(store))) == sorted(map(repr, chosen))
        assert store.partials(period, keys) == partials_from_records(records, period)
        _same_report(store, period, keys, records)
        assert store.token_names(period.start_ts, period.end_ts) == sorted(
            {r.token_name for r in chosen if r.type in (2, 5, 6) and period.contains(r.created_at)}
        )
        _counts_and_spend_agree(store, period.start_ts, period.end_ts, keys, held)
        store.set_rollup_zone(asked)  # a zone change rebuilds every source's rollups from its rows
        _counts_and_spend_agree(store, period.start_ts, period.end_ts, keys, held)
        if any(held[s] for s in read or _SOURCES):
            assert store.rolled_days(period.start_ts, period.end_ts)
        assert store.partials(period, keys) == partials_from_records(records, period)
        _same_report(store, period, keys, records)


def test_a_closed_snapshot_carries_every_sources_rollups(tmp_path: Path) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    config = Config(timezone="Asia/Shanghai", store_dir=tmp_path)
    period = date_range_period(date(2026, 4, 3), date(2026, 4, 4), tz)
    rows = [
        UsageRecord(period.start_ts + i * 3001, 2 + (i % 3 == 0) * 4, f"k{i % 3}", "m", i) for i in range(60)
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(period.start_ts - 3600, period.end_ts, rows, 1, 0)
        store.replace_window(period.start_ts, period.end_ts - 1, rows[::2], 1, 0, "b")
        closure = freeze_period(store, config, period, 1, 0)
    with Reader.open(snapshot_dir(store, closure), snapshot=True) as snap:
        assert len(snap.rolled_days(period.start_ts, period.end_ts)) == 2
        both = rows + [_named("b", r) for r in rows[::2]]
        inside = sorted((r for r in both if period.contains(r.created_at)), key=lambda r: r.created_at)
        assert snap.partials(period) == partials_from_records(inside, period)
        snap.use_sources(("b",))
        only_b = [_named("b", r) for r in rows[::2] if period.contains(r.created_at)]
        assert snap.partials(period) == partials_from_records(only_b, period)
        assert snap.token_names(period.start_ts, period.end_ts) == ["b:k0", "b:k1", "b:k2"]


def _counts_and_spend_agree(
    store: Store, lo: int, hi: int, keys: tuple[str, ...] | None, held: dict[str, list[UsageRecord]]
) -> None:
    """Counts and the wallet bridge's sums read from the rollups equal those of the rows."""
    assert store.count_rows(lo, hi, keys, rolled=True) == store.count_rows(lo, hi, keys)
    for source in _SOURCES:
        rows = [r for r in held[source] if lo <= r.created_at < hi]
        wallet = sum(r.quota for r in rows if r.type == 2 and r.billing_source != "subscription")
        subscription = sum(r.quota for r in rows if r.type == 2 and r.billing_source == "subscription")
        refunded = sum(r.quota for r in rows if r.type == 6)
        assert store.spend_sums(source, lo, hi) == (wallet, subscription, refunded)


def test_a_schema_6_latency_rollup_is_packed_by_migration_7(tmp_path: Path) -> None:
    """Schema 6 kept one latency row per bucket; migration 7 packs them with the same counts."""
    tz = ZoneInfo("Asia/Shanghai")
    config = Config(timezone="Asia/Shanghai", store_dir=tmp_path)
    period = date_range_period(date(2026, 4, 3), date(2026, 4, 4), tz)
    rows = [
        UsageRecord(period.start_ts + i * 2999, 2, f"k{i % 3}", f"m{i % 2}", i, use_time_ms=i * 997 % 90000)
        for i in range(60)
    ] + [UsageRecord(period.start_ts + 7, 2, "k0", "m0", 1, use_time_ms=5_000_000)]
    with Store.open(tmp_path) as store:
        store.set_rollup_zone("Asia/Shanghai")
        store.replace_window(period.start_ts, period.end_ts - 1, rows, 1, 0)
        closure = freeze_period(store, config, period, 1, 0)
    expected = partials_from_records(rows, period)
    _as_unpacked(snapshot_dir(store, closure) / "reportgen.sqlite3")
    for db in (tmp_path / "reportgen.sqlite3", snapshot_dir(store, closure) / "reportgen.sqlite3"):
        _as_schema_6(db)
    with Reader.open(tmp_path) as live:  # migrates, snapshots included
        assert live.partials(period) == expected
        assert not live.has_table("rollup_latency")
    with Reader.open(snapshot_dir(store, closure), snapshot=True) as snap:
        assert len(snap.rolled_days(period.start_ts, period.end_ts)) == 2
        assert snap.partials(period) == expected


def test_migration_8_writes_the_credit_index_without_an_in_list(tmp_path: Path) -> None:
    """A partial index's ``IN (...)`` costs SQLite a small table per inserted row; schema 8 has
    the same rows indexed by ``=`` terms, and the wallet bridge's query still uses it."""
    with Store.open(tmp_path) as store:
        store.replace_window(1000, 1999, [UsageRecord(1000 + t, t, "k", "m", 5) for t in (1, 2, 3, 4)], 1, 0)
    db = tmp_path / "reportgen.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX logs_credit")
        conn.execute("CREATE INDEX logs_credit ON logs (created_at) WHERE type IN (1, 3, 4)")
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    with Reader.open(tmp_path) as reader:  # migrates
        assert [r.type for r in reader.credit_rows("default", 1000, 2000)] == [1, 3, 4]
    with sqlite3.connect(db) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'logs_credit'").fetchone()
        assert "IN (" not in sql and "type = 1 OR type = 3 OR type = 4" in sql
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM logs WHERE created_at >= 0 AND created_at < 9 "
            f"AND {CREDIT_TYPES_SQL} ORDER BY created_at, id"
        ).fetchall()
        assert "logs_credit" in str(plan)


def _as_unpacked(db: Path) -> None:
    """Turn a closed snapshot back into one closed before rows were packed: its rows in its own file."""
    with closed_rows(db) as plain, contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("ATTACH DATABASE ? AS packed", (str(plain),))
        conn.execute("INSERT INTO logs SELECT * FROM packed.logs")
        conn.execute("INSERT INTO raw_blobs SELECT * FROM packed.raw_blobs")
    (db.parent / PACKED_NAME).unlink()


def _as_schema_6(db: Path) -> None:
    """Turn a store back into schema 6's latency rollup, grouped as schema 6 grouped it."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE rollup_latency (day INTEGER NOT NULL, source TEXT NOT NULL, token_name TEXT NOT NULL, "
            "model_name TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, "
            "PRIMARY KEY (day, source, token_name, model_name, bucket)) WITHOUT ROWID"
        )
        for day, source, end in conn.execute("SELECT day, source, end_ts FROM rollup_days").fetchall():
            conn.execute(
                "INSERT INTO rollup_latency SELECT ?, source, token_name, model_name, "
                f"{LATENCY_BUCKET_SQL}, COUNT(*) FROM logs WHERE created_at >= ? AND created_at < ? "
                "AND type = 2 AND use_time_ms IS NOT NULL AND source = ? GROUP BY 2, 3, 4, 5",
                (day, day, end, source),
            )
        conn.execute("DROP TABLE rollup_histograms")
        conn.execute("DROP INDEX logs_credit")
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(-(10**7), 10**7), st.integers(-(2**62), 2**62)))
def test_the_latency_bucket_is_the_same_in_python_and_sql(ms: int) -> None:
    """Rows counted as they are written (Python) and rows grouped by SQLite fall in the same bucket,
    below zero too (SQL's integer division truncates toward zero)."""
    (in_sql,) = (
        sqlite3.connect(":memory:")
        .execute(f"SELECT {LATENCY_BUCKET_SQL} FROM (SELECT ? AS use_time_ms)", (ms,))
        .fetchone()
    )
    assert latency_bucket(ms) == in_sql
