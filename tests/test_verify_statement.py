"""verify checks the PDF people read: its member and model lines, totals, rate, 大写 and fingerprint
are the rows', and a swapped or doctored statement fails, naming the PDF, the page and the line."""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.app.verify import Limits, Verification, verify_packet
from reportgen.app.verify.figures import check_rows_file
from reportgen.app.verify.pdftext import pdf_pages
from reportgen.app.verify.reading import parse_manifest
from reportgen.app.verify.statement import check_statement
from reportgen.exporters.pdf import builder
from tests.conftest import fast_client, make_config
from tests.test_evidence import april, forged, one_line_differs


@pytest.fixture
def config(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, april(config), client_factory=fast_client)
    return config


@pytest.fixture
def team_packet(config, tmp_path):
    return write_packet(config, april(config), tmp_path / "team")


@pytest.fixture
def claim_packet(config, tmp_path):
    """The team's statement with the claim box (金额 小写 and 大写) of the reimbursement template."""
    return write_packet(config, april(config), tmp_path / "claim", template="reimbursement")


def _pdf_name(path: Path) -> str:
    """The statement's PDF (the packet's claim form is a PDF too)."""
    with zipfile.ZipFile(path) as zf:
        files = json.loads(zf.read("manifest.json"))["files"]
    return next(f["name"] for f in files if f["role"] == "statement")


def _read(path: Path):
    """The packet's manifest, what its rows give, and its PDF's page texts."""
    with zipfile.ZipFile(path) as zf:
        manifest = parse_manifest(zf.read("manifest.json"))
        derived = check_rows_file(zf, zf.getinfo("rows.jsonl"), manifest, Limits(), Verification(path))
        name = _pdf_name(path)
        pages = pdf_pages(name, iter([zf.read(name)]))
    assert derived is not None
    return manifest, derived, pages


def test_genuine_statements_verify_with_their_pdf_checked(config, team_packet, tmp_path):
    member_en = write_packet(config, april(config), tmp_path / "en", member="张三", lang="en")
    for path in (team_packet, member_en):
        result = verify_packet(path)
        assert result.ok, result.differences
        assert any(
            c.startswith(f"{_pdf_name(path)}: its ") and "print the rows' figures" in c
            for c in result.checked
        )


def _next_line(label: str, change):
    """An edit of the line after the line ``label`` (a table's label cell and its value)."""

    def edit(text: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines[:-1]):
            if line.strip() == label:
                lines[i + 1] = change(lines[i + 1])
                return "\n".join(lines)
        return text

    return edit


def _plus_one(amount: str) -> str:
    sign = "¥" if amount.startswith("¥") else ""
    return f"{sign}{Decimal(amount.lstrip('¥').replace(',', '')) + 1:,.2f}"


def _first_table_line(text: str) -> str:  # one request more on the first model line
    return re.sub(
        r"^(\S+ )(\d+)( .*\d\.\d\d)$", lambda m: f"{m[1]}{int(m[2]) + 1}{m[3]}", text, count=1, flags=re.M
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_first_table_line, "is not a line the rows give"),
        (_next_line("总计（美元）", _plus_one), "is not the rows' USD"),
        (_next_line("总计（人民币）", _plus_one), "is not the rows' CNY"),
        (_next_line("金额（小写）", _plus_one), "is not the rows' CNY"),
        (_next_line("金额（大写）", lambda words: words.replace("元", "拾元", 1)), "the amount in words"),
        (lambda text: re.sub(r"1 美元 = ([\d.]+) 人民币", "1 美元 = 9.9 人民币", text, count=1), "exchange rate 9.9"),
        (lambda text: re.sub(r"(数据指纹 )([0-9a-f]{64})", lambda m: m[1] + m[2][::-1], text, count=1),
         "states the rows fingerprint"),
        (lambda text: re.sub(r"\b([A-Z]{2})-\d{6}\b", r"\1-999999", text), "does not state the statement number"),
    ],
)  # fmt: skip
def test_each_printed_figure_that_differs_from_the_rows_is_named(claim_packet, edit, expected):
    """The total, a member's line, the 大写, the 小写, the rate or a page of another statement."""
    manifest, derived, pages = _read(claim_packet)
    assert check_statement("s.pdf", pages, manifest, derived) == []
    changed = False
    for n, text in enumerate(pages):
        new = edit(text)
        if new != text:
            pages = [*pages[:n], new, *pages[n + 1 :]]
            changed = True
            break
    assert changed, "the edit found nothing to change: the statement's layout moved"
    found = check_statement("s.pdf", pages, manifest, derived)
    assert found and expected in found[0], found
    assert found[0].startswith("page "), found


def test_a_line_removed_from_the_statement_is_missed(team_packet):
    manifest, derived, pages = _read(team_packet)
    first = pages[0].splitlines()
    line = next(x for x in first if x.startswith("deepseek-v3 "))
    doctored = ["\n".join(x for x in first if x != line), *pages[1:]]
    found = check_statement("s.pdf", doctored, manifest, derived)
    assert found and found[0].startswith("no line prints what the rows give"), found


def test_a_statement_printing_other_figures_fails_though_signed_by_the_trusted_preparer(
    config, tmp_path, monkeypatch
):
    """The preparer's own tool prints one request more on every line of the PDF: its hashes
    and signature are genuine, the rows are genuine, and verify names the PDF and the line."""
    real = builder.figures_text

    def lying(stats, cents):
        out = real(stats, cents)
        if stats.requests > 100:
            out[0] = f"{stats.requests + 1:,}"
        return out

    monkeypatch.setattr(builder, "figures_text", lying)
    path = write_packet(config, april(config), tmp_path / "lying")
    result = verify_packet(path)
    assert not result.ok
    assert result.differences[0].startswith(f"{_pdf_name(path)}: page 1: the line "), result.differences
    assert "is not a line the rows give" in result.differences[0]


def test_a_swapped_re_signed_pdf_fails_verify_naming_the_pdf(config, team_packet, tmp_path):
    """An attacker puts another statement (another member's) in the packet, fixes its hash and
    re-signs: the signature and hashes hold, the PDF's figures do not."""
    other = write_packet(config, april(config), tmp_path / "other", member="李四")
    with zipfile.ZipFile(other) as zf:
        swapped = zf.read(_pdf_name(other))
    name = _pdf_name(team_packet)
    path = forged(team_packet, tmp_path / "swapped.zip", lambda m: None,
                  edit_files={name: lambda _: swapped}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: page 1 "), line


def test_a_pdf_that_is_not_a_pdf_is_one_difference_line(team_packet, tmp_path):
    name = _pdf_name(team_packet)
    path = forged(team_packet, tmp_path / "junk.zip", lambda m: None,
                  edit_files={name: lambda _: b"%PDF-1.4\n" + b"\x00" * 4096}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: ") and ("cannot be read as a PDF" in line or "page" in line), (
        line
    )


def _rezipped(data: bytes, name: str, content: bytes) -> bytes:
    """The workbook ``data`` with its part ``name`` replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        dst.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("part", "size", "expected"),
    [
        ("xl/worksheets/sheet1.xml", 65 << 20, "its first sheet (xl/worksheets/sheet1.xml) is"),
        ("xl/sharedStrings.xml", 257 << 20, "its xl/sharedStrings.xml is"),
        ("xl/styles.xml", 17 << 20, "its xl/styles.xml is"),
    ],
)
def test_a_workbook_whose_xml_inflates_past_its_bounds_is_one_line_before_openpyxl_reads_it(
    team_packet, tmp_path, part, size, expected
):
    with zipfile.ZipFile(team_packet) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".xlsx"))
    padding = b"<x>" + b" " * size + b"</x>"
    path = forged(team_packet, tmp_path / "bloated.zip", lambda m: None,
                  edit_files={name: lambda data: _rezipped(data, part, padding)}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: {expected}"), line
    assert verify_packet(team_packet).ok  # the genuine workbook is well within them


def test_a_workbook_whose_member_line_differs_from_the_rows_fails_naming_the_member(team_packet, tmp_path):
    import openpyxl

    with zipfile.ZipFile(team_packet) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".xlsx"))

    def one_more_request(data: bytes) -> bytes:
        wb = openpyxl.load_workbook(io.BytesIO(data))
        sheet = wb.worksheets[0]
        row = next(r for r in sheet.iter_rows() if r[0].value == "李四")
        row[1].value += 1  # requests; the totals line stays as it was
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    assert any(
        "the Summary totals are the manifest's and its member lines the rows'" in c
        for c in verify_packet(team_packet).checked
    )
    path = forged(team_packet, tmp_path / "member.zip", lambda m: None,
                  edit_files={name: one_more_request}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: the Summary's line of '李四' ("), line
    assert line.endswith("is not what the rows give"), line
