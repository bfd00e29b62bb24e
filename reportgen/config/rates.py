"""``[report.rates]`` (official CNY rates per period) and ``[report.currencies]`` (further currencies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..core.periods import parse_period
from ..core.rates import Conversion, DatedRate
from ..errors import ConfigError, ReportgenError
from .values import positive_rate, reject_unknown


def parse_currencies(table: Any, where: str) -> tuple[Conversion, ...]:
    """``[report.currencies.CODE]`` tables (rate per 1 USD, source, date) in config order."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: report.currencies must be tables like [report.currencies.EUR]")
    out: list[Conversion] = []
    for code, spec in table.items():
        key = f"report.currencies.{code}"
        if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
            raise ConfigError(f"{where}: {key}: the currency code must be 3 uppercase letters (e.g. EUR)")
        if code in ("USD", "CNY"):
            raise ConfigError(
                f"{where}: {key}: {code} is built in (CNY's rate is report.exchange_rate); remove this table"
            )
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key} must be a table with rate, source and date")
        reject_unknown(spec, {"rate", "source", "date"}, where, f"{key}.")
        rate = positive_rate(spec.get("rate"), where, f"{key}.rate", f"{code} per USD")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f'{where}: {key}.source is required: where the rate comes from (e.g. "ECB")')
        as_of = spec.get("date")
        if isinstance(as_of, datetime) or not isinstance(as_of, date):
            raise ConfigError(f"{where}: {key}.date is required: the rate's date as a TOML date (2026-04-30)")
        out.append(Conversion(code, rate, source.strip(), as_of))
    return tuple(out)


def parse_rates(table: Any, where: str) -> tuple[DatedRate, ...]:
    """``[report.rates."2026-04"]`` tables (cny_per_usd, source, date): official rates per period."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise ConfigError(f'{where}: report.rates must be tables like [report.rates."2026-04"]')
    out: list[DatedRate] = []
    for label, spec in table.items():
        key = f'report.rates."{label}"'
        try:
            canonical = parse_period(label, ZoneInfo("UTC")).label
        except ReportgenError:
            canonical = None
        if canonical != label:
            raise ConfigError(f"{where}: {key}: name a month (2026-04), a quarter (2026-Q2) or a year (2026)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key} must be a table with cny_per_usd, source and date")
        reject_unknown(spec, {"cny_per_usd", "source", "date"}, where, f"{key}.")
        rate = positive_rate(spec.get("cny_per_usd"), where, f"{key}.cny_per_usd", "CNY per USD")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(
                f'{where}: {key}.source is required: where the rate comes from (e.g. "PBoC central parity")'
            )
        as_of = spec.get("date")
        if isinstance(as_of, datetime) or not isinstance(as_of, date):
            raise ConfigError(f"{where}: {key}.date is required: the rate's date as a TOML date (2026-04-30)")
        out.append(DatedRate(label, rate, source.strip(), as_of))
    return tuple(out)
