"""Amounts a gateway sends (quota, token counts) read as whole numbers, or refused with the row named.

The rules are :mod:`.parse`'s (the trust boundary): a fractional, negative, non-finite or
out-of-range amount is refused, never rounded or clamped.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import GatewayDataError

#: The largest quota or token count accepted in one row, and for the sum over one sync
#: window (at most a day): 2^48, about 2.8e14 quota ($563M at the default 500,000 quota per
#: USD).  Realistic values are a million times smaller.  Sums over 32,768 such windows
#: (90 years of daily windows) still fit SQLite's signed 64-bit integers, so no aggregate
#: of stored rows can overflow.
MAX_AMOUNT = 2**48


def show_value(value: Any) -> str:
    """A server value for a one-line message: bounded, with control characters escaped."""
    if type(value) is int and value.bit_length() > 160:
        return f"{'-' if value < 0 else ''}a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def describe_row(item: dict[str, Any], kind: str = "row") -> str:
    """``row id 17 (request_id …, created_at …)``: enough to find the row at the gateway."""
    parts = []
    for name in ("request_id", "created_at"):
        if item.get(name) not in (None, ""):
            parts.append(f"{name} {show_value(item.get(name))}")
    extra = f" ({', '.join(parts)})" if parts else ""
    return f"{kind} id {show_value(item.get('id'))}{extra}"


def amount(
    item: dict[str, Any],
    name: str,
    *,
    money: bool = True,
    signed: bool = False,
    kind: str = "row",
) -> int:
    """A whole amount in ``0 .. MAX_AMOUNT`` (``-MAX_AMOUNT ..`` when ``signed``); see the module doc."""
    value = item.get(name)
    if value is None or value == "":
        return 0

    def refuse(why: str) -> GatewayDataError:
        return GatewayDataError(f"{describe_row(item, kind)}: {name} {show_value(value)} {why}")

    number: int | None = None
    if type(value) is int:
        number = value
    elif isinstance(value, bool):
        raise refuse("is a boolean, not an amount")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse("is not a finite number")
        if not value.is_integer():
            raise refuse("is fractional: amounts are whole units, and reportgen refuses rather than rounds")
        if abs(value) > MAX_AMOUNT:
            raise refuse(f"is outside the accepted range (at most 2^48 = {MAX_AMOUNT:,})")
        number = int(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            if money:
                raise refuse("is not a number") from None
            return 0
        if not dec.is_finite():
            raise refuse("is not a finite number")
        if dec.adjusted() > 18:
            raise refuse(f"is outside the accepted range (at most 2^48 = {MAX_AMOUNT:,})")
        if dec != dec.to_integral_value():
            raise refuse("is fractional: amounts are whole units, and reportgen refuses rather than rounds")
        number = int(dec)
    elif money:
        raise refuse("is not a number")
    else:
        return 0
    if number < 0 and not signed:
        raise refuse("is negative: the gateway never logs one (a refund is type 6 with a positive quota)")
    if abs(number) > MAX_AMOUNT:
        raise refuse(f"is outside the accepted range (at most 2^48 = {MAX_AMOUNT:,})")
    return number
