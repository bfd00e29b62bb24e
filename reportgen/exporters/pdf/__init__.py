"""PDF statement: an invoice-style summary per member and model that a finance office files.

:mod:`.builder` draws the parts (letterhead, facts, amount tables, totals, notes,
signatures), :mod:`.finance` the project and reconciliation parts and :mod:`.grant` the
grant report, :mod:`.document` puts a statement, a grant closing report or a claim form (:mod:`.claimdoc`)
together; this
module registers the exporter.  reportlab is imported only when a PDF is written: loading the
plugins imports every exporter, and reportlab cost every CSV and XLSX run ~0.15 s of start-up
(issue 27).
"""

from __future__ import annotations

from typing import IO

from ...core.report import Report
from ...hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from ...render.statement import document_number, statement_amounts

__all__ = ["document_number", "register_exporters", "statement_amounts", "write_claim", "write_pdf"]


def write_pdf(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """The statement (or grant closing report) of ``report`` as a PDF."""
    from . import document

    document.write_pdf(report, fp, ctx)


def write_claim(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """The claim form (报销单) on one page, the spend it claims as 附件1 (see :mod:`.claimdoc`)."""
    from . import document

    document.write_claim(report, fp, ctx)


@hookimpl
def register_exporters(register: RegisterExporter) -> None:
    register(
        Exporter(
            name="pdf",
            extension="pdf",
            description="PDF statement: per member and model, totals in USD and CNY, notes, signatures",
            write=write_pdf,
            media_type="application/pdf",
            options=(),
        )
    )
    register(
        Exporter(
            name="claim",
            extension="pdf",
            suffix="-claim",
            description="Claim form (报销单): one page to sign, the spend it claims in CNY and USD as 附件1",
            write=write_claim,
            media_type="application/pdf",
            options=(),
        )
    )
