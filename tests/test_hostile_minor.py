"""Issue 26, "Messages and hygiene": each minor case turned into one line or the safe default.

Each test does what the issue's user (or attacker) did and asserts the one line, the exit
code and that no traceback was printed.
"""

from __future__ import annotations

import io
import re
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console

from reportgen.app.reconcile import run_reconcile
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.config.safety import dsn_has_password
from reportgen.console import print_reconciliation, print_summary, terminal_text
from reportgen.core.money import money_text, percent_text
from reportgen.core.periods import parse_period
from reportgen.demo import run_demo
from reportgen.errors import ConfigError, SyncLockedError
from reportgen.sources.dsn import redact
from reportgen.store import DB_NAME, Store, evidence, sync_lock
from reportgen.testing.fakegateway import FakeGateway

from .conftest import TOKEN as TEST_TOKEN
from .conftest import fast_client
from .conftest import make_config as make_team_config
from .hostile_server import TOKEN, HostileGateway
from .test_evidence import cli_verify, config, forged, packet  # noqa: F401 - fixtures
from .test_hostile_gateway import DAY1, Factory, make_config, write_config

DAY = ["--from", "2026-04-01", "--to", "2026-04-01"]
ENV = {"REPORTGEN_ACCESS_TOKEN": TOKEN}


def run(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(path), *args], env=env or ENV)
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def error_line(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def synced(tmp_path: Path) -> Any:
    """A store with one synced day from an honest gateway; yields the config file's path."""
    with HostileGateway("good") as gw:
        run_sync(make_config(tmp_path, gw.url), DAY1, client_factory=Factory())
        yield write_config(tmp_path, gw.url)


# ---------------------------------------------------------------------------- output folders, templates, logos
def test_report_into_a_folder_that_takes_no_file_is_one_line(synced: Path) -> None:
    result = run(synced, "report", *DAY, "--format", "csv", "--out", "/proc")
    assert result.exit_code == 6
    assert re.search(r"/proc/reportgen-\S+\.csv: could not write the csv file", error_line(result))


def _template(folder: Path, body: str, bom: bool = False) -> Path:
    path = folder / "letterhead.toml"
    text = textwrap.dedent(body)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_a_template_with_a_byte_order_mark_is_read_as_the_config_is(synced: Path) -> None:
    template = _template(synced.parent, '[template]\nkind = "invoice"\n', bom=True)
    result = run(synced, "report", *DAY, "--format", "csv", "--template", str(template),
                 "--out", str(synced.parent / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"GIF89a not a logo we print" * 10, "not a PNG or JPEG image"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100_000).to_bytes(4, "big") * 2,
            r"100,000 × 100,000 pixels",
        ),
        (None, r"52,428,800 bytes; a logo of at most 4 MiB prints"),
    ],
)
def test_a_logo_that_cannot_print_is_refused_in_one_line(
    synced: Path, content: bytes | None, pattern: str
) -> None:
    logo = synced.parent / "logo.png"
    if content is None:  # 50 MB (sparse) that starts as a JPEG
        with logo.open("wb") as fp:
            fp.write(b"\xff\xd8\xff\xe0")
            fp.truncate(50 * 2**20)
    else:
        logo.write_bytes(content)
    template = _template(synced.parent, '[template]\nkind = "invoice"\n[letterhead]\nlogo = "logo.png"\n')
    result = run(synced, "report", *DAY, "--format", "pdf", "--template", str(template),
                 "--out", str(synced.parent / "out"))  # fmt: skip
    assert result.exit_code == 2
    line = error_line(result)
    assert "letterhead.logo" in line and re.search(pattern, line), line
    assert "object at 0x" not in line and "ImageReader" not in line


def test_a_huge_config_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "reportgen.toml"
    with path.open("wb") as fp:
        fp.write(b"# padding\n")
        fp.truncate(50 * 2**20)
    with pytest.raises(ConfigError, match=r"52,428,800 bytes, more than a config or template holds"):
        load_config(path, env={})


# ---------------------------------------------------------------------------- secrets in settings
@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://reader@db.example/newapi?PASSWORD=hunter2-secret",
        "postgresql://reader@db.example/newapi?sslmode=disable;password=hunter2-secret",
        "postgresql://reader@db.example/newapi?sslmode=require&Pwd=hunter2-secret",
    ],
)
def test_a_password_parameter_however_spelt_is_refused_and_never_echoed(tmp_path: Path, dsn: str) -> None:
    assert dsn_has_password(dsn) and "hunter2" not in redact(dsn)
    path = tmp_path / "reportgen.toml"
    path.write_text(f'[gateway]\nsource = "database"\ndsn = "{dsn}"\nuser_id = 42\n', encoding="utf-8")
    result = run(path, "sync", *DAY)
    assert result.exit_code == 2 and "hunter2" not in result.output
    assert "contains a password" in error_line(result)


def test_a_signing_key_inside_the_store_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9", '\n[signing]\nkey = ".reportgen/signing-key.pem"\n')
    result = run(path, "keys", "init")
    assert result.exit_code == 2 and "lies inside the store" in error_line(result)
    assert not (tmp_path / ".reportgen" / "signing-key.pem").exists()


# ---------------------------------------------------------------------------- plain http
def test_the_plain_http_warning_comes_before_the_sync_whatever_its_end(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://gateway.nonexistent.invalid")  # plain http, remote, fails fast
    result = run(path, "sync", *DAY)
    assert result.exit_code == 3
    lines = result.output.splitlines()
    warned = next(i for i, line in enumerate(lines) if line.startswith("Warning: ") and "plain http" in line)
    assert warned < next(i for i, line in enumerate(lines) if line.startswith("Error: "))


@pytest.mark.parametrize("command", [["reconcile", *DAY], ["month-end", "--period", "2026-04"]])
def test_strict_sends_no_token_over_plain_http(tmp_path: Path, command: list[str]) -> None:
    with HostileGateway("good") as gw:
        remote = gw.url.replace("127.0.0.1", "gateway.nonexistent.invalid")  # never reached
        path = write_config(tmp_path, remote)
        result = run(path, *command, "--strict")
    assert result.exit_code == 2 and "--strict:" in error_line(result) and "plain http" in error_line(result)
    assert gw.requests == []


# ---------------------------------------------------------------------------- the store's lock and audit log
def test_a_sync_blocked_by_a_packet_names_the_packet(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        config = make_config(tmp_path, gw.url)
        with (
            sync_lock(config.store_dir, "packet 2026-04"),
            pytest.raises(
                SyncLockedError, match=r"another reportgen command \(reportgen packet 2026-04 \(pid \d+\)\)"
            ),
        ):
            run_sync(config, DAY1, client_factory=Factory())


def test_an_audit_log_rewritten_under_its_old_head_is_said_to_be_rewritten(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        for n in (1, 2):
            evidence.append(store, 1_000 + n, ("alice", "host"), "sync", f"day {n}")
        head = store.get_meta("audit_head")
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log")
    with Store.open(tmp_path) as store:
        for n in (1, 2):
            evidence.append(store, 1_000 + n, ("mallory", "host"), "sync", f"day {n}")
        assert head is not None
        store.set_meta("audit_head", head)  # the head left as it was
        problems = evidence.check_chain(store)
    assert problems == [
        "entry 2, the last, is not the one the log recorded as its head: the log was rewritten "
        "(its entries replaced and chained anew)"
    ]


# ---------------------------------------------------------------------------- verify shows a packet's text safely
HOSTILE_TEXT = "Evil\x1b]52;c;cm0gLXJmIH4=\x07 Corp\u202egpj.exe\x9b31m"


@pytest.mark.parametrize("what", ["signer", "scope"])
def test_verify_prints_no_escape_or_bidi_character_from_a_packet(
    request: pytest.FixtureRequest, tmp_path: Path, what: str
) -> None:
    """An OSC 52 clipboard write and a bidi override in the signer's self-given name or the member
    scope reached the terminal raw."""

    def edit(manifest: dict[str, Any]) -> None:
        if what == "scope":
            manifest["request"]["filters"] = {"member": HOSTILE_TEXT}

    key = Ed25519PrivateKey.generate() if what == "signer" else None
    bad = forged(
        request.getfixturevalue("packet"),
        tmp_path / "f.zip",
        edit,
        key=key,
        signer=HOSTILE_TEXT,
        unsigned=what == "scope",
    )
    result = cli_verify(bad, "--allow-unsigned")
    assert result.exit_code in (0, 1, 11) and "Traceback" not in result.output
    assert not re.search(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", result.output
    )
    assert "Evil" in result.output


# ---------------------------------------------------------------------------- a gateway that moved
def test_a_gateway_that_moved_is_rebound_once_and_audited(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        run_sync(make_config(tmp_path, gw.url), DAY1, client_factory=Factory())
        moved = write_config(tmp_path, gw.url.replace("127.0.0.1", "localhost"))  # the same account, moved
        refused = run(moved, "sync", *DAY)
        assert refused.exit_code == 4 and "run `reportgen sync --rebind` once" in error_line(refused)
        rebound = run(moved, "sync", *DAY, "--rebind")
        assert rebound.exit_code == 0, rebound.output
        assert "Warning: source default is now bound to http://localhost:" in rebound.output
        again = run(moved, "sync", *DAY)
        assert again.exit_code == 0, again.output
        log = run(moved, "log", "--verify")
    assert re.search(r"rebind\s+source default: http://127\.0\.0\.1:\d+ user 42 -> http://localhost:\d+ user 42",
                     log.output), log.output  # fmt: skip
    assert log.exit_code == 0


# ---------------------------------------------------------------------------- tables at 80 columns
def _printed(show: Any, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)
    show(console)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("width", [80, 200])
def test_the_demos_projects_and_reconcile_never_cut_money_or_names(
    tmp_path: Path, team: Any, width: int
) -> None:
    """At 80 columns the demo's Projects table printed ``CNY -129.…`` and ``208.…`` and cut names."""
    demo = run_demo(tmp_path / "demo", lang="en")
    projects = _printed(lambda console: print_summary(demo.report_summary, "member", console), width)
    assert "…" not in projects, projects
    for p in demo.report_summary.projects:  # every figure whole (the demo's platform: CNY -129.… and 208.…)
        assert (
            f"{p.currency} {money_text(p.remaining)}" in projects and percent_text(p.share_used) in projects
        )
    assert "Platform operations  OVER BUDGET" in projects
    with FakeGateway(
        team.rows, team.tokens, access_token=TEST_TOKEN, user_id=team.user_id, rate_limit=None
    ) as gw:
        config = make_team_config(tmp_path / "rec", gw.url, team)
        period = parse_period("2026-04", config.tz)
        run_sync(config, period, client_factory=fast_client)
        result = run_reconcile(config, period, client_factory=fast_client)
    shown = _printed(lambda console: print_reconciliation(result, console), width)
    assert "…" not in shown and f"{result.total.store_net:,}" in shown, shown
    for line in result.keys:
        assert terminal_text(line.key or "") in shown


def test_the_grant_reports_sync_hint_names_the_days_missing_not_the_whole_span(synced: Path) -> None:
    """It suggested `sync --period 2026` (5½ minutes), after which the same refusal came back: the
    hint names the missing days that have passed, and says the rest lies ahead."""
    text = synced.read_text(encoding="utf-8") + textwrap.dedent(
        """
        [projects.grant]
        title = "A grant"
        budget = 100
        budget_currency = "USD"
        start = 2026-04-01
        end = 2099-12-31
        charges = [{ key = "key-a" }]
        """
    )
    synced.write_text(text, encoding="utf-8")
    result = run(synced, "report", "--project", "grant", "--format", "csv", "--out", str(synced.parent / "g"))
    assert result.exit_code == 10
    line = error_line(result)
    assert re.search(
        r"run `reportgen sync --from 2026-04-02 --to \d{4}-\d\d-\d\d` \(the period runs until 2099-12-31: what "
        r"lies ahead cannot be synced yet\), or give --allow-partial",
        line,
    ), line
