"""The documents every packet holds, registered through ``register_packet_documents`` like a plugin's.

The claim form and the statement (PDF), workbook (XLSX) and CSV detail are rendered by the registered
exporters exactly as ``report`` renders them; the methodology note and the data-quality
page are written in the packet's language; ``rows.jsonl`` holds the exact rows included,
in canonical form (see :mod:`reportgen.core.fingerprint`).  Each names the check
``reportgen verify`` runs on it (:mod:`reportgen.app.verify.roles`).  A new document at
close is one more registration, here or in a plugin.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ..core.report import Report
from ..hookspecs import DocumentRole, ExportContext, PacketSource, RegisterDocument, hookimpl
from .methodology import methodology_markdown
from .verify.format import ROWS
from .verify.roles import (
    check_claim_file,
    check_detail_file,
    check_rows,
    check_statement_file,
    check_workbook_file,
)

if TYPE_CHECKING:
    from ..read import PeriodView
    from .quality import QualityReport


@dataclass(frozen=True)
class PacketParts:
    """The :class:`~reportgen.hookspecs.PacketSource` the packet writer hands every document:
    the period's one view and the data-quality check run on it."""

    view: PeriodView
    quality: QualityReport

    @property
    def report(self) -> Report:
        return self.view.report

    @property
    def row_count(self) -> int:
        return self.view.row_count

    def canonical_rows(self) -> Iterator[tuple[bytes, str]]:
        return self.view.canonical_rows()

    @classmethod
    def of(cls, source: PacketSource) -> PacketParts:
        """The parts behind ``source`` (the built-in notes read more than the protocol shows)."""
        if not isinstance(source, cls):
            raise TypeError(f"{source!r} is not a packet being written by reportgen")
        return source


def write_methodology(source: PacketSource, fp: IO[bytes], ctx: ExportContext) -> None:
    """How the figures were computed, with this packet's own numbers and scope."""
    fp.write(methodology_markdown(PacketParts.of(source).view, ctx.lang).encode("utf-8"))


def write_quality(source: PacketSource, fp: IO[bytes], ctx: ExportContext) -> None:
    """The data-quality findings of the period (or "none")."""
    fp.write(PacketParts.of(source).quality.markdown(ctx.lang).encode("utf-8"))


def write_rows(source: PacketSource, fp: IO[bytes], ctx: ExportContext) -> None:
    """Every row of the packet, one canonical JSON array per line, in digest order."""
    text = io.TextIOWrapper(fp, encoding="utf-8", newline="\n")
    try:
        for _, line in source.canonical_rows():
            text.write(line)
            text.write("\n")
        text.flush()
    finally:
        text.detach()


BUILTIN_DOCUMENTS = (
    # the claim form (报销单) first; every other document but the rows is its electronic attachment
    # the PDFs are PAdES-signed PDF/A-3b carrying the CSV detail and the methodology when there is an X.509 key
    DocumentRole(
        "claim", "claim form (PDF)", exporter="claim", attachment=False, check=check_claim_file, pades=True
    ),
    DocumentRole("statement", "statement (PDF)", exporter="pdf", check=check_statement_file, pades=True),
    DocumentRole("workbook", "workbook (XLSX)", exporter="xlsx", check=check_workbook_file),
    DocumentRole("detail", "CSV detail", exporter="csv", check=check_detail_file, associated="Data"),
    DocumentRole(
        "methodology",
        "methodology note",
        write=write_methodology,
        filename="methodology.md",
        media_type="text/markdown",
        associated="Supplement",
    ),
    DocumentRole(
        "quality", "data-quality page", write=write_quality, filename="quality.md", media_type="text/markdown"
    ),
    DocumentRole(
        "rows",
        "rows",
        write=write_rows,
        filename=ROWS,
        media_type="application/x-ndjson",
        attachment=False,  # the evidence the figures are checked from, not an attachment
        check=check_rows,
        required=True,
    ),
)

#: The roles of every packet issued before packets recorded theirs: re-issued, they keep these.
FIRST_DOCUMENTS = ("statement", "workbook", "detail", "methodology", "quality", "rows")


def attachments(documents: Iterable[DocumentRole]) -> int:
    """How many electronic documents go with the claim (it prints 电子附件 M 份)."""
    return sum(1 for d in documents if d.attachment)


@hookimpl
def register_packet_documents(register: RegisterDocument) -> None:
    for document in BUILTIN_DOCUMENTS:
        register(document)


__all__ = [
    "BUILTIN_DOCUMENTS",
    "FIRST_DOCUMENTS",
    "PacketParts",
    "attachments",
    "register_packet_documents",
    "write_methodology",
    "write_quality",
    "write_rows",
]
