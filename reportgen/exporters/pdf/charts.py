"""Charts for the statement and the grant report, drawn with reportlab's own graphics.

A chart never replaces a number: every figure it draws is one the tables print, taken
from the same :class:`~reportgen.core.report.Report`.  Each drawing keeps the exact
values it was drawn from in ``drawing.source_values`` (``{series: {category: Decimal}}``)
so a test can read them back and compare them with the tables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.attrmap import AttrMap, AttrMapValue
from reportlab.lib.units import mm

from ...core.budget import GrantView
from ...core.money import money_text
from ...core.report import Report
from ...core.text import clean_text, shorten
from ...render.charts import PALETTE, chart_labels, daily_values, member_bars
from ...render.fonts import printable


class ChartDrawing(Drawing):
    """A drawing that remembers the exact values it shows."""

    _attrMap = AttrMap(  # noqa: N815 - reportlab's name; it refuses attributes it does not know
        BASE=Drawing, source_values=AttrMapValue(None), kind=AttrMapValue(None)
    )
    source_values: dict[str, dict[str, Decimal]]
    kind: str


#: Names longer than this are cut with an ellipsis in a chart (the tables print them whole).
CHART_NAME_LIMIT = 24


def _name(text: str, font: str) -> str:
    """A name as a chart shows it: cut, cleaned, each glyph the font has."""
    return printable(clean_text(shorten(text, CHART_NAME_LIMIT)), font)


def daily_chart(report: Report, lang: str, font: str, width: float) -> ChartDrawing:
    """Spend per day, stacked by member (or model), one bar per day of the period."""
    by, values = daily_values(report, lang)
    labels = chart_labels(lang)
    days = [line.name for line in report.days]
    drawing = ChartDrawing(width, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 14 * mm, width - 52 * mm, 40 * mm
    names = list(values)
    chart.data = [[float(values[n].get(d, 0)) for d in days] for n in names] or [[0.0] * len(days)]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = [d[8:] for d in days]  # the day of the month
    _axes(chart, font, 5.5)
    chart.barSpacing = 0.5
    for i in range(len(names)):
        chart.bars[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    drawing.add(_legend([_name(n, font) for n in names], font, width - 38 * mm, 52 * mm))
    title = labels["daily_member" if by == "member" else "daily_model"]
    drawing.add(String(0, 58 * mm, title, fontName=font, fontSize=8.5))
    drawing.source_values = values
    drawing.kind = f"daily_{by}"
    return drawing


def member_chart(report: Report, lang: str, font: str, width: float) -> ChartDrawing:
    """Net spend per member, largest first (the members table's figures)."""
    bars = member_bars(report, lang)
    height = max(30 * mm, (len(bars) * 6 + 16) * mm / 1.2)
    drawing = ChartDrawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 38 * mm, 6 * mm
    chart.width, chart.height = width - 52 * mm, height - 16 * mm
    ordered = list(reversed(bars))  # reportlab draws the first category at the bottom
    chart.data = [[float(v) for _, v in ordered]] if ordered else [[0.0]]
    chart.categoryAxis.categoryNames = [_name(n, font) for n, _ in ordered] or [""]
    _axes(chart, font, 7)
    chart.bars[0].fillColor = colors.HexColor(PALETTE[0])
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "values"  # the table's figures, rounded as every amount is (not "%.2f" of a float)
    chart.barLabelArray = [[money_text(v) for _, v in ordered]] if ordered else [[""]]
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 2
    drawing.add(chart)
    drawing.add(String(0, height - 5 * mm, chart_labels(lang)["by_member"], fontName=font, fontSize=8.5))
    drawing.source_values = {"members": dict(bars)}
    drawing.kind = "by_member"
    return drawing


def burn_down_values(grant: GrantView) -> dict[str, dict[str, Decimal]]:
    """``remaining`` after each day from the project's start through its as-of day (one point per day),
    ``spent`` each day's charged spend, and ``projection`` from the as-of day at the current rate to
    the run-out date or the project's end, whichever comes first (exact, budget currency)."""
    p = grant.project
    remaining: dict[str, Decimal] = {}
    left = p.budget
    for day, spent in grant.daily:
        left -= spent
        remaining[day.isoformat()] = left
    projection: dict[str, Decimal] = {}
    if grant.daily and p.as_of is not None and p.burn_per_day and p.as_of < p.end:
        stop = p.end if p.run_out is None or p.run_out <= p.as_of else min(p.run_out, p.end)
        days = (stop - p.as_of).days
        projection = {p.as_of.isoformat(): left, stop.isoformat(): left - p.burn_per_day * days}
    return {
        "remaining": remaining,
        "spent": {d.isoformat(): v for d, v in grant.daily},
        "projection": projection,
    }


def burn_down_chart(grant: GrantView, lang: str, font: str, width: float) -> ChartDrawing:
    """The budget left after each day of the project (one point per day), the budget line (the
    budget spent evenly to the end), the zero line where it is used up, and the projection at
    the current rate; the x axis stays at the bottom when the budget is overrun."""
    p = grant.project
    labels = chart_labels(lang)
    values = burn_down_values(grant)
    start = p.start.toordinal()

    def x(iso: str) -> int:
        return date.fromisoformat(iso).toordinal() - start + 1

    span = (p.end.toordinal() - start) + 1
    actual = [(0, float(p.budget))] + [(x(d), float(v)) for d, v in values["remaining"].items()]
    plan = [(0, float(p.budget)), (span, 0.0)]
    zero = [(0, 0.0), (span, 0.0)]
    series = [actual, plan, zero]
    projected = [(x(d), float(v)) for d, v in values["projection"].items()]
    if projected:
        series.append(projected)
    drawing = ChartDrawing(width, 66 * mm)
    chart = LinePlot()
    chart.x, chart.y, chart.width, chart.height = 20 * mm, 22 * mm, width - 30 * mm, 34 * mm
    chart.data = series
    styles = [
        (PALETTE[0], 1.5, None),
        ("#9AA5B1", 0.8, (1, 2)),
        ("#B00020", 0.6, None),
        (PALETTE[1], 1.2, (3, 2)),
    ]
    for i, (colour, stroke, dash) in enumerate(styles[: len(series)]):
        chart.lines[i].strokeColor = colors.HexColor(colour)
        chart.lines[i].strokeWidth = stroke
        chart.lines[i].strokeDashArray = dash
        chart.lines[i].symbol = None
    chart.xValueAxis.valueMin, chart.xValueAxis.valueMax = 0, span
    chart.xValueAxis.joinAxisMode = "bottom"  # never across the plot on the zero line when over budget
    step = max(1, span // 6)
    chart.xValueAxis.valueSteps = list(range(0, span + 1, step))
    chart.xValueAxis.labelTextFormat = lambda v: date.fromordinal(start + int(v)).strftime(
        "%m-%d"
    )  # day starts
    chart.xValueAxis.labels.fontName = font
    chart.xValueAxis.labels.fontSize = 6
    chart.yValueAxis.labels.fontName = font
    chart.yValueAxis.labels.fontSize = 6
    chart.yValueAxis.forceZero = True
    drawing.add(chart)
    names = [
        labels["remaining"],
        f"{labels['plan']} ({p.currency} {money_text(p.budget)})",
        labels["used_up"],
    ]
    if projected:
        names.append(labels["projection"])
    pairs = [(colors.HexColor(c), n) for (c, _, _), n in zip(styles, names, strict=False)]
    legend = Legend()
    legend.x, legend.y = 20 * mm, 12 * mm
    legend.boxAnchor = "nw"
    legend.fontName, legend.fontSize = font, 6.5
    legend.alignment = "right"
    legend.columnMaximum = 2  # two rows of two: the longest names fit the page
    legend.deltax = (width - 30 * mm) / 2
    legend.deltay = 9
    legend.dx = legend.dy = 6
    legend.colorNamePairs = pairs
    drawing.add(legend)
    title = labels["burn_down"].format(currency=p.currency)
    drawing.add(String(0, 62 * mm, title, fontName=font, fontSize=8.5))
    drawing.source_values = values
    drawing.kind = "burn_down"
    return drawing


def _legend(names: list[str], font: str, x: float, y: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName = font
    legend.fontSize = 6.5
    legend.alignment = "right"
    legend.boxAnchor = "nw"
    legend.columnMaximum = 12
    legend.dx = legend.dy = 6
    legend.colorNamePairs = [(colors.HexColor(PALETTE[i % len(PALETTE)]), n) for i, n in enumerate(names)]
    return legend


def _axes(chart: HorizontalBarChart | VerticalBarChart, font: str, category_size: float) -> None:
    """The axis labels every chart shares: the document's font, values from zero."""
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = category_size
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.forceZero = True
