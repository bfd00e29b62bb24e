"""A FOCUS row per token type: the parts a log row is split into, from the ratios new-api logs."""

from __future__ import annotations

from decimal import Decimal

from reportgen.core.unitprice import row_usage
from reportgen.exporters.focus_meters import CALL, Part, parts

QPU = Decimal(500000)


def split(other: dict | None, prompt: int, completion: int, quota: int, **kw) -> list[Part]:
    usage = row_usage(other, other is not None, prompt, completion, quota)
    return parts(usage, prompt, completion, quota, 1, QPU, **kw)


def by_kind(found: list[Part]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """kind -> (tokens, quota per 1M tokens, quota charged)."""
    return {p.kind: (p.consumed, p.price, p.quota) for p in found}


def test_openai_usage_with_cache_reads_is_one_part_per_type_at_its_price():
    other = {"model_ratio": 1.25, "completion_ratio": 8, "cache_ratio": 0.1, "cache_tokens": 2000,
             "group_ratio": 1, "model_price": -1}  # fmt: skip
    found = split(other, 5000, 300, 7000)  # prompt_tokens includes the 2000 cached
    assert by_kind(found) == {
        "input": (3000, Decimal("1250000"), 3750),
        "cache_read": (2000, Decimal("125000"), 250),
        "output": (300, Decimal("10000000"), 3000),
    }
    for p in found:  # the list cost is the pricing quantity times the price, exactly
        assert p.pricing == p.consumed / 1_000_000 and p.list_quota == p.quota and not p.note
    # USD per 1M tokens: input 2.5, cache read 0.25, output 20
    assert [p.price / QPU for p in found] == [Decimal("2.5"), Decimal("20"), Decimal("0.25")]
    assert [p.tokens for p in found] == [
        (3000, None, None, None, None, None, None),
        (None, 300, None, None, None, None, None),
        (None, None, 2000, None, None, None, None),
    ]


def test_the_rows_rounding_to_a_whole_quota_goes_on_its_largest_part():
    other = {"model_ratio": 0.125, "completion_ratio": 8, "group_ratio": 1, "cache_tokens": 0}
    found = split(other, 3436, 397, 827)  # (3436 + 397 × 8) × 0.125 = 826.5, rounded half away
    assert [(p.kind, p.list_quota, p.quota) for p in found] == [
        ("input", Decimal("429.5"), Decimal("430.0")),
        ("output", Decimal("397.0"), Decimal("397.0")),
    ]
    assert sum(p.quota for p in found) == 827


def test_anthropic_usage_with_a_5m_and_1h_cache_write_split():
    other = {
        "model_ratio": 1.5, "completion_ratio": 5, "cache_ratio": 0.1, "cache_tokens": 500,
        "cache_creation_ratio": 1.25, "cache_creation_tokens": 1000,
        "cache_creation_tokens_5m": 600, "cache_creation_ratio_5m": 1.25,
        "cache_creation_tokens_1h": 400, "cache_creation_ratio_1h": 2,
        "usage_semantic": "anthropic", "group_ratio": 1,
    }  # fmt: skip
    # (2000 + 500 × 0.1 + 600 × 1.25 + 400 × 2 + 100 × 5) × 1.5 = 6150
    found = split(other, 2000, 100, 6150)
    assert {k: (n, q) for k, (n, _, q) in by_kind(found).items()} == {
        "input": (2000, 3000),
        "output": (100, 750),
        "cache_read": (500, 75),
        "cache_write_5m": (600, 1125),
        "cache_write_1h": (400, 1200),
    }
    assert sum(p.tokens[3] or 0 for p in found) == 1000  # both count as cache writes


def test_a_per_call_model_is_one_part_at_its_price_per_call():
    (call,) = split({"model_price": 0.5, "model_ratio": 0, "group_ratio": 1}, 0, 0, 250000)
    assert (call.kind, call.consumed, call.pricing, call.price, call.quota) == (CALL, 1, 1, 250000, 250000)
    assert call.price / QPU == Decimal("0.5")
    (other,) = split({"model_price": 0.5, "model_ratio": 0, "group_ratio": 1}, 0, 0, 260000)
    assert (other.kind, other.note) == ("", "mismatch")  # another price than its own: billed in quota


def test_a_row_its_ratios_do_not_explain_keeps_its_cost_on_one_part_and_says_why():
    tiered = {"billing_mode": "tiered_expr", "model_ratio": 0, "group_ratio": 1, "expr_b64": "eA=="}
    cases = {
        "tiered": split(tiered, 1000, 100, 4321),
        "no_pricing": split(None, 1000, 100, 4321),  # one-api logs no ratios
        "mismatch": split({"model_ratio": 1, "completion_ratio": 2, "group_ratio": 1}, 1000, 100, 4321),
        "refund": split({"model_ratio": 1, "group_ratio": 1}, 0, 0, -4321, refund=True),
    }
    for note, (part,) in cases.items():
        assert (part.kind, part.note, part.price, part.quota, part.pricing) == (
            "", note, 1, part.pricing, part.quota
        )  # fmt: skip
        assert abs(part.quota) == 4321
    assert cases["no_pricing"][0].tokens[:2] == (1000, 100)  # the tokens stay on the row


def test_a_removed_row_is_negated_part_by_part():
    other = {"model_ratio": 0.125, "completion_ratio": 8, "group_ratio": 1, "cache_tokens": 0}
    usage = row_usage(other, True, 3436, 397, 827)
    found = parts(usage, 3436, 397, -827, -1, QPU, sign=-1)
    assert [(p.kind, p.consumed, p.quota) for p in found] == [
        ("input", -3436, Decimal("-430.0")),
        ("output", -397, Decimal("-397.0")),
    ]
    assert all(p.price > 0 for p in found)  # a unit price is never negative
