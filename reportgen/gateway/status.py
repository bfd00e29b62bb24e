"""What ``/api/status`` says, checked: the quota unit and exchange rate in force.

The operator can change these at any time, so each reading is stamped with when it was made.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.records import DEFAULT_QUOTA_PER_UNIT, GatewayStatus
from ..errors import GatewayProtocolError
from .amounts import show_value

#: Plausible /api/status values: anything else is a misbehaving gateway, not a rate.
_MAX_QUOTA_PER_UNIT = Decimal(10) ** 12
_MAX_EXCHANGE_RATE = Decimal(10) ** 9


def read_status(
    data: dict[str, Any], base_url: str, read_at: int, warn: Callable[[str], None]
) -> GatewayStatus:
    """``data`` of ``/api/status`` as a :class:`GatewayStatus`; an implausible quota unit is refused
    (amounts could not be converted), an implausible exchange rate ignored with a ``warn``-ing."""
    qpu = _decimal(data.get("quota_per_unit"))
    if qpu is not None and qpu > _MAX_QUOTA_PER_UNIT:
        raise GatewayProtocolError(
            f"{base_url}/api/status: quota_per_unit {show_value(data.get('quota_per_unit'))} is "
            f"not plausible (at most 10^12 quota per USD): the gateway misbehaved; amounts cannot be "
            "converted, so nothing was synced"
        )
    rate = _decimal(data.get("usd_exchange_rate"))
    raw_rate = data.get("usd_exchange_rate")
    if (rate is None and raw_rate not in (None, "")) or (
        rate is not None and not 0 < rate <= _MAX_EXCHANGE_RATE
    ):
        warn(
            f"ignored the gateway's usd_exchange_rate {show_value(raw_rate)} from /api/status (not a "
            "plausible CNY-per-USD rate); set report.exchange_rate in reportgen.toml"
        )
        rate = None
    return GatewayStatus(
        quota_per_unit=qpu if qpu is not None and qpu > 0 else DEFAULT_QUOTA_PER_UNIT,
        read_at=read_at,
        usd_exchange_rate=rate,
        quota_display_type=_opt_str(data.get("quota_display_type")),
        version=_opt_str(data.get("version")),
    )


def _decimal(value: Any) -> Decimal | None:
    """A finite status number as a Decimal (at most 17 significant digits), else None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(float(value)))
    except (TypeError, ValueError, InvalidOperation, OverflowError):
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value() and number.adjusted() < 20:
        number = number.quantize(Decimal(1))  # 500000.0 -> 500000; 1e300 would not fit the context
    return number


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
