"""PDF charts draw the tables' figures: read their source values back and compare."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from reportgen.demo import run_demo
from reportgen.exporters.pdf.builder import Builder
from reportgen.exporters.pdf.charts import ChartDrawing, burn_down_chart, daily_values
from reportgen.exporters.pdf.finance import charts_section
from reportgen.exporters.pdf.grant import grant_story
from reportgen.hookspecs import ExportContext
from reportgen.read import Scope, open_period
from reportgen.templating import load_template


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"), lang="en")


def _charts(flowables):
    return [f for f in flowables if isinstance(f, ChartDrawing)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_daily_and_member_charts_hold_the_tables_figures(demo, lang):
    report = demo.report_summary
    builder = Builder(report, ExportContext(lang=lang, template=load_template(None, lang)))
    daily, by_member = _charts(charts_section(builder))
    assert daily.kind == "daily_member" and by_member.kind == "by_member"
    # every day's stack adds up to the By-day table's line, exactly
    days = {line.name: line.stats.cost_usd for line in report.days}
    for day, cost in days.items():
        assert (
            sum((series.get(day, Decimal(0)) for series in daily.source_values.values()), Decimal(0)) == cost
        )
    # each member's bar is the members table's figure, and the drawn numbers are those values
    members = {m.name: m.stats.cost_usd for m in report.members if m.stats.active}
    assert by_member.source_values["members"] == members
    chart = next(c for c in by_member.contents if hasattr(c, "data"))
    assert sorted(chart.data[0]) == sorted(float(v) for v in members.values())
    _, values = daily_values(report, lang)
    assert values == daily.source_values


def test_the_grant_report_has_a_burn_down_of_its_monthly_table(demo):
    with open_period(_config(demo), None, Scope.of(project="nlp-grant")) as view:
        report = view.report
    builder = Builder(report, ExportContext(lang="zh", template=load_template("grant", "zh")))
    (chart,) = _charts(grant_story(builder))
    grant = report.grant
    assert grant is not None
    p = grant.project
    assert p.as_of is not None
    remaining = chart.source_values["remaining"]
    assert len(remaining) == (p.as_of - p.start).days + 1  # one point per day since the start
    assert remaining[max(remaining)] == p.budget - p.spent == p.budget - grant.spent
    assert burn_down_chart(grant, "en", builder.font, 400).source_values == chart.source_values


def test_the_workbook_has_a_bridge_sheet_that_closes(demo):
    xlsx = next(p for p in demo.paths if p.suffix == ".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert "Bridge" in wb.sheetnames
    rows = {r[0]: r[1] for r in wb["Bridge"].iter_rows(values_only=True) if r and r[0]}
    bridge = demo.report_summary.bridge
    (s,) = bridge.sources
    assert rows["Residual (reported − by the logs)"] == 0 == s.residual
    assert rows["Closing balance reported"] == s.closing.quota
    assert rows["Redemption codes"] == 100_000_000


def _config(demo):
    from reportgen.config import load_config

    return load_config(demo.config_path, env={})


def test_a_statement_of_fifty_members_fits_its_member_chart_on_a_page() -> None:
    from dataclasses import replace as _replace

    from reportgen.exporters.pdf.charts import member_chart
    from reportgen.render.charts import MAX_BARS
    from tests import report_factory

    records = report_factory.sample_records(600)
    records = [_replace(r, token_name=f"member-{i % 50:02d}") for i, r in enumerate(records)]
    report = report_factory.make_report(records)
    data = report_factory.export("pdf", report, "en")  # no LayoutError
    assert data.startswith(b"%PDF")
    builder = Builder(report, ExportContext(lang="en", template=load_template(None, "en")))
    drawing = member_chart(report, "en", builder.font, 170 * 2.83)
    bars = drawing.source_values["members"]
    assert len(bars) == MAX_BARS
    active = [m for m in report.members if m.stats.active]
    assert sum(bars.values()) == sum(m.stats.cost_usd for m in active)  # the summed bar hides nothing


def test_member_bars_are_labelled_as_the_tables_print_their_amounts() -> None:
    """A bar's label is its amount through the money policy (half-up), not ``"%.2f"`` of a float."""
    from dataclasses import replace as _replace

    from reportgen.core.money import money_text
    from reportgen.exporters.pdf.charts import member_chart
    from tests import report_factory

    records = report_factory.sample_records(40)
    report = report_factory.make_report(records)
    tie = next(m for m in report.members if m.stats.active)
    tie = _replace(tie, stats=_replace(tie.stats, cost_usd=Decimal("0.125")))  # "%.2f" % 0.125 == "0.12"
    report = _replace(report, members=(tie,))
    builder = Builder(report, ExportContext(lang="en", template=load_template(None, "en")))
    drawing = member_chart(report, "en", builder.font, 170 * 2.83)
    chart = next(c for c in drawing.contents if hasattr(c, "barLabelArray"))
    assert chart.barLabelArray == [[money_text(Decimal("0.125"))]] == [["0.13"]]


def test_the_team_statement_prints_one_currency_per_column_and_a_run_out_after_the_end(demo, tmp_path):
    from pypdf import PdfReader

    from reportgen.app.export import export_report
    from reportgen.plugins import select_exporters

    report = demo.report_summary
    (pdf,) = export_report(report, select_exporters("pdf"), tmp_path, lang="zh")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "预算（USD）" in text and "预算（CNY）" in text  # a table per budget currency
    assert (
        "USD 60.00" not in text and "CNY 120.00" not in text
    )  # no currency-prefixed cells mixed in a column
    nlp = next(p for p in report.projects if p.name == "nlp-grant")
    assert nlp.run_out_after_end and nlp.run_out is not None
    assert f"{nlp.run_out.isoformat()}（晚于结束日）" in text.replace("\n", "")  # wrapped in its cell
