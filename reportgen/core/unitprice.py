"""Unit prices from the ratios a row logs, and whether they explain the row's quota.  Pure, Decimal.

new-api prices a ratio-billed row (``service/text_quota.go``) as::

    quota = round_half_away((input + cache_read × cache_ratio + image × image_ratio
                             + cache_write × cache_creation_ratio  [or the 5m / 1h split at theirs]
                             + output × completion_ratio) × model_ratio × group_ratio)

at least 1 when ``model_ratio × group_ratio`` is not 0, and 0 when the row has no tokens;
a per-call row (``model_price`` ≥ 0, ratios 0) as ``round_half_away(model_price ×
quota_per_unit × group_ratio)``.  One quota unit is USD 1 / ``quota_per_unit`` (500,000 by
default, so model ratio 1 is USD 2 per 1M tokens); the period's pinned ``quota_per_unit`` is used.

A row is *explained* when that formula, from its logged ratios, gives its quota exactly;
otherwise :func:`explain` names why (see :data:`reportgen.core.tokens.PRICE_NOTES`):
expression (tiered) pricing, no pricing logged (one-api), ratios missing, a tool or audio
surcharge, or a mismatch (an admin-priced model, a ratio changed mid-request, other ratios).
Per-call rows depend on the quota per unit, so they are checked where the period's is known
(:func:`per_call_quota`).
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .tokens import TokenUsage, usage_of

MILLION = Decimal(1_000_000)
#: Places a unit price is shown with at most (USD per 1M tokens, or per call).
PRICE_PLACES = 8


@functools.lru_cache(maxsize=4096)
def dec(text: str | None) -> Decimal | None:
    """Stored decimal text as a Decimal (None stays None)."""
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def round_half_away(value: Decimal) -> int:
    """new-api's ``decimal.Round(0)``: half away from zero.  Any magnitude (``quantize`` would raise
    past Decimal's 28 digits, which a hostile row's ratios and token counts reach)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


_ONE = Decimal(1)


@functools.lru_cache(maxsize=4096)
def _factors(
    mr: str | None, gr: str | None, *ratios: str | None
) -> tuple[Decimal, tuple[Decimal | None, ...]] | None:
    """``model_ratio × group_ratio`` and the other ratios as Decimals (a row's prices, read once)."""
    m, g = dec(mr), dec(gr)
    if m is None or g is None:
        return None
    return m * g, tuple(map(dec, ratios))


def ratio_quota(usage: TokenUsage, prompt_tokens: int, completion_tokens: int) -> int | None:
    """The quota new-api's ratio formula gives for ``usage``; None when a ratio it needs is not logged."""
    u = usage
    ratios = (u.model_ratio, u.group_ratio, u.cache_ratio, u.image_ratio, u.completion_ratio,
              u.cache_write_ratio, u.cache_write_5m_ratio, u.cache_write_1h_ratio)  # fmt: skip
    scaled = _scaled(*ratios)  # the ratios read once, as integers (or None: see below)
    factors = _factors(*ratios) if scaled is None else None
    if scaled is None and factors is None:
        return None
    if prompt_tokens + completion_tokens == 0:
        return 0
    writes: tuple[tuple[int | None, int], ...]  # (tokens, index of their ratio)
    if u.usage_semantic == "anthropic":
        writes = ((u.cache_write_base_tokens, 3), (u.cache_write_5m_tokens, 4), (u.cache_write_1h_tokens, 5))
    else:
        writes = ((u.cache_write_tokens, 3),)
    terms = ((u.cache_read_tokens, 0), (u.image_tokens, 1), (completion_tokens, 2), *writes)
    if scaled is not None:  # the same arithmetic in integers, where Decimal's is exact (most rows)
        quota = _integer_quota(scaled, u.input_tokens or 0, terms)
        if quota is not False:
            return quota
        factors = _factors(*ratios)
    assert factors is not None
    ratio, others = factors
    total = Decimal(u.input_tokens or 0)
    for tokens, at in terms:
        if tokens:  # no tokens of a type: its ratio does not matter
            factor = others[at]
            if factor is None:
                return None
            total += tokens * factor
    value = total * ratio
    if ratio and value <= 0:
        value = _ONE
    quota = round_half_away(value)
    return 1 if ratio and quota == 0 else quota


#: Decimal's default context keeps 28 digits: below this, its sums and products are exact.
_EXACT = 10**28
_Scaled = tuple[int, int, int, tuple[int | None, ...]]


@functools.lru_cache(maxsize=4096)
def _scaled(mr: str | None, gr: str | None, *ratios: str | None) -> _Scaled | None:
    """``model_ratio × group_ratio`` and the other ratios as integers over powers of ten:
    ``(ratio × 10**s, s, t, (each other ratio × 10**t))`` with ``t`` the largest scale of the
    other ratios; None when a ratio is negative or not finite, or the product is not exact in
    Decimal (the Decimal path then decides)."""
    factors = _factors(mr, gr, *ratios)
    if factors is None:
        return None
    m, g = dec(mr), dec(gr)
    assert m is not None and g is not None
    others = factors[1]
    if any(d is not None and (not d.is_finite() or d < 0) for d in (m, g, *others)):
        return None
    (mn, ms), (gn, gs) = _integer(m), _integer(g)
    if mn * gn >= _EXACT:  # Decimal rounded the product: its path, not ours
        return None
    parts = [None if d is None else _integer(d) for d in others]
    top = max((p[1] for p in parts if p is not None), default=0)
    return mn * gn, ms + gs, top, tuple(None if p is None else p[0] * 10 ** (top - p[1]) for p in parts)


def _integer(value: Decimal) -> tuple[int, int]:
    """``value`` as ``(n, s)`` with ``value == n / 10**s`` and ``s >= 0``."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    return (n * 10**exponent, 0) if exponent >= 0 else (n, -exponent)


def _integer_quota(
    scaled: _Scaled, base: int, terms: tuple[tuple[int | None, int], ...]
) -> int | None | bool:
    """:func:`ratio_quota`'s Decimal arithmetic done exactly in integers; False when a value
    reaches 28 digits (where Decimal would round: its path decides)."""
    ratio, ratio_scale, top, others = scaled
    total = base * 10**top
    for tokens, at in terms:
        if tokens:
            factor = others[at]
            if factor is None:
                return None
            total += tokens * factor
    value = total * ratio  # over 10 ** (top + ratio_scale); every part >= 0
    if total >= _EXACT or value >= _EXACT:
        return False
    if ratio and value <= 0:
        return 1
    unit = 10 ** (top + ratio_scale)
    quota = (2 * value + unit) // (2 * unit)  # half away from zero (value >= 0)
    return 1 if ratio and quota == 0 else quota


def per_call(usage: TokenUsage) -> bool:
    """True for a per-call row: a model price (≥ 0) and no model ratio to price tokens by."""
    price = dec(usage.model_price)
    ratio = dec(usage.model_ratio)
    return price is not None and price >= 0 and not ratio


def explain(usage: TokenUsage, prompt_tokens: int, completion_tokens: int, quota: int) -> str | None:
    """None when the row's ratios give its ``quota`` exactly; else why not (``per_call``: checked
    against the period's quota per unit when read)."""
    if usage.price_note is not None:
        return usage.price_note
    if usage.billing_mode == "tiered_expr":
        return "tiered"
    if usage.audio_input_tokens is not None or usage.audio_output_tokens is not None:
        return "audio"
    if per_call(usage):
        return "per_call"
    expected = ratio_quota(usage, prompt_tokens, completion_tokens)
    if expected is None:
        return "no_ratios"
    return None if expected == quota else "mismatch"


def row_usage(
    other: dict[str, Any] | None, present: bool, prompt_tokens: int, completion_tokens: int, quota: int
) -> TokenUsage:
    """A row's :class:`TokenUsage` with its ``price_note`` decided: from its ``other`` (None when
    absent or unreadable; ``present``: whether the row had the field at all, as one-api's do not)."""
    usage = usage_of(other if present else None, prompt_tokens)
    note = explain(usage, prompt_tokens, completion_tokens, quota)
    return usage if note == usage.price_note else usage._replace(price_note=note)


def per_call_quota(model_price: Decimal, group_ratio: Decimal, quota_per_unit: Decimal) -> int:
    """The quota of one call of a per-call model: ``round_half_away(price × quota_per_unit × group_ratio)``."""
    return round_half_away(model_price * quota_per_unit * group_ratio)


def shown(price: Decimal) -> Decimal:
    """A unit price as it is printed: exact, or at :data:`PRICE_PLACES` places when it has more."""
    exact = price.normalize()
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_PLACES:
        exact = price.quantize(Decimal(1).scaleb(-PRICE_PLACES), rounding=ROUND_HALF_UP).normalize()
    return exact if exact != 0 else Decimal(0)


def price_text(price: Decimal) -> str:
    """A unit price as printed: exact, with at least two decimals (``3.00``, ``0.025``)."""
    text = format(shown(price), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


#: Which ratio (beside model and group ratio) prices each token type.
TYPE_RATIO = {
    "input": None,
    "output": "completion_ratio",
    "cache_read": "cache_ratio",
    "cache_write": "cache_write_ratio",
    "cache_write_5m": "cache_write_5m_ratio",
    "cache_write_1h": "cache_write_1h_ratio",
    "image": "image_ratio",
}


def token_price(
    model_ratio: Decimal, group_ratio: Decimal, type_ratio: Decimal | None, quota_per_unit: Decimal
) -> Decimal:
    """USD per 1M tokens of a type priced at ``model_ratio × type_ratio × group_ratio`` quota a token."""
    ratio = model_ratio * group_ratio * (Decimal(1) if type_ratio is None else type_ratio)
    return shown(ratio * MILLION / quota_per_unit)


def call_price(quota_per_call: int, quota_per_unit: Decimal) -> Decimal:
    """USD per call of a per-call model."""
    return shown(Decimal(quota_per_call) / quota_per_unit)


__all__ = [
    "MILLION",
    "PRICE_PLACES",
    "TYPE_RATIO",
    "call_price",
    "dec",
    "explain",
    "per_call",
    "per_call_quota",
    "price_text",
    "ratio_quota",
    "round_half_away",
    "row_usage",
    "shown",
    "token_price",
]
