"""What a packet is made of, by name: the verifier's side of the format the packet writer produces.

The writer (:mod:`reportgen.app.packet`) imports these names from here, never the other
way round, so the verifier stands alone.
"""

from __future__ import annotations

#: The manifest: every file's SHA-256 and size, what was asked, the rows' fingerprint, the totals.
MANIFEST = "manifest.json"
#: The Ed25519 signature over the exact bytes of the manifest (absent when unsigned).
SIGNATURE = "manifest.sig"
#: The exact rows included, one canonical JSON array per line (see core.fingerprint).
ROWS = "rows.jsonl"
#: The role of an original voucher (发票) attached to the claim: checked by its SHA-256 alone.
INVOICE = "invoice"
PACKET_FORMAT = "reportgen-packet"
PACKET_VERSION = 2

__all__ = ["INVOICE", "MANIFEST", "PACKET_FORMAT", "PACKET_VERSION", "ROWS", "SIGNATURE"]
