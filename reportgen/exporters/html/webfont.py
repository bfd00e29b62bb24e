"""The CJK glyphs a page uses, embedded as a WOFF font subset (a data: URL), so Chinese renders on
a machine without a CJK font.

The bundled WenQuanYi Micro Hei is 5 MB; a page carries only its own characters (tens of KB).
Subsetting needs fontTools (the ``web`` extra); without it the page names the usual CJK
system fonts and the browser's own fallback is used (documented in the README).
"""

from __future__ import annotations

import base64
import io
import logging
from functools import lru_cache
from importlib.resources import as_file, files

__all__ = ["FALLBACK_FAMILIES", "font_data_url", "font_subset"]

#: The font stack after the embedded subset (or instead of it, without fontTools).
FALLBACK_FAMILIES = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", '
    '"Microsoft YaHei", "Hiragino Sans GB", sans-serif'
)


def font_data_url(text: str) -> str | None:
    """A ``data:font/woff;base64,…`` URL of the font subset covering ``text``'s non-ASCII
    characters; None when the page needs none or fontTools is not installed."""
    wanted = "".join(sorted({ch for ch in text if ord(ch) > 0x7E}))
    if not wanted:
        return None
    data = font_subset(wanted)
    return None if data is None else "data:font/woff;base64," + base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=8)
def font_subset(characters: str) -> bytes | None:
    """The bundled CJK font cut to ``characters``, as WOFF bytes (None without fontTools)."""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset" is not news
    with (
        as_file(files("reportgen.fonts") / "wqy-microhei.ttc") as path,
        TTFont(str(path), fontNumber=0, lazy=True) as font,
    ):
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        options.hinting = False
        options.desubroutinize = True
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=characters)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()
