"""No silent store edits: a closed snapshot edited together with its recorded fingerprint, and an audit
log rewritten whole, are noticed (log --verify, store check, packet), as an attacker would try them."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from click.testing import CliRunner

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.errors import StoreError
from reportgen.read import check_rows
from reportgen.store import DB_NAME, Store, find_closure, snapshot_dir
from reportgen.store.evidence import entry_hash
from tests.conftest import closed_rows, fast_client, make_config
from tests.test_evidence import april


@pytest.fixture
def closed(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, april(config), client_factory=fast_client)
    close_period(config, april(config))
    return config


def run(config, *args):
    result = CliRunner().invoke(cli, ["--config", str(config.path), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def edit_snapshot_and_its_fingerprint(config) -> None:
    """What an attacker with the store does: raise one closed row's quota, recompute the snapshot's
    fingerprint the way reportgen does, and write it into the closure's record."""
    with Store.open(config.store_dir, create=False) as store:
        closure = find_closure(store, "2026-04", 1)
        assert closure is not None
        snapshot = snapshot_dir(store, closure) / DB_NAME
    with closed_rows(snapshot) as rows, contextlib.closing(sqlite3.connect(rows)) as conn, conn:
        conn.execute(
            "UPDATE logs SET quota = quota + 500000 WHERE rowid = (SELECT MIN(rowid) FROM logs WHERE type = 2)"
        )
    p = closure.period
    forged = check_rows(config.store_dir, p.start_ts, p.end_ts, None, closed=("2026-04", 1)).fingerprint
    assert forged != closure.fingerprint
    with sqlite3.connect(config.store_dir / DB_NAME) as conn:
        conn.execute(
            "UPDATE closures SET fingerprint = ? WHERE label = '2026-04' AND revision = 1", (forged,)
        )
    conn.close()


def test_a_snapshot_edited_with_its_fingerprint_fails_log_verify_store_check_and_packet(closed, tmp_path):
    assert run(closed, "log", "--verify").exit_code == 0
    assert run(closed, "store", "check").exit_code == 0
    edit_snapshot_and_its_fingerprint(closed)

    log = run(closed, "log", "--verify")
    assert log.exit_code == 1, log.output
    assert "DIFFERS: audit log 2026-04 revision 1: the store records fingerprint" in log.stdout
    assert "the closed snapshot was edited" in log.stdout

    check = run(closed, "store", "check")
    assert check.exit_code == 4 and "DAMAGED: 2026-04 revision 1:" in check.stdout, check.output

    with pytest.raises(
        StoreError,
        match="no longer matches its recorded fingerprint: .* the audit log recorded .* when it was closed",
    ):
        write_packet(closed, april(closed), tmp_path / "p", member="张三")
    refused = run(closed, "packet", "--period", "2026-04", "--member", "张三", "--out", str(tmp_path / "q"))
    assert refused.exit_code == 4 and refused.stderr.count("\n") == 1 and "was edited" in refused.stderr
    assert not list((tmp_path / "q").glob("*.zip")) if (tmp_path / "q").exists() else True
    report = run(closed, "report", "--period", "2026-04", "--out", str(tmp_path / "r"))
    assert report.exit_code == 4


def rewrite_chain(config) -> None:
    """Rewrite the whole audit log consistently: one entry changed, every hash after it recomputed."""
    db = config.store_dir / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        rows = conn.execute(
            "SELECT seq, at, user, host, action, subject, fingerprint, details FROM audit_log ORDER BY seq"
        ).fetchall()
        prev = "0" * 64
        for seq, at, user, host, action, subject, fingerprint, details in rows:
            if seq == 1:
                user = "someone-else"
            digest = entry_hash(seq, at, user, host, action, subject, fingerprint, details, prev)
            conn.execute(
                "UPDATE audit_log SET user = ?, prev = ?, hash = ? WHERE seq = ?", (user, prev, digest, seq)
            )
            prev = digest
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{rows[-1][0]}:{prev}",))
    conn.close()


def test_a_chain_rewritten_whole_contradicts_the_anchor_kept_outside_the_store(closed, tmp_path):
    anchor = run(closed, "log", "--anchor")
    assert anchor.exit_code == 0
    head = anchor.stdout.strip()
    seq, digest = head.split(":")
    assert seq.isdigit() and len(digest) == 64
    kept = tmp_path / "anchor.txt"  # e.g. mailed to the finance office after each close
    kept.write_text(head + "\n", encoding="utf-8")
    assert run(closed, "log", "--verify", "--anchor", str(kept)).exit_code == 0

    rewrite_chain(closed)
    alone = run(closed, "log", "--verify")  # the chain is consistent again: only the anchor can tell
    assert alone.exit_code == 0, alone.output
    against = run(closed, "log", "--verify", "--anchor", str(kept))
    assert against.exit_code == 1
    assert f"DIFFERS: audit log entry {seq} no longer has the hash the anchor" in against.stdout
    given = run(closed, "log", "--verify", "--anchor", "1:" + "0" * 64)  # the head as text works too
    assert given.exit_code == 1 and "DIFFERS: audit log entry 1 no longer has the hash" in given.stdout


def test_a_live_row_edited_in_the_store_is_a_local_edit_not_a_change_at_the_gateway(closed):
    from reportgen.store import recorded_amendments

    with sqlite3.connect(closed.store_dir / DB_NAME) as conn:  # a closed month's live row, edited here
        conn.execute(
            "UPDATE logs SET quota = quota + 500000 WHERE rowid = (SELECT MIN(rowid) FROM logs WHERE type = 2)"
        )
    conn.close()
    quiet = run_sync(closed, april(closed), client_factory=fast_client)  # reads no window: all are stored
    assert "changed at the gateway" not in quiet.summary()
    (warning,) = [w for w in quiet.warnings if "2026-04" in w]
    assert "row(s) in the local store differ from its closed snapshot" in warning
    assert "the store was edited here, not at the gateway" in warning
    with Store.open(closed.store_dir, create=False) as store:
        assert recorded_amendments(store, "2026-04") == []
    again = run_sync(
        closed, april(closed), refetch=True, client_factory=fast_client
    )  # the gateway's rows back
    assert not again.amended and not [w for w in again.warnings if "2026-04" in w]
    with Store.open(closed.store_dir, create=False) as store:
        assert recorded_amendments(store, "2026-04") == []
