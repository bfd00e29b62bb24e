"""PDF/A-3b: a statement that carries its own evidence (the detail CSV, the methodology) and is archivable.

reportlab writes the PDF; this adds, as an incremental update through pyHanko (the
``pades`` extra), what PDF/A-3b asks of it: an sRGB output intent (the ICC profile ships
with reportgen, :mod:`reportgen.fonts`), the files as associated files (``/AF`` with an
``/AFRelationship``, each in the ``/EmbeddedFiles`` name tree with its MIME type, size and
date), and XMP metadata with the PDF/A identification (``pdfaid:part`` 3,
``pdfaid:conformance`` B).  The identification lives in the XMP stream pyHanko parses and
rewrites when it signs (it merges the fields it finds and keeps them), and the document
information dictionary keeps only the producer, spelled as pyHanko will spell it in the XMP
after signing, so the two never disagree (see :func:`pdfa_part`, checked after signing).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model
from pyhanko.pdf_utils.reader import PdfFileReader

PDFAID = "http://www.aiim.org/pdfa/ns/id/"
_SRGB = "sRGB IEC61966-2.1"


@dataclass(frozen=True)
class Attachment:
    """A file a PDF carries as an associated file: its name, bytes, MIME type, what it is and how it relates
    (``Data``: the figures' source; ``Supplement``: explains them; ``Source``: what the PDF was made from)."""

    name: str
    data: bytes
    media_type: str
    description: str
    relationship: str = "Data"


def srgb_profile() -> bytes:
    """The sRGB ICC profile the output intent names (LittleCMS's sRGB, as shipped in reportgen.fonts)."""
    return files("reportgen.fonts").joinpath("sRGB.icc").read_bytes()


def to_pdfa3(
    pdf: bytes, attachments: Sequence[Attachment], *, title: str, language: str, moment: datetime
) -> bytes:
    """``pdf`` as PDF/A-3b with ``attachments`` embedded as associated files (an incremental update);
    ``language`` is the BCP 47 tag the document declares."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    root = writer.root
    _output_intent(writer, root)
    _associated_files(writer, root, attachments, moment)
    root["/Lang"] = pdf_string(language)
    root["/MarkInfo"] = generic.DictionaryObject({pdf_name("/Marked"): generic.BooleanObject(False)})
    _keep_only_producer(writer)
    _no_unembedded_fonts(writer)
    meta = writer.document_meta
    meta.title = title
    meta.created = moment
    meta.last_modified = moment
    meta.xmp_extra = [
        model.XmpStructure.of(
            (model.ExpandedName(PDFAID, "part"), model.XmpValue("3")),
            (model.ExpandedName(PDFAID, "conformance"), model.XmpValue("B")),
        )
    ]
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfa_part(pdf: bytes) -> tuple[str | None, str | None]:
    """The PDF/A part and conformance the document's XMP states, e.g. ``("3", "B")``; (None, None)
    when there is no XMP or it does not say."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    try:
        stream = reader.root["/Metadata"]
    except KeyError:
        return None, None
    text = stream.data.decode("utf-8", "replace")
    return _xmp_value(text, "part"), _xmp_value(text, "conformance")


def embedded_files(pdf: bytes) -> dict[str, tuple[bytes, str]]:
    """The associated files of the document catalog: name -> (bytes, AFRelationship)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out: dict[str, tuple[bytes, str]] = {}
    specs = reader.root.get("/AF")
    for ref in () if specs is None else specs.get_object():
        spec = ref.get_object()
        name = str(spec.get("/UF", spec.get("/F")))
        stream = spec["/EF"]["/F"].get_object()
        out[name] = (stream.data, str(spec.get("/AFRelationship", "")).lstrip("/"))
    return out


def _xmp_value(text: str, field: str) -> str | None:
    """``pdfaid:<field>`` whether written as an attribute or an element (pyHanko writes either)."""
    import re

    for pattern in (rf'pdfaid:{field}="([^"]*)"', rf"<pdfaid:{field}>([^<]*)</pdfaid:{field}>"):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip()
    return None


def _output_intent(writer: IncrementalPdfFileWriter, root: generic.DictionaryObject) -> None:
    icc = generic.StreamObject({pdf_name("/N"): generic.NumberObject(3)}, stream_data=srgb_profile())
    icc.compress()
    intent = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/OutputIntent"),
            pdf_name("/S"): pdf_name("/GTS_PDFA1"),
            pdf_name("/OutputConditionIdentifier"): pdf_string(_SRGB),
            pdf_name("/Info"): pdf_string(_SRGB),
            pdf_name("/RegistryName"): pdf_string("http://www.color.org"),
            pdf_name("/DestOutputProfile"): writer.add_object(icc),
        }
    )
    root["/OutputIntents"] = generic.ArrayObject([writer.add_object(intent)])


def _associated_files(
    writer: IncrementalPdfFileWriter,
    root: generic.DictionaryObject,
    attachments: Sequence[Attachment],
    moment: datetime,
) -> None:
    names = generic.ArrayObject()
    af = generic.ArrayObject()
    for a in sorted(attachments, key=lambda a: a.name):  # the name tree is sorted by name
        stream = generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/EmbeddedFile"),
                pdf_name("/Subtype"): pdf_name("/" + a.media_type),
                pdf_name("/Params"): generic.DictionaryObject(
                    {
                        pdf_name("/Size"): generic.NumberObject(len(a.data)),
                        pdf_name("/ModDate"): generic.pdf_date(moment),
                        pdf_name("/CheckSum"): generic.ByteStringObject(hashlib.md5(a.data).digest()),
                    }
                ),
            },
            stream_data=a.data,
        )
        stream.compress()
        ref = writer.add_object(stream)
        spec = writer.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Filespec"),
                    pdf_name("/F"): pdf_string(a.name),
                    pdf_name("/UF"): pdf_string(a.name),
                    pdf_name("/EF"): generic.DictionaryObject({pdf_name("/F"): ref, pdf_name("/UF"): ref}),
                    pdf_name("/Desc"): pdf_string(a.description),
                    pdf_name("/AFRelationship"): pdf_name("/" + a.relationship),
                }
            )
        )
        names += [pdf_string(a.name), spec]
        af.append(spec)
    tree = generic.DictionaryObject({pdf_name("/Names"): names})
    root["/Names"] = generic.DictionaryObject({pdf_name("/EmbeddedFiles"): writer.add_object(tree)})
    root["/AF"] = writer.add_object(af)


def _no_unembedded_fonts(writer: IncrementalPdfFileWriter) -> None:
    """reportlab opens every page with ``BT /F1 12 Tf … ET`` in Helvetica, a font it never embeds and
    reportgen never draws a glyph with (its text is in the bundled, embedded font); PDF/A wants every
    font embedded, so such an entry is pointed at an embedded font of the same page."""
    for page_ref in _pages(writer.root["/Pages"]):
        page = page_ref.get_object()
        if "/Resources" not in page or "/Font" not in page["/Resources"]:
            continue
        resources = page["/Resources"]
        raw = resources.raw_get("/Font")
        fonts = raw.get_object()
        embedded = [ref for ref in fonts.values() if _embedded(ref)]
        bare = [key for key, ref in fonts.items() if not _embedded(ref)]
        if not bare or not embedded:
            continue
        for key in bare:
            fonts[key] = embedded[0]
        if isinstance(raw, generic.IndirectObject):
            writer.update_container(fonts)
        elif isinstance(page.raw_get("/Resources"), generic.IndirectObject):
            writer.update_container(resources)
        else:
            writer.update_container(page)


def _pages(node: generic.PdfObject) -> list[generic.IndirectObject]:
    kids = node.get_object()["/Kids"]
    out: list[generic.IndirectObject] = []
    for kid in kids:
        if kid.get_object().get("/Type") == "/Pages":
            out += _pages(kid)
        else:
            out.append(kid)
    return out


def _embedded(ref: generic.PdfObject) -> bool:
    font = ref.get_object()
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    d = descriptor.get_object()
    return any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _keep_only_producer(writer: IncrementalPdfFileWriter) -> None:
    """The information dictionary holds only what the XMP will say too: pyHanko's producer name."""
    try:
        info = writer.trailer["/Info"]
    except KeyError:
        return
    for key in list(info):
        del info[key]
    info["/Producer"] = pdf_string(model.VENDOR)
    writer.update_container(info)


__all__ = ["PDFAID", "Attachment", "embedded_files", "pdfa_part", "srgb_profile", "to_pdfa3"]
