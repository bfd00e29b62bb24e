"""The CJK font PDFs embed: WenQuanYi Micro Hei, shipped in ``reportgen.fonts``.

``REPORTGEN_CJK_FONT`` (a path to a .ttf or .ttc) replaces it.  reportlab prints a
character the font lacks as an empty box without complaint, so callers pass text
through :func:`printable`, which swaps such characters for ``?``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import as_file, files
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from ..errors import ExportError

FONT_NAME = "ReportgenCJK"
ENV_VAR = "REPORTGEN_CJK_FONT"
SHIPPED = "wqy-microhei.ttc"


def font_path() -> Path:
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ExportError(f"{ENV_VAR}={override}: no such font file")
        return path
    with as_file(files("reportgen.fonts").joinpath(SHIPPED)) as path:
        return Path(path)


@lru_cache(maxsize=4)
def _register(path: str) -> str:
    name = f"{FONT_NAME}-{len(_names)}"
    try:
        font = TTFont(name, path, subfontIndex=0)
    except (TTFError, OSError) as exc:
        raise ExportError(f"font {path} cannot be used for PDF: {exc}") from None
    pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    _names[name] = frozenset(font.face.charToGlyph)
    return name


_names: dict[str, frozenset[int]] = {}


def cjk_font() -> str:
    """Register the CJK font with reportlab (once) and return its name."""
    return _register(str(font_path()))


def missing_glyphs(text: str, font: str) -> set[str]:
    covered = _names[font]
    return {c for c in text if ord(c) not in covered and c not in "\n\r\t"}


def printable(text: str, font: str) -> str:
    """``text`` with characters the font cannot draw replaced by ``?``."""
    covered = _names[font]
    if all(ord(c) in covered for c in text):
        return text
    return "".join(c if ord(c) in covered else "?" for c in text)
