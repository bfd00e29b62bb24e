"""The hooks reportgen plugins implement, and the typed objects they register.

Every hook here is documented in the README with its exact signature; a test fails when
one is not.  Built-in exporters register through these same hooks (see ``plugins.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

import pluggy

from .errors import UsageError

if TYPE_CHECKING:
    from .core.report import Report
    from .templating import Template

hookspec = pluggy.HookspecMarker("reportgen")
hookimpl = pluggy.HookimplMarker("reportgen")


@dataclass(frozen=True)
class ExportContext:
    """What an exporter needs besides the report: wording, letterhead and options.

    ``lang`` is ``"zh"`` or ``"en"``; ``template`` carries the letterhead, labels and
    which sections appear; ``options`` holds exporter-specific switches given on the
    command line as ``--option name=value`` (e.g. ``bom=false`` for CSV).
    ``attachments`` is how many documents go with this one when it is the statement of a
    packet (a claim form prints it as 附件 N 张), else None.
    """

    lang: str
    template: Template
    options: Mapping[str, str] = field(default_factory=dict)
    attachments: int | None = None

    def label(self, key: str) -> str:
        """The template's wording for ``key`` in this context's language."""
        return self.template.label(key, self.lang)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)

    def flag(self, name: str, default: bool) -> bool:
        """A yes/no option: true/false, yes/no, on/off or 1/0; anything else is a usage error."""
        value = self.options.get(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise UsageError(f"--option {name}={value}: use {name}=true or {name}=false")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


WriteFunction = Callable[["Report", IO[bytes], ExportContext], None]


@dataclass(frozen=True)
class Exporter:
    """A document format.

    ``write(report, fp, ctx)`` renders ``report`` into the binary stream ``fp``; it must
    not aggregate (the report is final) and should stream ``report.rows()``.  The output
    file is named ``<stem><suffix>.<extension>``.  ``plugin`` and ``version`` are filled
    in by reportgen from the distribution that registered the exporter.  ``options``
    declares the ``--option`` names it reads, so a misspelt one is refused.
    """

    name: str
    extension: str
    description: str
    write: WriteFunction
    suffix: str = ""
    media_type: str = "application/octet-stream"
    plugin: str = ""
    version: str = ""
    #: The ``--option`` names this exporter reads; ``None`` (the default, for exporters
    #: written before options were declared) accepts any.
    options: tuple[str, ...] | None = None
    #: Whether the document shows ``report.provenance.fingerprint`` (the content hash of
    #: every row of the period).  When no exporter of a run does, the report is built
    #: without hashing the rows and the field is empty.
    prints_fingerprint: bool = True


RegisterExporter = Callable[[Exporter], None]


@hookspec
def register_exporters(register: RegisterExporter) -> None:
    """Register document formats by calling ``register(Exporter(...))`` once per format.

    Called once when plugins are loaded.  Names must be unique across all plugins; two
    exporters with the same name are an error that names both plugins.
    """


@hookspec
def report_prepared(report: Report, context: ExportContext) -> None:
    """Called once after a report is aggregated and before any exporter writes it.

    Use it to log, audit or validate; raise a ``reportgen.errors.ReportgenError`` to stop
    the export with a message.  The return value is ignored.
    """


__all__ = [
    "ExportContext",
    "Exporter",
    "RegisterExporter",
    "WriteFunction",
    "hookimpl",
    "hookspec",
    "register_exporters",
    "report_prepared",
]
