"""How much of a packet's workbook verify lets openpyxl read: bounds on the parts it loads whole.

openpyxl's read-only mode streams a worksheet's rows, but reads the workbook, its
relationships, the styles and the shared strings whole, and verify reads only the first
sheet (the Summary).  Each of those parts is held to a size a genuine workbook stays far
below, before openpyxl sees the file, so a workbook whose XML inflates to gigabytes costs
seconds and megabytes, not the machine.
"""

from __future__ import annotations

import posixpath
import zipfile
from xml.etree import ElementTree

#: Parts openpyxl reads whole, and the most each may hold uncompressed.
WHOLE_PARTS = {
    "[Content_Types].xml": 1 << 20,
    "xl/workbook.xml": 1 << 20,
    "xl/_rels/workbook.xml.rels": 1 << 20,
    "xl/styles.xml": 16 << 20,
    "xl/theme/theme1.xml": 4 << 20,
    "xl/sharedStrings.xml": 256 << 20,
}
#: The first sheet (the Summary: a line per member and model) is read up to its totals line.
FIRST_SHEET = 64 << 20

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def oversized(inner: zipfile.ZipFile) -> str | None:
    """Why the workbook is too large to open (None: within bounds)."""
    infos = {i.filename: i for i in inner.infolist()}
    for name, cap in WHOLE_PARTS.items():
        info = infos.get(name)
        if info is not None and info.file_size > cap:
            return (
                f"its {name} is {info.file_size:,} bytes uncompressed, over {cap:,}: not a reportgen workbook"
            )
    first = first_sheet(inner, infos)
    if first is not None and first.file_size > FIRST_SHEET:
        return (
            f"its first sheet ({first.filename}) is {first.file_size:,} bytes uncompressed, over "
            f"{FIRST_SHEET:,}: not a reportgen Summary"
        )
    return None


def first_sheet(inner: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> zipfile.ZipInfo | None:
    """The part of the workbook's first sheet, as its workbook.xml and relationships name it."""
    if "xl/workbook.xml" not in infos or "xl/_rels/workbook.xml.rels" not in infos:
        return None
    try:
        sheet = ElementTree.fromstring(inner.read("xl/workbook.xml")).find(f"{_MAIN}sheets/{_MAIN}sheet")
        rels = ElementTree.fromstring(inner.read("xl/_rels/workbook.xml.rels"))
    except ElementTree.ParseError:
        return None  # openpyxl refuses it too, in one line
    rid = None if sheet is None else sheet.get(f"{_REL}id")
    for rel in rels.iter(f"{_PKG}Relationship"):
        if rel.get("Id") == rid:
            target = rel.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return infos.get(path)
    return None


__all__ = ["FIRST_SHEET", "WHOLE_PARTS", "first_sheet", "oversized"]
