"""The PDF statement, read back with pypdf."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from decimal import Decimal

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportgen.core.money import cents, cents_text, printed_lines
from reportgen.exporters.pdf import document_number, statement_amounts
from reportgen.render import fonts
from reportgen.templating import load_template

from .report_factory import MEMBERS, empty_report, export, make_report, sample_records


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_member_names_and_grand_total_extract(lang: str) -> None:
    report = make_report()
    text = text_of(export("pdf", report, lang))
    for line in report.members:
        name = re.sub(r"[\x00-\x1f\x7f]", "", line.name)
        assert name in text.replace("\n", " ") or name in text, name
    amounts = statement_amounts(report)
    assert cents_text(amounts.grand_cents) == f"{cents(report.totals.cost_usd):,.2f}"
    assert cents_text(amounts.grand_cents) in text
    assert cents_text(int(cents(report.totals.cost_usd * report.exchange.rate) * 100)) in text
    assert "张三" in text
    assert document_number(report) is None  # outside a packet: a draft, never an invented number
    assert ("草稿（未编号）" in text) if lang == "zh" else ("Draft (unnumbered)" in text)
    assert report.provenance.fingerprint in text
    assert ("第 1 页，共" in text) if lang == "zh" else ("Page 1 of" in text)


def test_printed_lines_add_up() -> None:
    report = make_report()
    amounts = statement_amounts(report)
    assert sum(m.cents for m in amounts.members) + amounts.rounding_cents == amounts.grand_cents
    for m in amounts.members:
        assert sum(c for _, c in m.lines) + m.rounding_cents == m.cents
        assert m.cents == int(cents(m.line.stats.cost_usd) * 100)  # the member's own amount, half-up
        for line, c in m.lines:
            assert c == int(cents(line.stats.cost_usd) * 100)
    # And as printed: each member's lines sum to its subtotal in the extracted text.
    text = text_of(export("pdf", report, "en"))
    subtotals = [
        Decimal(s.replace(",", ""))
        for s in re.findall(r"Subtotal\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+(-?[\d,]+\.\d\d)", text)
    ]
    assert subtotals == [Decimal(m.cents) / 100 for m in amounts.members]


@given(st.lists(st.decimals(min_value=-50, max_value=500, places=6), min_size=1, max_size=30))
def test_printed_lines_plus_rounding_add_up_to_the_printed_total(amounts: list[Decimal]) -> None:
    printed = printed_lines(amounts, sum(amounts, Decimal(0)))
    assert sum(printed.lines, Decimal(0)) + printed.rounding == printed.total
    assert all(abs(line - a) <= Decimal("0.005") for line, a in zip(printed.lines, amounts, strict=True))


def test_idle_members_and_notes() -> None:
    text = text_of(export("pdf", make_report(), "en"))
    assert "Members with no usage in this period: 王五" in text
    assert "rounding line" in text
    assert "Prepared by" in text and "Approved by" in text
    assert "7.1234" in text


def test_empty_period_is_a_valid_document() -> None:
    data = export("pdf", empty_report(), "en")
    text = text_of(data)
    assert "No usage in this period." in text
    assert "0.00" in text
    for name in MEMBERS:
        assert name in text.replace("\n", " ")


def test_member_filter() -> None:
    text = text_of(export("pdf", make_report(member="张三"), "zh"))
    assert "张三" in text and "Alice Smith" not in text


def test_no_rate() -> None:
    text = text_of(export("pdf", make_report(rate=None), "en"))
    assert "No exchange rate" in text and "Grand total (CNY)" not in text


def test_long_tables_split_across_pages() -> None:
    """(How fast a statement of many lines is, is bench/run.py's pdf-lines step.)"""
    records = sample_records(3000)
    # Many models for one member: more lines than one 40-row table holds.
    records += [replace(r, token_name="key-alice", model_name=f"m-{i}") for i, r in enumerate(records[:200])]
    data = export("pdf", make_report(records), "en")
    assert "(continued)" in text_of(data)


def test_same_report_same_bytes_and_pinned_dates() -> None:
    report = make_report()
    first = export("pdf", report)
    assert first == export("pdf", report)
    meta = pypdf.PdfReader(io.BytesIO(first)).metadata
    assert meta.creation_date is not None and meta.creation_date.strftime("%Y%m%d%H%M") == "202605010930"


def test_font_is_embedded_and_covers_labels() -> None:
    font = fonts.cjk_font()
    for lang in ("zh", "en"):
        t = load_template("invoice", lang)
        for key in t.labels[lang]:
            assert not fonts.missing_glyphs(t.label(key, lang), font), key
    assert fonts.printable("张三\U0001f600", font) == "张三?"
    data = export("pdf", make_report(), "zh")
    assert b"/FontFile2" in data  # an embedded TrueType subset


def test_font_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(fonts.ENV_VAR, str(tmp_path / "missing.ttf"))
    from reportgen.errors import ExportError

    with pytest.raises(ExportError, match="REPORTGEN_CJK_FONT"):
        export("pdf", make_report(), "zh")


def test_many_lines_flow_page_by_page_with_continued_headers() -> None:
    """A member's 150 model lines run over pages: each further page says "(continued)" under
    the member's name and repeats the header; every line and the subtotal are printed once."""
    records = sample_records(600)
    records += [
        replace(r, token_name="key-alice", model_name=f"model-{i:03d}") for i, r in enumerate(records[:150])
    ]
    report = make_report(records)
    data = export("pdf", report, "en")
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    for i in range(150):
        assert len(re.findall(rf"\bmodel-{i:03d}\b", text)) == 1, i
    continued = [p for p in pages if "Alice Smith (continued)" in p]
    assert len(continued) >= 2
    assert all("Requests" in p for p in continued)  # the header repeated on each
    # Pages are filled: ~45 lines a page, not one table chunk per page.
    assert len(reader.pages) <= 8


def test_long_names_wrap_in_their_cell_and_extract_whole() -> None:
    long_model = "a-very-long-model-name " * 3 + "开源大模型" * 6  # 99 characters: wrapped, not cut
    records = [
        replace(r, model_name=long_model) if i % 3 == 0 else r for i, r in enumerate(sample_records(300))
    ]
    text = text_of(export("pdf", make_report(records), "en"))
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", long_model) in flat
    cut = "x" * 200  # past NAME_LIMIT: cut with an ellipsis
    records = [replace(r, model_name=cut) if i % 3 == 0 else r for i, r in enumerate(sample_records(300))]
    flat = re.sub(r"\s+", "", text_of(export("pdf", make_report(records), "en")))
    assert "x" * 119 + "…" in flat and "x" * 120 not in flat
