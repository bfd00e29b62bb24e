"""Untrusted text from a gateway made safe to show: no control or bidi-override characters.

Key and model names come from a server reportgen does not control.  Control characters
(C0, DEL, C1) can drive a terminal (ANSI/OSC escapes) or corrupt XML; bidi overrides
(U+202A–U+202E, U+2066–U+2069, and the marks U+200E, U+200F, U+061C) reorder what a reader
sees ("Trojan Source").  Documents and the terminal keep the name, without them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

#: Characters a name (key, model, group, user, request id) keeps from a gateway: no gateway
#: names a key with more; a 10 MB name made a summary of one day take 125 s and print 28 MB.
MAX_NAME = 1024
_CUT = "…[cut: "

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


def cut_name(text: str) -> str:
    """``text`` when at most :data:`MAX_NAME` characters, else its first characters and a marker
    naming its length and a digest of the whole (two long names alike at first stay apart)."""
    if len(text) <= MAX_NAME:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{text[: MAX_NAME - 64]}{_CUT}{len(text):,} characters, {digest}]"


def was_cut(text: object) -> bool:
    """True for a name :func:`cut_name` cut."""
    return type(text) is str and len(text) > MAX_NAME - 64 and _CUT in text[MAX_NAME - 64 :]


def cut_rows(columns: Sequence[Sequence[str | None]]) -> int:
    """How many rows hold a cut name in any of the text ``columns`` (each a column of rows)."""
    marked = [column for column in columns if max(map(len, filter(None, column)), default=0) > MAX_NAME - 64]
    return sum(1 for row in zip(*marked, strict=True) if any(map(was_cut, row))) if marked else 0
