"""A closed fixture month's documents, held byte for byte against a checked-in digest list.

Redesigns must not change what finance already filed: the report documents (every built-in
format) and the signed packets of a closed April are hashed and compared with
``tests/data/golden-month.json``.  When a change of a document is intended, regenerate the
list on purpose with ``REPORTGEN_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_month.py``
and say why in the commit.

Zip documents (XLSX, packets) are also hashed entry by entry, so a failure names the part
that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from reportgen.app import closing as closing_module
from reportgen.app import signing as signing_module
from reportgen.app import sync as sync_module
from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet, write_report
from reportgen.app.sync import run_sync
from reportgen.config import GatewayConfig
from reportgen.core.periods import parse_period
from reportgen.gateway import GatewayClient
from reportgen.plugins import select_exporters
from tests.conftest import make_config

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden-month.json"
#: 2026-05-03 09:00:00 UTC: when the fixture month was closed and its packets issued.
CLOSED_AT = 1777798800.0


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digests(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        out[name] = _digest(data)
        if data[:2] == b"PK":
            with zipfile.ZipFile(path) as zf:
                for entry in sorted(zf.namelist()):
                    out[f"{name}!{entry}"] = _digest(zf.read(entry))
    return out


def test_closed_month_documents_are_byte_identical(tmp_path, team, gateway, monkeypatch):
    # packets print the audit log's head, which hashes who synced and closed: the same person everywhere
    for module in (sync_module, closing_module, signing_module):
        monkeypatch.setattr(module, "who", lambda: ("golden", "golden-host"))
    key = tmp_path / "signing-key.pem"
    shutil.copyfile(DATA / "golden-signing-key.pem", key)  # git keeps no file modes: 0600 here
    key.chmod(0o600)
    # the documents name the gateway: a fixed address, reached at the fake gateway's real port
    config = make_config(tmp_path, "http://gateway.example", team)
    period = parse_period("2026-04", config.tz)

    def client(gw: GatewayConfig, on_request: Callable[[str], None] | None = None) -> GatewayClient:
        return GatewayClient(
            replace(gw, base_url=gateway.url),
            sleep=lambda s: None,
            on_request=on_request,
            wall_clock=lambda: CLOSED_AT - 3600,
        )

    run_sync(config, period, client_factory=client, now=lambda: CLOSED_AT - 3600)
    close_period(config, period, now=lambda: CLOSED_AT)

    out = tmp_path / "out"
    write_report(config, period, select_exporters("csv,xlsx,pdf,focus"), out / "report")
    write_report(config, period, select_exporters("csv,xlsx,pdf"), out / "member", member="张三")
    write_packet(config, period, out / "packet-team", lang="zh", now=lambda: CLOSED_AT + 60)
    write_packet(
        config, period, out / "packet-member", member="Alice Smith", lang="en", now=lambda: CLOSED_AT + 120
    )
    found = _digests(out)

    if os.environ.get("REPORTGEN_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(
            json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    held = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(name for name in held.keys() | found.keys() if held.get(name) != found.get(name))
    assert not changed, f"documents of a closed month changed: {changed}"
