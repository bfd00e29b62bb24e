"""Checks on single values of ``reportgen.toml`` shared by every table's parser."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConfigError

#: Rates above this are typos or hostile input, not currencies (the largest real ones are ~10^5).
MAX_RATE = Decimal(10) ** 9


def positive_rate(value: Any, where: str, key: str, unit: str, *, text: bool = False) -> Decimal:
    """A finite rate in ``(0, MAX_RATE]``; ``text`` also accepts a numeric string."""
    if value is None:
        raise ConfigError(f"{where}: {key} is required: a positive number ({unit})")
    rate = None
    if not isinstance(value, bool) and (isinstance(value, int | float) or (text and isinstance(value, str))):
        try:
            rate = Decimal(str(value).strip())
        except InvalidOperation:
            rate = None
    if rate is None or not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise ConfigError(
            f"{where}: {key} must be a positive number ({unit}; finite, at most 10^9), not {shown}"
        )
    return rate


def table_at(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def reject_unknown(table: dict[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown setting {prefix}{key} (known: {hint})")


def whole_days(value: Any, where: str, key: str) -> int:
    """A number of days from 0 (off) to 3,660."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3660:
        raise ConfigError(f"{where}: {key} must be a whole number of days from 0 (off) to 3660")
    return value


def positive_int(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {key} must be a positive whole number")
    return value
