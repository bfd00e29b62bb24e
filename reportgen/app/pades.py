"""PAdES signatures on the PDFs of a packet (or of ``report --sign``), the kind PDF readers check.

A PDF is first made PDF/A-3b with its evidence embedded (:mod:`.pdfa`), then signed through
pyHanko (the ``pades`` extra) with the X.509 certificate ``keys init --x509`` made: PAdES
B-B, or B-T when ``[signing] tsa_url`` names an RFC 3161 time-stamp authority.  A visible
signature field on the last page says who signed and when, in the document's language and
font (the bundled CJK font, embedded as a subset).  After signing, the PDF/A identification
is read back: pyHanko rewrites the XMP it parses, and a PDF that lost it is an error, not a
silent downgrade.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from ..config import Config
from ..errors import ConfigError, ExportError
from ..hookspecs import ExportContext
from .x509keys import X509Identity, load_x509

if TYPE_CHECKING:  # pyHanko is the optional pades extra: imported where a PDF gets signed
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.font.api import FontEngineFactory
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from .pdfa import Attachment

FIELD_NAME = "reportgen-signature"
#: The signature box: bottom left of the last page, above the footer line.
BOX_WIDTH, BOX_HEIGHT, BOX_MARGIN = 230, 46, 52
EXTRA = "pades"
_INSTALL = "pip install 'llm-gateway-reportgen[pades]'"


@dataclass(frozen=True)
class PdfSigning:
    """How the PDFs get signed: the certificate and key, and the TSA that time-stamps them (B-T)."""

    identity: X509Identity
    tsa_url: str | None = None

    @property
    def level(self) -> str:
        return "B-T" if self.tsa_url else "B-B"


def pdf_signing(config: Config) -> PdfSigning | None:
    """The PAdES signing ``config`` asks for: None when there is no X.509 key (``keys init --x509``)."""
    identity = load_x509(config.signing_x509)
    if identity is None:
        return None
    require_pyhanko()
    return PdfSigning(identity, config.tsa_url)


def require_pyhanko() -> None:
    """Import pyHanko once (a friendly error when the extra is missing), quietly: its import of
    cryptography's DSA classes warns on cryptography 51+, a deprecation that is not ours to act on."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "DSA is deprecated", UserWarning)
            import pyhanko.sign  # noqa: F401
            import pyhanko.sign.validation  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"signing PDFs as PAdES needs pyHanko: {_INSTALL} (or remove the X.509 key to sign only the "
            "packet's manifest)"
        ) from None


def sign_pdf(
    pdf: bytes,
    signing: PdfSigning,
    context: ExportContext,
    *,
    tz: tzinfo = UTC,
    now: datetime | None = None,
) -> bytes:
    """``pdf`` (already PDF/A, see :func:`.pdfa.to_pdfa3`) signed as PAdES with a visible signature field."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
    from pyhanko.stamp import TextStampStyle

    from .pdfa import pdfa_part

    identity = signing.identity
    moment = (now or datetime.now(tz)).astimezone(tz).replace(microsecond=0)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    pages = int(reader.root["/Pages"]["/Count"])
    writer = IncrementalPdfFileWriter.from_reader(reader)
    box = (BOX_MARGIN, BOX_MARGIN, BOX_MARGIN + BOX_WIDTH, BOX_MARGIN + BOX_HEIGHT)
    lines = [
        context.label("pades_signed_by").format(name=identity.owner),
        context.label("pades_signed_at").format(when=f"{moment:%Y-%m-%d %H:%M:%S} ({tz})"),
        context.label("pades_certificate").format(fingerprint=identity.fingerprint[:16]),
    ]
    style = TextStampStyle(
        stamp_text="\n".join(line.replace("%", "%%") for line in lines),
        text_box_style=TextBoxStyle(font=_font_factory("".join(lines)), font_size=7, leading=10),
        border_width=1,
        background=None,
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1_certificate(identity),
        signing_key=_asn1_key(identity),
        cert_registry=_registry(identity),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        name=identity.owner,
        reason=context.label("pades_reason"),
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=None if signing.tsa_url is None else RequestsHTTPTimeStamper(signing.tsa_url, timeout=30),
        stamp_style=style,
        new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=pages - 1, box=box),
    )
    try:
        out = pdf_signer.sign_pdf(writer)
    except (TimestampRequestError, OSError) as exc:
        raise ExportError(
            f"the time-stamp authority {signing.tsa_url} did not answer with a time stamp ({exc}); "
            "the PDF was not signed"
        ) from None
    signed = bytes(out.getbuffer())
    if pdfa_part(signed) != ("3", "B"):
        raise ExportError(
            "signing dropped the PDF/A-3b identification from the XMP metadata (a pyHanko change?)"
        )
    return signed


def finish_pdf(
    pdf: bytes,
    attachments: Sequence[Attachment],
    signing: PdfSigning,
    context: ExportContext,
    *,
    title: str,
    tz: tzinfo = UTC,
    moment: datetime | None = None,
) -> bytes:
    """PDF/A-3b with ``attachments`` (:class:`.pdfa.Attachment`) embedded, then PAdES-signed."""
    from .pdfa import to_pdfa3

    now = (moment or datetime.now(tz)).replace(microsecond=0)
    archived = to_pdfa3(pdf, attachments, title=title, language=context.label("pdf_language"), moment=now)
    return sign_pdf(archived, signing, context, tz=tz, now=now)


@cache
def _font_bytes(chars: str) -> bytes:
    """The bundled CJK font's first face cut to ``chars`` and scaled to 1000 units per em: pyHanko's
    font engine reads one face and writes the glyph widths in font units, which PDF takes as 1/1000 em."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection
    from fontTools.ttLib.scaleUpem import scale_upem

    # fontTools tells the root logger of each table it leaves out of the subset: not the user's concern
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    with files("reportgen.fonts").joinpath("wqy-microhei.ttc").open("rb") as fp:
        font = TTCollection(fp, lazy=True).fonts[0]
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.layout_features = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        scale_upem(font, 1000)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def _font_factory(text: str) -> FontEngineFactory:
    from pyhanko.pdf_utils.font.api import FontEngineFactory
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

    # one cut per signer and wording (the time and fingerprint are ASCII): a packet's PDFs share it
    chars = "".join(sorted(set(text) | {chr(c) for c in range(32, 127)}))
    font = _font_bytes(chars)

    class BundledFont(FontEngineFactory):
        def create_font_engine(self, writer, obj_stream=None):  # type: ignore[no-untyped-def]
            return GlyphAccumulator(writer, io.BytesIO(font), font_size=7, obj_stream=obj_stream)

    return BundledFont()


def _asn1_certificate(identity: X509Identity) -> asn1_x509.Certificate:
    from asn1crypto import x509

    return x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(identity: X509Identity) -> asn1_keys.PrivateKeyInfo:
    from asn1crypto import keys

    der = identity.private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return keys.PrivateKeyInfo.load(der)


def _registry(identity: X509Identity) -> SimpleCertificateStore:
    from asn1crypto import x509
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    chain = [x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in identity.chain]
    return SimpleCertificateStore.from_certs(chain)


__all__ = ["EXTRA", "FIELD_NAME", "PdfSigning", "finish_pdf", "pdf_signing", "require_pyhanko", "sign_pdf"]
