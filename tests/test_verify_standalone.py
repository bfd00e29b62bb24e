"""The verifier stands alone: importing it, or checking a packet without a store, loads no store,
no views and no packet writer."""

from __future__ import annotations

import subprocess
import sys

from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.core.periods import parse_period
from tests.conftest import fast_client, make_config

#: Module prefixes verify may not load: the store, the views (``read`` once renamed) and the writer.
FORBIDDEN = ("reportgen.store", "reportgen.views", "reportgen.read", "reportgen.app.packet")

PROBE = """
import sys
import reportgen.app.verify
forbidden = {forbidden!r}
loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
print("\\n".join(loaded))
"""


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return out.split()


def test_importing_the_verifier_loads_no_store_views_or_writer():
    assert _loaded_after(PROBE.format(forbidden=FORBIDDEN)) == []


def test_the_probe_would_see_a_forbidden_module():
    """The check above can fail: importing the writer is seen."""
    code = PROBE.format(forbidden=FORBIDDEN).replace(
        "import reportgen.app.verify\n", "import reportgen.app.verify\nimport reportgen.app.packet\n"
    )
    loaded = _loaded_after(code)
    assert "reportgen.app.packet" in loaded and "reportgen.store" in loaded


def test_verifying_a_packet_without_a_store_loads_no_store_views_or_writer(tmp_path, team, gateway):
    """Checking a packet on a machine with no store: the plugins' checks load, the store does not."""
    config = make_config(tmp_path, gateway.url, team)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    path = write_packet(config, april, tmp_path / "out", member="张三")
    code = PROBE.format(forbidden=FORBIDDEN).replace(
        "import reportgen.app.verify\n",
        "from pathlib import Path\n"
        "from reportgen.app.verify import verify_packet\n"
        f"result = verify_packet(Path({str(path)!r}), None)\n"
        "assert result.ok and len(result.checked) > 6, result.differences\n",
    )
    assert _loaded_after(code) == []
