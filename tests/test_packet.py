"""Reimbursement packets, verify, closing a period and amendments, over loopback HTTP."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest
from click.testing import CliRunner

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet, write_report
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.cli import cli
from reportgen.core.periods import parse_period
from reportgen.errors import UsageError
from reportgen.plugins import select_exporters
from reportgen.store import Store, find_closure
from reportgen.store import recorded_amendments as amendments
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests.conftest import TOKEN, fast_client, make_config


@pytest.fixture
def config(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, april(config), client_factory=fast_client)
    return config


def april(config):
    return parse_period("2026-04", config.tz)


def late_row(team, **changes):
    """A consumption row written in April that the gateway only shows after the close."""
    base = next(r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-alice" and r["quota"] > 0)
    row = {**base, "other": dict(base["other"]), "created_at": team.start_ts + 12 * 86400 + 3 * 3600}
    row.update(changes)
    return row


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite_zip(path: Path, name: str, change) -> None:
    """Rewrite the packet with ``change(bytes)`` applied to one entry, keeping the rest as is."""
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in items:
            zf.writestr(info, change(data) if info.filename == name else data)


# -- packets ---------------------------------------------------------------------------------


def test_member_packet_holds_documents_notes_and_a_manifest_that_verifies(config, team, tmp_path):
    path = write_packet(config, april(config), tmp_path / "out", member="张三", lang="en")
    assert path.name == "reportgen-2026-04-张三-packet.zip"
    files = entries(path)
    assert list(files) == [
        "reportgen-2026-04-张三-claim.pdf",
        "reportgen-2026-04-张三.pdf",
        "reportgen-2026-04-张三.xlsx",
        "reportgen-2026-04-张三.csv",
        "methodology.md",
        "quality.md",
        "rows.jsonl",
        "manifest.json",
        "manifest.sig",
    ]
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(files[entry["name"]]).hexdigest() == entry["sha256"]
        assert len(files[entry["name"]]) == entry["bytes"]
    assert manifest["request"]["filters"] == {"member": "张三"}
    assert manifest["request"]["keys"] == team.members["张三"]
    assert manifest["request"]["period"]["timezone"] == "Asia/Shanghai"
    assert manifest["source"]["gateway_url"] == config.gateway.base_url
    assert manifest["source"]["user_id"] == team.user_id
    assert manifest["source"]["quota_per_unit"] == "500000"
    assert manifest["source"]["exchange_rate"]["cny_per_usd"] == "7.3"
    assert manifest["source"]["synced_at"]
    assert manifest["closed"] is None
    period = april(config)
    keys = tuple(team.members["张三"])
    with Store.open(config.store_dir) as store:
        assert manifest["rows"]["fingerprint"] == store.fingerprint(period.start_ts, period.end_ts, keys)
        want_rows = sum(1 for r in team.rows if period.contains(r["created_at"]) and r["token_name"] in keys)
        assert manifest["rows"]["count"] == want_rows
    # the documents inside are the member's, read back as a person would
    detail = list(csv.reader(io.StringIO(files["reportgen-2026-04-张三.csv"].decode("utf-8-sig"))))
    want = expected_totals([r for r in team.rows if r["token_name"] in keys], period.start_ts, period.end_ts)
    assert len(detail) - 1 == want.count_by_type[2] + want.count_by_type[6]
    assert {row[1] for row in detail[1:]} == {"张三"}
    workbook = openpyxl.load_workbook(io.BytesIO(files["reportgen-2026-04-张三.xlsx"]), read_only=True)
    assert workbook.sheetnames
    pdf_text = "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(files["reportgen-2026-04-张三.pdf"])).pages
    )
    assert "张三" in pdf_text and "Alice" not in pdf_text
    note = files["methodology.md"].decode()
    assert "quota ÷ 500000" in note and "half-up" in note and "Asia/Shanghai" in note
    assert f"{want.consumed:,}" in note
    # never the token, anywhere
    assert all(TOKEN.encode() not in data for data in files.values())

    result = verify_packet(path, config.store_dir)
    assert result.ok, result.differences
    checked = "\n".join(result.checked)
    assert len([c for c in result.checked if "SHA-256 matches" in c]) == 7  # every file
    assert "manifest.json: signed by key" in checked and "rows: the store's rows match" in checked
    assert "rows.jsonl: " in checked and "the Summary totals are the manifest's" in checked
    assert "exactly the packet's consumption and refund rows" in checked
    assert result.statement == "RG-000001" and result.signer == manifest["signature"]["key_fingerprint"]


def test_whole_team_packet_in_chinese_verifies_clean(config, tmp_path):
    path = write_packet(config, april(config), tmp_path, lang="zh")
    manifest = manifest_of(path)
    assert manifest["request"]["filters"] == {} and manifest["request"]["keys"] is None
    assert "计算方法说明" in entries(path)["methodology.md"].decode()
    assert "数据质量检查" in entries(path)["quality.md"].decode()
    assert verify_packet(path, config.store_dir).ok


@pytest.mark.parametrize("target", ["reportgen-2026-04.xlsx", "methodology.md", "reportgen-2026-04.csv"])
def test_one_changed_byte_is_named_by_verify(config, tmp_path, target):
    path = write_packet(config, april(config), tmp_path, lang="en")
    rewrite_zip(path, target, lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:])
    result = verify_packet(path, config.store_dir)
    assert not result.ok
    assert len(result.differences) == 1
    assert result.differences[0].startswith(f"{target}: SHA-256 differs")
    runner = CliRunner()
    out = runner.invoke(cli, ["--config", str(config.path), "verify", str(path)])
    assert out.exit_code == 1 and target in out.output and "OK" not in out.output


def test_corrupt_compressed_bytes_and_missing_files_are_named(config, tmp_path):
    path = write_packet(config, april(config), tmp_path, lang="en")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("reportgen-2026-04.pdf")
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    result = verify_packet(path, config.store_dir)
    assert [d.split(":")[0] for d in result.differences] == ["reportgen-2026-04.pdf"]

    other = write_packet(config, april(config), tmp_path / "b", lang="en")
    with zipfile.ZipFile(other) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist() if i.filename != "quality.md"]
    with zipfile.ZipFile(other, "w") as zf:
        for i, data in items:
            zf.writestr(i, data)
        zf.writestr("extra.txt", b"hello")
    differences = verify_packet(other, config.store_dir).differences
    assert any(d.startswith("quality.md: listed in the manifest but missing") for d in differences)
    assert any(d.startswith("extra.txt: in the packet but not listed") for d in differences)


def test_not_a_packet_differs_with_one_line(config, tmp_path):
    bogus = tmp_path / "x.zip"
    bogus.write_bytes(b"not a zip")
    assert verify_packet(bogus, config.store_dir).differences == [
        "packet: not a zip file (no end of central directory)"
    ]
    with zipfile.ZipFile(bogus, "w") as zf:
        zf.writestr("a.txt", "a")
    assert verify_packet(bogus, config.store_dir).differences == [
        "manifest.json: missing: not a reportgen packet"
    ]


def test_verify_says_how_many_rows_changed_in_an_open_period(config, team, gateway, tmp_path):
    path = write_packet(config, april(config), tmp_path, member="Alice Smith", lang="en")
    then = manifest_of(path)["rows"]["count"]
    gateway.insert_rows([late_row(team)])
    run_sync(config, april(config), refetch=True, client_factory=fast_client)
    result = verify_packet(path, config.store_dir)
    assert not result.ok
    assert result.differences == [
        next(d for d in result.differences if d.startswith("rows: the store's rows no longer match"))
    ]
    assert f"{then + 1} rows now, {then} then" in result.differences[0]
    # a packet of another member's keys is not affected by Alice's late row
    assert verify_packet(
        write_packet(config, april(config), tmp_path / "z", member="张三"), config.store_dir
    ).ok


# -- closing -----------------------------------------------------------------------------------


def test_closed_period_documents_are_byte_identical_and_a_late_row_becomes_an_amendment(
    config, team, gateway, tmp_path
):
    period = april(config)
    closed = close_period(config, period)
    assert closed.closure.revision == 1 and not closed.already_closed
    first = write_packet(config, period, tmp_path / "p1", member="Alice Smith", lang="en")
    first_team = write_packet(config, period, tmp_path / "t1", lang="zh")
    docs1 = write_report(config, period, select_exporters("csv,xlsx,pdf"), tmp_path / "r1")
    assert manifest_of(first)["closed"]["revision"] == 1
    assert manifest_of(first)["generated_at"] == closed.closure.generated_at.isoformat()

    # re-running gives the same bytes, even after the config's rate and members change
    again = write_packet(config, period, tmp_path / "p2", member="Alice Smith", lang="en")
    assert again.read_bytes() == first.read_bytes()
    edited = replace(config, exchange_rate=Decimal("7.0"), exchange_rate_source="bank")
    assert write_packet(edited, period, tmp_path / "t2", lang="zh").read_bytes() == first_team.read_bytes()

    # the gateway shows a late April row: the sync keeps it live and records an amendment
    row = late_row(team)
    gateway.insert_rows([row])
    result = run_sync(config, period, refetch=True, client_factory=fast_client)
    assert result.amended == ("2026-04",)
    assert "2026-04" in result.summary() and "amendments" in result.summary()
    with Store.open(config.store_dir) as store:
        found = amendments(store, "2026-04")
        assert store.count_rows(period.start_ts, period.end_ts) == closed.closure.rows + 1
    assert len(found) == 1
    a = found[0]
    assert (a.rows_added, a.rows_removed, a.consumed_delta, a.refunded_delta) == (1, 0, row["quota"], 0)
    assert (a.rows_then, a.rows_now) == (closed.closure.rows, closed.closure.rows + 1)
    assert a.pending and a.sync_id is not None

    notices: list[str] = []
    after = write_packet(
        config, period, tmp_path / "p3", member="Alice Smith", lang="en", notify=notices.append
    )
    assert after.read_bytes() == first.read_bytes()
    assert write_packet(config, period, tmp_path / "t3", lang="zh").read_bytes() == first_team.read_bytes()
    docs2 = write_report(
        config, period, select_exporters("csv,xlsx,pdf"), tmp_path / "r2", notify=notices.append
    )
    assert [p.read_bytes() for p in docs2] == [p.read_bytes() for p in docs1]
    assert sum("Notice: 2026-04 is closed" in n and "+1 / -0 rows" in n for n in notices) == 2

    # the old packet still verifies against the closed version, with a note
    check = verify_packet(first, config.store_dir)
    assert check.ok and "pending amendment" in check.notes[0]
    # a second sync that finds nothing new records nothing new
    assert run_sync(config, period, refetch=True, client_factory=fast_client).amended == ()

    # closing again says so; --reopen re-closes with the amendment applied
    twice = close_period(config, period)
    assert twice.already_closed and "already closed" in twice.summary() and "--reopen" in twice.summary()
    reopened = close_period(config, period, reopen=True)
    assert reopened.closure.revision == 2 and reopened.applied == 1
    assert reopened.closure.rows == closed.closure.rows + 1
    with Store.open(config.store_dir) as store:
        assert not any(x.pending for x in amendments(store, "2026-04"))
    fresh = write_packet(config, period, tmp_path / "p4", member="Alice Smith", lang="en")
    assert manifest_of(fresh)["rows"]["count"] == manifest_of(first)["rows"]["count"] + 1
    assert verify_packet(fresh, config.store_dir).ok
    kept = verify_packet(first, config.store_dir)  # revision 1 is kept beside revision 2
    assert kept.ok and "re-closed since" in kept.notes[0]


def test_an_operator_edit_and_a_removed_row_are_amendments_too(config, team, gateway):
    period = april(config)
    close_period(config, period)
    # the gateway loses one April refund and gains one (an operator's correction)
    refund = next(r for r in team.rows if r["type"] == 6 and period.contains(r["created_at"]))
    rows = [r for r in team.rows if r is not refund]
    with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as moved:
        moved_config = replace(config, gateway=replace(config.gateway, base_url=gateway.url))
        # same account (URL) as the store is bound to; point the client at the edited gateway
        client = lambda gwc, on_request=None: fast_client(  # noqa: E731
            replace(gwc, base_url=moved.url), on_request
        )
        run_sync(moved_config, period, refetch=True, client_factory=client)
    with Store.open(config.store_dir) as store:
        (a,) = amendments(store, "2026-04")
    assert (a.rows_added, a.rows_removed, a.refunded_delta, a.consumed_delta) == (0, 1, -refund["quota"], 0)
    assert a.quota_delta == refund["quota"]


def test_close_refuses_an_unfinished_period_and_reopen_of_an_open_one(config):
    with pytest.raises(UsageError, match="has not ended yet"):
        close_period(config, april(config), now=lambda: april(config).end_ts - 10)
    with pytest.raises(UsageError, match="is not closed"):
        close_period(config, april(config), reopen=True)
    with Store.open(config.store_dir) as store:
        assert find_closure(store, "2026-04") is None


def test_cli_close_amendments_packet_and_verify(config, team, gateway, tmp_path):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(
            cli, ["--config", str(config.path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN}
        )

    out = run("close", "2026-04")
    assert out.exit_code == 0 and out.output.startswith("Closed 2026-04")
    assert "already closed" in run("close", "2026-04").output
    assert run("amendments").output.startswith("No amendments")
    packed = run(
        "packet", "--period", "2026-04", "--member", "张三", "--out", str(tmp_path / "p"), "--lang", "en"
    )
    assert packed.exit_code == 0, packed.output
    zip_path = Path(packed.stdout.strip())
    assert zip_path.is_file()
    assert "Data quality:" in packed.stderr
    verified = run("verify", str(zip_path))
    assert verified.exit_code == 0 and verified.stdout.startswith("OK")

    gateway.insert_rows([late_row(team, token_name="key-zhangsan")])
    synced = run("sync", "--period", "2026-04", "--refetch")
    assert synced.exit_code == 0, synced.output
    listed = run("amendments", "--period", "2026-04")
    assert "2026-04  r1" in listed.output and "+1 / -0 rows" in listed.output and "[pending]" in listed.output
    reported = run("report", "--period", "2026-04", "--format", "csv", "--out", str(tmp_path / "r"))
    assert reported.exit_code == 0 and "Notice: 2026-04 is closed" in reported.stderr
    verified = run("verify", str(zip_path))
    assert verified.exit_code == 0 and "pending amendment" in verified.stderr
    reopened = run("close", "2026-04", "--reopen")
    assert reopened.exit_code == 0 and "as revision 2" in reopened.output
    kept = run("verify", str(zip_path))  # revision 1 is kept: its packets still verify, with a note
    assert (
        kept.exit_code == 0
        and "re-closed since" in kept.stderr
        and "revision 1, which is kept" in kept.stderr
    )
    assert TOKEN not in "".join(r.output for r in (out, packed, verified, listed, reported, kept))


def test_a_closed_period_freezes_its_projects_and_reconciliation(tmp_path, team, gateway):
    from reportgen.app.reconcile import run_reconcile
    from reportgen.read import open_period

    extra = (
        '\n[projects.alpha]\ntitle = "Alpha"\nbudget = 50\nstart = 2026-03-15\nend = 2026-12-31\n'
        'charges = [{ key = "key-alice" }, { key = "key-bob", share = 60 }]\n'
    )
    config = make_config(tmp_path, gateway.url, team, extra=extra)
    since_march = parse_period("2026-Q1", config.tz)
    run_sync(config, since_march, client_factory=fast_client)
    run_sync(config, april(config), client_factory=fast_client)
    reconciliation = run_reconcile(config, april(config), client_factory=fast_client)
    with open_period(config, april(config)) as before:
        live = before.report
    close_period(config, april(config))
    with open_period(config, april(config)) as view:
        assert view.report.projects == live.projects and live.projects
        assert view.report.reconciliation == reconciliation is not None
    first = write_packet(config, april(config), tmp_path / "a", lang="en")
    # the config's project changes after the close: the closed documents do not
    edited = replace(config, projects=(), projects_table=None)
    assert write_packet(edited, april(config), tmp_path / "b", lang="en").read_bytes() == first.read_bytes()


def test_a_closed_packet_verifies_against_another_store_that_synced_the_same_rows(
    config, team, gateway, tmp_path
):
    close_period(config, april(config))
    path = write_packet(config, april(config), tmp_path / "p", member="李四", lang="en")
    (tmp_path / "finance").mkdir()
    elsewhere = make_config(tmp_path / "finance", gateway.url, team)
    run_sync(elsewhere, april(elsewhere), client_factory=fast_client)
    result = verify_packet(path, elsewhere.store_dir)
    assert result.ok, result.differences
    assert "not in this store" in result.notes[0]
