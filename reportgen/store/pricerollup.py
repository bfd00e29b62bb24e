"""Token types and pricing inputs: the ``logs`` columns that hold them, and their day rollup by price (the SQL).

Each consumption and refund row keeps its :class:`~reportgen.core.tokens.TokenUsage` in the
``logs`` columns of :data:`~reportgen.core.tokens.USAGE_COLUMNS` (written with the row; NULL
where the row reports nothing).  ``rollup_prices`` groups them per local day × source × key ×
model × type × billing source × the ratios the rows were priced at × why a row is not
explained, so a period's price lines and token-type sums read O(days) like its figures
(:mod:`.rollups`: recomputed from the day's rows whenever a write touches the day).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..core.tokens import USAGE_COLUMNS
from .dialect import flag

#: The ``logs`` columns of a row's token usage, in :class:`TokenUsage` order.
USAGE_SQL = ", ".join(USAGE_COLUMNS)

#: What a price group is told apart by, beside key, model, type and billing source.
SIGNATURE = (
    "model_ratio, completion_ratio, cache_ratio, cache_write_ratio, cache_write_5m_ratio, "
    "cache_write_1h_ratio, image_ratio, group_ratio, model_price, usage_semantic, price_note"
)
_COUNTS = (
    "input_tokens, cache_read_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
    "image_tokens, audio_input_tokens, audio_output_tokens"
)
#: The figures of a group summed over rows (``logs`` columns), in ``rollup_prices`` order.
ROW_SUMS = (
    "COUNT(*), SUM(quota), MIN(quota), MAX(quota), MIN(created_at), MAX(created_at), SUM(prompt_tokens), "
    "SUM(completion_tokens), " + ", ".join(f"SUM({c.strip()})" for c in _COUNTS.split(",")) + ", "
    "COUNT(cache_read_tokens), SUM(CASE WHEN cache_read_tokens IS NOT NULL THEN "
    "COALESCE(input_tokens, 0) + cache_read_tokens + COALESCE(cache_write_tokens, 0) END)"
)
FIGURES = (
    "rows, quota, min_quota, max_quota, first_ts, last_ts, prompt_tokens, completion_tokens, "
    + _COUNTS
    + ", cache_rows, hit_base"
)
#: The same figures summed over ``rollup_prices`` rows.
ROLLED_SUMS = ", ".join(
    f"MIN({c})"
    if c in ("min_quota", "first_ts")
    else f"MAX({c})"
    if c in ("max_quota", "last_ts")
    else f"SUM({c})"
    for c in (c.strip() for c in FIGURES.split(","))
)


SUB = flag("COALESCE(billing_source, '') = 'subscription'")


def roll_prices(
    conn: sqlite3.Connection, day: int, end: int, source: str, where: str, args: list[Any]
) -> None:
    """Recompute ``source``'s price groups of the day ``[day, end)`` from its rows (``where``/``args``
    select the source, as :func:`reportgen.store.rollups.roll` does)."""
    conn.execute("DELETE FROM rollup_prices WHERE day = ? AND source = ?", (day, source))
    conn.execute(
        f"INSERT INTO rollup_prices (day, source, token_name, model_name, type, sub, {SIGNATURE}, {FIGURES}) "
        f"SELECT ?, ?, token_name, model_name, type, {SUB}, {SIGNATURE}, {ROW_SUMS} FROM logs "
        f"WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} "
        f"GROUP BY token_name, model_name, type, {SUB}, {SIGNATURE}",
        (day, source, day, end, *args),
    )


__all__ = [
    "FIGURES",
    "ROLLED_SUMS",
    "ROW_SUMS",
    "SIGNATURE",
    "SUB",
    "USAGE_SQL",
    "roll_prices",
]
