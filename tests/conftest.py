"""Shared fixtures: a synthetic team month served by the fake gateway, and configs for it."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from reportgen import plugins
from reportgen.app.signing import init_key
from reportgen.app.verify import trust
from reportgen.config import Config, GatewayConfig, load_config
from reportgen.gateway import GatewayClient
from reportgen.store.packed import PACKED_NAME, PLAIN_NAME, inflate, pack
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import SyntheticTeam, team_month

TOKEN = "test-access-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes a signing key in the real user config folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("REPORTGEN_SIGNING_KEY", raising=False)
    monkeypatch.delenv("REPORTGEN_SIGNING_X509", raising=False)


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[str, str], None]]:
    """A clean plugin manager whose entry points are the ones a test declares (name, module source)."""
    declared: list[EntryPoint] = []
    monkeypatch.setattr(plugins, "entry_points", lambda group: [ep for ep in declared if ep.group == group])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("REPORTGEN_PLUGINS_STRICT", raising=False)
    monkeypatch.delenv("REPORTGEN_LOAD_PLUGINS", raising=False)
    plugins.reset_for_tests()

    def declare(name: str, source: str) -> None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        declared.append(EntryPoint(name=name, value=name, group="reportgen"))
        plugins.reset_for_tests()  # a fixture set up before (the fake gateway) may have loaded the rest

    yield declare
    plugins.reset_for_tests()
    for name in [p.stem for p in tmp_path.glob("*.py")]:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def team() -> SyntheticTeam:
    return team_month(2026, 4, tz="Asia/Shanghai")


@pytest.fixture
def gateway(team: SyntheticTeam) -> Iterator[FakeGateway]:
    """The team month served on loopback, without a rate limit."""
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        yield gw


def fast_client(gw: GatewayConfig, on_request: Callable[[str], None] | None = None) -> GatewayClient:
    """The real client with retries and rate limiting that do not sleep."""
    return GatewayClient(gw, sleep=lambda s: None, on_request=on_request)


def write_config(
    directory: Path,
    base_url: str,
    team: SyntheticTeam,
    extra: str = "",
    flavor: str = "auto",
    requests_per_window: int = 100_000,
    window_seconds: int = 180,
) -> Path:
    """A config for the team month, with a signing key beside it; the rate limit defaults
    high so that only the tests about rate limiting wait for it (the client's sleep is a
    no-op in most tests)."""
    lines = [
        "[gateway]",
        f'base_url = "{base_url}"',
        f"user_id = {team.user_id}",
        f'flavor = "{flavor}"',
        f"requests_per_window = {requests_per_window}",
        f"window_seconds = {window_seconds}",
        "",
        "[report]",
        'timezone = "Asia/Shanghai"',
        "",
        "[signing]",
        'key = "signing-key.pem"',
        "",
    ]
    if not (directory / "signing-key.pem").exists():
        init_key(directory / "signing-key.pem", "Test Preparer")
    # the test's reader (its own user config folder) trusts the preparer's key, as a finance
    # office does once it has compared the fingerprint out of band
    if (directory / "signing-key.pub").is_file():
        trust(str(directory / "signing-key.pub"), "Test Preparer")
    for name, keys in team.members.items():
        lines += [f'[members."{name}"]', "keys = [" + ", ".join(f'"{k}"' for k in keys) + "]", ""]
    path = directory / "reportgen.toml"
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def make_config(directory: Path, base_url: str, team: SyntheticTeam, **kw: object) -> Config:
    return load_config(
        write_config(directory, base_url, team, **kw),  # type: ignore[arg-type]
        env={"REPORTGEN_ACCESS_TOKEN": TOKEN},
    )


@contextlib.contextmanager
def closed_rows(snapshot_db: Path) -> Iterator[Path]:
    """The rows of the closed snapshot ``snapshot_db`` as a plain SQLite file to edit, as someone
    with the store would: unpacked from beside it, and packed back after the block."""
    packed, plain = snapshot_db.parent / PACKED_NAME, snapshot_db.parent / PLAIN_NAME
    inflate(packed, None, plain)
    yield plain
    pack(plain, packed)
    plain.unlink()
