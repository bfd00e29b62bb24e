"""One truth per period: every command and document reads a period the same way (issue 8).

A quarter served by the fake gateway (April, May, June), April closed; late rows arrive
for April and May; every path that shows April keeps its frozen figures, and the quarter
is frozen April plus live May–June exactly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shlex
import sqlite3
import tarfile
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest
from click.testing import CliRunner
from rich.console import Console

from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.console import print_summary
from reportgen.core.aggregate import aggregate_records
from reportgen.core.money import cents, money_text
from reportgen.core.periods import parse_period
from reportgen.core.records import GatewayStatus, UsageRecord
from reportgen.demo import run_demo
from reportgen.exporters.pdf import statement_amounts
from reportgen.store import ROW_COLUMNS
from reportgen.store.schema import SCHEMA_VERSION
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import team_month
from tests import report_factory
from tests.conftest import TOKEN, write_config

DATA = Path(__file__).parent / "data"
PROJECT = (
    '\n[projects.alpha]\ntitle = "Alpha"\nbudget = 80\nstart = 2026-04-01\nend = 2026-06-30\n'
    'charges = [{ key = "key-alice" }, { key = "key-bob", share = 60 }]\n'
)


@pytest.fixture(scope="module")
def quarter():
    april = team_month(2026, 4, tz="Asia/Shanghai")
    rows = [*april.rows, *team_month(2026, 5, seed=8).rows, *team_month(2026, 6, seed=9).rows]
    return april, rows


@pytest.fixture
def served(quarter, tmp_path):
    team, rows = quarter
    with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        path = write_config(tmp_path, gw.url, team, extra=PROJECT)
        yield team, gw, path


def runner_for(path: Path):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--config", str(path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN})

    return run


def late_row(team, at: int, **changes):
    base = next(r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-alice" and r["quota"] > 0)
    return {**base, "other": dict(base["other"]), "created_at": at, "quota": 777_777, **changes}


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def summary_json(run, *args: str) -> dict:
    result = run("summary", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_closed_month_reads_frozen_everywhere_and_a_quarter_is_frozen_plus_live(served, tmp_path):
    team, gw, path = served
    run = runner_for(path)
    assert run("sync", "--period", "2026-Q2").exit_code == 0
    assert run("close", "2026-04").exit_code == 0

    def snapshot(tag: str) -> dict:
        out = tmp_path / tag
        got = {"april": summary_json(run, "--period", "2026-04")}
        got["member"] = summary_json(run, "--period", "2026-04", "--member", "Alice Smith")
        for name, extra in (
            ("team", ()),
            ("member_docs", ("--member", "Alice Smith")),
            ("project", ("--project", "alpha")),
        ):
            result = run(
                "report",
                "--period",
                "2026-04",
                "--format",
                "csv,csv-summary,xlsx,pdf",
                "--out",
                str(out / name),
                *extra,
            )
            assert result.exit_code == 0, result.output
            got[name] = files(out / name)
        result = run("packet", "--period", "2026-04", "--out", str(out / "packet"))
        assert result.exit_code == 0, result.output
        got["packet"] = files(out / "packet")
        return got

    before = snapshot("before")
    quarter_before = summary_json(run, "--period", "2026-Q2")
    gw.insert_rows(
        [late_row(team, team.start_ts + 12 * 86400 + 3600), late_row(team, team.end_ts + 3 * 86400 + 3600)]
    )
    assert run("sync", "--period", "2026-Q2", "--refetch").exit_code == 0
    after = snapshot("after")
    for name in ("april", "member"):  # the late row on Alice's key is shown apart, as a correction
        assert before[name].pop("corrections") is None
        fix = after[name].pop("corrections")
        assert (fix["rows_added"], fix["rows_removed"], fix["quota"]) == (1, 0, 777_777)
    for name in before:  # the closed version, byte for byte
        assert after[name] == before[name], name

    quarter = summary_json(run, "--period", "2026-Q2")
    live = summary_json(run, "--from", "2026-05-01", "--to", "2026-06-30")
    frozen = before["april"]["totals"]
    for field in ("requests", "consumed_quota", "refunded_quota", "quota", "prompt_tokens"):
        assert quarter["totals"][field] == frozen[field] + live["totals"][field], field
    assert quarter["totals"]["quota"] == quarter_before["totals"]["quota"] + 777_777  # only May's late row
    assert [b["frozen"] for b in quarter["basis"]] == [True, False]
    assert quarter["basis"][0]["closed_period"] == "2026-04" and quarter["basis"][0]["revision"] == 1
    assert before["april"]["closed"]["revision"] == 1 and quarter["closed"] is None
    # the live store did take the late April row: the amendment says so
    listed = run("amendments", "--period", "2026-04")
    assert "+1 / -0 rows" in listed.output and "pending" in listed.output


def test_closing_a_period_that_overlaps_a_closed_one_is_refused(served):
    _, _, path = served
    run = runner_for(path)
    run("sync", "--period", "2026-Q2")
    assert run("close", "2026-04").exit_code == 0
    refused = run("close", "2026-Q2")
    assert refused.exit_code == 2
    assert "overlaps 2026-04, which is already closed" in refused.output
    assert "Traceback" not in refused.output


def test_a_closed_period_says_when_the_config_changed_since(served):
    team, gw, path = served
    run = runner_for(path)
    run("sync", "--period", "2026-04")
    run("close", "2026-04")
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[members."Newcomer"]\nkeys = ["key-new"]\n', "utf-8"
    )
    result = run("summary", "--period", "2026-04", "--json")
    assert result.exit_code == 0
    assert "changed since the close (members)" in result.stderr
    assert "`reportgen close 2026-04 --reopen`" in result.stderr
    assert "Newcomer" not in [m["name"] for m in json.loads(result.stdout)["members"]]


def test_a_half_synced_month_is_refused_or_marked_incomplete_in_every_document(served, tmp_path):
    _, _, path = served
    run = runner_for(path)
    assert run("sync", "--from", "2026-04-01", "--to", "2026-04-15").exit_code == 0
    refused = run("report", "--period", "2026-04", "--out", str(tmp_path / "no"))
    assert refused.exit_code == 10
    assert "not fully synced (missing 2026-04-16 – 2026-04-30)" in refused.output
    assert not (tmp_path / "no").exists()

    data = summary_json(run, "--period", "2026-04")
    assert data["coverage"]["complete"] is False
    assert data["coverage"]["missing"] == [
        {"start": "2026-04-16T00:00:00+08:00", "end": "2026-05-01T00:00:00+08:00"}
    ]
    for lang, word in (
        ("en", "INCOMPLETE: 2026-04-16 – 2026-04-30 not synced"),
        ("zh", "不完整：2026-04-16 – 2026-04-30 未同步"),
    ):
        out = tmp_path / lang
        result = run(
            "report", "--period", "2026-04", "--allow-partial", "--lang", lang, "--format",
            "csv-summary,xlsx,pdf", "--out", str(out),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        summary_csv = next(out.glob("*-summary.csv")).read_text(encoding="utf-8-sig")
        assert next(csv.reader(io.StringIO(summary_csv)))[0].startswith(word)
        workbook = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)
        cells = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row if c]
        assert any(str(c).startswith(word) for c in cells)
        pdf = pypdf.PdfReader(next(out.glob("*.pdf")))
        assert word in " ".join(pdf.pages[0].extract_text().split())
    packet = run("packet", "--period", "2026-04", "--allow-partial", "--out", str(tmp_path / "p"))
    assert packet.exit_code == 0, packet.output
    with zipfile.ZipFile(next((tmp_path / "p").glob("*.zip"))) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["coverage"] == {"complete": False, "missing": ["2026-04-16 – 2026-04-30"]}
        assert (
            "INCOMPLETE" in zf.read("methodology.md").decode()
            or "不完整" in zf.read("methodology.md").decode()
        )


def test_a_never_synced_period_is_always_refused_with_a_sync_command_that_works(served, tmp_path):
    _, _, path = served
    run = runner_for(path)
    run("sync", "--period", "2026-04")
    for args in (("--period", "2026-06"), ("--period", "2026-06", "--allow-partial")):
        refused = run("report", *args, "--out", str(tmp_path / "r"))
        assert refused.exit_code == 10 and "2026-06 has never been synced" in refused.output
    hint = re.search(r"`reportgen ([^`]+)`", refused.output)
    assert hint is not None and hint.group(1) == "sync --period 2026-06"
    assert run(*shlex.split(hint.group(1))).exit_code == 0
    assert run("report", "--period", "2026-06", "--out", str(tmp_path / "r")).exit_code == 0


def test_every_hint_the_tests_can_provoke_is_a_command_that_parses(served, tmp_path):
    team, gw, path = served
    run = runner_for(path)
    outputs = []
    run("sync", "--from", "2026-04-01", "--to", "2026-04-10")
    outputs.append(run("report", "--period", "2026-04", "--out", str(tmp_path / "a")).output)
    outputs.append(
        run("report", "--project", "alpha", "--period", "2026-04", "--out", str(tmp_path / "a")).output
    )
    outputs.append(run("report", "--period", "2026-05", "--out", str(tmp_path / "a")).output)
    outputs.append(run("close", "2026-04").output)
    outputs.append(
        run(
            "packet",
            "--project",
            "alpha",
            "--period",
            "2026-04",
            "--allow-partial",
            "--out",
            str(tmp_path / "p"),
        ).output
    )
    with zipfile.ZipFile(next((tmp_path / "p").glob("*.zip"))) as zf:
        outputs.append(zf.read("methodology.md").decode())
        outputs.append(zf.read("quality.md").decode())
    run("sync", "--period", "2026-04")
    run("close", "2026-04")
    gw.insert_rows([late_row(team, team.start_ts + 5 * 86400)])
    outputs.append(run("sync", "--period", "2026-04", "--refetch").output)
    outputs.append(run("summary", "--period", "2026-04").output)
    outputs.append(run("close", "2026-04").output)
    hints = sorted({h for text in outputs for h in re.findall(r"`reportgen ([^`<]+)`", text)})
    assert len(hints) >= 5, hints
    for hint in hints:
        result = run(
            *shlex.split(hint), *(["--out", str(tmp_path / "h")] if hint.startswith("report") else [])
        )
        assert result.exit_code != 2 or "Error: " in result.output and "Usage:" not in result.output, (
            hint,
            result.output,
        )
        assert "No such option" not in result.output and "Usage:" not in result.output, (hint, result.output)


def test_the_same_member_prints_the_same_amount_everywhere_in_the_demo_month(tmp_path):
    result = run_demo(tmp_path / "demo", lang="en")
    report = result.report_summary
    console = Console(record=True, width=200)
    print_summary(report, "member", console)
    terminal = console.export_text()
    team_pdf = pdf_text(next(p for p in result.paths if p.suffix == ".pdf" and not p.stem.endswith("-claim")))
    workbook = openpyxl.load_workbook(next(p for p in result.paths if p.suffix == ".xlsx"), read_only=True)
    by_member = {row[0]: row for row in workbook["Summary"].iter_rows(values_only=True) if row and row[0]}
    config = load_config(result.config_path, env={"REPORTGEN_ACCESS_TOKEN": "x"})
    run = runner_for(result.config_path)
    for line in report.members:
        if not line.stats.active:
            continue
        printed = money_text(line.stats.cost_usd)
        assert re.search(rf"{re.escape(line.name)}\s.*\s{re.escape(printed)}\s", terminal), (
            line.name,
            printed,
        )
        assert printed in team_pdf
        assert money_text(Decimal(str(by_member[line.name][8]))) == printed
        out = tmp_path / "m" / line.name
        made = run(
            "report", "--period", "2026-04", "--member", line.name, "--format", "pdf", "--out", str(out)
        )
        assert made.exit_code == 0, made.output
        own = pdf_text(next(out.glob("*.pdf")))
        assert re.search(rf"Grand total \(USD\)\s*{re.escape(printed)}", own), (line.name, printed)
    assert config.members


def test_many_small_members_print_their_own_rounding_in_team_and_member_statements():
    tz_period = parse_period("2026-04", report_factory.TZ)
    members = {f"m{i:02d}": (f"k{i:02d}",) for i in range(40)}
    config = report_factory.Config(timezone="Asia/Shanghai", members=members)
    start = tz_period.start_ts + 3600
    records = []
    for i in range(40):
        # three lines of 0.2417 USD each: a member's exact 0.7251 prints 0.73 on her subtotal,
        # her lines print 0.24 each, and the rounding line carries the cent
        for j in range(3):
            records.append(UsageRecord(start + i * 60 + j, 2, f"k{i:02d}", f"model-{j}", 120_850, 10, 10))
    status = GatewayStatus(Decimal(500000), tz_period.start_ts)
    team = aggregate_records(records, period=tz_period, config=config, status=status)
    amounts = statement_amounts(team)
    team_text = pdf_text_bytes(report_factory.export("pdf", team, "en"))
    for m in amounts.members:
        assert m.cents == 73 and m.rounding_cents == 1 and [c for _, c in m.lines] == [24, 24, 24]
        own = aggregate_records(records, period=tz_period, config=config, status=status, member=m.line.name)
        own_text = pdf_text_bytes(report_factory.export("pdf", own, "en"))
        assert "0.73" in own_text and "Rounding difference" in own_text
    assert money_text(team.totals.cost_usd) == "29.00" and amounts.grand_cents == 2900
    assert "Rounding difference" in team_text
    assert cents(Decimal("0.125")) == Decimal("0.13")  # half-up everywhere, never half-even


def test_reading_never_writes_the_store(served, tmp_path):
    _, _, path = served
    run = runner_for(path)
    run("sync", "--period", "2026-04")
    run("close", "2026-04")
    store = path.parent / ".reportgen"

    def digest() -> dict[str, str]:
        return {
            str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*"))
            # -shm is SQLite's shared-memory index, which a WAL reader maps; the -wal must stay empty
            if p.is_file()
            and p.name != "sync.lock"
            and not p.name.endswith("-shm")
            and not (p.name.endswith("-wal") and p.stat().st_size == 0)
        }

    # issuing a packet writes (its number in the register, an audit entry); nothing else does
    packed = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p"))
    before = digest()
    assert run("summary", "--period", "2026-04").exit_code == 0
    assert run("summary", "--period", "2026-Q2").exit_code == 0
    assert run("amendments").exit_code == 0
    assert run("report", "--period", "2026-04", "--out", str(tmp_path / "r")).exit_code == 0
    assert run("verify", packed.stdout.strip()).exit_code == 0
    assert run("log", "--verify").exit_code == 0
    assert digest() == before


def test_a_schema_2_store_is_migrated_on_first_open_and_gives_the_same_figures(tmp_path):
    with tarfile.open(DATA / "schema2-store.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    run = runner_for(tmp_path / "reportgen.toml")
    result = run("summary", "--period", "2026-04", "--json")
    assert result.exit_code == 0, result.output
    now = json.loads(result.stdout)
    then = json.loads((DATA / "schema2-summary-2026-04.json").read_text(encoding="utf-8"))
    fields = ("requests", "errors", "consumed_quota", "refunded_quota", "quota", "cost_usd", "prompt_tokens")
    for part in ("totals",):
        assert {f: now[part][f] for f in fields} == {f: then[part][f] for f in fields}
    for part in ("members", "keys", "models", "days"):
        assert [{f: x[f] for f in ("name", *fields)} for x in now[part]] == [
            {f: x[f] for f in ("name", *fields)} for x in then[part]
        ]
    # the fingerprint is now taken over row content: the closure's recorded one was
    # recomputed by the schema-4 migration after its snapshot matched the old one
    assert now["source"]["fingerprint"] != then["source"]["fingerprint"]
    assert now["closed"]["revision"] == 1
    db = tmp_path / ".reportgen" / "reportgen.sqlite3"
    assert (tmp_path / ".reportgen" / "reportgen.sqlite3.schema2.bak").is_file()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        pk = [r[1] for r in conn.execute("PRAGMA table_info(closures)") if r[5]]
        assert pk == ["label", "revision"]
        assert "digest" not in [r[1] for r in conn.execute("PRAGMA table_info(logs)")]
        recorded, scheme, snapshot, start, end = conn.execute(
            "SELECT fingerprint, fingerprint_scheme, snapshot, start_ts, end_ts FROM closures"
        ).fetchone()
    assert scheme == 2 and recorded == now["source"]["fingerprint"]
    with sqlite3.connect(db.parent / "closed" / snapshot / db.name) as snap:
        rows = snap.execute(
            f"SELECT {', '.join(ROW_COLUMNS.split(', '))} FROM logs WHERE created_at >= ? AND created_at < ?",
            (start, end),
        ).fetchall()
    lines = [json.dumps(list(r), ensure_ascii=False, separators=(",", ":")) for r in rows]
    digests = sorted(hashlib.sha256(line.encode("utf-8")).digest() for line in lines)
    assert hashlib.sha256(b"".join(digests)).hexdigest() == recorded


def pdf_text(path: Path) -> str:
    return pdf_text_bytes(path.read_bytes())


def pdf_text_bytes(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_view_is_one_snapshot_even_while_a_sync_commits(served, tmp_path):
    from reportgen.app.packet import build_packet
    from reportgen.app.quality import check_quality
    from reportgen.app.sync import run_sync
    from reportgen.hookspecs import ExportContext
    from reportgen.plugins import packet_documents
    from reportgen.read import open_period
    from reportgen.templating import load_template
    from tests.conftest import fast_client

    team, gw, path = served
    config = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    context = ExportContext(lang="en", template=load_template(None, "en"))
    with open_period(config, april) as view:
        rows_seen = view.row_count
        # a sync commits more April rows while the view is open
        gw.insert_rows([late_row(team, team.start_ts + d * 86400 + 60) for d in range(1, 9)])
        run_sync(config, april, refetch=True, client_factory=fast_client)
        documents = list(packet_documents().values())
        packet = build_packet(view, check_quality(view), documents, context, tmp_path / "during")
    with zipfile.ZipFile(packet) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        detail = next(n for n in zf.namelist() if n.endswith(".csv"))
        lines = list(csv.reader(io.StringIO(zf.read(detail).decode("utf-8-sig"))))
    assert manifest["rows"]["count"] == rows_seen
    assert view.report.partials is not None
    shown = sum(b.rows for b in view.report.partials.buckets if b.type in (2, 6))  # consumption + refunds
    assert len(lines) - 1 == shown  # the CSV streamed the same snapshot the totals came from
    with open_period(config, april) as after:
        assert after.row_count == rows_seen + 8


def test_a_projects_report_in_every_format_leaves_out_the_formats_without_a_grant_report(served, tmp_path):
    """``--format all`` of a project is every format that writes its grant report: the HTML
    statement (which refuses a grant report) is left out instead of failing the run."""
    team, gw, path = served
    run = runner_for(path)
    run("sync", "--from", "2026-04-01", "--to", "2026-04-10")
    result = run(
        "report", "--project", "alpha", "--period", "2026-04", "--allow-partial", "--out", str(tmp_path / "g")
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.suffix for p in (tmp_path / "g").rglob("*.*"))
    assert ".pdf" in written and ".xlsx" in written and ".html" not in written, written
    refused = run("report", "--project", "alpha", "--period", "2026-04", "--allow-partial", "--format", "html",
                  "--out", str(tmp_path / "h"))  # fmt: skip
    assert refused.exit_code != 0 and "grant report" in refused.output
