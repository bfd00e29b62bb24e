"""Local faults: a full disk, a read-only folder. One line, a non-zero exit, nothing half-written.

The tests mount small tmpfs filesystems (root in a container can); where that is not
allowed they skip with the reason.  The store's completed windows and totals must be
exactly what they were, or exactly the windows that completed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from tests.conftest import TOKEN, write_config


@contextlib.contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    where = Path("/tmp") / f"reportgen-tmpfs-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a small filesystem here ({done.stderr.decode().strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def remount_ro(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


def run(path: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN})


def assert_one_line(result, code: int, *words: str) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def totals(path: Path, *period: str) -> dict:
    result = run(path, "summary", *period, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["totals"]


def test_a_disk_filling_during_sync_keeps_every_completed_window(team, gateway):
    with tmpfs("600k") as small:
        path = write_config(small, gateway.url, team)
        result = run(path, "sync", "--period", "2026-04")
        line = assert_one_line(result, 4, "the disk is full", "windows saved")
        saved = int(line.split(" of ")[0].rsplit("(", 1)[1])
        assert 0 < saved < 30, line
        # what was saved is whole: each saved day's totals are exactly the gateway's rows of it
        first_day = totals(path, "--from", "2026-04-01", "--to", "2026-04-01")
        want = [r for r in team.rows if team.start_ts <= r["created_at"] < team.start_ts + 86400]
        assert first_day["requests"] == sum(1 for r in want if r["type"] == 2)
        assert no_leftovers(small)


def test_a_read_only_store_folder_still_reads_and_refuses_writes_in_one_line(team, gateway, tmp_path):
    with tmpfs("8m") as disk:
        path = write_config(disk, gateway.url, team)
        assert run(path, "sync", "--period", "2026-04").exit_code == 0
        before = totals(path, "--period", "2026-04")
        remount_ro(disk)
        assert totals(path, "--period", "2026-04") == before  # reading works on a read-only copy
        assert_one_line(run(path, "sync", "--period", "2026-04", "--refetch"), 4, "read-only")
        assert_one_line(
            run(path, "report", "--period", "2026-04", "--out", str(disk / "out")), 6, "not writable"
        )
        assert totals(path, "--period", "2026-04") == before


def test_documents_and_packets_on_a_full_disk_are_one_line_and_leave_nothing(team, gateway, tmp_path):
    path = write_config(tmp_path, gateway.url, team)
    assert run(path, "sync", "--period", "2026-04").exit_code == 0
    with tmpfs("64k") as small:
        out = small / "reports"
        assert_one_line(run(path, "report", "--period", "2026-04", "--out", str(out)), 6, "No space left")
        assert_one_line(run(path, "packet", "--period", "2026-04", "--out", str(out)), 6, "No space left")
        assert no_leftovers(small)


def no_leftovers(folder: Path) -> bool:
    """No half-written document or packet part anywhere below ``folder``."""
    return not [p for p in folder.rglob("*") if p.name.endswith(".part") or p.name.startswith(".packet-")]
