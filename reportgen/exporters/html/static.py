"""The HTML statement's own stylesheet and script (shipped beside it), and the policy that allows
them by hash: what the statement page and the serve pages share."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib.resources import files

__all__ = ["asset", "csp"]


@lru_cache(maxsize=4)
def asset(name: str) -> str:
    """A stylesheet or script shipped with the exporter."""
    return (files("reportgen.exporters.html") / "assets" / name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(style: str, script: str) -> str:
    """The page's policy: nothing but its own inline style and script, fonts and images as data: URLs."""
    return (
        f"default-src 'none'; style-src {_hash(style)}; script-src {_hash(script)}; "
        "font-src data:; img-src data:; base-uri 'none'; form-action 'none'"
    )
