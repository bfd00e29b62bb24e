"""``reportgen verify``: check a packet on any machine, a verifier that stands alone.

The package reads the zip (:mod:`.reading`: limits, safe entries, the manifest's shape),
checks the signature (:mod:`.signature`), every file's SHA-256 and the figures
(:mod:`.figures`: the rows give the manifest's fingerprint and totals, the detail and the
workbook agree), and names what a packet is made of (:mod:`.format`).  It imports neither
the packet writer nor the views nor the store: only when asked to compare a packet with a
store does :func:`verify_packet` load :mod:`.against_store`, the one module that reads it.
"""

from __future__ import annotations

from .check import ok_lines, untrusted_lines, verify_packet
from .format import INVOICE, MANIFEST, PACKET_FORMAT, PACKET_VERSION, ROWS, SIGNATURE
from .reading import Limits, Verification
from .signature import key_fingerprint, short
from .trust import load_trusted, reader_trust, trust, trust_path, untrust

__all__ = [
    "INVOICE",
    "MANIFEST",
    "PACKET_FORMAT",
    "PACKET_VERSION",
    "ROWS",
    "SIGNATURE",
    "Limits",
    "Verification",
    "key_fingerprint",
    "load_trusted",
    "ok_lines",
    "reader_trust",
    "short",
    "trust",
    "trust_path",
    "untrust",
    "untrusted_lines",
    "verify_packet",
]
