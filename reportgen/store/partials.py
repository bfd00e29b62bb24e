"""Reads over the rollups: which local days are rolled up, and a period's partials from them and from rows.

A whole local day that is rolled up (see :mod:`.rollups`) is read from the rollups, any other
day is grouped from its rows; both name keys and filter sources as rows are.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from datetime import date
from typing import Any

from ..core.partials import Bucket, LatencyCount, Partials
from ..core.periods import Period, local_days
from . import rollups
from .connection import DEFAULT_SOURCE
from .coverage import CoverageReads
from .facts import FactReads
from .rollups import BUCKET_COLUMNS, LATENCY_BUCKET_SQL, SUB_SQL, SUMS_SQL

_COLON = "':'"


class RollupReads(CoverageReads, FactReads):
    """A period's figures from the rollups where whole days are rolled up, else from rows."""

    def rolled_days(self, start_ts: int, end_ts: int) -> dict[int, int]:
        """The rolled-up local days starting in ``[start_ts, end_ts)``: start -> end (see :mod:`.rollups`).

        A day counts when every source read is rolled up for it, or holds nothing there
        (no coverage touches it: a source's rows always lie in its coverage).
        """
        if not self.has_table("rollup_histograms"):  # a snapshot closed before rollups existed, not migrated
            return {}
        where, args = self._src()
        by_day: dict[int, dict[str, int]] = {}
        for day, source, end in self._conn.execute(
            f"SELECT day, source, end_ts FROM rollup_days WHERE day >= ? AND day < ?{where}",
            (start_ts, end_ts, *args),
        ):
            by_day.setdefault(int(day), {})[str(source)] = int(end)
        if not by_day:
            return {}
        names = self.source_names()
        if not self._multi:
            names = tuple(n for n in names if n == DEFAULT_SOURCE)
        covered = {name: self.source_coverage(name) for name in names}
        out: dict[int, int] = {}
        for day, ends in by_day.items():
            if len(set(ends.values())) != 1:  # cannot happen in one zone: be safe
                continue
            end = next(iter(ends.values()))
            if all(
                name in ends or not any(lo < end and hi >= day for lo, hi in covered[name]) for name in names
            ):
                out[day] = end
        return out

    def rolled_spans(self, start_ts: int, end_ts: int) -> list[tuple[int, int, bool]]:
        """``[start_ts, end_ts)`` cut into runs of whole rolled-up days (True) and the rest (False)."""
        out: list[tuple[int, int, bool]] = []
        at = start_ts
        for day, end in sorted(self.rolled_days(start_ts, end_ts).items()):
            if end > end_ts:
                break
            if day > at:
                out.append((at, day, False))
            if out and out[-1][2] and out[-1][1] == day:
                out[-1] = (out[-1][0], end, True)
            else:
                out.append((day, end, True))
            at = end
        if at < end_ts:
            out.append((at, end_ts, False))
        return out

    def partials(
        self, period: Period, token_names: tuple[str, ...] | None = None, *, latency: bool = True
    ) -> Partials:
        """Rows of the period grouped by key, model, local day, type and billing source.

        Whole local days that are rolled up (the usual case) are read from the rollups, a
        run of consecutive days per query; any other day is grouped from its rows.  What
        aggregation reads (per key × model and per day) is summed here; the buckets
        of rolled-up days are read only if asked for, in this read (see :class:`Partials`).
        ``latency=False`` leaves the latency counts empty.
        """
        where, args = self._filter(token_names)
        days = local_days(period)
        rolled = self.rolled_days(days[0][1], days[-1][2]) if days else {}
        # In day order: a run of rolled-up days (read later if asked) or a day's buckets from rows.
        parts: list[tuple[list[tuple[date, int, int]], list[Bucket]]] = []
        key_models: list[Bucket] = []
        day_groups: list[Bucket] = []
        lat_day: list[LatencyCount] = []
        lat_km: dict[tuple[str, str], dict[int, int]] = {}  # key × model → bucket → count
        run: list[tuple[date, int, int]] = []

        def flush() -> None:
            if run:
                self._rolled_sums(run, where, args, key_models, day_groups)
                if latency:
                    self._rolled_latency(run, where, args, lat_day, lat_km)
                parts.append((run.copy(), []))
                run.clear()

        for day, start, end in days:
            if rolled.get(start) == end and start >= period.start_ts and end <= period.end_ts:
                run.append((day, start, end))
                continue
            flush()
            from_rows = list(self._day_buckets(day, start, end, where, args))
            parts.append(([], from_rows))
            key_models.extend(from_rows)
            day_groups.extend(from_rows)
            if not latency:
                continue
            for bucket_ms, count in self._conn.execute(
                f"SELECT {LATENCY_BUCKET_SQL} AS b, COUNT(*) FROM logs WHERE created_at >= ? "
                f"AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL{where} GROUP BY b ORDER BY b",
                [start, end, *args],
            ):
                lat_day.append(LatencyCount(day.isoformat(), bucket_ms, count))
            for key, model, bucket_ms, count in self._conn.execute(
                f"SELECT {self._key} AS tk, model_name, {LATENCY_BUCKET_SQL} AS b, COUNT(*) FROM logs "
                f"WHERE created_at >= ? AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL{where} "
                "GROUP BY tk, model_name, b",
                [max(start, period.start_ts), min(end, period.end_ts), *args],
            ):
                into = lat_km.setdefault((key, model), {})
                into[bucket_ms] = into.get(bucket_ms, 0) + count
        flush()

        def load() -> tuple[Bucket, ...]:
            buckets: list[Bucket] = []
            for rolled_run, from_rows in parts:
                if rolled_run:
                    self._rolled_buckets(rolled_run, where, args, buckets)
                buckets.extend(from_rows)
            return tuple(buckets)

        return Partials(
            None,
            tuple(
                LatencyCount(joined, b, n)
                for (k, m), counts in sorted(lat_km.items())
                for joined in (f"{k}\x00{m}",)
                for b, n in sorted(counts.items())
            ),
            tuple(lat_day),
            key_models=tuple(key_models),
            days=tuple(day_groups),
            load=load,
        )

    def _rolled_sums(
        self,
        run: list[tuple[date, int, int]],
        where: str,
        args: list[Any],
        key_models: list[Bucket],
        day_groups: list[Bucket],
    ) -> None:
        """Consecutive rolled-up days summed per key × model and per day (each by type and billing source).

        Keys are named and sources filtered as on rows; a key rolled up under several
        sources (see KEY_SQL) is summed like any other group.
        """
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        first = run[0][0]
        sums = ", ".join(f"SUM({c.strip()})" for c in BUCKET_COLUMNS.split(","))
        new = tuple.__new__  # a Bucket straight from its fields (a named tuple's __new__ is a Python call)
        name = self._names.setdefault
        key_models.extend(
            new(Bucket, (name(r[0], r[0]), name(r[1], r[1]), first, r[2], r[3] == 1, *r[4:12]))
            for r in self._conn.execute(
                f"SELECT {self._key} AS tk, model_name, type, sub, {sums} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} GROUP BY tk, model_name, type, sub",
                span,
            )
        )
        # Per day, the keys named alike before their first ':' summed together: the same
        # SOURCE: prefix is the same exchange rate in aggregate (its rate_of), and any key of
        # the group stands for it.
        columns = BUCKET_COLUMNS.replace(" ", "")
        day_groups.extend(
            new(Bucket, (name(r[3], r[3]), "", day_of[r[0]], r[1], r[2] == 1, *r[4:12]))
            for r in self._conn.execute(
                f"SELECT day, type, sub, MIN(tk), {sums} FROM (SELECT day, {self._key} AS tk, type, sub, "
                f"{columns} FROM rollups WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where}) AS r "
                f"GROUP BY day, type, sub, substr(tk, 1, {self._dialect.find('tk', _COLON)})",
                span,
            )
        )

    def _rolled_buckets(
        self, run: list[tuple[date, int, int]], where: str, args: list[Any], buckets: list[Bucket]
    ) -> None:
        """The buckets of consecutive rolled-up days, from the rollups."""
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        if not self._multi or (self._sources is not None and len(self._sources) == 1):
            # One source: a rollup row is a bucket, and the primary key's order is the buckets' order.
            sql = (
                f"SELECT day, {self._key} AS tk, model_name, type, sub, {BUCKET_COLUMNS} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} "
                "ORDER BY day, source, token_name, model_name, type, sub"
            )
        else:  # one key name may be rolled up under several sources (see KEY_SQL): summed
            sums = ", ".join(f"SUM({c.strip()})" for c in BUCKET_COLUMNS.split(","))
            sql = (
                f"SELECT day, {self._key} AS tk, model_name, type, sub, {sums} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} "
                "GROUP BY day, tk, model_name, type, sub ORDER BY 1, 2, 3, 4, 5"
            )
        new = tuple.__new__
        # One string object per key and model name, not one per bucket: a big team's month
        # has tens of thousands of buckets and only hundreds of names.
        name = self._names.setdefault
        buckets.extend(
            new(Bucket, (name(r[1], r[1]), name(r[2], r[2]), day_of[r[0]], r[3], r[4] == 1, *r[5:13]))
            for r in self._conn.execute(sql, span)
        )

    def _rolled_latency(
        self,
        run: list[tuple[date, int, int]],
        where: str,
        args: list[Any],
        lat_day: list[LatencyCount],
        lat_km: dict[tuple[str, str], dict[int, int]],
    ) -> None:
        """Latencies of consecutive rolled-up days, per day and per key × model, from the histograms."""
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        # One packed histogram per day × key × model: summed per day, and per key × model in
        # key order, each key × model unpacked as soon as it is complete (a packed sum is a
        # few KB: held for every key × model of a large team it would be most of the memory).
        by_day: dict[int, int] = {}
        tails_day: dict[int, dict[int, int]] = {}
        rows = self._conn.execute(
            f"SELECT day, {self._key} AS tk, model_name, dense, tail FROM rollup_histograms "
            f"WHERE day >= ? AND day < ?{where} ORDER BY tk, model_name",
            span,
        )
        dense_value, add_tail, get = rollups.dense_value, rollups.add_tail, by_day.get
        for key_model, group in itertools.groupby(rows, key=operator.itemgetter(1, 2)):
            value_km = 0
            tail_km: dict[int, int] = {}
            for day, _, _, dense, tail in group:
                value = dense_value(dense)
                by_day[day] = get(day, 0) + value
                value_km += value
                if tail is not None:
                    add_tail(tails_day.setdefault(day, {}), tail)
                    add_tail(tail_km, tail)
            into = lat_km.setdefault(key_model, {})
            for bucket_ms, count in rollups.unpack(value_km, tail_km).items():
                into[bucket_ms] = into.get(bucket_ms, 0) + count
        for day in sorted(by_day):
            counts = rollups.unpack(by_day[day], tails_day.get(day, {}))
            iso = day_of[day].isoformat()
            lat_day.extend(LatencyCount(iso, b, counts[b]) for b in sorted(counts))

    def _day_buckets(self, day: date, start: int, end: int, where: str, args: list[Any]) -> Iterator[Bucket]:
        rows = self._conn.execute(
            f"SELECT {self._key} AS tk, model_name, type, {SUB_SQL} AS sub, {SUMS_SQL} "
            f"FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 5, 6){where} "
            "GROUP BY tk, model_name, type, sub ORDER BY 1, 2, 3, 4",
            [start, end, *args],
        )
        for r in rows:
            yield Bucket(r[0], r[1], day, r[2], bool(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])
