"""What reaches a terminal: numbers never cut, names distinct and inert, at any width."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pypdf
import pytest
from rich.console import Console

from reportgen.console import print_summary
from reportgen.core.money import money_text
from tests import report_factory

LONG = ("research-group-alpha-long-key-name-2026", "research-group-alpha-long-key-name-2027")
ESCAPES = "\x1b]0;pwned\x07evil\x1b[31m\u202eroot\u2066"


def report_with(names: tuple[str, ...]):
    records = report_factory.sample_records(300)
    records = [
        replace(r, token_name=names[(i // 2) % len(names)]) if i % 2 == 0 else r
        for i, r in enumerate(records)
    ]
    return report_factory.make_report(records)


def render(report, by: str, width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    print_summary(report, by, console)
    return console.export_text()


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_money_and_counts_are_never_cut_and_long_names_stay_distinct(width: int) -> None:
    report = report_with(LONG)
    text = render(report, "key", width)
    assert "…" not in text
    for line in report.keys:
        assert re.search(rf"\s{re.escape(money_text(line.stats.cost_usd))}\s", text), (width, line.name)
        assert f"{line.stats.quota:,}" in text
    names = _first_column(text, "key")
    for name in LONG:
        assert name in names  # wrapped, never shortened into the same prefix
    if width < 100:  # the latency columns go first, and the user is told
        assert re.search(r"\(p95 s, p50 s.*left out to\s+fit", text, re.S)


def _first_column(text: str, header: str) -> list[str]:
    """The first column's cells of the breakdown table, wrapped lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(header + " "))
    width = lines[start].index("requests") - 1
    cells: list[str] = []
    for line in lines[start + 2 :]:
        if not line.strip() or line.lstrip().startswith("("):
            break
        name, rest = line[:width].strip(), line[width:].strip()
        if rest:
            cells.append(name)
        elif cells:
            cells[-1] += name
    return cells


def test_a_terminal_too_narrow_for_any_table_stacks_the_figures() -> None:
    report = report_with(LONG)
    text = render(report, "member", 36)
    for line in report.members:
        assert f"USD {money_text(line.stats.cost_usd)}" in text


def test_escape_sequences_and_bidi_overrides_never_reach_the_terminal() -> None:
    report = report_with((ESCAPES, "[bold red]markup[/]"))
    text = render(report, "key", 120)
    assert "\x1b" not in text and "\u202e" not in text and "\u2066" not in text and "\x07" not in text
    assert "[bold red]markup[/]" in text  # shown as typed, not interpreted as rich markup


def test_a_5000_character_name_fits_the_pdf_cut_with_an_ellipsis_and_whole_in_the_csv() -> None:
    name = "k" * 5000
    report = report_with((name,))
    pdf = pypdf.PdfReader(io.BytesIO(report_factory.export("pdf", report, "en")))
    text = "".join(page.extract_text() for page in pdf.pages)
    flat = re.sub(r"\s+", "", text)
    assert "k" * 100 in flat and "k" * 500 not in flat and "…" in flat
    csv_text = report_factory.export("csv", report, "en").decode("utf-8-sig")
    assert name in csv_text
