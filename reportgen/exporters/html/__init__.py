"""HTML statement: one self-contained page with the PDF statement's sections and figures.

:mod:`.sections` lays out the figures :mod:`reportgen.render.statement` decides (the same
lines the PDF prints), :mod:`.svg` draws the charts as inline SVG, :mod:`.webfont` embeds
the CJK glyphs the page uses, :mod:`.page` renders it with Jinja2 (autoescaped) under a
Content-Security-Policy that allows only the page's own style and script, by hash.
Jinja2 is imported only when a page is written.
"""

from __future__ import annotations

from typing import IO

from ...core.report import Report
from ...hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from .sections import Block, Cell, Row, Statement, Table, bridge_block, member_parts, model_parts, statement
from .static import asset, csp
from .svg import Chart, daily_chart, member_chart
from .webfont import FALLBACK_FAMILIES, font_subset

#: What ``reportgen serve`` lays its pages out with (the statement's own parts), besides the exporter.
__all__ = [
    "FALLBACK_FAMILIES",
    "Block",
    "Cell",
    "Chart",
    "Row",
    "Statement",
    "Table",
    "asset",
    "bridge_block",
    "csp",
    "daily_chart",
    "font_subset",
    "member_chart",
    "member_parts",
    "model_parts",
    "register_exporters",
    "statement",
    "write_html",
]


def write_html(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """The statement of ``report`` as one self-contained HTML page."""
    from . import page

    page.write_html(report, fp, ctx)


@hookimpl
def register_exporters(register: RegisterExporter) -> None:
    register(
        Exporter(
            name="html",
            extension="html",
            description="HTML statement: the PDF's sections and figures in one self-contained page "
            "(inline SVG charts, sortable tables, drill-down by member and model, prints like the PDF)",
            write=write_html,
            media_type="text/html; charset=utf-8",
            options=(),
            writes_grant=False,
        )
    )
