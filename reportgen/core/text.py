"""Untrusted text from a gateway made safe to show: no control or bidi-override characters.

Key and model names come from a server reportgen does not control.  Control characters
(C0, DEL, C1) can drive a terminal (ANSI/OSC escapes) or corrupt XML; bidi overrides
(U+202A–U+202E, U+2066–U+2069, and the marks U+200E, U+200F, U+061C) reorder what a reader
sees ("Trojan Source").  Documents and the terminal keep the name, without them.
"""

from __future__ import annotations

import re

UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ELLIPSIS = "…"


def clean_text(value: object) -> str:
    """``value`` as text without control or bidi-override characters (None becomes "")."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if text.isascii() and text.isprintable():  # the common case needs no regex
        return text
    return UNSAFE_RE.sub("", text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (where a cell cannot grow)."""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + ELLIPSIS
