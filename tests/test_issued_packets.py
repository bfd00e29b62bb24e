"""log --verify and store check hold every issued packet to the audit log's record of it: the
register must still hold its number for its rows, and a packet file still at its recorded path
must still have the SHA-256 recorded at issue; an attacker who edits either is named."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.app.verify import Limits, Verification, verify_packet
from reportgen.app.verify.figures import check_rows_file
from reportgen.app.verify.pdftext import pdf_pages
from reportgen.app.verify.reading import parse_manifest
from reportgen.app.verify.statement import check_statement
from reportgen.store import DB_NAME
from tests.conftest import fast_client, make_config
from tests.test_evidence import april
from tests.test_store_edits import rewrite_chain, run


@pytest.fixture
def issued(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, april(config), client_factory=fast_client)
    close_period(config, april(config))
    packet = write_packet(config, april(config), tmp_path / "out", member="张三")
    assert run(config, "log", "--verify").exit_code == 0
    return config, packet


def test_a_packet_file_changed_at_its_recorded_path_fails_log_verify_and_store_check(issued):
    config, packet = issued
    packet.write_bytes(packet.read_bytes() + b"\0")  # swapped or edited after it was issued
    log = run(config, "log", "--verify")
    assert log.exit_code == 1, log.output
    line = next(x for x in log.stdout.splitlines() if x.startswith("DIFFERS:"))
    assert f"the packet RG-000001 at {packet.resolve()} has SHA-256" in line, line
    assert line.endswith("recorded when it was issued: the file was changed or replaced"), line
    check = run(config, "store", "check")
    assert check.exit_code == 4 and "the file was changed or replaced" in check.stdout, check.output


def test_a_packet_handed_out_and_gone_leaves_the_register_to_check(issued):
    config, packet = issued
    packet.unlink()
    assert run(config, "log", "--verify").exit_code == 0
    store = run(config, "store", "check")
    assert store.exit_code == 0 and "issued packets: the register" in store.stdout, store.output


def test_a_register_row_edited_under_an_issued_number_fails_log_verify(issued):
    """The attacker drops the register's trigger and re-points number 1 at other rows."""
    config, _ = issued
    with sqlite3.connect(config.store_dir / DB_NAME) as conn:
        triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in triggers:
            if "statement" in name:
                conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE statements SET fingerprint = ? WHERE seq = 1", ("f" * 64,))
    conn.close()
    log = run(config, "log", "--verify")
    assert log.exit_code == 1, log.output
    assert "packet RG-000001 was issued for rows" in log.stdout
    assert "which the register no longer holds under that number: the register was edited" in log.stdout


def test_a_chain_rewritten_whole_contradicts_the_head_every_issued_packet_printed(issued, tmp_path):
    """Without an anchor kept outside: the packets handed out carry the head in their manifest, claim,
    statement and workbook, so a consistently rewritten chain fails log --verify (packet still at its
    path) and verify with the store (a packet brought back)."""
    config, packet = issued
    manifest = manifest_of(packet)
    head = manifest["statement"]["audit_head"]
    seq, digest = head.split(":")
    assert verify_packet(packet, config.store_dir).ok
    with zipfile.ZipFile(packet) as zf:
        claim = next(f["name"] for f in manifest["files"] if f["role"] == "claim")
        assert f"#{seq} {digest[:16]}" in pdf_pages(claim, iter([zf.read(claim)]))[0]
        workbook = next(f["name"] for f in manifest["files"] if f["role"] == "workbook")
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(zf.read(workbook)), read_only=True)
        assert any(f"#{seq} {digest[:16]}" in row for row in wb.worksheets[0].iter_rows(values_only=True))
        wb.close()

    rewrite_chain(config)
    log = run(config, "log", "--verify")
    assert log.exit_code == 1, log.output
    assert (
        f"the packet RG-000001 at {packet.resolve()} was issued at the log's head {head[:24]}" in log.stdout
    )
    assert f"entry {seq} no longer has the hash" in log.stdout
    result = verify_packet(packet, config.store_dir)
    assert not result.ok
    assert result.differences[0].startswith(
        f"audit log: the packet was issued at the log's head {head[:24]}"
    ), result.differences
    assert verify_packet(packet).ok  # without the store the packet itself is intact


def test_a_statement_printing_another_head_than_its_manifest_fails(issued):
    _, packet = issued
    with zipfile.ZipFile(packet) as zf:
        manifest = parse_manifest(zf.read("manifest.json"))
        derived = check_rows_file(zf, zf.getinfo("rows.jsonl"), manifest, Limits(), Verification(packet))
        name = next(f["name"] for f in manifest["files"] if f["role"] == "statement")
        pages = pdf_pages(name, iter([zf.read(name)]))
    assert derived is not None and check_statement(name, pages, manifest, derived) == []
    seq, digest = manifest["statement"]["audit_head"].split(":")
    doctored = [pages[0].replace(digest[:16], "0" * 16), *pages[1:]]
    found = check_statement(name, doctored, manifest, derived)
    assert found == [
        f"page 1 does not state the audit log head #{seq} {digest[:16]} the packet was issued at"
    ]
