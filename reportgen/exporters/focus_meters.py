"""A charge split by what it was priced for: one part per token type when the ratios the row
logs explain its quota (new-api's formula, :mod:`reportgen.core.unitprice`), one per call for a
per-call model, else the whole cost on one part priced in quota units as the gateway billed it.

Prices are in quota (the gateway's own unit, FOCUS's PricingCurrency) per pricing unit: per
1,000,000 tokens, per call, or 1 per quota unit.  A part's list quota is its pricing quantity
times its price, exactly; new-api rounds a request's quota to a whole unit, so the difference
(at most half a unit, or the minimum of 1) is added to the charged quota of the row's largest
part: the parts of a row always add up to what it was charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..core.tokens import TokenUsage
from ..core.unitprice import MILLION, TYPE_RATIO, dec, per_call_quota

#: The x_ token columns a part fills: input, output, cache read, cache write, image, audio in, audio out.
Tokens = tuple[int | None, int | None, int | None, int | None, int | None, int | None, int | None]
NO_TOKENS: Tokens = (None, None, None, None, None, None, None)
#: The part priced per call.
CALL = "call"
#: FOCUS SkuMeter of each part kind ("" is a request priced in quota units).
METERS = {
    "input": "Input Tokens",
    "output": "Output Tokens",
    "cache_read": "Cache Read Input Tokens",
    "cache_write": "Cache Write Input Tokens",
    "cache_write_5m": "Cache Write Input Tokens (5m)",
    "cache_write_1h": "Cache Write Input Tokens (1h)",
    "image": "Image Input Tokens",
    CALL: "Requests",
    "": "Requests",
}
#: The token column (index in :data:`Tokens`) each token type counts in.
_COLUMN = {"input": 0, "output": 1, "cache_read": 2, "cache_write": 3, "cache_write_5m": 3,
           "cache_write_1h": 3, "image": 4}  # fmt: skip
#: Why a charge of rows carrying no token usage (stored before it was kept) is priced in quota.
NOT_READ = "no_usage"
REFUND = "refund"
NO_TOKENS_NOTE = "no_tokens"


@dataclass(frozen=True, slots=True)
class Part:
    """One FOCUS row's pricing of a charge: ``kind`` a token type, :data:`CALL`, or "" (priced in
    quota units as billed, ``note`` saying why)."""

    kind: str
    #: ConsumedQuantity: tokens, calls, or requests (quota-priced).
    consumed: Decimal
    #: PricingQuantity: millions of tokens, calls, or quota units.
    pricing: Decimal
    #: Quota per pricing unit.
    price: Decimal
    #: What was charged for it in quota, exact: its list quota plus its share of the row's rounding.
    quota: Decimal
    tokens: Tokens = NO_TOKENS
    note: str = ""

    @property
    def list_quota(self) -> Decimal:
        """PricingQuantity × price, in quota: the list cost."""
        return self.pricing * self.price


def _signed(n: int | None, sign: int) -> int | None:
    return None if n is None else sign * n


def row_tokens(usage: TokenUsage | None, prompt: int, completion: int, sign: int = 1) -> Tokens:
    """A row's token columns (None: not reported), times ``sign``."""
    if usage is None:
        return (sign * prompt, sign * completion, None, None, None, None, None)
    u = usage
    return (
        _signed(u.input_tokens, sign),
        sign * completion,
        _signed(u.cache_read_tokens, sign),
        _signed(u.cache_write_tokens, sign),
        _signed(u.image_tokens, sign),
        _signed(u.audio_input_tokens, sign),
        _signed(u.audio_output_tokens, sign),
    )


def _tokens(values: list[int | None]) -> Tokens:
    a, b, c, d, e, f, g = values
    return (a, b, c, d, e, f, g)


def _typed(u: TokenUsage, completion: int) -> list[tuple[str, int]]:
    """The token types a ratio-priced row was charged for, with their counts (as new-api prices them)."""
    out = [("input", u.input_tokens or 0), ("output", completion), ("cache_read", u.cache_read_tokens or 0)]
    if u.usage_semantic == "anthropic":
        out += [
            ("cache_write", u.cache_write_base_tokens or 0),
            ("cache_write_5m", u.cache_write_5m_tokens or 0),
            ("cache_write_1h", u.cache_write_1h_tokens or 0),
        ]
    else:
        out.append(("cache_write", u.cache_write_tokens or 0))
    out.append(("image", u.image_tokens or 0))
    return [(kind, n) for kind, n in out if n]


def _by_type(u: TokenUsage, completion: int, quota: int, sign: int) -> list[Part] | None:
    """A ratio-explained row's parts, one per token type (``quota`` as charged, signed like the
    counts), or None when a ratio it needs is missing."""
    mr, gr = dec(u.model_ratio), dec(u.group_ratio)
    if mr is None or gr is None:
        return None
    parts = []
    for kind, n in _typed(u, completion):
        field = TYPE_RATIO[kind]
        ratio = Decimal(1) if field is None else dec(getattr(u, field))
        if ratio is None:
            return None
        price = mr * gr * ratio * MILLION  # quota per 1M tokens
        count = sign * n
        tokens = list(NO_TOKENS)
        tokens[_COLUMN[kind]] = count
        pricing = Decimal(count) / MILLION
        parts.append(Part(kind, Decimal(count), pricing, price, pricing * price, _tokens(tokens)))
    if not parts:
        return None
    rounding = quota - sum((p.quota for p in parts), Decimal(0))
    if rounding:
        top = max(range(len(parts)), key=lambda i: (abs(parts[i].quota), -i))
        p = parts[top]
        parts[top] = Part(p.kind, p.consumed, p.pricing, p.price, p.quota + rounding, p.tokens)
    return parts


def parts(
    usage: TokenUsage | None,
    prompt: int,
    completion: int,
    quota: int,
    requests: int,
    quota_per_unit: Decimal,
    *,
    refund: bool = False,
    sign: int = 1,
) -> list[Part]:
    """The parts of one row (``quota`` signed, refunds negative; ``sign`` −1 negates a removed row's
    counts and quota, as a correction lists it)."""
    if not refund and usage is not None:
        if usage.price_note is None:
            typed = _by_type(usage, completion, quota, sign)
            if typed is not None:
                return typed
        elif usage.price_note == "per_call":
            mp, gr = dec(usage.model_price), dec(usage.group_ratio)
            if mp is not None and gr is not None and per_call_quota(mp, gr, quota_per_unit) == abs(quota):
                calls, tokens = Decimal(sign), row_tokens(usage, prompt, completion, sign)
                return [Part(CALL, calls, calls, Decimal(abs(quota)), Decimal(quota), tokens)]
    if refund:
        note = REFUND
    elif usage is None:
        note = NOT_READ
    elif usage.price_note in (None, "per_call"):
        note = NO_TOKENS_NOTE if usage.price_note is None and not (prompt or completion) else "mismatch"
    else:
        note = usage.price_note
    q = Decimal(quota)
    return [Part("", Decimal(requests), q, Decimal(1), q, row_tokens(usage, prompt, completion, sign), note)]
