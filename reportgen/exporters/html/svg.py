"""The statement's charts as inline SVG geometry: spend per day stacked by member (or model), and
spend per member.  The values are :mod:`reportgen.render.charts`' (the PDF's); each bar carries
its figure as a tooltip, rounded as every printed amount is.  The template draws the shapes,
so every name reaches the page through its escaping."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ...core.money import money_text
from ...core.report import Report
from ...core.text import clean_text, shorten
from ...render.charts import PALETTE, chart_labels, daily_values, member_bars

__all__ = ["Bar", "Chart", "Tick", "daily_chart", "member_chart"]

WIDTH = 720
#: Names longer than this are cut with an ellipsis in a chart (the tables print them whole).
NAME_LIMIT = 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    fill: str
    tip: str


@dataclass(frozen=True)
class Tick:
    """An axis label at ``(x, y)``; ``line`` draws a grid line across the plot at that height."""

    x: float
    y: float
    text: str
    line: bool = False


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]
    #: The exact values drawn, ``{series: {category: USD}}`` (as the PDF chart keeps them).
    values: dict[str, dict[str, Decimal]]


def _name(text: str) -> str:
    return clean_text(shorten(text, NAME_LIMIT))


def _scale(top: Decimal) -> list[Decimal]:
    """Five round steps from 0 up to at least ``top`` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [Decimal(i) for i in range(5)]
    power = Decimal(10) ** (top / 4).adjusted()
    step = next(
        power * m
        for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if power * m * 4 >= top
    )
    return [step * i for i in range(5)]


def daily_chart(report: Report, lang: str) -> Chart:
    """Spend per day, stacked by member (or model), one bar per day of the period."""
    by, values = daily_values(report, lang)
    labels = chart_labels(lang)
    days = [line.name for line in report.days]
    names = list(values)
    left, top, plot_w, plot_h = 52.0, 28.0, WIDTH - 52.0 - 170.0, 200.0
    high = max(
        (sum((max(values[n].get(d, Decimal(0)), Decimal(0)) for n in names), Decimal(0)) for d in days),
        default=Decimal(0),
    )
    low = min(
        (sum((min(values[n].get(d, Decimal(0)), Decimal(0)) for n in names), Decimal(0)) for d in days),
        default=Decimal(0),
    )
    steps = _scale(max(high, -low))
    span = steps[-1] * (2 if low < 0 else 1)
    zero_y = top + plot_h * float(steps[-1] / span) if span else top + plot_h

    def y_of(v: Decimal) -> float:
        return zero_y - plot_h * float(v / span) if span else zero_y

    slot = plot_w / max(len(days), 1)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        up, down = Decimal(0), Decimal(0)
        for n_i, name in enumerate(names):
            v = values[name].get(day, Decimal(0))
            if not v:
                continue
            base = up if v > 0 else down
            y0, y1 = y_of(base), y_of(base + v)
            tip = f"{day} · {name}: {money_text(v)}"
            colour = PALETTE[n_i % len(PALETTE)]
            bars.append(
                Bar(left + i * slot + slot * 0.12, min(y0, y1), slot * 0.76, abs(y1 - y0), colour, tip)
            )
            if v > 0:
                up += v
            else:
                down += v
    ticks = [Tick(left - 6, y_of(s), money_text(s), True) for s in steps]
    if low < 0:
        ticks += [Tick(left - 6, y_of(-s), money_text(-s), True) for s in steps[1:]]
    labels_x = [Tick(left + i * slot + slot / 2, top + plot_h + 14, d[8:]) for i, d in enumerate(days)]
    legend = tuple((PALETTE[i % len(PALETTE)], _name(n)) for i, n in enumerate(names))
    title = labels["daily_member" if by == "member" else "daily_model"]
    height = int(top + plot_h + 30)
    return Chart(
        f"daily_{by}", title, WIDTH, height, tuple(bars), tuple(ticks), tuple(labels_x), legend, values
    )


def member_chart(report: Report, lang: str) -> Chart:
    """Net spend per member, largest first (the members table's figures), labelled as printed."""
    bars_in = member_bars(report, lang)
    left, top, row = 170.0, 28.0, 22.0
    plot_w = WIDTH - left - 90.0
    high = max((v for _, v in bars_in), default=Decimal(0))
    scale = float(high) if high > 0 else 1.0
    bars: list[Bar] = []
    labels: list[Tick] = []
    for i, (name, value) in enumerate(bars_in):
        y = top + i * row
        w = max(float(value), 0.0) / scale * plot_w
        bars.append(Bar(left, y + 3, w, row - 6, PALETTE[0], f"{name}: {money_text(value)}"))
        labels.append(Tick(left - 6, y + row / 2 + 4, _name(name)))
        labels.append(Tick(left + w + 4, y + row / 2 + 4, money_text(value), True))
    height = int(top + len(bars_in) * row + 10)
    values = {"members": dict(bars_in)}
    return Chart(
        "by_member",
        chart_labels(lang)["by_member"],
        WIDTH,
        height,
        tuple(bars),
        (),
        tuple(labels),
        (),
        values,
    )
