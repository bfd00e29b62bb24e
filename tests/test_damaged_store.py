"""A damaged store file gets one line naming the file and the way back, never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.store import DB_NAME
from tests.conftest import fast_client, make_config
from tests.test_evidence import april


def _truncate_half(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _truncate_header(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:50])


def _empty(db: Path) -> None:
    db.write_bytes(b"")


def _zeros(db: Path) -> None:
    db.write_bytes(b"\x00" * db.stat().st_size)


def _random(db: Path) -> None:
    db.write_bytes(os.urandom(db.stat().st_size))


def _text(db: Path) -> None:
    db.write_text("this is not a database\n" * 100, encoding="utf-8")


def _folder(db: Path) -> None:
    db.unlink()
    db.mkdir()


def _foreign(db: Path) -> None:
    db.unlink()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('acme')")
    conn.close()


def _pages_scribbled(db: Path) -> None:
    """The header intact, pages in the middle overwritten: found when a query reaches them."""
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    for n in range(1, len(data) // page):
        if n % 2:
            data[n * page + 8 : n * page + 200] = os.urandom(192)
    db.write_bytes(bytes(data))


def _future(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.close()


DAMAGE = {
    "truncated in half": _truncate_half,
    "truncated header": _truncate_header,
    "empty": _empty,
    "zeros": _zeros,
    "random bytes": _random,
    "a text file": _text,
    "a folder": _folder,
    "a foreign database": _foreign,
    "scribbled pages": _pages_scribbled,
    "a newer schema": _future,
}


@pytest.fixture(scope="module")
def synced(tmp_path_factory, team):
    from reportgen.testing.fakegateway import FakeGateway
    from tests.conftest import TOKEN

    base = tmp_path_factory.mktemp("synced")
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(base, gw.url, team)
        run_sync(config, april(config), client_factory=fast_client)
        packet = write_packet(config, april(config), base / "out", member="张三")
    return base, packet


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_store_is_one_line_with_the_way_back(synced, tmp_path, kind):
    base, packet = synced
    folder = tmp_path / "project"
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("out"))
    store = folder / ".reportgen"
    for extra in ("-wal", "-shm"):
        (store / (DB_NAME + extra)).unlink(missing_ok=True)
    DAMAGE[kind](store / DB_NAME)
    config = str(folder / "reportgen.toml")
    runner = CliRunner()
    for args in (
        ["summary", "--period", "2026-04"],
        ["report", "--period", "2026-04", "--out", str(tmp_path / "r")],
        ["close", "--period", "2026-04"],
        ["log", "--verify"],
        ["verify", str(packet)],
    ):
        result = runner.invoke(cli, ["--config", config, *args], env={"REPORTGEN_ACCESS_TOKEN": "x"})
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            kind,
            args,
            repr(result.exception),
        )
        text = result.output
        assert "Traceback" not in text, (kind, args, text)
        if args[0] != "verify":
            assert result.exit_code == 4, (kind, args, result.exit_code, text)
            errors = [line for line in text.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1, (kind, args, text)
            assert DB_NAME in errors[0], (kind, args, errors[0])
    check = runner.invoke(cli, ["--config", config, "store", "check"])
    assert check.exit_code == 4 and "Traceback" not in check.output, (kind, check.output)
    assert [line for line in check.stdout.splitlines() if line.startswith("DAMAGED: ")], (kind, check.output)
