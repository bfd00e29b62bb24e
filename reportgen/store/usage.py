"""A period's rows grouped by price (:class:`~reportgen.core.pricegroups.PriceGroup`): rolled-up days
from ``rollup_prices`` (:mod:`.pricerollup`), the rest grouped from rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..core.pricegroups import PriceGroup
from .partials import RollupReads
from .pricerollup import ROLLED_SUMS, ROW_SUMS, SIGNATURE, SUB

#: Where the sums start in a group's row: before them the key, model, type, billing and the price's texts.
_SUMS = PriceGroup._fields.index("rows")


class UsageReads(RollupReads):
    """A period's price groups: rolled-up days from ``rollup_prices``, the rest grouped from rows."""

    def price_groups(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[PriceGroup]:
        """The consumption and refund rows of ``[start_ts, end_ts)`` grouped per key, model, type,
        billing source and price (keys named as reports name them)."""
        if not self.has_table("rollup_prices"):  # a snapshot of an older schema, not migrated
            return
        where, args = self._filter(token_names)
        texts: dict[str, str] = {}  # one object per name and ratio: a month holds ~50,000 groups
        one = texts.setdefault
        for lo, hi, rolled in self.rolled_spans(start_ts, end_ts):
            if rolled:
                sql = (
                    f"SELECT {self._key} AS tk, model_name, type, sub, {SIGNATURE}, {ROLLED_SUMS} "
                    f"FROM rollup_prices WHERE day >= ? AND day < ?{where} "
                    f"GROUP BY tk, model_name, type, sub, {SIGNATURE}"
                )
            else:
                sql = (
                    f"SELECT {self._key} AS tk, model_name, type, {SUB}, {SIGNATURE}, {ROW_SUMS} "
                    f"FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} "
                    f"GROUP BY tk, model_name, type, {SUB}, {SIGNATURE}"
                )
            for r in self._conn.execute(sql, [lo, hi, *args]):
                labels: list[Any] = [None if v is None else one(v, v) for v in r[4:_SUMS]]
                yield PriceGroup(one(r[0], r[0]), one(r[1], r[1]), int(r[2]), bool(r[3]), *labels, *r[_SUMS:])


__all__ = ["UsageReads"]
