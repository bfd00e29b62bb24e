"""Rows grouped by the price they were charged at (:class:`PriceGroup`), and what groups sum to.

The store hands a period's consumption and refund rows grouped per key, model, type, billing
source and price signature (the ratios logged, the model price, the effective usage semantic
and why a row is not explained); statement lines, the price list, token-type sums and cache
hit rates are computed from these groups (:mod:`reportgen.core.pricelines`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


class PriceGroup(NamedTuple):
    """Rows of one key, model, type, billing source and price signature, summed (counts None: not reported)."""

    token_name: str
    model_name: str
    type: int
    subscription: bool
    model_ratio: str | None
    completion_ratio: str | None
    cache_ratio: str | None
    cache_write_ratio: str | None
    cache_write_5m_ratio: str | None
    cache_write_1h_ratio: str | None
    image_ratio: str | None
    group_ratio: str | None
    model_price: str | None
    usage_semantic: str | None
    price_note: str | None
    rows: int
    quota: int
    min_quota: int
    max_quota: int
    first_ts: int
    last_ts: int
    prompt_tokens: int
    completion_tokens: int
    input_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cache_write_5m_tokens: int | None
    cache_write_1h_tokens: int | None
    image_tokens: int | None
    audio_input_tokens: int | None
    audio_output_tokens: int | None
    #: Rows that report their cache reads, and their input including cache (the hit rate's base).
    cache_rows: int
    hit_base: int | None

    @property
    def signature(self) -> tuple[str | None, ...]:
        """The price the group's rows were charged at (and the semantic their counts follow)."""
        return self[4:14]


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


@dataclass(frozen=True, slots=True)
class TokenSums:
    """Token types of a group of rows (None: no row reports it), and the cache hit rate's parts."""

    rows: int = 0
    input: int | None = None
    output: int = 0
    cache_read: int | None = None
    cache_write: int | None = None
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None
    image: int | None = None
    audio_input: int | None = None
    audio_output: int | None = None
    cache_rows: int = 0
    hit_base: int | None = None

    def plus(self, g: PriceGroup) -> TokenSums:
        return TokenSums(
            self.rows + g.rows,
            _add(self.input, g.input_tokens),
            self.output + g.completion_tokens,
            _add(self.cache_read, g.cache_read_tokens),
            _add(self.cache_write, g.cache_write_tokens),
            _add(self.cache_write_5m, g.cache_write_5m_tokens),
            _add(self.cache_write_1h, g.cache_write_1h_tokens),
            _add(self.image, g.image_tokens),
            _add(self.audio_input, g.audio_input_tokens),
            _add(self.audio_output, g.audio_output_tokens),
            self.cache_rows + g.cache_rows,
            _add(self.hit_base, g.hit_base),
        )

    @property
    def hit_rate(self) -> Decimal | None:
        """Cache read / input including cache, over the rows that report cache reads; None when none do."""
        if not self.cache_rows or not self.hit_base:
            return None
        return Decimal(self.cache_read or 0) / Decimal(self.hit_base)

    def as_json(self) -> dict[str, int | str | None]:
        """The sums as ``summary --json`` carries them (None: not reported; the hit rate as text)."""
        rate = self.hit_rate
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
            "cache_write_5m": self.cache_write_5m,
            "cache_write_1h": self.cache_write_1h,
            "image": self.image,
            "audio_input": self.audio_input,
            "audio_output": self.audio_output,
            "cache_hit_rate": None if rate is None else str(rate.quantize(Decimal("0.0001"))),
        }


def token_sums(groups: Iterable[PriceGroup], keys: Iterable[str] | None = None) -> dict[str, TokenSums]:
    """Consumption rows' token sums per model (of ``keys`` only, when given)."""
    wanted = None if keys is None else set(keys)
    out: dict[str, TokenSums] = {}
    for g in groups:
        if g.type != 2 or (wanted is not None and g.token_name not in wanted):
            continue
        out[g.model_name] = out.get(g.model_name, TokenSums()).plus(g)
    return dict(sorted(out.items()))


def total_sums(groups: Iterable[PriceGroup], keys: Iterable[str] | None = None) -> TokenSums:
    """Consumption rows' token sums over every model (of ``keys`` only, when given)."""
    total = TokenSums()
    wanted = None if keys is None else set(keys)
    for g in groups:
        if g.type == 2 and (wanted is None or g.token_name in wanted):
            total = total.plus(g)
    return total


__all__ = ["PriceGroup", "TokenSums", "token_sums", "total_sums"]
