"""verify checks the claim form (报销单): its 原币金额, rate, 折合人民币, 折算差额, 小写 and 大写 are the
rows' amount on its claim base, and 附件1's lines are each member's (or key's) and foot to it; a
claim that says otherwise fails naming the claim PDF, the page and the line, also when an
attacker puts it into a genuine packet and re-signs."""

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
from reportgen.app.verify import Limits, Verification, trust, verify_packet
from reportgen.app.verify.claimform import check_claim
from reportgen.app.verify.figures import check_rows_file
from reportgen.app.verify.pdftext import pdf_pages
from reportgen.app.verify.reading import parse_manifest
from reportgen.core.capitals import rmb_capitals
from reportgen.exporters.pdf import claim as claim_box
from reportgen.testing.fakegateway import FakeGateway
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_evidence import april, forged, one_line_differs
from tests.test_trust_reopen import PROJECT


@pytest.fixture(scope="module")
def world(tmp_path_factory, team):
    """A synced April with a project, and its team, member (en) and project packets."""
    tmp = tmp_path_factory.mktemp("claim")
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp, gw.url, team, extra=PROJECT)
        run_sync(config, april(config), client_factory=fast_client)
    packets = {
        "team": write_packet(config, april(config), tmp / "team"),
        "member": write_packet(config, april(config), tmp / "member", member="Alice Smith", lang="en"),
        "project": write_packet(config, april(config), tmp / "project", project="alpha"),
    }
    return config, packets


@pytest.fixture(autouse=True)
def _reader_trusts_the_preparer(world):
    """Each test's reader (its own config folder) trusts the preparer's key, as after `keys trust`."""
    trust(str(world[0].path.parent / "signing-key.pub"), "Test Preparer")


def _claim_name(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        files = json.loads(zf.read("manifest.json"))["files"]
    return next(f["name"] for f in files if f["role"] == "claim")


def _read(path: Path):
    with zipfile.ZipFile(path) as zf:
        manifest = parse_manifest(zf.read("manifest.json"))
        derived = check_rows_file(zf, zf.getinfo("rows.jsonl"), manifest, Limits(), Verification(path))
        name = _claim_name(path)
        pages = pdf_pages(name, iter([zf.read(name)]))
    assert derived is not None
    return manifest, derived, pages


@pytest.mark.parametrize("kind", ["team", "member", "project"])
def test_genuine_claims_verify_with_every_figure_checked(world, kind):
    _, packets = world
    result = verify_packet(packets[kind])
    assert result.ok, result.differences
    name = _claim_name(packets[kind])
    assert any(
        c.startswith(f"{name}: its ") and ("claim the rows" in c or "agree with one another" in c)
        for c in result.checked
    )
    manifest, derived, pages = _read(packets[kind])
    assert check_claim(pages, manifest, derived) == []


def _after(label: str, change):
    """An edit of the first line after the line ``label``."""

    def edit(text: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines[:-1]):
            if line.strip() == label:
                lines[i + 1] = change(lines[i + 1])
                return "\n".join(lines)
        return text

    return edit


def _plus_one(text: str) -> str:
    sign = "¥" if text.startswith("¥") else ""
    return f"{sign}{Decimal(text.lstrip('¥').replace(',', '')) + 1:,.2f}"


def _member_line(name: str, column: int):
    """One more unit in ``name``'s USD (column 0) or CNY (column 1) of 附件1."""

    def edit(text: str) -> str:
        lines = text.split("\n")
        if name not in lines:
            return text
        i = lines.index(name) + 1 + column
        lines[i] = _plus_one(lines[i])
        return "\n".join(lines)

    return edit


def _without(name: str):
    def edit(text: str) -> str:
        lines = text.split("\n")
        if name not in lines:
            return text
        i = lines.index(name)
        return "\n".join(lines[:i] + lines[i + 3 :])

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_after("原币金额（美元）", _plus_one), "the original amount"),
        (lambda t: re.sub(r"^[\d.]+ 元人民币/美元", "7.4000 元人民币/美元", t, count=1, flags=re.M), "the rate '7.4000"),
        (_after("折合人民币", _plus_one), "converted"),
        (_after("折算差额", _plus_one), "the conversion difference"),
        (_after("金额（小写）", _plus_one), "the amount '¥"),
        (_after("金额（大写）", lambda words: words.replace("元", "拾元", 1)), "the amount in words"),
        (_member_line("李四", 0), "李四'"),
        (_member_line("张三", 1), "CNY"),
        (_after("报销合计", _plus_one), "is not its lines'"),
        (_without("Bob Lee"), "no line for"),
        (lambda t: re.sub(r"(数据指纹 )([0-9a-f]{64})", lambda m: m[1] + m[2][::-1], t, count=1),
         "states the rows fingerprint"),
    ],
)  # fmt: skip
def test_each_claimed_figure_that_differs_from_the_rows_is_named(world, edit, expected):
    """The amount, the 大写, the rate, the conversion, a member's line, a line removed, the total."""
    manifest, derived, pages = _read(world[1]["team"])
    changed = False
    for n, text in enumerate(pages):
        new = edit(text)
        if new != text:
            pages = [*pages[:n], new, *pages[n + 1 :]]
            changed = True
            break
    assert changed, "the edit found nothing to change: the claim's layout moved"
    found = check_claim(pages, manifest, derived)
    assert found and expected in found[0], found
    assert found[0].startswith(("page ", "附件1")), found


def _lying_claim(world, tmp_path, monkeypatch, lie) -> bytes:
    """The team's claim PDF as a tool that lies renders it (same rows, same number, same footer)."""
    config, packets = world
    lie(monkeypatch)
    path = write_packet(config, april(config), tmp_path / "lying")
    monkeypatch.undo()
    with zipfile.ZipFile(path) as zf:
        return zf.read(_claim_name(path))


def _convert_one_yuan_more(monkeypatch):
    real = claim_box.convert_for_print

    def more(usd, rate):
        c = real(usd, rate)
        return c._replace(amount=c.amount + 1, difference=c.difference + 1)

    monkeypatch.setattr(claim_box, "convert_for_print", more)


@pytest.mark.parametrize(
    ("lie", "expected"),
    [
        (_convert_one_yuan_more, "converted '¥"),
        (lambda mp: mp.setattr(claim_box, "rmb_capitals", lambda a: rmb_capitals(a + 100)), "the amount in words"),
        (lambda mp: mp.setattr(claim_box, "rate_text", lambda r: "7.9000"), "the rate '7.9000"),
    ],
)  # fmt: skip
def test_a_doctored_claim_re_signed_into_a_genuine_packet_fails_naming_the_claim(
    world, tmp_path, monkeypatch, lie, expected
):
    """An attacker swaps in a claim whose amount, 大写 or rate is not the rows', fixes its hash and
    re-signs: verify names the claim PDF, its page and line."""
    lying = _lying_claim(world, tmp_path, monkeypatch, lie)
    genuine = world[1]["team"]
    name = _claim_name(genuine)
    path = forged(genuine, tmp_path / "forged.zip", lambda m: None,
                  edit_files={name: lambda _: lying}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: page 1, line "), line
    assert expected in line, line


def test_another_members_claim_swapped_in_fails(world, tmp_path):
    config, packets = world
    other = write_packet(config, april(config), tmp_path / "other", member="李四")
    with zipfile.ZipFile(other) as zf:
        swapped = zf.read(_claim_name(other))
    name = _claim_name(packets["team"])
    path = forged(packets["team"], tmp_path / "swapped.zip", lambda m: None,
                  edit_files={name: lambda _: swapped}, key=Ed25519PrivateKey.generate())  # fmt: skip
    assert one_line_differs(path).startswith(f"DIFFERS: {name}: page 1 ")


def _workbook_edit(change):
    def edit(data: bytes) -> bytes:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data))
        change(wb)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    return edit


def _total_line(ws):
    return next(r for r in ws.iter_rows() if r[0].value in ("合计", "Total"))


def _more_tokens(wb):
    row = _total_line(wb["李四"])
    row[4].value += 1  # input tokens on 李四's total line; the Summary stays as it was


def _rows_moved(wb):
    """A row of 李四 moved onto 张三's sheet (its key names 李四's key)."""
    src, dst = wb["李四"], wb["张三"]
    moved = [c.value for c in next(src.iter_rows(min_row=2, max_row=2))]
    dst.insert_rows(2)
    for i, value in enumerate(moved, 1):
        dst.cell(row=2, column=i, value=value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_more_tokens, "the total line of '李四''s sheet '李四' ("),
        (_rows_moved, "its sheet '张三' holds rows of "),
    ],
)
def test_a_member_sheet_whose_total_is_not_the_rows_fails_naming_the_sheet(world, tmp_path, change, expected):
    genuine = world[1]["team"]
    with zipfile.ZipFile(genuine) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".xlsx"))
    assert any("member sheet(s))" in c for c in verify_packet(genuine).checked)
    path = forged(genuine, tmp_path / "sheet.zip", lambda m: None,
                  edit_files={name: _workbook_edit(change)}, key=Ed25519PrivateKey.generate())  # fmt: skip
    line = one_line_differs(path)
    assert line.startswith(f"DIFFERS: {name}: {expected}"), line
