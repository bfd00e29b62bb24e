"""The hooks reportgen plugins implement, and the typed objects they register.

Every hook here is documented in the README with its exact signature; a test fails when
one is not.  Built-in exporters, gateway flavours and packet documents register through
these same hooks (see ``plugins.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Protocol

import pluggy

from .core.columns import Column, DetailColumn, Field, StatsColumn, stored
from .core.wallet import Credit, CreditRow
from .errors import PluginError, UsageError

if TYPE_CHECKING:
    from .core.claim import ClaimInfo
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
    ``attachments`` is how many electronic documents go with this one in a packet (a
    claim form prints it as 电子附件 M 份), else None.  ``claim`` is who claims, how it is
    paid and the invoices (发票) attached, for a claim form (None: its lines left blank).
    """

    lang: str
    template: Template
    options: Mapping[str, str] = field(default_factory=dict)
    attachments: int | None = None
    claim: ClaimInfo | None = None

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
    #: Whether the document shows the period's latency percentiles or unit prices.  When no
    #: exporter of a run does (a detail CSV), the report is built without them: their
    #: ``Stats`` latencies are None and ``report.price_groups`` is empty.
    prints_figures: bool = True
    #: Whether it writes a project's grant report (``report --project``); ``--format all`` of a
    #: project leaves out the exporters that do not.
    writes_grant: bool = True


RegisterExporter = Callable[[Exporter], None]


@hookspec
def register_exporters(register: RegisterExporter) -> None:
    """Register document formats by calling ``register(Exporter(...))`` once per format.

    Called once when plugins are loaded.  Names must be unique across all plugins; two
    exporters with the same name are an error that names both plugins.
    """


#: How surely what a gateway answered (``/api/status`` data, a log row) comes from a flavour:
#: 0 is "not this one"; the registry picks the highest.
Score = Callable[[Mapping[str, Any]], int]
#: What a credit row (log types 1, 3, 4) did to the wallet, read from its text given the quota
#: per unit: a :class:`~reportgen.core.wallet.Credit` (its kind: ``topup``, ``redemption``,
#: ``admin``, ``system``, ``subscription``, or ``none`` for a row that moves no wallet quota;
#: the quota added, negative when taken away; how the amount was shown), or the older
#: ``(kind, quota)``; None when the amount cannot be read (the bridge lists the row).
CreditParser = Callable[[CreditRow, Decimal], Credit | tuple[str, int] | None]


@dataclass(frozen=True)
class Paging:
    """How a flavour pages a listing (``/api/log/self``, ``/api/token/``).

    ``first`` is the ``p`` of the first page (1: ``p=0`` is the same page; 0: zero-based);
    a page holds at most ``size`` rows, or always ``size`` when ``fixed`` (the requested
    ``page_size`` is ignored); ``wrapped`` pages are ``{page, page_size, total, items}``,
    the others a bare list.
    """

    first: int = 1
    size: int = 100
    fixed: bool = False
    wrapped: bool = True


@dataclass(frozen=True)
class FlavorDatabase:
    """Where a flavour's own database keeps what the database source reads.

    ``score(columns)`` says how surely a logs table with these (lower-case) column names is
    this flavour's (0: not), ``describe(columns)`` which version they show (shown to the
    user).  Besides the columns every logs table of the family has (``id``, ``user_id``,
    ``created_at``, ``type``, ...), ``log_columns`` are read when present, in this order;
    ``renamed`` maps a column to the API field it arrives as; ``latency_ms`` names a column
    of latency in milliseconds, read as the API's ``use_time`` seconds.  ``exchange_rate``
    is the CNY per USD the gateway assumes while its ``options`` table holds none.
    """

    score: Callable[[AbstractSet[str]], int]
    describe: Callable[[AbstractSet[str]], str]
    logs: str = "logs"
    tokens: str = "tokens"
    users: str = "users"
    options: str = "options"
    top_ups: str = "top_ups"
    redemptions: str = "redemptions"
    log_columns: tuple[str, ...] = (
        "content", "use_time", "is_stream", "channel_id", "token_id", "group", "ip", "other", "request_id",
    )  # fmt: skip
    renamed: tuple[tuple[str, str], ...] = (("channel_id", "channel"),)
    latency_ms: str | None = None
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class Flavor:
    """A gateway flavour: how to tell it, how it pages and limits, how its credit rows read,
    and where its database keeps things (gateway-api.md).

    ``name`` is what ``gateway.flavor`` names and what a sync records.  Detection:
    ``row_score(item)`` rates the first log row of a listing, ``status_score(data)`` the
    ``/api/status`` data; a row's score decides, the status breaks ties, then the order
    of registration.  ``requests_per_window`` per ``window_seconds`` is its rate limit,
    the default of a source that names this flavour.  ``parse_credit(row, quota_per_unit)``
    reads a credit row (types 1, 3, 4) for the wallet bridge.  ``database`` is None when
    the flavour has no database to read (a hosted service).  ``row_ids`` says what the ``id``
    of a ``/api/log/self`` row is, which tells a row the pages repeated from a genuine twin
    (same content): ``"position"`` its place in the listing (new-api: it moves when rows are
    added during a crawl), ``"stable"`` the row's own id, ``"none"`` no id at all (one-api's 0).
    ``topups`` is the path of the caller's own top-up records (new-api's
    ``/api/user/topup/self``; None: the flavour keeps none), read for the payments list.
    ``plugin`` and ``version`` are filled in by reportgen from the distribution that
    registered the flavour.
    """

    name: str
    description: str
    status_score: Score
    row_score: Score
    parse_credit: CreditParser
    paging: Paging = Paging()
    requests_per_window: int = 180
    window_seconds: int = 180
    database: FlavorDatabase | None = None
    row_ids: str = "position"
    topups: str | None = None
    plugin: str = ""
    version: str = ""


RegisterFlavor = Callable[[Flavor], None]


@hookspec
def register_flavors(register: RegisterFlavor) -> None:
    """Register gateway flavours by calling ``register(Flavor(...))`` once per flavour.

    Called once when plugins are loaded.  Names must be unique across all plugins; two
    flavours with the same name are an error that names both plugins.  The built-in
    ``new-api``, ``crazyrouter`` and ``one-api`` register first, through this same hook.
    """


class PacketSource(Protocol):
    """What a packet document's ``write`` is handed: the period's one view, open while the packet is written.

    Every document of a packet comes from this one view, read in one transaction, so the
    documents agree with each other and with ``rows.jsonl`` even while a sync runs.
    """

    @property
    def report(self) -> Report:
        """The final figures; ``report.statement`` carries the packet's statement number."""

    @property
    def row_count(self) -> int:
        """How many rows ``rows.jsonl`` holds."""

    def canonical_rows(self) -> Iterator[tuple[bytes, str]]:
        """Each row's SHA-256 and canonical JSON line, in digest order (what ``rows.jsonl`` holds)."""


class PacketFile(Protocol):
    """What a document's ``check`` is handed by ``reportgen verify``: one file whose SHA-256 matched.

    Nothing in a packet is trusted: read the file through :meth:`chunks` (streamed, never
    past its declared size) and report through :meth:`passed`, :meth:`differ` and
    :meth:`note` rather than raising.
    """

    @property
    def name(self) -> str:
        """The file's name inside the packet."""

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The manifest, its shape checked (``rows``, ``totals``, ``period``, ``files``, ...)."""

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes in chunks."""

    def passed(self, line: str) -> None:
        """Record a check that passed (``verify`` counts and lists them)."""

    def differ(self, message: str) -> None:
        """Record a difference: the packet does not verify."""

    def note(self, line: str) -> None:
        """Record something the reader should know that is not a difference."""


PacketWriter = Callable[[PacketSource, IO[bytes], ExportContext], None]
PacketCheck = Callable[[PacketFile], None]


@dataclass(frozen=True)
class DocumentRole:
    """A document the packets made at close hold, known by its ``role`` in the manifest.

    The document is rendered by the registered exporter named ``exporter`` (exactly as
    ``reportgen report`` renders it, into ``<stem><suffix>.<extension>``), or written by
    ``write(source, fp, ctx)`` into ``filename`` as ``media_type``.  ``attachment``: the
    claim form counts it among its electronic attachments (电子附件 M 份); the claim
    itself and evidence such as ``rows.jsonl`` do not.  ``check(file)`` is what
    ``reportgen verify`` runs on the file once its SHA-256 matched (None: the hash alone);
    ``required``: a packet without it does not verify.  ``pades``: a PDF the packet signs as
    PAdES (PDF/A-3b) when the preparer has an X.509 key (``keys init --x509``); ``associated``:
    the ``AFRelationship`` (``Data``, ``Supplement``, ``Source``) under which those signed PDFs
    carry this document embedded ("" : they do not).  ``plugin`` and ``version`` are filled in
    by reportgen.

    A packet is issued with the roles registered when its statement number was first
    issued; re-issuing the same content later holds the same documents, byte for byte.
    """

    role: str
    description: str
    exporter: str | None = None
    write: PacketWriter | None = None
    filename: str = ""
    media_type: str = "application/octet-stream"
    attachment: bool = True
    check: PacketCheck | None = None
    required: bool = False
    pades: bool = False
    associated: str = ""
    plugin: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        if (self.exporter is None) == (self.write is None):
            raise PluginError(f"packet document {self.role!r}: give either exporter= or write=, not both")
        if self.write is not None and not self.filename:
            raise PluginError(f"packet document {self.role!r}: write= needs filename=")


RegisterDocument = Callable[[DocumentRole], None]


@hookspec
def register_packet_documents(register: RegisterDocument) -> None:
    """Register the documents a packet holds by calling ``register(DocumentRole(...))`` once per role.

    Called once when plugins are loaded; documents go into the packet in registration
    order (the built-ins first).  Roles must be unique across all plugins.
    """


RegisterColumn = Callable[[Column], None]


@hookspec
def register_columns(register: RegisterColumn) -> None:
    """Register table columns by calling ``register(DetailColumn(...))`` or
    ``register(StatsColumn(...))`` once per column (see :mod:`reportgen.core.columns`).

    A :class:`DetailColumn` shows a :class:`Field` of each consumption or refund row (its
    SQL over the store's ``logs`` table and its value from a record; :func:`stored` makes
    one from a stored column) in the CSV detail and the workbook's member sheets; a
    :class:`StatsColumn` shows ``figure(stats, report)`` of each summary line.  Columns
    show in registration order, the built-ins (registered through this hook too) first;
    the header is the template's label for ``label`` (the key when empty, and the label
    key itself where no template has it).  Called once when plugins are loaded; a key
    registered twice in one table is an error naming both plugins.
    """


@hookspec
def report_prepared(report: Report, context: ExportContext) -> None:
    """Called once after a report is aggregated and before any exporter writes it.

    Use it to log, audit or validate; raise a ``reportgen.errors.ReportgenError`` to stop
    the export with a message.  The return value is ignored.
    """


__all__ = [
    "Column",
    "Credit",
    "CreditParser",
    "DetailColumn",
    "DocumentRole",
    "ExportContext",
    "Exporter",
    "Field",
    "Flavor",
    "FlavorDatabase",
    "PacketCheck",
    "PacketFile",
    "PacketSource",
    "PacketWriter",
    "Paging",
    "RegisterColumn",
    "RegisterDocument",
    "RegisterExporter",
    "RegisterFlavor",
    "Score",
    "StatsColumn",
    "WriteFunction",
    "hookimpl",
    "hookspec",
    "register_columns",
    "register_exporters",
    "register_flavors",
    "register_packet_documents",
    "report_prepared",
    "stored",
]
