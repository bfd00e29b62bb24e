"""Helpers for exporters, built-in and third-party alike, so no plugin re-implements them.

Everything here is what the built-in CSV, XLSX and PDF exporters use: the same safe
text, the same money rounding, the same per-row cost.  Import from here (or from the
``reportgen`` package), not from private modules::

    from reportgen.render import csv_cell, money_text, row_cost, row_fields
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from .core.money import cents, fixed, money_text, plain_decimal, printed_lines, usd
from .core.records import LogType, UsageRecord
from .core.report import DetailRow, Report
from .core.text import clean_text, shorten
from .exporters._cells import csv_text as csv_cell

#: The fields of a detail row's record (``row.record``), in order: ``created_at`` (UTC epoch
#: seconds), ``type`` (:class:`LogType`: 2 consumption, 6 refund; ``report.rows()`` yields
#: only these two), ``token_name`` (the API key's name), ``model_name``, ``quota`` (int,
#: always positive; see :func:`row_cost` for the sign), ``prompt_tokens``,
#: ``completion_tokens``, ``use_time_ms``, ``is_stream``, ``request_id``, ``client``,
#: ``http_status``, ``billing_source`` ("subscription" or None), ``token_id``, ``group``,
#: ``username``, ``channel``, ``has_price``, ``raw`` (empty in reports).
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(UsageRecord))


def row_fields(row: DetailRow) -> dict[str, Any]:
    """A detail row as a plain dict: the record's fields plus ``member`` and ``local_time``.

    (``vars(row)`` does not work: rows are slotted dataclasses.)
    """
    out = {name: getattr(row.record, name) for name in RECORD_FIELDS if name != "raw"}
    out["member"] = row.member
    out["local_time"] = row.local_time
    return out


def row_cost(report: Report, row: DetailRow) -> Decimal:
    """The row's exact cost in USD, negative for a refund, as the built-in CSV computes it.

    ``quota ÷ report.quota_per_unit`` (the gateway's quota per USD), exact: a column of
    these sums to the report's net spend.  Round only when printing (:func:`money_text`).
    """
    return usd(row.signed_quota, report.quota_per_unit)


__all__ = [
    "RECORD_FIELDS",
    "LogType",
    "cents",
    "clean_text",
    "csv_cell",
    "fixed",
    "money_text",
    "plain_decimal",
    "printed_lines",
    "row_cost",
    "row_fields",
    "shorten",
]
