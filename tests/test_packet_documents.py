"""Packet documents as a registry: a plugin's document in the packet, the manifest, 附件 N 张 and verify;
re-issued packets keep the documents they were first issued with, byte for byte."""

from __future__ import annotations

import io
import sys
import textwrap
import zipfile
from decimal import Decimal
from importlib.metadata import EntryPoint

import pypdf
import pytest

from reportgen import plugins
from reportgen.app.closing import close_period
from reportgen.app.documents import issued_with, write_packet
from reportgen.app.monthend import run_month_end
from reportgen.app.packet import manifest_of
from reportgen.app.packetdocs import BUILTIN_DOCUMENTS, FIRST_DOCUMENTS, attachments
from reportgen.app.summary import COUNTS, report_json
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.core.periods import parse_period
from reportgen.errors import ExportError, PluginError
from reportgen.hookspecs import DocumentRole
from reportgen.read import Scope, open_period
from reportgen.store import Reader
from reportgen.store import evidence as register
from tests.conftest import fast_client, make_config

#: A plugin adding a cover letter: written from the packet's view, counted as an attachment,
#: checked by verify against the manifest (the letter states the rows and the statement number).
COVER = """
from reportgen.hookspecs import DocumentRole, hookimpl

def write(source, fp, ctx):
    number = source.report.statement.number
    fp.write(f"cover letter {number}: {source.row_count} rows, {SAYS}\\n".encode())

def check(file):
    text = b"".join(file.chunks()).decode()
    number = file.manifest["statement"]["number"]
    if text != f"cover letter {number}: {file.manifest['rows']['count']} rows, as stated\\n":
        file.differ("the letter does not state the packet's rows")
    else:
        file.passed("states the packet's rows and number")

@hookimpl
def register_packet_documents(register):
    register(DocumentRole("cover", "cover letter", write=write, filename="cover.txt",
                          media_type="text/plain", check=check))
"""


@pytest.fixture
def declare(monkeypatch, tmp_path):
    """Entry-point plugins a test declares, in a fresh plugin manager."""
    declared: list[EntryPoint] = []
    monkeypatch.setattr(plugins, "entry_points", lambda group: [ep for ep in declared if ep.group == group])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("REPORTGEN_PLUGINS_STRICT", raising=False)
    monkeypatch.delenv("REPORTGEN_LOAD_PLUGINS", raising=False)
    plugins.reset_for_tests()

    def add(name: str, source: str, says: str = "as stated") -> None:
        (tmp_path / f"{name}.py").write_text(f"SAYS = {says!r}\n" + textwrap.dedent(source), encoding="utf-8")
        declared.append(EntryPoint(name=name, value=name, group="reportgen"))
        plugins.reset_for_tests()  # load again, with this plugin
        sys.modules.pop(name, None)

    yield add
    plugins.reset_for_tests()
    for name in [p.stem for p in tmp_path.glob("*.py")]:
        sys.modules.pop(name, None)


@pytest.fixture
def config(tmp_path, team, gateway):
    config = make_config(tmp_path / "cfg", gateway.url, team)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def april(config):
    return parse_period("2026-04", config.tz)


def statement_text(path) -> str:
    manifest = manifest_of(path)
    name = next(f["name"] for f in manifest["files"] if f["role"] == "statement")
    with zipfile.ZipFile(path) as zf:
        data = zf.read(name)
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_builtins_register_through_the_hook(declare):
    found = plugins.packet_documents()
    assert list(found) == ["claim", "statement", "workbook", "detail", "methodology", "quality", "rows"]
    assert {d.plugin for d in found.values()} == {"reportgen"}
    assert tuple(found) == tuple(d.role for d in BUILTIN_DOCUMENTS)
    assert tuple(found)[1:] == FIRST_DOCUMENTS  # packets issued before the claim form was one
    # the claim's 电子附件 count derives from the roles: all but the claim and the rows
    assert attachments(found.values()) == 5


def test_a_plugin_document_is_in_the_packet_the_manifest_the_count_and_verify(declare, config, tmp_path):
    declare("rg_cover", COVER)
    path = write_packet(config, april(config), tmp_path / "out", member="张三", template="reimbursement")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        letter = zf.read("cover.txt").decode()
    assert names[-4:] == ["rows.jsonl", "cover.txt", "manifest.json", "manifest.sig"]
    manifest = manifest_of(path)
    entry = next(f for f in manifest["files"] if f["role"] == "cover")
    assert entry["name"] == "cover.txt" and entry["media_type"] == "text/plain"
    assert letter.startswith(
        f"cover letter {manifest['statement']['number']}: {manifest['rows']['count']} rows"
    )
    assert "6 份" in statement_text(path)  # five built-in attachments and the letter
    result = verify_packet(path, config.store_dir)
    assert result.ok, result.differences
    assert "cover.txt: states the packet's rows and number" in result.checked


def test_verify_runs_the_plugins_check_and_reports_what_it_finds(declare, config, tmp_path):
    declare("rg_cover", COVER, says="as we like")
    path = write_packet(config, april(config), tmp_path / "out", member="张三")
    result = verify_packet(path, None)
    assert result.differences == ["cover.txt: the letter does not state the packet's rows"]


def test_a_document_no_installed_plugin_knows_is_hashed_and_noted(declare, config, tmp_path, monkeypatch):
    declare("rg_cover", COVER)
    path = write_packet(config, april(config), tmp_path / "out", member="张三")
    monkeypatch.setenv("REPORTGEN_LOAD_PLUGINS", "")  # the cover plugin is gone
    plugins.reset_for_tests()
    result = verify_packet(path, config.store_dir)
    assert result.ok and "cover.txt: SHA-256 matches" in result.checked
    assert any(n.startswith("cover.txt: a 'cover' document, which no installed plugin") for n in result.notes)


def test_reissuing_a_closed_month_keeps_its_documents_byte_for_byte(declare, config, tmp_path):
    close_period(config, april(config))
    first = write_packet(config, april(config), tmp_path / "first", member="张三", now=lambda: 1777798860.0)
    declare("rg_cover", COVER)  # a document registered after the month was issued
    again = write_packet(config, april(config), tmp_path / "again", member="张三", now=lambda: 1777798900.0)
    assert again.read_bytes() == first.read_bytes()
    assert "cover" not in {f["role"] for f in manifest_of(again)["files"]}
    with Reader.open(config.store_dir) as store:
        number = manifest_of(first)["statement"]["number"]
        assert register.issued_documents(store, number) == tuple(d.role for d in BUILTIN_DOCUMENTS)
    # a statement issued for the first time now holds the new document
    other = write_packet(config, april(config), tmp_path / "other", member="李四")
    assert "cover" in {f["role"] for f in manifest_of(other)["files"]}


def test_month_end_again_after_a_new_document_finds_nothing_changed(declare, config, tmp_path):
    out = tmp_path / "me"
    first = run_month_end(config, april(config), out, client_factory=fast_client)
    assert {i.status for i in first.issues} == {"issued"}
    declare("rg_cover", COVER)
    second = run_month_end(config, april(config), out, client_factory=fast_client)
    assert {i.status for i in second.issues} == {"unchanged"}, second.summary()


def test_a_packet_issued_before_packets_recorded_documents_keeps_the_first_ones():
    documents = {d.role: d for d in BUILTIN_DOCUMENTS}
    cover = DocumentRole("cover", "cover letter", write=lambda s, fp, c: None, filename="cover.txt")
    assert [d.role for d in issued_with({**documents, "cover": cover}, None)] == list(FIRST_DOCUMENTS)
    assert [d.role for d in issued_with({**documents, "cover": cover}, ("rows", "cover"))] == [
        "rows",
        "cover",
    ]
    with pytest.raises(ExportError, match="'cover'.*no installed plugin registers"):
        issued_with(documents, ("statement", "cover"))


def test_a_role_registered_twice_names_both_plugins(declare):
    declare("rg_one", COVER)
    declare("rg_two", COVER)
    with pytest.raises(PluginError, match="rg_one.*rg_two|rg_two.*rg_one"):
        plugins.packet_documents()


def test_a_document_is_rendered_by_an_exporter_or_written_never_both():
    with pytest.raises(PluginError, match="either exporter= or write="):
        DocumentRole("x", "x")
    with pytest.raises(PluginError, match="needs filename="):
        DocumentRole("x", "x", write=lambda s, fp, c: None)


def test_the_manifest_states_the_report_as_summary_json_does(declare, config, tmp_path):
    """One serializer: the manifest's period, exchange rate and totals are summary --json's."""
    path = write_packet(config, april(config), tmp_path / "out", member="张三")
    manifest = manifest_of(path)
    with open_period(config, april(config), Scope.of(member="张三")) as view:
        summary = report_json(view.report)
    assert manifest["request"]["period"] == {**summary["period"], "end_exclusive": True}
    assert manifest["source"]["exchange_rate"] == summary["exchange_rate"]
    counts = {k: v for k, v in summary["totals"].items() if k in COUNTS}
    assert {k: v for k, v in manifest["totals"].items() if k != "cost_usd"} == counts
    assert Decimal(manifest["totals"]["cost_usd"]).quantize(Decimal("0.000001")) == Decimal(
        summary["totals"]["cost_usd"]
    )
