"""``row_usage`` (the token types and price note of every synced row) against the rules it
implements, written out plainly here: the sync's faster path (counts read inline, the ratio
formula in integers where Decimal's arithmetic is exact) must give the very same values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reportgen.core import tokens
from reportgen.core.tokens import TokenUsage
from reportgen.core.unitprice import dec, per_call, round_half_away, row_usage


def _count(other: dict[str, Any], name: str) -> int | None:
    return tokens._count(other, name)


def reference_usage_of(other: dict[str, Any] | None, prompt_tokens: int) -> TokenUsage:
    """``usage_of`` as first written: every count through ``_count``, the tuple by its constructor."""
    if other is None:
        return TokenUsage(input_tokens=prompt_tokens, price_note="no_pricing")
    key = tuple(map(other.get, tokens._PRICE_KEYS))
    prices = tokens._prices(key)
    model_ratio, completion_ratio, cache_ratio, write_ratio, w5_ratio, w1_ratio, image_ratio = prices[:7]
    group_ratio, user_group_ratio, model_price, billing_mode, semantic, priced_image, surcharge = prices[7:]
    cache_read = _count(other, "cache_tokens")
    cache_write = _count(other, "cache_creation_tokens")
    w5, w1 = _count(other, "cache_creation_tokens_5m"), _count(other, "cache_creation_tokens_1h")
    image = _count(other, "image_output") if priced_image else None
    audio_in, audio_out = _count(other, "audio_input"), _count(other, "audio_output")
    if model_ratio is not None and (key[1] is not None or other.get("cache_tokens") is not None):
        cache_write = 0 if cache_write is None else cache_write
        cache_read = 0 if cache_read is None else cache_read
    if cache_write is not None and (w5 or w1):
        cache_write = max(cache_write, (w5 or 0) + (w1 or 0))
    anthropic_base = semantic == "anthropic" or (semantic is None and bool(w5 or w1))
    base = prompt_tokens
    if not anthropic_base:
        base -= (cache_read or 0) + (cache_write or 0)
    base -= image or 0
    return TokenUsage(
        max(base, 0), cache_read, cache_write, w5, w1, image, audio_in, audio_out, model_ratio, completion_ratio,
        cache_ratio, write_ratio, w5_ratio, w1_ratio, image_ratio if image is not None else None, group_ratio,
        user_group_ratio, model_price, billing_mode, "anthropic" if anthropic_base else "openai",
        "surcharge" if surcharge else None,
    )  # fmt: skip


def reference_ratio_quota(u: TokenUsage, prompt_tokens: int, completion_tokens: int) -> int | None:
    """new-api's formula in Decimal, as first written."""
    m, g = dec(u.model_ratio), dec(u.group_ratio)
    if m is None or g is None:
        return None
    ratio = m * g
    cache, image, completion, write, w5_ratio, w1_ratio = map(
        dec, (u.cache_ratio, u.image_ratio, u.completion_ratio, u.cache_write_ratio, u.cache_write_5m_ratio,
              u.cache_write_1h_ratio)
    )  # fmt: skip
    if prompt_tokens + completion_tokens == 0:
        return 0
    if u.usage_semantic == "anthropic":
        writes = [(u.cache_write_base_tokens, write), (u.cache_write_5m_tokens, w5_ratio),
                  (u.cache_write_1h_tokens, w1_ratio)]  # fmt: skip
    else:
        writes = [(u.cache_write_tokens, write)]
    total = Decimal(u.input_tokens or 0)
    for n, factor in [(u.cache_read_tokens, cache), (u.image_tokens, image), (completion_tokens, completion),
                      *writes]:  # fmt: skip
        if n:
            if factor is None:
                return None
            total += n * factor
    value = total * ratio
    if ratio and value <= 0:
        value = Decimal(1)
    quota = round_half_away(value)
    return 1 if ratio and quota == 0 else quota


def reference_row_usage(
    other: dict[str, Any] | None, present: bool, prompt: int, completion: int, quota: int
) -> TokenUsage:
    usage = reference_usage_of(other if present else None, prompt)
    note = usage.price_note
    if note is None:
        if usage.billing_mode == "tiered_expr":
            note = "tiered"
        elif usage.audio_input_tokens is not None or usage.audio_output_tokens is not None:
            note = "audio"
        elif per_call(usage):
            note = "per_call"
        else:
            expected = reference_ratio_quota(usage, prompt, completion)
            note = "no_ratios" if expected is None else None if expected == quota else "mismatch"
    return usage._replace(price_note=note)


_RATIOS = st.one_of(
    st.none(),
    st.sampled_from(
        [0, 1, -1, 0.1, 1.25, 2, 0.5, 7.5, 37.5, 0.0375, 1e-9, 3.3333333333333335, "2", "x", True]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
_COUNTS = st.one_of(
    st.none(), st.integers(min_value=-5, max_value=10**16), st.sampled_from([True, "12", 3.5, "x", 10**15])
)
_OTHER = st.fixed_dictionaries(
    {},
    optional={
        **{
            k: _RATIOS
            for k in (
                "model_ratio",
                "completion_ratio",
                "cache_ratio",
                "cache_creation_ratio",
                "cache_creation_ratio_5m",
                "cache_creation_ratio_1h",
                "image_ratio",
                "group_ratio",
                "user_group_ratio",
                "model_price",
            )
        },  # fmt: skip
        **{
            k: _COUNTS
            for k in (
                "cache_tokens",
                "cache_creation_tokens",
                "cache_creation_tokens_5m",
                "cache_creation_tokens_1h",
                "image_output",
                "audio_input",
                "audio_output",
            )
        },  # fmt: skip
        "billing_mode": st.sampled_from(["tiered_expr", "ratio", "", None]),
        "usage_semantic": st.sampled_from(["anthropic", "openai", None, 5]),
        "image": st.sampled_from([True, False, None]),
        "web_search": st.sampled_from([True, False, None]),
    },
)
_TOKENS = st.one_of(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10**5))


@settings(max_examples=300, deadline=None)
@given(
    other=st.one_of(st.none(), _OTHER),
    present=st.booleans(),
    prompt=_TOKENS,
    completion=_TOKENS,
    quota=st.integers(min_value=0, max_value=10**15),
)
def test_row_usage_is_the_plain_rules(other: dict[str, Any] | None, present: bool, prompt: int,
                                      completion: int, quota: int) -> None:  # fmt: skip
    assert row_usage(other, present, prompt, completion, quota) == reference_row_usage(
        other, present, prompt, completion, quota
    )


@settings(max_examples=150, deadline=None)
@given(
    ratios=st.lists(
        st.sampled_from(["0.1", "1.25", "2", "0.0375", "3.3333333333333335", "1e-9", "123456789.123456789"]),
        min_size=3,
        max_size=3,
    ),  # fmt: skip
    counts=st.lists(st.integers(min_value=0, max_value=10**15), min_size=2, max_size=2),
    prompt=_TOKENS,
    completion=_TOKENS,
)
# Past Decimal's 28 digits (a hostile row): rounding raised InvalidOperation before.
@example(
    ratios=["123456789.123456789", "0.1", "123456789.123456789"],
    counts=[0, 0],
    prompt=10**15,
    completion=10**15,
)
def test_explained_rows_are_explained(
    ratios: list[str], counts: list[int], prompt: int, completion: int
) -> None:
    """Rows priced by the formula itself: its quota is found again (the integer path's rounding)."""
    other = {"model_ratio": ratios[0], "group_ratio": 1, "completion_ratio": ratios[1], "cache_ratio": ratios[2],
             "cache_tokens": counts[0] % (prompt + 1), "model_price": -1}  # fmt: skip
    usage = reference_usage_of(other, prompt)
    expected = reference_ratio_quota(usage, prompt, completion)
    assert expected is not None
    assert row_usage(other, True, prompt, completion, expected).price_note is None
    assert row_usage(other, True, prompt, completion, expected + 1).price_note == "mismatch"
