"""The HTML statement in a real headless Chromium: the demo month's figures equal ``summary --json``
and the PDF's, CJK renders from the embedded subset, the page prints to PDF through Chromium, the
tables sort, the drill-down opens, and hostile names render as inert text under the page's CSP."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.core.money import money_text
from reportgen.core.records import UsageRecord
from reportgen.demo import DemoResult, run_demo
from reportgen.exporters import html as html_exporter
from reportgen.hookspecs import Exporter
from tests import browser
from tests.report_factory import GENERATED_AT, HOSTILE_KEYS, TZ, context, make_report

#: Names that would run script or break out of an element if a page did not escape them.
HTML_HOSTILE = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</style><style>body{display:none}</style>",
    "</script><script>window.__pwned=3</script>",
    "<svg onload=window.__pwned=4>",
    "&lt;b&gt;entity&amp;",
    "a" * 300,
)


@pytest.fixture(scope="module")
def driver() -> Any:
    with browser.start() as d:
        yield d


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("web") / "demo", lang="zh")


@pytest.fixture(scope="module")
def summary(demo: DemoResult) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["--config", str(demo.config_path), "summary", "--period", "2026-04", "--json"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _page(demo: DemoResult) -> Path:
    return next(p for p in demo.paths if p.suffix == ".html")


def _rows(driver: Any, selector: str) -> list[list[str]]:
    script = (
        "return Array.from(document.querySelectorAll(arguments[0])).map("
        "r => Array.from(r.cells).map(c => c.textContent.trim()));"
    )
    rows: list[list[str]] = driver.execute_script(script, selector)
    return rows


def test_the_exporter_registers_through_the_hook() -> None:
    found: list[Exporter] = []
    html_exporter.register_exporters(found.append)
    assert [(e.name, e.extension) for e in found] == [("html", "html")]


def test_the_statement_shows_the_figures_of_summary_json(
    driver: Any, demo: DemoResult, summary: dict[str, Any]
) -> None:
    driver.get(_page(demo).as_uri())
    members = _rows(driver, "#members > table tbody tr")
    printed = summary["printed"]["members_usd"]
    pairs = [(m, line) for m, line in zip(summary["members"], printed["lines"], strict=True) if m["requests"]]
    shown = [m for m, _ in pairs]
    assert [r[0] for r in members] == [m["name"] for m in shown]
    assert [r[4] for r in members] == [line for _, line in pairs]
    assert [int(r[1].replace(",", "")) for r in members] == [m["requests"] for m in shown]
    total = _rows(driver, "#members > table tfoot tr")[-1]
    assert total[4] == printed["total"] == "78.08"
    totals = dict((r[0], r[1]) for r in _rows(driver, "table.totals tr"))
    cny = summary["printed"]["cny"]
    assert cny["total"] in totals.values() and cny["product"] in totals.values()
    assert cny["conversion_difference"] in totals.values()
    # Each member's block: its model lines and subtotal, as summary's member × model lines print.
    for i, m in enumerate(shown, 1):
        block = _rows(driver, f"#member-{i} tbody tr")
        lines = [x for x in summary["member_models"] if x["member"] == m["name"]]
        assert [r[0] for r in block] == [x["model"] for x in lines]
        assert [int(r[1].replace(",", "")) for r in block] == [x["requests"] for x in lines]
        assert _rows(driver, f"#member-{i} tfoot tr")[-1][4] == pairs[i - 1][1]
    # The model view: each model's net spend, rounded once.
    models = _rows(driver, "#models > table tbody tr")
    assert [r[0] for r in models] == [m["name"] for m in summary["models"]]
    assert [r[4] for r in models] == [money_text(Decimal(m["cost_usd"])) for m in summary["models"]]


def test_the_statement_has_the_pdfs_figures(driver: Any, demo: DemoResult) -> None:
    pdf = next(p for p in demo.paths if p.suffix == ".pdf" and not p.stem.endswith("-claim"))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    driver.get(_page(demo).as_uri())
    for row in _rows(driver, "#members > table tbody tr"):
        assert row[0] in text and row[4] in text, row
    for row in _rows(driver, "table.totals tr"):
        assert row[1] in text, row


def test_cjk_renders_from_the_embedded_subset(driver: Any, demo: DemoResult, tmp_path: Path) -> None:
    driver.get(_page(demo).as_uri())
    state = driver.execute_script(
        "return document.fonts.ready.then(() => Array.from(document.fonts)"
        ".filter(f => f.family.includes('reportgen CJK')).map(f => f.status));"
    )
    assert state == ["loaded"]
    assert driver.execute_script("return document.fonts.check('16px \"reportgen CJK\"', '张三合计')")
    # Glyphs, not boxes: each Chinese character is as wide as the font's em (tofu boxes are narrower).
    width = driver.execute_script(
        "const s = document.createElement('span'); s.style.fontSize = '20px'; s.textContent = '张三李四';"
        "document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove(); return w;"
    )
    assert 76 <= width <= 84, width
    driver.save_screenshot(str(tmp_path / "statement.png"))
    assert browser.console_errors(driver) == []


def test_it_prints_to_pdf_through_chromium(driver: Any, demo: DemoResult) -> None:
    driver.get(_page(demo).as_uri())
    pdf = pypdf.PdfReader(io.BytesIO(browser.print_pdf(driver)))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "张三" in text and "78.08" in text and "569.97" in text
    assert 2 <= len(pdf.pages) <= 8
    assert "点击列标题排序" not in text  # screen-only hints and the model drill-down stay off paper


def test_tables_sort_and_the_drill_down_opens(driver: Any, demo: DemoResult) -> None:
    driver.get(_page(demo).as_uri())
    header = driver.find_elements("css selector", "#members > table thead th button")[4]
    header.click()
    amounts = [Decimal(r[4]) for r in _rows(driver, "#members > table tbody tr")]
    assert amounts == sorted(amounts, reverse=True)
    header.click()
    assert [Decimal(r[4]) for r in _rows(driver, "#members > table tbody tr")] == sorted(amounts)
    assert _rows(driver, "#members > table tfoot tr")[-1][0] == "合计"  # the total stays last
    link = driver.find_element("css selector", "#models > table tbody tr a")
    target = link.get_attribute("href").rsplit("#", 1)[1]
    assert not driver.find_element("id", target).get_attribute("open")
    link.click()
    assert driver.find_element("id", target).get_attribute("open")
    assert _rows(driver, f"#{target} tbody tr")


def _hostile_page(tmp_path: Path) -> Path:
    records = [
        UsageRecord(
            created_at=int(GENERATED_AT.replace(month=4, day=3 + i % 20, tzinfo=TZ).timestamp()),
            type=2,
            token_name=name,
            model_name=name,
            quota=1000 * (i + 1),
            prompt_tokens=10,
            completion_tokens=5,
        )
        for i, name in enumerate((*HTML_HOSTILE, *HOSTILE_KEYS))
    ]
    path = tmp_path / "hostile.html"
    with path.open("wb") as fp:
        html_exporter.write_html(make_report(records), fp, context("en"))
    return path


def test_hostile_names_render_as_text_and_no_script_runs(driver: Any, tmp_path: Path) -> None:
    path = _hostile_page(tmp_path)
    driver.get(path.as_uri())
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.execute_script("return document.querySelectorAll('img, body script').length") == 1
    names = {r[0] for r in _rows(driver, "#members > table tbody tr")}
    for name in (*HTML_HOSTILE, *HOSTILE_KEYS):
        assert name in names
    assert driver.find_element("tag name", "body").is_displayed()
    # No layout break: the page is no wider than the window, a 300-character name wraps.
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    csp = driver.find_element("css selector", "meta[http-equiv='Content-Security-Policy']")
    policy = csp.get_attribute("content")
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    # The page's own script did run (sort buttons exist): the policy allows it by hash only.
    assert driver.find_elements("css selector", "button.sort")
    assert browser.console_errors(driver) == []


def test_a_grant_report_is_not_written_as_a_statement_page(tmp_path: Path) -> None:
    """A project's report prints charged shares and budget categories (the grant report): the HTML
    statement would show its keys' whole spend instead, so it refuses."""
    from dataclasses import replace

    from reportgen.errors import ExportError

    report = replace(make_report(), grant=object())  # type: ignore[arg-type]
    with (tmp_path / "p.html").open("wb") as fp, pytest.raises(ExportError, match="grant report"):
        html_exporter.write_html(report, fp, context("en"))
