"""log --verify and store check hold every issued packet to the audit log's record of it: the
register must still hold its number for its rows, and a packet file still at its recorded path
must still have the SHA-256 recorded at issue; an attacker who edits either is named."""

from __future__ import annotations

import sqlite3

import pytest

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.store import DB_NAME
from tests.conftest import fast_client, make_config
from tests.test_evidence import april
from tests.test_store_edits import run


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
