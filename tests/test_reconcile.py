"""Reconciliation against the fake gateway over loopback: every known cause explained,
anything else named, and the result carried into the period's documents."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.app.export import export_report
from reportgen.app.reconcile import check, run_reconcile
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.core.periods import parse_period
from reportgen.errors import ReconcileError
from reportgen.plugins import select_exporters
from reportgen.testing.fakegateway import FakeGateway
from tests.conftest import TOKEN, fast_client, make_config
from tests.report_factory import open_report

TZ = ZoneInfo("Asia/Shanghai")


def synced(tmp_path, gw, team, period="2026-04", **kw):
    config = make_config(tmp_path, gw.url, team)
    run_sync(config, parse_period(period, config.tz), client_factory=fast_client, **kw)
    return config


def april(config):
    return parse_period("2026-04", config.tz)


def test_consistent_gateway_passes_and_refunds_are_explained(tmp_path, gateway, team):
    config = synced(tmp_path, gateway, team)
    result = run_reconcile(config, april(config), client_factory=fast_client)
    assert result.ok and result.unexplained == ()
    check(result)  # does not raise
    lines = {x.key: x for x in result.keys}
    assert set(team.members["张三"]) <= set(lines)
    assert lines["key-alice"].status == "ok"
    lisi = lines["key-lisi"]  # sora-2 refunds: the stat counts consumption only
    assert lisi.status == "explained" and lisi.gateway_stat == lisi.store_consumed > lisi.store_net
    assert any("refunds of" in note for note in lisi.notes)
    assert result.total.gateway_stat == result.total.store_consumed


def test_stat_disagreeing_for_another_reason_names_the_key(tmp_path, gateway, team):
    config = synced(tmp_path, gateway, team)
    gateway.stat_adjust = {"key-alice": 1234}
    result = run_reconcile(config, april(config), client_factory=fast_client)
    assert [x.key for x in result.unexplained] == ["key-alice", None]
    assert "+1,234 not explained" in result.keys[[x.key for x in result.keys].index("key-alice")].notes[0]
    with pytest.raises(ReconcileError, match="key-alice"):
        check(result)

    runner = CliRunner()
    args = ["--config", str(config.path), "reconcile", "--period", "2026-04"]
    out = runner.invoke(cli, args, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert out.exit_code == ReconcileError.exit_code == 9
    assert "unexplained difference on 'key-alice'" in out.output
    out = runner.invoke(cli, [*args, "--json"], env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert out.exit_code == 9
    doc = json.loads(out.stdout)
    assert doc["ok"] is False and doc["unexplained"] == ["key-alice", "(total)"]
    assert doc["period"] == {  # shaped as summary --json shapes it
        "label": "2026-04",
        "start": "2026-04-01T00:00:00+08:00",
        "end": "2026-05-01T00:00:00+08:00",
        "timezone": "Asia/Shanghai",
    }


def test_renamed_user_is_explained_by_the_username_stored_per_row(tmp_path, gateway, team):
    gateway.rename_user("acme-renamed")
    late = int(datetime(2026, 4, 20, 15, 0, tzinfo=TZ).timestamp())
    gateway.insert_rows(  # logged after the rename, under the new name
        [
            {
                **{k: v for k, v in row.items() if k != "username"},
                "created_at": late,
                "other": dict(row["other"]),
            }
            for row in team.rows[:5]
            if row["type"] == 2
        ]
    )
    config = synced(tmp_path, gateway, team)
    result = run_reconcile(config, april(config), client_factory=fast_client)
    assert result.ok, [x.notes for x in result.unexplained]
    assert result.username == "acme-renamed"
    assert 0 < result.total.gateway_stat == result.total.store_current_user < result.total.store_consumed
    assert any("earlier username" in n for x in result.keys for n in x.notes)
    assert any("'acme'" in n for n in result.notes)


def test_unsynced_windows_are_explained_and_compared_on_the_synced_part(tmp_path, gateway, team):
    config = make_config(tmp_path, gateway.url, team)
    from reportgen.core.periods import resolve_period

    run_sync(config, resolve_period(config.tz, None, "2026-04-01", "2026-04-15"), client_factory=fast_client)
    result = run_reconcile(config, april(config), client_factory=fast_client)
    assert result.ok
    assert any("not synced" in n and "2026-04-16 00:00" in n for n in result.notes)


def test_a_stat_that_returns_zero_is_the_known_release_bug(tmp_path, gateway, team):
    config = synced(tmp_path, gateway, team)
    gateway.stat_zero = True
    result = run_reconcile(config, april(config), client_factory=fast_client)
    assert result.ok and result.total.status == "explained"
    assert any("known bug" in n for n in result.notes)


def _row(ts: int, key: str, quota: int, kind: int = 2) -> dict:
    return {
        "created_at": ts, "type": kind, "token_name": key, "token_id": 7, "model_name": "gpt-5-mini",
        "quota": quota, "prompt_tokens": 10, "completion_tokens": 1, "use_time": 1, "is_stream": False,
        "channel": 1, "group": "default", "other": {},
    }  # fmt: skip


def test_used_quota_is_compared_when_the_whole_history_is_synced(tmp_path, team):
    start = int(datetime(2026, 4, 3, tzinfo=TZ).timestamp())
    rows = [_row(start + 3600 * i, "key-new", 1000) for i in range(1, 6)] + [
        _row(start + 20000, "key-new", 500, 6)
    ]
    token = {
        "id": 7, "name": "key-new", "key": "abcd****wxyz", "status": 1, "created_time": start,
        "accessed_time": start + 5 * 3600, "expired_time": -1, "used_quota": 5000, "remain_quota": 0,
        "unlimited_quota": True, "group": "default",
    }  # fmt: skip
    with FakeGateway(rows, [token], access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = synced(tmp_path, gw, team)
        result = run_reconcile(config, april(config), client_factory=fast_client)
        line = next(x for x in result.keys if x.key == "key-new")
        assert result.ok and line.used_quota == 5000 and line.lifetime_consumed == 5000
        gw.tokens[0]["used_quota"] = 5100
        result = run_reconcile(config, april(config), client_factory=fast_client)
        assert [x.key for x in result.unexplained] == ["key-new"]
        assert "used_quota 5,100" in result.unexplained[0].notes[-1]


def test_report_shows_the_last_reconciliation(tmp_path, gateway, team):
    config = synced(tmp_path, gateway, team)
    run_reconcile(
        config,
        april(config),
        client_factory=fast_client,
        now=lambda: datetime(2026, 5, 2, 9, tzinfo=TZ).timestamp(),
    )
    with open_report(config, april(config)) as report:
        assert report.reconciliation is not None and report.reconciliation.ok
        paths = export_report(report, select_exporters("xlsx,pdf"), tmp_path / "out", lang="en")
    wb = openpyxl.load_workbook(paths[0])
    assert "Reconciliation" in wb.sheetnames
    rows = list(wb["Reconciliation"].iter_rows(values_only=True))
    assert rows[0][:2] == ("API key", "Consumed quota")
    assert any(r[0] == "key-lisi" and r[6] == "explained" for r in rows)
    text = "".join(p.extract_text() for p in PdfReader(paths[1]).pages)
    assert "Reconciled with the gateway on 2026-05-02 09:00: no unexplained difference." in text
    # another period has no reconciliation
    with open_report(config, parse_period("2026-03", config.tz)) as report:
        assert report.reconciliation is None
