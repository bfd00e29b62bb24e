"""One packet being checked, and each of its files as a document's ``check`` sees it.

:class:`PacketMember` is the :class:`~reportgen.hookspecs.PacketFile` reportgen hands a
registered document's ``check``; the checks of the built-in documents are in
:mod:`.roles`.  The rows are checked once, when the first check asks for them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...hookspecs import PacketFile
from .figures import Derived, check_rows_file
from .format import ROWS
from .reading import Limits, Verification, stream


@dataclass
class Packet:
    """The zip, its shape-checked manifest, and which files' SHA-256 matched."""

    zf: zipfile.ZipFile
    infos: dict[str, zipfile.ZipInfo]
    manifest: dict[str, Any]
    limits: Limits
    result: Verification
    good: set[str]
    _rows: tuple[Derived | None] | None = field(default=None, repr=False)

    @property
    def rows_intact(self) -> bool:
        """``rows.jsonl`` is in the packet and its SHA-256 matched."""
        return ROWS in self.good

    def rows(self) -> Derived | None:
        """What ``rows.jsonl`` gives (checked once); None when it is absent or disagrees."""
        if self._rows is None:
            derived = None
            if self.rows_intact:
                derived = check_rows_file(self.zf, self.infos[ROWS], self.manifest, self.limits, self.result)
            self._rows = (derived,)
        return self._rows[0]

    def member(self, name: str) -> PacketMember:
        return PacketMember(self, self.infos[name])


class PacketMember:
    """One file of the packet whose SHA-256 matched, as a document's check sees it."""

    def __init__(self, packet: Packet, info: zipfile.ZipInfo) -> None:
        self.packet = packet
        self.info = info

    @classmethod
    def of(cls, file: PacketFile) -> PacketMember:
        """The member behind ``file`` (the built-in checks read more than the protocol shows)."""
        if not isinstance(file, cls):
            raise TypeError(f"{file!r} is not a file of a packet being verified")
        return file

    @property
    def name(self) -> str:
        return self.info.filename

    @property
    def manifest(self) -> Mapping[str, Any]:
        return self.packet.manifest

    def chunks(self) -> Iterator[bytes]:
        return stream(self.packet.zf, self.info)

    def passed(self, line: str) -> None:
        self.packet.result.checked.append(f"{self.name}: {line}")

    def differ(self, message: str) -> None:
        self.packet.result.differ(self.name, message)

    def note(self, line: str) -> None:
        self.packet.result.notes.append(f"{self.name}: {line}")


__all__ = ["Packet", "PacketMember"]
