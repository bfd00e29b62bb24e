"""``reportgen serve`` in a real headless Chromium over a real store of the team month: the period
page shows summary --json's figures; from the period page to one request row in three clicks; the
register's download is a packet that verifies; a tampered upload is refused with verify's own
message; hostile key and model names render as inert text; read-only and the token off loopback."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import Config
from reportgen.core.periods import parse_period
from reportgen.errors import UsageError
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import SyntheticTeam
from reportgen.web import binding_token, create_app
from tests import browser
from tests.conftest import TOKEN, fast_client, make_config

#: Key and model names that would run script or break the page if a template did not escape them.
HOSTILE = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</style><b>x</b>",
    '=HYPERLINK("http://x","y")',
    "k" * 200,
)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with browser.start() as d:
        yield d


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, team: SyntheticTeam) -> Iterator[tuple[str, Config, Path]]:
    """The team month (plus rows under hostile names) synced, a signed team packet issued into
    ``reports/``, and the app serving it on a free loopback port."""
    root = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
        base = next(r for r in team.rows if r["type"] == 2 and team.start_ts + 86400 < r["created_at"])
        hostile = [
            {**base, "token_name": n, "model_name": n, "created_at": base["created_at"] + i, "other": dict(base["other"])}
            for i, n in enumerate(HOSTILE, 1)
        ]  # fmt: skip
        rows = sorted([*team.rows, *hostile], key=lambda r: r["created_at"])
        with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
            config = make_config(root, gw.url, team)
            april = parse_period("2026-04", config.tz)
            run_sync(config, april, client_factory=fast_client)
        close_period(config, april)
        reports = root / "reports"
        write_packet(config, april, reports / "2026-04")
        server = make_server("127.0.0.1", 0, create_app(config, documents=reports), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", config, root
        finally:
            server.shutdown()
            thread.join(5)


def _rows(driver: Any, selector: str) -> list[list[str]]:
    script = (
        "return Array.from(document.querySelectorAll(arguments[0])).map("
        "r => Array.from(r.cells).map(c => c.textContent.trim()));"
    )
    rows: list[list[str]] = driver.execute_script(script, selector)
    return rows


def _summary(config: Config) -> dict[str, Any]:
    import json

    result = CliRunner().invoke(
        cli, ["--config", str(config.path), "summary", "--period", "2026-04", "--json"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_period_page_shows_summary_json_figures(
    driver: Any, site: tuple[str, Config, Path], tmp_path: Path
) -> None:
    url, config, _ = site
    summary = _summary(config)
    driver.get(f"{url}/period/2026-04")
    members = {r[0]: r[4] for r in _rows(driver, "#members table tbody tr")}
    printed = dict(
        zip((m["name"] for m in summary["members"]), summary["printed"]["members_usd"]["lines"], strict=True)
    )
    assert members == {name: amount for name, amount in printed.items() if name in members}
    assert _rows(driver, "#members table tfoot tr")[-1][4] == summary["printed"]["members_usd"]["total"]
    days = _rows(driver, "#days table tbody tr")
    assert [d[0] for d in days] == [d["name"] for d in summary["days"]]
    driver.save_screenshot(str(tmp_path / "period.png"))
    driver.get(f"{url}/")
    listed = {r[0]: r for r in _rows(driver, "#periods tbody tr")}
    assert listed["2026-04"][1] == "已结账（第 1 版）" and listed["2026-04"][4] == "完整"


def test_from_the_period_page_to_a_request_row_in_three_clicks(
    driver: Any, site: tuple[str, Config, Path]
) -> None:
    url, _, _ = site
    driver.get(f"{url}/period/2026-04")
    driver.find_element("link text", "张三").click()  # 1: the member
    driver.find_element("css selector", "table tbody tr a").click()  # 2: her first model
    model = driver.find_element("css selector", "h1").text.split(" · ")[1]
    driver.find_element("css selector", "table tbody tr a").click()  # 3: its first day
    rows = _rows(driver, "table.rows tbody tr")
    assert rows, driver.page_source[:2000]
    assert all(r[1] in ("key-zhangsan", "key-zhangsan-batch") for r in rows)
    assert model in driver.find_element("css selector", ".crumbs").text
    assert len(rows) <= 50


def test_the_register_downloads_a_packet_that_verifies_here_and_by_upload(
    driver: Any, site: tuple[str, Config, Path], tmp_path: Path
) -> None:
    url, config, _ = site
    driver.get(f"{url}/register")
    link = driver.find_element("css selector", "#register tbody tr a")
    data = requests.get(link.get_attribute("href"), timeout=30).content
    packet = tmp_path / link.text
    packet.write_bytes(data)
    cli_out = CliRunner().invoke(cli, ["--config", str(config.path), "verify", str(packet)])
    assert cli_out.exit_code == 0 and cli_out.output.startswith("OK"), cli_out.output
    driver.get(f"{url}/verify")
    driver.find_element("id", "packet").send_keys(str(packet))
    driver.find_element("id", "check").click()
    verdict = driver.find_element("id", "verdict")
    assert "ok" in verdict.get_attribute("class").split()
    assert verdict.text.splitlines()[0] == cli_out.output.splitlines()[0]


def test_a_tampered_upload_is_refused_with_verifys_message(
    driver: Any, site: tuple[str, Config, Path], tmp_path: Path
) -> None:
    url, config, root = site
    original = next((root / "reports").rglob("*-packet.zip"))
    tampered = tmp_path / original.name
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".csv") and "focus" not in info.filename:
                data = data.replace(b"key-alice", b"key-alicf", 1)
            dst.writestr(info, data)
    cli_out = CliRunner().invoke(cli, ["--config", str(config.path), "verify", str(tampered)])
    assert cli_out.exit_code == 1
    differs = [line for line in cli_out.output.splitlines() if line.startswith("DIFFERS: ")]
    driver.get(f"{url}/verify")
    driver.find_element("id", "packet").send_keys(str(tampered))
    driver.find_element("id", "check").click()
    verdict = driver.find_element("id", "verdict")
    assert "differs" in verdict.get_attribute("class").split()
    shown = [line for line in verdict.text.splitlines() if line.startswith("DIFFERS: ")]
    assert shown == differs and differs


def test_hostile_names_render_as_text_and_no_script_runs(driver: Any, site: tuple[str, Config, Path]) -> None:
    url, _, _ = site
    driver.get(f"{url}/period/2026-04")
    assert driver.execute_script("return window.__pwned === undefined")
    names = {r[0] for r in _rows(driver, "#members table tbody tr")}
    models = {r[0] for r in _rows(driver, "#models table tbody tr")}
    for name in HOSTILE:
        assert name in names and name in models
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    link = driver.find_element("link text", HOSTILE[0])
    link.click()
    assert driver.find_element("css selector", "h1").text.startswith(HOSTILE[0])
    assert driver.execute_script("return window.__pwned === undefined")
    assert [e for e in browser.console_errors(driver) if "favicon" not in e] == []


def test_read_only_and_a_token_off_loopback(site: tuple[str, Config, Path]) -> None:
    _, config, _ = site
    with pytest.raises(UsageError, match="REPORTGEN_SERVE_TOKEN"):
        binding_token("0.0.0.0", {})
    assert binding_token("127.0.0.1", {}) is None
    token = "t" * 32
    assert binding_token("192.0.2.1", {"REPORTGEN_SERVE_TOKEN": token}) == token
    client = create_app(config, token=token).test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    opened = client.get(f"/?token={token}")
    assert opened.status_code == 302 and "HttpOnly" in opened.headers["Set-Cookie"]
    open_client = create_app(config).test_client()
    for method in ("post", "put", "delete", "patch"):
        assert getattr(open_client, method)("/period/2026-04").status_code == 405
    page = open_client.get("/")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
