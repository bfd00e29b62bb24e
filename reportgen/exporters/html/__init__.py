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

__all__ = ["register_exporters", "write_html"]


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
        )
    )
