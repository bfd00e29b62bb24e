"""``month-end --deliver``: each packet mailed to its recipients through a real SMTP server, the
received attachment byte-identical and passing ``reportgen verify``; audit-logged, sent once,
again only with ``--resend``; a packet over the size limit linked instead of attached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.alerts import Sending
from reportgen.alerts.messages import escape
from reportgen.alerts.packets import deliver_packets
from reportgen.app.monthend import run_month_end
from reportgen.app.verify import verify_packet
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.core.periods import parse_period
from reportgen.demo import DEMO_PROJECTS
from reportgen.store import Reader
from reportgen.store import evidence as audit
from tests.conftest import TOKEN, fast_client, write_config
from tests.receivers import http_receiver, smtp_server

FAST = Sending(attempts=2, backoff=0, timeout=5, sleep=lambda s: None)

DELIVERY = """
[delivery.mail]
type = "email"
host = "127.0.0.1"
port = {port}
security = "none"
user = "rg"
password_env = "RG_SMTP_PASSWORD"
from = "reports@example.com"

[delivery.small-mail]
type = "email"
host = "127.0.0.1"
port = {port}
security = "none"
user = "rg"
password_env = "RG_SMTP_PASSWORD"
from = "reports@example.com"
max_attachment_mb = 0.001
link_base = "https://files.example.com/packets/"

[delivery.chat]
type = "feishu"
url_env = "RG_FEISHU_URL"
secret_env = "RG_FEISHU_SECRET"

[recipients]
team = ["mail:finance@example.com", "chat"]
[recipients.members]
"张三" = ["mail:zhangsan@example.com"]
"Alice Smith" = ["mail:alice@example.com"]
[recipients.projects]
"nlp-grant" = ["mail:lead@example.com"]
"platform" = ["small-mail:ops@example.com"]
"""


@pytest.fixture
def delivered(tmp_path: Path, team, gateway):
    with smtp_server(password="pw") as mailbox, http_receiver({"feishu": "fs-secret"}) as hook:
        env = {
            "REPORTGEN_ACCESS_TOKEN": TOKEN,
            "RG_SMTP_PASSWORD": "pw",
            "RG_FEISHU_URL": f"{hook.url}/feishu/open-apis/bot/v2/hook/abc",
            "RG_FEISHU_SECRET": "fs-secret",
        }
        path = write_config(
            tmp_path, gateway.url, team, extra=DEMO_PROJECTS + DELIVERY.format(port=mailbox.port)
        )
        config = load_config(path, env=env)
        april = parse_period("2026-04", config.tz)
        result = run_month_end(config, april, tmp_path / "me", client_factory=fast_client)
        yield config, path, env, result, mailbox, hook


def test_each_packet_reaches_its_recipients_and_verifies(delivered, tmp_path: Path) -> None:
    config, path, env, result, mailbox, hook = delivered
    sent = deliver_packets(config, result, how=FAST)
    assert not sent.failed, sent.summary()
    by_rcpt = {rcpt[0]: message for rcpt, message in mailbox.messages}
    assert set(by_rcpt) == {"finance@example.com", "zhangsan@example.com", "alice@example.com",
                            "lead@example.com", "ops@example.com"}  # fmt: skip
    files = {i.scope.name: i.path for i in result.issues}
    expect = {
        "finance@example.com": files[None],
        "zhangsan@example.com": files["张三"],
        "alice@example.com": files["Alice Smith"],
        "lead@example.com": files["nlp-grant"],
    }
    received = tmp_path / "received"
    received.mkdir()
    for rcpt, packet in expect.items():
        parts = list(by_rcpt[rcpt].iter_attachments())
        assert [p.get_filename() for p in parts] == [packet.name]
        data = parts[0].get_content()
        assert hashlib.sha256(data).hexdigest() == hashlib.sha256(packet.read_bytes()).hexdigest()
        (received / packet.name).write_bytes(data)
        check = verify_packet(received / packet.name)  # the finance office's check of what it got
        assert check.ok, check.differences
        assert hashlib.sha256(data).hexdigest() in by_rcpt[rcpt].get_body().get_content()
    # the project packet over its channel's 1 KB limit: linked, not attached
    ops = by_rcpt["ops@example.com"]
    assert list(ops.iter_attachments()) == []
    assert f"https://files.example.com/packets/{files['platform'].name}" in ops.get_body().get_content()
    # the team's chat is told, signed as Feishu documents (the receiver checks the signature)
    assert len(hook.acknowledged) == 1 and hook.bad_signatures == []
    card = hook.acknowledged[0].json
    content = card["card"]["elements"][0]["content"]
    assert card["msg_type"] == "interactive" and escape(files[None].name, "markdown") in content
    assert "No [recipients] for" in sent.summary()  # the members nobody is configured for are named

    with Reader.open(config.store_dir) as reader:
        logged = [e for e in audit.entries(reader) if e.action == "deliver"]
    assert len(logged) == 6
    team_entry = next(e for e in logged if e.subject == f"{files[None].name} -> mail:finance@example.com")
    assert team_entry.fingerprint == hashlib.sha256(files[None].read_bytes()).hexdigest()
    assert team_entry.user and json.loads(team_entry.details)["statement"] == result.issues[0].number

    # again: nothing is sent; --resend sends every packet again (and logs it)
    again = deliver_packets(config, result, how=FAST)
    assert again.sent == () and len(again.skipped) == 6 and len(mailbox.messages) == 5
    run = CliRunner().invoke(
        cli, ["--config", str(path), "month-end", "--period", "2026-04", "--out", str(tmp_path / "me"),
                      "--deliver", "--resend"], env=env)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "6 packet message(s) delivered" in run.output and len(mailbox.messages) == 10


def test_a_refused_delivery_is_not_marked_and_goes_next_time(delivered) -> None:
    config, path, env, result, mailbox, hook = delivered
    mailbox.refuse = True
    hook.status = 500
    first = deliver_packets(config, result, how=FAST)
    assert first.sent == () and len(first.failed) == 6
    assert all("(2 attempts)" in line and "\n" not in line for line in first.failed)
    assert any("chat: HTTP 500" in line for line in first.failed)
    assert "fs-secret" not in first.summary() and "abc" not in first.summary()
    with Reader.open(config.store_dir) as reader:
        assert not [e for e in audit.entries(reader) if e.action == "deliver"]
    mailbox.refuse = False
    hook.status = 200
    second = deliver_packets(config, result, how=FAST)
    assert len(second.sent) == 6 and not second.failed and len(mailbox.messages) == 5
