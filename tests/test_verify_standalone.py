"""The verifier stands alone: importing it loads no store, no views and no packet writer."""

from __future__ import annotations

import subprocess
import sys

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
