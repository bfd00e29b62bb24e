"""A closed month read without hashing its rows (issue 27): its snapshot's file is sealed at the close."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from reportgen.app.closing import close_period
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.core.periods import parse_period
from reportgen.store import DB_NAME, Reader, Store, snapshot_seal
from reportgen.store.evidence import entries
from tests.conftest import fast_client, make_config


@pytest.fixture
def closed(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    return config, close_period(config, april).closure


def _summary(config):
    return CliRunner().invoke(cli, ["--config", str(config.path), "summary", "--period", "2026-04"])


def test_the_close_records_its_snapshots_seal_and_reads_keep_the_file_as_sealed(closed):
    config, closure = closed
    with Reader.open(config.store_dir) as store:
        (entry,) = [e for e in entries(store) if e.action == "close"]
        assert json.loads(entry.details)["seal"] == snapshot_seal(store, closure)
    for _ in range(2):  # reading the snapshot (read-only) leaves its file as sealed
        assert _summary(config).exit_code == 0
    with Reader.open(config.store_dir) as store:
        assert snapshot_seal(store, closure) == json.loads(entry.details)["seal"]


def test_a_snapshot_row_edited_with_its_recorded_fingerprint_is_caught_by_the_seal(closed):
    """The edit issue 25 describes (a frozen row and the closure's fingerprint rewritten together)
    passes the row check; summary, which hashes no row, still refuses it."""
    config, closure = closed
    db = config.store_dir / "closed" / closure.snapshot / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE logs SET quota = quota + 500000 WHERE id = (SELECT MIN(id) FROM logs WHERE type = 2)"
        )
    conn.close()
    with Store.open(db.parent, create=False) as snap:
        forged = snap.fingerprint(closure.period.start_ts, closure.period.end_ts)
    with sqlite3.connect(config.store_dir / DB_NAME) as conn:
        conn.execute("UPDATE closures SET fingerprint = ? WHERE label = '2026-04'", (forged,))
    conn.close()
    out = _summary(config)
    assert out.exit_code == 4 and "no longer matches its recorded fingerprint" in out.output
