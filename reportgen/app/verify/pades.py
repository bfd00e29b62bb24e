"""The PAdES signatures inside a packet's PDFs, validated with pyHanko (the ``pades`` extra).

The packet's manifest (signed with Ed25519, checked first) names the certificate that signed
its PDFs (``pdf_signature``); a PDF's signature is trusted when it was made with that
certificate, or with one the reader trusts (``reportgen keys trust FILE.crt`` or its
fingerprint).  Every PDF that carries a signature is validated whatever the manifest says:
a signature that no longer covers the file, does not match its bytes, or was made with
another certificate is a difference naming the document.  Without pyHanko installed the
PDFs' signatures are left unchecked, with a note saying so (their SHA-256 still is checked).
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from .members import Packet
from .reading import stream
from .signature import one_line, short

_INSTALL = "pip install 'llm-gateway-reportgen[pades]'"


@dataclass(frozen=True)
class Declared:
    """What the manifest says of its PDF signatures."""

    certificate: str
    signer: str
    standard: str
    files: tuple[str, ...]


def declared(raw_manifest: bytes) -> Declared | None:
    """The manifest's ``pdf_signature`` (None: the packet's PDFs were not signed as PAdES)."""
    try:
        data = json.loads(raw_manifest.decode("utf-8")).get("pdf_signature")
        if data is None:
            return None
        files = tuple(str(f) for f in data["files"])
        return Declared(str(data["certificate_sha256"]), str(data["signer"]), str(data["standard"]), files)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # the manifest's own shape was checked before; an odd pdf_signature is checked below


def check_pdf_signatures(packet: Packet, raw_manifest: bytes, trusted: Mapping[str, str]) -> None:
    """Validate each PDF's PAdES signature; a declared signature that is missing or broken is a difference."""
    result = packet.result
    said = declared(raw_manifest)
    if said is None and b'"pdf_signature"' in raw_manifest and b'"pdf_signature": null' not in raw_manifest:
        result.differ(
            "manifest.json", "pdf_signature is not what reportgen writes (certificate_sha256, signer, files)"
        )
    pdfs = [
        e["name"]
        for e in packet.manifest["files"]
        if e["name"].lower().endswith(".pdf") and e["name"] in packet.good
    ]
    for name in pdfs:
        data = b"".join(stream(packet.zf, packet.infos[name]))
        expected = said is not None and name in said.files
        if b"/ByteRange" not in data:
            if expected:
                result.differ(name, "the manifest says it is signed as PAdES, but it carries no signature")
            continue
        if not _pyhanko():
            result.notes.append(f"{name}: its PAdES signature was not checked: {_INSTALL} to check it")
            continue
        _validate(packet, name, data, said, trusted)


def _validate(
    packet: Packet, name: str, data: bytes, said: Declared | None, trusted: Mapping[str, str]
) -> None:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    result = packet.result
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError) as exc:
        result.differ(name, f"its PAdES signature cannot be read ({one_line(str(exc), 120)})")
        return
    if len(signatures) != 1:
        result.differ(name, f"{len(signatures)} signatures where reportgen makes one")
        return
    signature = signatures[0]
    certificate = signature.signer_cert
    fingerprint = certificate.sha256.hex()
    is_declared = said is not None and fingerprint == said.certificate
    trusted_as = trusted.get(fingerprint) or (
        "the certificate the packet's manifest names" if is_declared else None
    )
    if said is not None and not is_declared and trusted_as is None:
        result.differ(
            name,
            f"its PAdES signature was made with certificate {short(fingerprint)}, not the "
            f"{short(said.certificate)} the manifest names: the PDF was re-signed",
        )
        return
    roots = [certificate] if trusted_as is not None else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyHanko warns of weak algorithms it then reports in the status
        status = validate_pdf_signature(
            signature,
            ValidationContext(trust_roots=roots, allow_fetching=False),
            ts_validation_context=ValidationContext(trust_roots=[], allow_fetching=False),
        )
    if not (status.intact and status.valid):
        result.differ(name, "its PAdES signature does not match its bytes: the PDF was changed after signing")
        return
    if status.coverage is None or status.coverage.name != "ENTIRE_FILE":  # reportgen signs last
        result.differ(
            name, "its PAdES signature does not cover the whole file: content was added after signing"
        )
        return
    owner = one_line(
        certificate.subject.native.get("common_name", "") or certificate.subject.human_friendly, 80
    )
    when = status.signer_reported_dt
    stamp = status.timestamp_validity
    level = "B-T" if stamp is not None else "B-B"
    line = f"PAdES {level} signature by {owner!r} (certificate {short(fingerprint)}) is intact"
    if when is not None:
        line += f", signed {when:%Y-%m-%d %H:%M:%S %Z}".rstrip()
    if stamp is not None:
        tsa = "" if stamp.intact and stamp.valid else " (its signature does NOT match)"
        line += f", time-stamped {stamp.timestamp:%Y-%m-%d %H:%M:%S} UTC by a TSA{tsa}"
        if not (stamp.intact and stamp.valid):
            result.differ(name, "the time stamp on its PAdES signature does not match the signature")
            return
    if trusted_as is None:
        result.notes.append(f"{name}: {line}, but by a certificate you do not trust")
        return
    if not status.trusted:
        result.differ(
            name, f"its PAdES certificate {short(fingerprint)} does not validate ({status.summary()})"
        )
        return
    result.checked.append(f"{name}: {line}; trusted as {trusted_as}")
    result.pdf_signatures.append(f"{name}: PAdES {level}, {owner} ({short(fingerprint)})")


def _pyhanko() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "DSA is deprecated", UserWarning)
            import pyhanko.sign.validation  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["Declared", "check_pdf_signatures", "declared"]
