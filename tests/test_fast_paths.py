"""The shortcuts taken for speed at a million rows give exactly what the plain code gives."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.core.models import UsageRecord
from reportgen.exporters._cells import _CONTROL_RE, _FORMULA_START, QuotientText, csv_text, plain_decimal
from reportgen.store import Store


def _reference_csv_text(value: object) -> str:
    text = "" if value is None else _CONTROL_RE.sub("", str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def test_csv_text_fast_path_equals_the_regex_path():
    samples = [None, "", "key-a", "=1+2", " =1", "\t=1", "\x00=1", "a\x7fb", "张三", "=张三", "\u2028x",
               "-5", 5, -2.5, "\n\n@x", "é", "\x1f", "@SUM(1)", "+1", "a\r\nb"]  # fmt: skip
    for value in samples:
        assert csv_text(value) == _reference_csv_text(value), value


def test_records_without_raw_equal_the_full_records_but_raw(tmp_path):
    rows = [
        UsageRecord(
            100, 2, "key-a", "m", 5, 1, 2, 300, True, "r1", "c", 200, None, 7, "g", "u", 3, True, '{"a":1}'
        ),
        UsageRecord(101, 6, "键", "m2", 9, raw='{"b":2}'),
        UsageRecord(102, 5, "key-a", "m", 0, has_price=False),
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(0, 1000, rows, 1, 0)
        full = list(store.iter_records(0, 1000))
        assert full == rows
        bare = list(store.iter_records(0, 1000, raw=False))
        assert bare == [dataclasses.replace(r, raw="") for r in rows]
        assert list(store.iter_records(0, 1000, ("键",), raw=False)) == [dataclasses.replace(rows[1], raw="")]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**15), 10**15),
    st.sampled_from([Decimal(500000), Decimal(1000), Decimal(1), Decimal(3), Decimal("2.5"), Decimal(1024)]),
)
def test_quotient_text_is_plain_decimal_of_the_exact_quotient(n, divisor):
    assert QuotientText(divisor)(n) == plain_decimal(Decimal(n) / divisor)
