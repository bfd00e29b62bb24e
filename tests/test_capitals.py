"""大写金额: the golden table of 《会计基础工作规范》 art. 52 and the PBoC bill rules, and a round trip."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportgen.core.capitals import MAX_AMOUNT, rmb_capitals
from reportgen.core.money import cents

GOLDEN = [
    # the and the PBoC's examples
    ("1409.50", "人民币壹仟肆佰零玖元伍角整"),
    ("206000.75", "人民币贰拾万陆仟元零柒角伍分"),
    ("100.00", "人民币壹佰元整"),
    ("0.05", "人民币伍分"),
    ("6007.14", "人民币陆仟零柒元壹角肆分"),
    ("1680.32", "人民币壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "人民币壹拾万柒仟元零伍角叁分"),
    ("16409.02", "人民币壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "人民币叁佰贰拾伍元零肆分"),
    # art. 52 (三): 整 after 角 (issue 23)
    ("3.10", "人民币叁元壹角整"),
    ("1000000.10", "人民币壹佰万元零壹角整"),
    # edge cases
    ("10.00", "人民币壹拾元整"),
    ("15.00", "人民币壹拾伍元整"),
    ("110.00", "人民币壹佰壹拾元整"),
    ("100000.00", "人民币壹拾万元整"),
    ("1000000.01", "人民币壹佰万元零壹分"),
    ("0.00", "人民币零元整"),
    ("0.50", "人民币伍角整"),
    ("0.15", "人民币壹角伍分"),
    ("1.00", "人民币壹元整"),
    ("1000.05", "人民币壹仟元零伍分"),
    ("100100.00", "人民币壹拾万零壹佰元整"),
    ("10010.10", "人民币壹万零壹拾元零壹角整"),
    ("101000.00", "人民币壹拾万壹仟元整"),
    ("10000.00", "人民币壹万元整"),
    ("20.20", "人民币贰拾元零贰角整"),
    ("20.02", "人民币贰拾元零贰分"),
    ("21.20", "人民币贰拾壹元贰角整"),
    # the 亿 range
    ("100000000.00", "人民币壹亿元整"),
    ("100010000.00", "人民币壹亿零壹万元整"),
    ("100000001.00", "人民币壹亿零壹元整"),
    ("110000000.00", "人民币壹亿壹仟万元整"),
    ("1010000000.00", "人民币壹拾亿壹仟万元整"),
    ("1001000000.00", "人民币壹拾亿零壹佰万元整"),
    ("123456789012.34", "人民币壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
    ("1000000000000.00", "人民币壹万亿元整"),
    ("1000100000000.00", "人民币壹万零壹亿元整"),
]


@pytest.mark.parametrize(("amount", "words"), GOLDEN)
def test_golden_table(amount, words):
    assert rmb_capitals(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-0.01", "-100.00", "1.005", "0.001", "1E+17", "NaN", "Infinity"])
def test_refused(amount):
    with pytest.raises(ValueError):
        rmb_capitals(Decimal(amount))


def test_a_money_policy_amount_is_accepted_as_is():
    # cents() gives 1409.50 from an exact amount; trailing zeros or not, the words are the same
    assert rmb_capitals(cents(Decimal("1409.4950001"))) == "人民币壹仟肆佰零玖元伍角整"
    assert rmb_capitals(Decimal("100")) == rmb_capitals(Decimal("100.00"))


def test_prefix_can_be_dropped():
    assert rmb_capitals(Decimal("3.10"), prefix="") == "叁元壹角整"


_ALLOWED = set("人民币零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整")
_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def _parse(words: str) -> int:
    """Capitals back to cents (a reader of the form, independent of the writer)."""
    text = words.removeprefix("人民币")
    yi = wan = cur = num = 0
    total = 0
    for ch in text:
        if ch in _DIGIT:
            num = _DIGIT[ch]
        elif ch in _UNIT:
            cur += num * _UNIT[ch]
            num = 0
        elif ch == "万":
            wan = (cur + num) * 10**4
            cur = num = 0
        elif ch == "亿":
            yi = (yi + wan + cur + num) * 10**8
            wan = cur = num = 0
        elif ch == "元":
            total = (yi + wan + cur + num) * 100
            yi = wan = cur = num = 0
        elif ch == "角":
            total += num * 10
            num = 0
        elif ch == "分":
            total += num
            num = 0
    return total


@given(st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)))
def test_round_trip_and_form(n):
    amount = Decimal(n) / 100
    words = rmb_capitals(cents(amount))
    assert set(words) <= _ALLOWED
    assert words.startswith("人民币") and "人民币" not in words[3:]
    assert _parse(words) == n
    assert "零零" not in words
    assert not words.endswith("分整")  # never 整 after 分
    assert words.endswith("整") == (n % 10 == 0)  # 整 after 元 or 角 exactly when no 分
    if n % 100 and n >= 100 and n % 100 < 10:
        assert "元零" in words  # 角 is 0, 分 is not: 零 after 元
    assert not words[3:].startswith("零") or n == 0
