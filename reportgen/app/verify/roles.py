"""What ``reportgen verify`` checks in the built-in documents, as their ``DocumentRole.check``.

The rows give the manifest's fingerprint, count and totals; the CSV detail holds exactly
the rows' consumption and refund lines; the workbook states the manifest's totals (see
:mod:`.figures`); the PDF prints the rows' figures (see :mod:`.statement`); the claim form claims them (see
:mod:`.claimform`).  :mod:`reportgen.app.packetdocs` registers them with the documents.
"""

from __future__ import annotations

from ...hookspecs import PacketFile
from .claimform import check_claim
from .figures import check_detail, check_workbook
from .members import PacketMember
from .pdftext import pdf_pages
from .statement import check_pdf
from .xlsxmembers import member_sheet_problem


def check_rows(file: PacketFile) -> None:
    """``rows.jsonl`` gives the manifest's fingerprint, row count and every total."""
    PacketMember.of(file).packet.rows()


def check_detail_file(file: PacketFile) -> None:
    """The CSV detail holds exactly the consumption and refund rows of ``rows.jsonl``."""
    member = PacketMember.of(file)
    packet = member.packet
    derived = packet.rows()
    if derived is not None:
        check_detail(packet.zf, member.info, packet.manifest, derived, packet.limits, packet.result)


def check_workbook_file(file: PacketFile) -> None:
    """The workbook's Summary totals are the manifest's and its member lines the rows' (checked when
    the rows are in the packet)."""
    member = PacketMember.of(file)
    packet = member.packet
    if packet.rows_intact:
        check_workbook(
            packet.zf,
            member.info,
            packet.manifest,
            packet.limits,
            packet.result,
            packet.rows(),
            member_sheet_problem,
        )


def check_statement_file(file: PacketFile) -> None:
    """The PDF prints the rows' figures: its member and model lines, totals, rate, 大写 and fingerprint."""
    member = PacketMember.of(file)
    packet = member.packet
    derived = packet.rows()
    if derived is not None:
        pages = pdf_pages(member.name, member.chunks())
        check_pdf(member.name, pages, packet.manifest, derived, member.differ, member.passed)


def check_claim_file(file: PacketFile) -> None:
    """The claim form claims what the rows give: its amount on its base, rate, 大写, and 附件1's lines."""
    member = PacketMember.of(file)
    packet = member.packet
    derived = packet.rows()
    if derived is not None:
        pages = pdf_pages(member.name, member.chunks())
        found = check_claim(pages, packet.manifest, derived)
        if found:
            member.differ(found[0])
        elif packet.manifest["charged"] is not None:  # charged by shares the rows do not carry
            member.passed(f"its {len(pages)} page(s) agree with one another: rate, 大写, lines and total")
        else:
            member.passed(f"its {len(pages)} page(s) claim the rows' amount: rate, 大写 and every line")


__all__ = [
    "check_claim_file",
    "check_detail_file",
    "check_rows",
    "check_statement_file",
    "check_workbook_file",
]
