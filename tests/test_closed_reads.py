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
from reportgen.store import DB_NAME, Reader, snapshot_seal
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


def test_any_edit_of_a_sealed_snapshot_is_caught_by_a_read_that_hashes_no_row(closed):
    """The seal covers the whole file: an edited frozen bridge (no row changed, so the rows'
    fingerprint still matches) is refused by summary as an edited row would be."""
    config, closure = closed
    db = config.store_dir / "closed" / closure.snapshot / DB_NAME
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("UPDATE meta SET value = replace(value, '1', '2') WHERE key = 'bridge'").rowcount
            == 1
        )
    conn.close()
    out = _summary(config)
    assert out.exit_code == 4 and "no longer matches its recorded fingerprint" in out.output
