"""A period's rows grouped by price (:class:`~reportgen.core.pricegroups.PriceGroup`): rolled-up days
from ``rollup_prices`` (:mod:`.pricerollup`), the rest grouped from rows."""

from __future__ import annotations

from collections.abc import Iterator

from ..core.pricegroups import PriceGroup
from .partials import RollupReads
from .pricerollup import ROLLED_SUMS, ROW_SUMS, SIGNATURE, SUB


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
                yield PriceGroup(r[0], r[1], int(r[2]), bool(r[3]), *r[4:])


__all__ = ["UsageReads"]
