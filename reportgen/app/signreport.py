"""``report --sign``: the PDFs ``report`` wrote, made PDF/A-3b with their evidence and signed as PAdES.

The same finishing as a packet's PDFs (:func:`.pades.finish_pdf`): each PDF written carries the
period's CSV detail (the file written beside it, or rendered by the ``csv`` exporter when
``--format`` did not ask for one) and the methodology note, as associated files, and is signed
with the X.509 key of ``keys init --x509``.  Outside a packet there is no manifest: the
signature is what vouches for the PDF.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ..config import Config
from ..errors import ExportError, UsageError
from ..hookspecs import ExportContext, Exporter
from ..plugins import exporters as registered_exporters
from ..read import PeriodView
from .export import output_stem, write_atomically
from .methodology import methodology_markdown
from .pades import PdfSigning, finish_pdf, pdf_signing

PDF = "application/pdf"


def require_pdf_signing(config: Config) -> PdfSigning:
    """The PAdES signing ``report --sign`` needs: an error naming ``keys init --x509`` when there is none."""
    signing = pdf_signing(config)
    if signing is None:
        raise UsageError(
            f"--sign needs an X.509 certificate and key at {config.signing_x509}; make one with "
            "`reportgen keys init --x509` (or import your organisation's with --pkcs12)"
        )
    return signing


def sign_written(
    paths: Sequence[Path],
    exporters: Sequence[Exporter],
    view: PeriodView,
    signing: PdfSigning,
    context: ExportContext,
) -> list[Path]:
    """Finish every PDF among ``paths`` (written by ``exporters``, in order); returns the PDFs signed."""
    from .pdfa import Attachment  # needs pyHanko (the pades extra): only when signing

    pdfs = [path for path, exporter in zip(paths, exporters, strict=True) if exporter.media_type == PDF]
    if not pdfs:
        raise UsageError("--sign signs PDFs: add pdf (or claim) to --format")
    report = view.report
    csv_name, csv_bytes = _detail(paths, exporters, view, context)
    attached = [
        Attachment(csv_name, csv_bytes, "text/csv", "CSV detail", "Data"),
        Attachment(
            "methodology.md",
            methodology_markdown(view, context.lang).encode("utf-8"),
            "text/markdown",
            "methodology note",
            "Supplement",
        ),
    ]
    for path in pdfs:
        signed = finish_pdf(
            path.read_bytes(), attached, signing, context, title=path.name, tz=report.period.tz
        )
        write_atomically(path, _writing(signed), "signed pdf")
    return pdfs


def _writing(data: bytes) -> Callable[[IO[bytes]], None]:
    def write(fp: IO[bytes]) -> None:
        fp.write(data)

    return write


def _detail(
    paths: Sequence[Path], exporters: Sequence[Exporter], view: PeriodView, context: ExportContext
) -> tuple[str, bytes]:
    """The CSV detail written beside the PDFs, or rendered now by the csv exporter."""
    for path, exporter in zip(paths, exporters, strict=True):
        if exporter.name == "csv":
            return path.name, path.read_bytes()
    csv = registered_exporters().get("csv")
    if csv is None:
        raise ExportError("--sign embeds the CSV detail, but no installed plugin registers the csv exporter")
    buffer = io.BytesIO()
    csv.write(view.report, buffer, context)
    return f"{output_stem(view.report)}{csv.suffix}.{csv.extension}", buffer.getvalue()


__all__ = ["require_pdf_signing", "sign_written"]
