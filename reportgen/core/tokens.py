"""Token types and the pricing inputs a row logs: :class:`TokenUsage`, read from a row and its ``other``.

new-api writes, per consumption row, the counts its price is computed from and the ratios
it used (``service/text_quota.go`` and ``service/log_info_generate.go``):

- ``cache_tokens`` (cache read, priced at ``cache_ratio``), ``cache_creation_tokens`` (cache
  write at ``cache_creation_ratio``; only when non-zero on the OpenAI path, always on the
  Claude path), split into ``cache_creation_tokens_5m`` / ``_1h`` with their own ratios;
  ``image_output`` (image input tokens at ``image_ratio``); ``audio_input`` /
  ``audio_output`` on the audio paths;
- ``model_ratio``, ``completion_ratio``, ``group_ratio`` (the effective one the quota used),
  ``user_group_ratio``, ``model_price`` (-1 when billed by ratio; the USD price of a call
  for per-call models, whose ratios are logged as 0);
- ``billing_mode = "tiered_expr"`` for expression pricing (ratios logged as 0);
- ``usage_semantic = "anthropic"`` when ``prompt_tokens`` excludes the cache tokens (else
  the OpenAI semantic: ``prompt_tokens`` includes them).

A count the row does not report is None, never 0: one-api writes no ``other`` at all.
Ratios are kept as exact decimal text (the shortest form of the float new-api wrote, as
its ``decimal.NewFromFloat`` reads it).  Reasoning tokens are not in new-api's log rows
(only ``reasoning_effort``), so they are not a type here.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

#: The token types a statement line can price, in the order documents show them
#: (``output`` is the row's ``completion_tokens``).
TOKEN_TYPES = (
    "input", "output", "cache_read", "cache_write", "cache_write_5m", "cache_write_1h", "image",
    "audio_input", "audio_output",
)  # fmt: skip

#: Why a row's quota is not explained by the ratios it logs (``TokenUsage.price_note``); None: explained.
#: ``per_call`` rows are explained against the period's quota per unit when read (see unitprice).
PRICE_NOTES = ("per_call", "tiered", "no_pricing", "no_ratios", "surcharge", "audio", "mismatch")


class TokenUsage(NamedTuple):
    """A row's token types and pricing inputs, as the store keeps them (the ``logs`` columns of
    :data:`USAGE_COLUMNS`, in order).  Counts are int or None (not reported); ratios and the
    model price are exact decimal text or None; ``price_note`` is None when the row's quota is
    what new-api's formula gives from its ratios (see :func:`reportgen.core.unitprice.explain`)."""

    input_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    image_tokens: int | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None
    model_ratio: str | None = None
    completion_ratio: str | None = None
    cache_ratio: str | None = None
    cache_write_ratio: str | None = None
    cache_write_5m_ratio: str | None = None
    cache_write_1h_ratio: str | None = None
    image_ratio: str | None = None
    group_ratio: str | None = None
    user_group_ratio: str | None = None
    model_price: str | None = None
    billing_mode: str | None = None
    usage_semantic: str | None = None
    price_note: str | None = None

    @property
    def cache_write_base_tokens(self) -> int | None:
        """Cache-write tokens at the base cache-write ratio (the total less the 5m/1h split)."""
        if self.cache_write_tokens is None:
            return None
        split = (self.cache_write_5m_tokens or 0) + (self.cache_write_1h_tokens or 0)
        return max(self.cache_write_tokens - split, 0)


#: The ``logs`` columns of a :class:`TokenUsage`, in order.
USAGE_COLUMNS: tuple[str, ...] = TokenUsage._fields
#: The integer columns among them (the rest are text).
USAGE_INT_COLUMNS = frozenset(USAGE_COLUMNS[:8])

_MAX = 10**15


_new = tuple.__new__


def _count(other: dict[str, Any], name: str) -> int | None:
    value = other.get(name)
    if type(value) is int:
        return value if 0 <= value <= _MAX else None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value) if isinstance(value, int) else int(Decimal(str(value)))
    except (ValueError, InvalidOperation, OverflowError):
        return None
    return number if 0 <= number <= _MAX else None


def ratio_text(value: Any) -> str | None:
    """A logged ratio or price as exact decimal text (a float's shortest form), None when not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int | str):
        text = str(value).strip()
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) > _MAX:
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _text(value: Any) -> str | None:
    return value[:40] if isinstance(value, str) and value else None


#: ``other`` flags of a price added to the ratios' (tool calls, audio input priced per 1M USD).
_SURCHARGES = ("web_search", "file_search", "audio_input_seperate_price", "image_generation_call")
#: The ``other`` fields a row's prices are read from (rows of one model and group share them).
_PRICE_KEYS = (
    "model_ratio", "completion_ratio", "cache_ratio", "cache_creation_ratio", "cache_creation_ratio_5m",
    "cache_creation_ratio_1h", "image_ratio", "group_ratio", "user_group_ratio", "model_price", "billing_mode",
    "usage_semantic", "image", *_SURCHARGES,
)  # fmt: skip
_PRICES: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _prices(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The price fields of ``values`` (of :data:`_PRICE_KEYS`): ten ratio texts, billing mode,
    semantic as logged, whether image tokens are priced, whether a surcharge was added."""
    texts = tuple(map(ratio_text, values[:10]))
    return (*texts, _text(values[10]), _text(values[11]), bool(values[12]), any(values[13:]))


def usage_of(other: dict[str, Any] | None, prompt_tokens: int) -> TokenUsage:
    """The token types and pricing inputs of a row whose ``other`` parsed to ``other`` (None when
    absent or unreadable), with the row's ``prompt_tokens``.  ``price_note`` is set only where
    the row alone says its quota is not the ratios' (no pricing logged, a tool surcharge); the
    rest is :func:`reportgen.core.unitprice.explain`'s."""
    if other is None:
        return TokenUsage(input_tokens=prompt_tokens, price_note="no_pricing")
    key = tuple(map(other.get, _PRICE_KEYS))
    try:
        prices = _PRICES.get(key)
    except TypeError:  # an unhashable value (a list, an object): read, not remembered
        prices = _prices(key)
    else:
        if prices is None:
            if len(_PRICES) > 4096:
                _PRICES.clear()
            prices = _PRICES[key] = _prices(key)
    model_ratio, completion_ratio, cache_ratio, write_ratio, w5_ratio, w1_ratio, image_ratio = prices[:7]
    group_ratio, user_group_ratio, model_price, billing_mode, semantic, priced_image, surcharge = prices[7:]
    get = other.get
    # a count is mostly an int in range: taken inline, anything else through _count
    v = get("cache_tokens")
    cache_read = (
        v if type(v) is int and 0 <= v <= _MAX else None if v is None else _count(other, "cache_tokens")
    )
    v = get("cache_creation_tokens")
    cache_write = (
        v
        if type(v) is int and 0 <= v <= _MAX
        else None
        if v is None
        else _count(other, "cache_creation_tokens")
    )
    # mostly absent: looked up, and read by _count only when there
    w5 = get("cache_creation_tokens_5m")
    if w5 is not None:
        w5 = _count(other, "cache_creation_tokens_5m")
    w1 = get("cache_creation_tokens_1h")
    if w1 is not None:
        w1 = _count(other, "cache_creation_tokens_1h")
    audio_in = get("audio_input")
    if audio_in is not None:
        audio_in = _count(other, "audio_input")
    audio_out = get("audio_output")
    if audio_out is not None:
        audio_out = _count(other, "audio_output")
    image = _count(other, "image_output") if priced_image else None
    if model_ratio is not None and (key[1] is not None or get("cache_tokens") is not None):
        # a text row: new-api writes the cache-write fields only when non-zero (always on the Claude path)
        cache_write = 0 if cache_write is None else cache_write
        cache_read = 0 if cache_read is None else cache_read
    if cache_write is not None and (w5 or w1):
        cache_write = max(cache_write, (w5 or 0) + (w1 or 0))
    # new-api prices prompt_tokens as excluding the cache tokens on the Claude path and for
    # legacy Claude-derived usage (a 5m/1h split without a semantic): the effective semantic is kept
    anthropic_base = semantic == "anthropic" or (semantic is None and bool(w5 or w1))
    base = prompt_tokens
    if not anthropic_base:
        base -= (cache_read or 0) + (cache_write or 0)
    base -= image or 0
    return _new(TokenUsage, (  # the tuple itself: TokenUsage(...) costs a Python call more per row
        base if base > 0 else 0, cache_read, cache_write, w5, w1, image, audio_in, audio_out, model_ratio, completion_ratio,
        cache_ratio, write_ratio, w5_ratio, w1_ratio, image_ratio if image is not None else None, group_ratio,
        user_group_ratio, model_price, billing_mode, "anthropic" if anthropic_base else "openai",
        "surcharge" if surcharge else None,
    ))  # fmt: skip


def other_of_raw(raw: str) -> tuple[dict[str, Any] | None, bool]:
    """``(other, present)`` of a stored row's raw JSON (for rows stored before token types were
    kept): ``other`` as a dict (None when absent or unreadable) and whether the row had the field."""
    try:
        item = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None, False
    if not isinstance(item, dict) or "other" not in item:
        return None, False
    other = item["other"]
    if isinstance(other, str) and other not in ("", "null"):
        try:
            other = json.loads(other)
        except (ValueError, RecursionError):
            return None, True
    return (other if isinstance(other, dict) else None), True


__all__ = [
    "PRICE_NOTES",
    "TOKEN_TYPES",
    "USAGE_COLUMNS",
    "USAGE_INT_COLUMNS",
    "TokenUsage",
    "other_of_raw",
    "ratio_text",
    "usage_of",
]
