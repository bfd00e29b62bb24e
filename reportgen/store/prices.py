"""Prices pinned where they were read: the ``/api/status`` each stored window is priced by.

The operator of a gateway can change ``quota_per_unit`` or the exchange rate at any time,
and history is not re-stamped.  So each window is stored with the status that held when
its rows were synced (``window_prices``, replaced with the window), and a period's figures
read the pins of its windows, never whatever ``/api/status`` said last.  A store or a
closed snapshot without pins (written before schema 10) reads its newest status instead.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from ..core.records import GatewayStatus
from ..errors import StoreError
from .connection import DEFAULT_SOURCE
from .dialect import upsert
from .facts import FactReads, one_status

_COLUMNS = "read_at, quota_per_unit, usd_exchange_rate, quota_display_type, version"


class PriceReads(FactReads):
    """The prices the sources' windows were pinned at."""

    def window_prices(
        self, start_ts: int, end_ts: int, source: str | None = None
    ) -> list[tuple[str, int, int, GatewayStatus]]:
        """``(source, start, end, status)`` of the windows touching ``[start_ts, end_ts)``, oldest first
        (of ``source``, else of the sources read)."""
        if not self.has_table("window_prices"):
            return []
        if source is not None:
            where, args = " AND source = ?", [source]
        else:
            where, args = self._src()
        rows = self._conn.execute(
            f"SELECT source, start_ts, end_ts, {_COLUMNS} FROM window_prices "
            f"WHERE start_ts < ? AND end_ts >= ?{where} ORDER BY start_ts, source",
            (end_ts, start_ts, *args),
        )
        return [(str(r[0]), int(r[1]), int(r[2]), _status(r[3:])) for r in rows]

    def priced_statuses(self, start_ts: int, end_ts: int) -> dict[str, GatewayStatus | None]:
        """Each source read and the status its windows of ``[start_ts, end_ts)`` were priced at (the
        newest pin; without pins, its newest ``/api/status``); a StoreError when its pins differ in
        ``quota_per_unit`` (the rows cannot be summed in one unit)."""
        out = self.source_statuses()
        pins: dict[str, list[tuple[int, int, GatewayStatus]]] = {}
        for source, lo, hi, status in self.window_prices(start_ts, end_ts):
            pins.setdefault(source if self._multi else DEFAULT_SOURCE, []).append((lo, hi, status))
        for source, found in pins.items():
            _one_unit(source, found)
            out[source] = found[-1][2]
        return out

    def priced_status(self, start_ts: int, end_ts: int) -> GatewayStatus | None:
        """The status ``[start_ts, end_ts)`` is priced at (see :meth:`priced_statuses`); with several
        sources the first one's (by name) that states an exchange rate, as :meth:`latest_status`."""
        if not self.window_prices(start_ts, end_ts):
            return self.latest_status()
        return one_status(
            [(n, st) for n, st in sorted(self.priced_statuses(start_ts, end_ts).items()) if st is not None]
        )


class PriceWrites(PriceReads):
    """Pricing stored windows again (``sync --reprice``)."""

    def reprice(self, source: str, start_ts: int, end_ts: int, status: GatewayStatus) -> int:
        """Price every stored window of ``source`` touching ``[start_ts, end_ts]`` at ``status``; how many."""
        with self._transaction() as cur:
            changed = cur.execute(
                f"UPDATE window_prices SET ({_COLUMNS}) = (?, ?, ?, ?, ?) "
                "WHERE source = ? AND start_ts <= ? AND end_ts >= ?",
                (*_values(status), source, end_ts, start_ts),
            ).rowcount
        return int(changed)


def pin_window(cur: sqlite3.Cursor, start: int, end: int, source: str, status: GatewayStatus) -> None:
    """Price ``[start, end]`` of ``source`` at ``status`` (the window's earlier pin was cleared with it)."""
    cur.execute(
        upsert(
            "window_prices", ("source", "start_ts", "end_ts", *_COLUMNS.split(", ")), ("source", "start_ts")
        ),
        (source, start, end, *_values(status)),
    )


def _values(status: GatewayStatus) -> tuple[object, ...]:
    return (
        status.read_at,
        str(status.quota_per_unit),
        None if status.usd_exchange_rate is None else str(status.usd_exchange_rate),
        status.quota_display_type,
        status.version,
    )


def _one_unit(source: str, pins: list[tuple[int, int, GatewayStatus]]) -> None:
    units: dict[Decimal, list[tuple[int, int]]] = {}
    for lo, hi, status in pins:
        units.setdefault(status.quota_per_unit, []).append((lo, hi))
    if len(units) < 2:
        return
    parts = "; ".join(
        f"{unit} quota per USD for {_day(spans[0][0])} .. {_day(spans[-1][1])}"
        for unit, spans in units.items()
    )
    raise StoreError(
        f"the rows of source {source!r} in this period were priced differently when they were synced ({parts}, "
        "UTC): report those parts separately, or run `reportgen sync` for the period with --reprice to price "
        "all of it at what the gateway says now"
    )


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _status(row: tuple[object, ...]) -> GatewayStatus:
    read_at, qpu, rate, display, version = row
    return GatewayStatus(
        quota_per_unit=Decimal(str(qpu)),
        read_at=int(str(read_at)),
        usd_exchange_rate=None if rate is None else Decimal(str(rate)),
        quota_display_type=None if display is None else str(display),
        version=None if version is None else str(version),
    )
