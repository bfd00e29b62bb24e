"""The public base of every exporter, built-in and third-party alike, so no plugin re-implements it.

Everything here is what the built-in CSV, XLSX and PDF exporters use: the same safe
text, the same money rounding, the same per-row cost, the same member lines and
totals.  Import from here (or from the ``reportgen`` package), never from another
exporter's modules::

    from reportgen.render import csv_cell, money_text, row_cost, row_fields

The modules, each importable on its own:

- :mod:`reportgen.render.cells`: safe text (:func:`csv_text`), :class:`LocalTimes`,
  :class:`QuotientText`;
- :mod:`reportgen.render.figures`: what a document shows of a report (member lines,
  totals, CNY by source, the banner, the claim amount);
- :mod:`reportgen.render.finance`: budget status, reconciliation wording, day ranges, charges;
- :mod:`reportgen.render.dates`: dates and date ranges as finance writes them;
- :mod:`reportgen.render.fonts`: the CJK font PDFs embed (imports reportlab, so it is
  not re-exported here).
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from ..core.money import (
    PrintedConversion,
    cents,
    cents_text,
    convert_for_print,
    convert_parts_for_print,
    fixed,
    money_text,
    percent_text,
    plain_decimal,
    printed_lines,
    rate_text,
    usd,
)
from ..core.records import LogType, UsageRecord
from ..core.report import DetailRow, Report
from ..core.text import clean_text, shorten
from .cells import LocalTimes, QuotientText, csv_text, row_type_label
from .dates import date_range_text, day_text, period_days_text, period_in_zone_text
from .figures import (
    FOCUS_COVERAGE,
    banner_lines,
    claim_cny,
    coverage_marker,
    member_models,
    members,
    source_cny,
    source_usd,
    totals,
)
from .finance import (
    categories_text,
    charge_text,
    charges_text,
    day_ranges,
    over_budget_text,
    reconciliation_text,
    status_key,
)
from .rates import rate_source_text

csv_cell = csv_text  # the name plugins have used since render's first release

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
    "LocalTimes",
    "LogType",
    "PrintedConversion",
    "QuotientText",
    "banner_lines",
    "cents",
    "cents_text",
    "claim_cny",
    "clean_text",
    "convert_for_print",
    "convert_parts_for_print",
    "csv_cell",
    "csv_text",
    "categories_text",
    "charge_text",
    "charges_text",
    "date_range_text",
    "day_ranges",
    "day_text",
    "fixed",
    "member_models",
    "members",
    "over_budget_text",
    "coverage_marker",
    "FOCUS_COVERAGE",
    "money_text",
    "percent_text",
    "period_days_text",
    "period_in_zone_text",
    "plain_decimal",
    "printed_lines",
    "rate_source_text",
    "rate_text",
    "reconciliation_text",
    "row_cost",
    "row_fields",
    "row_type_label",
    "shorten",
    "source_cny",
    "source_usd",
    "status_key",
    "totals",
]
