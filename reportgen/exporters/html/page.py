"""The HTML statement written: the sections rendered by Jinja2 (autoescaped) into one page that
needs nothing from the network, under a Content-Security-Policy allowing only its own style
and script (by SHA-256), fonts and images from data: URLs, no forms, no connections."""

from __future__ import annotations

from functools import lru_cache
from typing import IO, Any

import jinja2
from markupsafe import Markup

from ...core.report import Report
from ...errors import ExportError
from ...hookspecs import ExportContext
from ...render.statement import document_number
from .sections import statement
from .static import asset, csp
from .svg import daily_chart, member_chart
from .webfont import FALLBACK_FAMILIES, font_data_url

__all__ = ["environment", "inline", "write_html"]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates of the statement (and the macros the serve pages share), escaped by default."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reportgen.exporters.html", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


def inline(text: str) -> Markup:
    """Our own CSS or JS for a raw-text element: never closes it early (it is not escaped there)."""
    if "</" in text:
        raise ExportError("an inline stylesheet or script may not contain '</'")
    return Markup(text)


def page_style(text: str) -> str:
    """The stylesheet with the CJK subset of ``text`` embedded (or the system-font fallback)."""
    url = font_data_url(text)
    face = (
        f'@font-face {{ font-family: "reportgen CJK"; src: url("{url}") format("woff"); }}\n' if url else ""
    )
    return f"{face}:root {{ --fallback-fonts: {FALLBACK_FAMILIES}; }}\n{asset('statement.css')}"


def _visible_text(value: Any) -> str:
    """Every string a section holds (for the font subset)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "".join(_visible_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return "".join(_visible_text(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return "".join(_visible_text(getattr(value, f)) for f in value.__dataclass_fields__)
    return ""


def write_html(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    if (
        report.grant is not None
    ):  # its charged shares and categories are the grant report's, not a statement's
        raise ExportError(
            "--format html writes team and member statements; a project's grant report is written as pdf or xlsx"
        )
    number = document_number(report) or ctx.label("draft_unnumbered")
    s = statement(report, ctx, number)
    charts = []
    if ctx.template.section("show_charts") and any(m.stats.active for m in report.members):
        charts.append(daily_chart(report, ctx.lang))
        if sum(1 for m in report.members if m.stats.active) > 1:
            charts.append(member_chart(report, ctx.lang))
    style = page_style(_visible_text(s) + _visible_text(charts) + number)
    script = asset("statement.js")
    html = (
        environment()
        .get_template("statement.html")
        .render(
            s=s,
            charts=charts,
            number=number,
            csp=csp(style, script),
            style=inline(style),
            script=inline(script),
        )
    )
    fp.write(html.encode("utf-8"))
