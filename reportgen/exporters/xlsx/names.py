"""Sheet titles Excel accepts: openpyxl takes titles Excel then refuses (see library-facts)."""

from __future__ import annotations

import re

from ...render import clean_text

MAX_TITLE = 31
_BAD_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")
_RESERVED_TITLES = {"history"}  # Excel reserves it


class SheetNames:
    """Valid, case-insensitively unique sheet titles (≤31 chars, no []:*?/\\, no edge ')."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, wanted: str, fallback: str, suffix: str = "") -> str:
        base = _BAD_TITLE_CHARS.sub("_", clean_text(wanted)).strip().strip("'").strip() or fallback
        n = 1
        while True:
            tail = suffix if n == 1 else f"{suffix}~{n}"
            title = base[: MAX_TITLE - len(tail)].rstrip().rstrip("'") + tail
            key = title.casefold()
            if key not in self._used and key not in _RESERVED_TITLES:
                self._used.add(key)
                return title
            n += 1
