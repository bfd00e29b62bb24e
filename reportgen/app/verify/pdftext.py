"""A packet's PDF as the text its pages show, read with bounds: the document people read is checked.

:mod:`pypdf` (pure Python, a dependency for this alone) extracts each page's text; a PDF it
cannot read, one with more pages than :data:`MAX_PAGES` or more text than :data:`MAX_TEXT`
characters is one difference line, never an exception.  pypdf bounds every stream it
inflates itself (75 MB), so a compressed bomb inside the PDF stays bounded too.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator

from .reading import Malformed

#: More pages than a statement of the largest team has (40-row tables, ~1,000 members).
MAX_PAGES = 2000
#: Characters of text over all pages.
MAX_TEXT = 32 << 20


def pdf_pages(name: str, chunks: Iterator[bytes]) -> list[str]:
    """The text of each page of the PDF whose bytes are ``chunks``."""
    import pypdf  # here: verify's import and its other checks do not load the PDF reader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd input are not ours to print
    pages: list[str] = []
    size = 0
    with tempfile.TemporaryFile() as tmp:
        for chunk in chunks:
            tmp.write(chunk)
        tmp.seek(0)
        try:
            reader = pypdf.PdfReader(tmp, strict=False)
            if len(reader.pages) > MAX_PAGES:
                raise Malformed(name, f"{len(reader.pages):,} pages, over the {MAX_PAGES:,}-page limit")
            for page in reader.pages:
                text = page.extract_text() or ""
                size += len(text)
                if size > MAX_TEXT:
                    raise Malformed(name, f"more than {MAX_TEXT:,} characters of text: not a statement")
                pages.append(text)
        except (PyPdfError, ValueError, TypeError, KeyError, IndexError, AttributeError, OSError,
                RecursionError, ZeroDivisionError) as exc:  # fmt: skip
            raise Malformed(
                name, f"cannot be read as a PDF ({type(exc).__name__}: {str(exc)[:100]})"
            ) from None
    return pages


__all__ = ["MAX_PAGES", "MAX_TEXT", "pdf_pages"]
