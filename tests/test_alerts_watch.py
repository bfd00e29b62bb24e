"""Issue 30's "done when": ``watch`` every simulated hour over a served month sends exactly one
message per event (and one "resolved") to a real SMTP server and a webhook receiver, through
two overlapping runs and a run killed with SIGKILL while it sends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from calendar import timegm
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportgen.alerts import Sending, run_watch
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.faults import Faults
from tests.conftest import TOKEN, fast_client
from tests.receivers import http_receiver, smtp_server

USD = 500_000  # quota per USD
FAST = Sending(attempts=2, backoff=0, timeout=5, sleep=lambda s: None)
HOOK_SECRET = "hook-secret-123"
SMTP_PASSWORD = "s3cret-pw"


def at(day: int, hour: int, minute: int = 0) -> int:
    return timegm((2026, 5, day, hour, minute, 0))


def row(ts: int, key: str, usd: float) -> dict[str, Any]:
    return {
        "user_id": 42,
        "created_at": ts,
        "type": 2,
        "content": "",
        "username": "acme",
        "token_name": key,
        "token_id": {"key-alice": 1, "key-bob": 2}[key],
        "model_name": "gpt-5-mini",
        "quota": int(usd * USD),
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "use_time": 1,
        "is_stream": False,
        "channel": 1,
        "group": "default",
        "ip": "",
        "request_id": f"req-{key}-{ts}",
        "other": {"group_ratio": 1, "model_ratio": 1, "completion_ratio": 1},
    }


def month_rows() -> list[dict[str, Any]]:
    """Alice spends 2 USD a day at noon (May 1-17), 7 more at 10:00 on the 16th (a spike that
    takes project alpha from 75 % to 92.5 % of its 40 USD); the noon of the 17th takes it past
    100 %.  Bob's key is used May 1-5, then idle, then again on the 17th at 15:00."""
    rows = [row(at(d, 12), "key-alice", 2) for d in range(1, 18)]
    rows.append(row(at(16, 10), "key-alice", 7))
    rows += [row(at(d, 12, 30), "key-bob", 1) for d in range(1, 6)]
    rows.append(row(at(17, 15), "key-bob", 1))
    return sorted(rows, key=lambda r: r["created_at"])


TOKENS = [
    {"id": i, "user_id": 42, "name": name, "key": f"{i:04d}****abcd", "status": 1, "created_time": at(1, 0),
     "accessed_time": 0, "expired_time": -1, "remain_quota": 0, "unlimited_quota": True, "used_quota": 0,
     "group": "default", "model_limits_enabled": False, "model_limits": ""}
    for i, name in ((1, "key-alice"), (2, "key-bob"))
]  # fmt: skip


def write_config(folder: Path, gateway_url: str, smtp_port: int) -> Path:
    path = folder / "reportgen.toml"
    path.write_text(
        textwrap.dedent(f"""
        [gateway]
        base_url = "{gateway_url}"
        user_id = 42
        requests_per_window = 100000

        [report]
        timezone = "UTC"
        lang = "en"

        [members.alice]
        keys = ["key-alice"]
        [members.bob]
        keys = ["key-bob"]

        [projects.alpha]
        title = "Alpha"
        code = "A-1"
        budget = 40.00
        budget_currency = "USD"
        start = 2026-05-01
        end = 2026-12-31
        charges = [{{ member = "alice" }}]

        [delivery.mail]
        type = "email"
        host = "127.0.0.1"
        port = {smtp_port}
        security = "none"
        user = "rg"
        password_env = "RG_SMTP_PASSWORD"
        from = "reportgen@example.com"

        [delivery.hook]
        type = "webhook"
        url_env = "RG_HOOK_URL"
        secret_env = "RG_HOOK_SECRET"

        [alerts.budget]
        kind = "budget"
        thresholds = [80, 100]
        to = ["mail:lead@example.com", "hook"]

        [alerts.spike]
        kind = "spike"
        by = "key"
        factor = 3
        window_days = 7
        min_usd = 3
        to = ["mail:lead@example.com", "hook"]

        [alerts.idle]
        kind = "key_idle"
        days = 7
        to = ["mail:lead@example.com", "hook"]
        """),
        encoding="utf-8",
    )
    return path


DRIVER = """
import json, sys
from reportgen.alerts import Sending, run_watch
from reportgen.app.sync import run_sync
from reportgen.config import load_config
from reportgen.gateway import GatewayClient
import os

now = float(sys.argv[2])
config = load_config(sys.argv[1])
client = lambda gw, on_request=None: GatewayClient(gw, sleep=lambda s: None, on_request=on_request)
how = Sending(attempts=2, backoff=0, timeout=60, sleep=lambda s: None)
result = run_watch(config, now=lambda: now, client_factory=client, how=how)
print(json.dumps({"sent": result.sent, "failed": result.failed, "notes": result.notes}))
"""


@pytest.fixture
def world(tmp_path: Path):
    with (
        FakeGateway(month_rows(), TOKENS, access_token=TOKEN, user_id=42, rate_limit=None) as gateway,
        smtp_server(password=SMTP_PASSWORD) as mailbox,
        http_receiver({"hook": HOOK_SECRET}) as hook,
    ):
        env = {
            "REPORTGEN_ACCESS_TOKEN": TOKEN,
            "RG_SMTP_PASSWORD": SMTP_PASSWORD,
            "RG_HOOK_URL": f"{hook.url}/hook/alerts",
            "RG_HOOK_SECRET": HOOK_SECRET,
        }
        path = write_config(tmp_path, gateway.url, mailbox.port)
        yield path, env, mailbox, hook, gateway


def _driver(tmp_path: Path, path: Path, env: dict[str, str], now: int) -> subprocess.Popen[str]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(path), str(now)],
        env={**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_every_simulated_hour_sends_each_event_once(world, tmp_path: Path) -> None:
    path, env, mailbox, hook, _ = world
    config = load_config(path, env=env)
    hours = [at(16, 0, 30) + 3600 * h for h in range(48)]  # May 16 00:30 to May 17 23:30

    run_sync(config, now=lambda: hours[0], client_factory=fast_client)
    dry = run_watch(config, dry_run=True, now=lambda: hours[0], client_factory=fast_client, how=FAST)
    assert dry.dry_run and mailbox.messages == [] and hook.received == []
    assert "Key key-bob has not been used for 10 days" in dry.summary()
    assert "Dry run: 1 message(s) would be sent" in dry.summary()
    budget80 = "budget/budget/alpha/80#1/raised"
    for n, now in enumerate(hours):
        if n == 10:  # 10:30 on the 16th: the spike and the 80 % crossing; killed mid-send
            hook.stall = budget80
            proc = _driver(tmp_path, path, env, now)
            assert hook.stalled.wait(60), proc.communicate()
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            hook.release.set()
            assert proc.returncode == -signal.SIGKILL
            continue
        if n == 36:  # 12:30 on the 17th: the 100 % crossing, by two runs at once
            hook.delay = 0.5
            procs = [_driver(tmp_path, path, env, now) for _ in range(2)]
            outs = [p.communicate(timeout=120) for p in procs]
            hook.delay = 0
            assert [p.returncode for p in procs] == [0, 0], outs
            sent = [json.loads(out)["sent"] for out, _ in outs]
            assert sorted(len(s) for s in sent) == [0, 2], outs  # one run sent both, the other nothing
            continue
        result = run_watch(config, now=lambda now=now: now, client_factory=fast_client, how=FAST)
        assert not result.failed, result.summary()
        if n == 11:
            assert any("cut off while sending" in note for note in result.notes), result.summary()

    events = {
        "idle/idle/key-bob/" + str(at(5, 12, 30)) + "#1/raised",
        budget80,
        "spike/spike/key/key-alice/2026-05-16#1/raised",
        "budget/budget/alpha/100#1/raised",
        "idle/idle/key-bob/" + str(at(5, 12, 30)) + "#1/resolved",
    }
    assert sorted(hook.ids()) == sorted(events)  # each acknowledged exactly once
    received = [r.headers["x-reportgen-id"] for r in hook.received]
    assert received.count(budget80) == 2  # the killed run's request (never answered), then the retry
    assert len(received) == len(events) + 1
    assert hook.bad_signatures == []

    mails = {m["X-Reportgen-Id"]: m for _, m in mailbox.messages}
    assert sorted(mails) == sorted(events) and len(mailbox.messages) == len(events)
    assert all(rcpt == ["lead@example.com"] for rcpt, _ in mailbox.messages)
    text = mails[budget80].get_content()
    assert "Project alpha has used 92.5% of its budget (threshold 80%): 37.00 USD of 40.00 USD" in text
    spike = mails["spike/spike/key/key-alice/2026-05-16#1/raised"].get_content()
    assert "key key-alice spent 7.00 USD on 2026-05-16" in spike and "(2.00 USD)" in spike
    assert "Resolved." in mails["idle/idle/key-bob/" + str(at(5, 12, 30)) + "#1/resolved"].get_content()
    body = next(r for r in hook.acknowledged if r.headers["x-reportgen-id"] == budget80).json
    assert body["facts"]["share"] == "92.5%" and body["phase"] == "raised"

    rerun = run_watch(config, now=lambda: hours[-1], client_factory=fast_client, how=FAST)
    assert rerun.summary().endswith("Nothing to send.") and len(mailbox.messages) == len(events)

    # the CLI runs at the real time, months later: every key is idle since its last use (new
    # events, exit 14); run again, nothing is left to send (exit 0)
    first = CliRunner().invoke(cli, ["--config", str(path), "watch", "--no-sync"], env=env)
    assert first.exit_code == 14 and "idle/idle/key-alice/" in first.output, first.output
    again = CliRunner().invoke(cli, ["--config", str(path), "watch", "--no-sync"], env=env)
    assert again.exit_code == 0 and "Nothing to send." in again.output, again.output
    assert TOKEN not in first.output + again.output and HOOK_SECRET not in first.output


def test_a_failing_sync_is_alerted_once_and_resolved_once(world) -> None:
    path, env, mailbox, hook, gateway = world
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[alerts.sync]\nkind = "sync"\nhours = 6\nto = ["hook"]\n',
        encoding="utf-8",
    )
    config = load_config(path, env=env)
    start = at(16, 0, 30)
    runs = []
    for hour, down in enumerate((False, True, True, False, False)):
        gateway.faults = Faults(down="html502" if down else None)
        runs.append(
            run_watch(config, now=lambda hour=hour: start + 3600 * hour, client_factory=fast_client, how=FAST)
        )
    assert [any(n.startswith("Sync failed") for n in r.notes) for r in runs] == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert "\n" not in next(n for n in runs[1].notes if n.startswith("Sync failed"))
    ids = [i for i in hook.ids() if i.startswith("sync/")]
    assert ids == ["sync/sync/default#1/raised", "sync/sync/default#1/resolved"]
    raised = next(r for r in hook.acknowledged if r.headers["x-reportgen-id"] == ids[0]).json
    assert raised["facts"]["state"] == "failed" and "is not working" in raised["text"]


def test_a_recipient_added_later_is_not_sent_the_backlog(world) -> None:
    path, env, mailbox, hook, _ = world
    config = load_config(path, env=env)
    start = at(16, 0, 30)
    run_watch(config, now=lambda: start, client_factory=fast_client, how=FAST)  # bob's key: idle
    assert len(hook.acknowledged) == 1
    text = path.read_text(encoding="utf-8").replace(
        'days = 7\nto = ["mail:lead@example.com", "hook"]',
        'days = 7\nto = ["mail:lead@example.com", "hook", "mail:new@example.com"]',
    )
    path.write_text(text, encoding="utf-8")
    later = load_config(path, env=env)
    soon = run_watch(later, sync=False, now=lambda: start + 3600, client_factory=fast_client, how=FAST)
    assert soon.sent == ("idle/idle/key-bob/" + str(at(5, 12, 30)) + "#1/raised -> mail:new@example.com",)
    path.write_text(text.replace("mail:new@example.com", "mail:newer@example.com"), encoding="utf-8")
    weeks = run_watch(load_config(path, env=env), sync=False, now=lambda: start + 8 * 86400, how=FAST)
    bob = "idle/idle/key-bob/" + str(at(5, 12, 30)) + "#1/raised -> mail:newer@example.com"
    assert bob not in weeks.sent  # raised a week ago: not sent to a recipient added since
    assert any(s.startswith("idle/idle/key-alice/") and s.endswith("newer@example.com") for s in weeks.sent)
