"""The columns of reportgen's tables, each declared once: the detail and the stats figures.

A detail column shows one value of each consumption or refund row (CSV detail, the
workbook's member sheets); a stats column shows one figure of a summary line (the CSV
summary, the workbook's summary, by-model and by-day tables).  Columns are registered
through the ``register_columns`` hook, the built-ins below like a plugin's; the store's
SELECT list (:class:`Field`), the CSV writer, the workbook's headers, widths and total
lines, the FOCUS extension columns and verify's readers all derive from the registered
columns, and readers find a column by its header's key (:func:`header_keys`), never by
its position.  Adding a column is one registration and its label in ``labels.toml``.

Pure: the store imports it for the SQL of the fields it selects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any, Protocol, runtime_checkable

from ..errors import PluginError
from .records import LogType, UsageRecord
from .report import Report
from .stats import Stats

# -- where a column shows ----------------------------------------------------------------------

#: The CSV detail (``csv``).
DETAIL_CSV = "csv"
#: A member's sheet of the workbook (``xlsx``).
DETAIL_XLSX = "xlsx"
#: The summary CSV (``csv-summary``): a line per member and model, then the totals.
SUMMARY_CSV = "csv-summary"
#: The workbook's Summary sheet: the totals, one figure a line.
XLSX_TOTALS = "xlsx-totals"
#: The workbook's member and model tables on the Summary sheet, and the By day sheet.
XLSX_LINES = "xlsx-lines"
#: The workbook's By model sheet.
XLSX_BY_MODEL = "xlsx-by-model"

#: How a detail value is shown; each document renders every kind its own way.
DETAIL_KINDS: dict[str, str] = {
    "time": "epoch seconds, shown as the period's local time",
    "member": "an API key, shown as its member's name",
    "text": "gateway text that repeats (names), made safe",
    "id": "gateway text unique to a row (a request id), made safe",
    "type": "a log type, shown as its label (consumption, refund)",
    "int": "a quantity (tokens, quota), with thousands separators in the workbook",
    "code": "a number that is a code (an HTTP status), shown as it is",
    "usd": "signed quota, shown in USD: quota / quota per unit, exact",
    "seconds": "milliseconds, shown in seconds",
}
#: How a stats figure is shown.  ``ms`` and ``share`` do not add up: total lines leave them empty.
STATS_KINDS: dict[str, str] = {
    "count": "an integer that adds up",
    "money": "an exact Decimal amount",
    "cents": "an exact Decimal amount the workbook shows rounded half-up to the cent, as printed",
    "ms": "milliseconds (a latency percentile)",
    "share": "a fraction (a success rate), a percentage in the workbook",
}
#: Stats kinds whose figure of the totals is not the sum of the lines above it.
UNSUMMED = frozenset({"ms", "share"})


@dataclass(frozen=True, slots=True)
class Field:
    """One value of a stored row, as a detail column reads it.

    ``sql`` is its expression over the store's ``logs`` table (``token_name`` is named as
    reports name keys, ``SOURCE:NAME`` off the default source); ``record`` gives the same
    value from a :class:`UsageRecord`, for sources other than the store.  Fields are told
    apart by ``name``: two columns reading one field select it once.
    """

    name: str
    sql: str
    record: Callable[[UsageRecord], object]


def stored(name: str) -> Field:
    """A column of the store's ``logs`` table as it is (:class:`UsageRecord` names it alike)."""
    return Field(name, name, attrgetter(name))


def _signed_quota(record: UsageRecord) -> int:
    return -record.quota if record.type == LogType.REFUND else record.quota


def _usage(name: str) -> Field:
    """A token usage column of the store's ``logs`` table (:class:`~reportgen.core.tokens.TokenUsage`):
    empty where the row does not report it, never 0."""
    get = attrgetter(name)
    return Field(name, name, lambda r: None if r.usage is None else get(r.usage))


#: Quota with refunds negative, so a column of it sums to net spend.
SIGNED_QUOTA = Field("signed_quota", "CASE WHEN type = 6 THEN -quota ELSE quota END", _signed_quota)


@dataclass(frozen=True, kw_only=True, repr=False)
class Column:
    """What every column has: its ``key`` (unique in its table), its ``kind``, the ``label``
    key of its header in ``labels.toml`` (the key itself when empty; a header with no label
    in any template shows the label key), its ``width`` in the workbook and the tables
    (``documents``) that show it."""

    key: str
    kind: str
    label: str = ""
    width: float = 14
    documents: frozenset[str] = frozenset()

    @property
    def label_key(self) -> str:
        return self.label or self.key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    def _check(self, kinds: dict[str, str]) -> None:
        if self.kind not in kinds:
            raise ValueError(f"column {self.key!r}: kind {self.kind!r} is not one of {', '.join(kinds)}")
        object.__setattr__(self, "documents", frozenset(self.documents))


@dataclass(frozen=True, kw_only=True, repr=False)
class DetailColumn(Column):
    """A value of each detail row: ``field`` read from the store (or a record), shown as ``kind``.

    ``total`` names the stats column whose figure a member sheet's total line shows under
    it; ``focus`` names the FOCUS extension column (``x_...``) it fills in the ``focus``
    exporter's rows (grain=row; empty at grain=day).
    """

    field: Field
    documents: frozenset[str] = frozenset({DETAIL_CSV, DETAIL_XLSX})
    total: str | None = None
    focus: str | None = None

    def __post_init__(self) -> None:
        self._check(DETAIL_KINDS)
        if self.total is not None and self.kind not in ("int", "usd"):
            raise ValueError(f"column {self.key!r}: only int and usd columns have a total, not {self.kind}")
        if self.focus is not None and not self.focus.startswith("x_"):
            raise ValueError(
                f"column {self.key!r}: a FOCUS extension column is named x_..., not {self.focus!r}"
            )


#: The tables every built-in figure shows in.
STATS_TABLES = frozenset({SUMMARY_CSV, XLSX_TOTALS, XLSX_LINES, XLSX_BY_MODEL})


@dataclass(frozen=True, kw_only=True, repr=False)
class StatsColumn(Column):
    """A figure of each summary line: ``figure(stats, report)`` (int, Decimal or None), shown as ``kind``."""

    figure: Callable[[Stats, Report], int | Decimal | None]
    documents: frozenset[str] = STATS_TABLES

    def __post_init__(self) -> None:
        self._check(STATS_KINDS)


def _stat(name: str) -> Callable[[Stats, Report], int | Decimal | None]:
    get = attrgetter(name)
    return lambda stats, report: get(stats)


def _cny(stats: Stats, report: Report) -> Decimal | None:
    return report.cny_of(stats)  # each source's part at its own rate when they differ


_CSV_ONLY = frozenset({DETAIL_CSV})
_TOTALS_ONLY = frozenset({XLSX_TOTALS})
_BY_MODEL = frozenset({XLSX_BY_MODEL})

#: The built-in columns, in the order documents show them (registered by :mod:`reportgen.exporters.columns`).
# fmt: off
BUILTIN_COLUMNS: tuple[Column, ...] = (
    DetailColumn(key="time", kind="time", field=stored("created_at"), width=20),
    DetailColumn(key="member", kind="member", field=stored("token_name"), width=22, documents=_CSV_ONLY),
    DetailColumn(key="key", kind="text", field=stored("token_name"), width=22),
    DetailColumn(key="model", kind="text", field=stored("model_name"), width=22),
    DetailColumn(key="type", kind="type", field=stored("type"), width=10),
    DetailColumn(key="prompt_tokens", kind="int", field=stored("prompt_tokens"), width=13, total="prompt_tokens"),
    DetailColumn(key="completion_tokens", kind="int", field=stored("completion_tokens"), width=13,
                 total="completion_tokens"),
    DetailColumn(key="input_tokens", kind="int", field=_usage("input_tokens"), width=13),
    DetailColumn(key="cache_read_tokens", kind="int", field=_usage("cache_read_tokens"), width=13),
    DetailColumn(key="cache_write_tokens", kind="int", field=_usage("cache_write_tokens"), width=13),
    DetailColumn(key="cache_write_5m_tokens", kind="int", field=_usage("cache_write_5m_tokens"), width=13,
                 documents=_CSV_ONLY),
    DetailColumn(key="cache_write_1h_tokens", kind="int", field=_usage("cache_write_1h_tokens"), width=13,
                 documents=_CSV_ONLY),
    DetailColumn(key="quota", kind="int", field=SIGNED_QUOTA, width=12, total="net_quota"),
    DetailColumn(key="cost_usd", kind="usd", field=SIGNED_QUOTA, width=13, total="cost_usd"),
    DetailColumn(key="latency_s", kind="seconds", field=stored("use_time_ms"), width=11),
    DetailColumn(key="client", kind="text", field=stored("client"), width=22),
    DetailColumn(key="request_id", kind="id", field=stored("request_id"), width=24),
    DetailColumn(key="http_status", kind="code", field=stored("http_status"), width=11),
    StatsColumn(key="requests", kind="count", figure=_stat("requests"), width=12),
    StatsColumn(key="errors", kind="count", figure=_stat("errors"), width=10),
    StatsColumn(key="prompt_tokens", kind="count", figure=_stat("prompt_tokens")),
    StatsColumn(key="completion_tokens", kind="count", figure=_stat("completion_tokens")),
    StatsColumn(key="consumed_quota", kind="count", figure=_stat("consumed_quota"), width=16),
    StatsColumn(key="refunded_quota", kind="count", figure=_stat("refunded_quota"), width=16),
    StatsColumn(key="net_quota", kind="count", figure=_stat("quota"), width=16),
    StatsColumn(key="cost_usd", kind="money", figure=_stat("cost_usd")),
    StatsColumn(key="cost_cny", kind="cents", figure=_cny),
    StatsColumn(key="subscription_quota", kind="count", figure=_stat("subscription_quota"), documents=_TOTALS_ONLY),
    StatsColumn(key="latency_p50_ms", kind="ms", figure=_stat("latency_p50_ms"), width=16, documents=_BY_MODEL),
    StatsColumn(key="latency_p95_ms", kind="ms", figure=_stat("latency_p95_ms"), width=16, documents=_BY_MODEL),
    StatsColumn(key="success_rate", kind="share", figure=_stat("success_rate"), width=13, documents=_BY_MODEL),
)
# fmt: on


class Columns:
    """The registered columns in registration order (the built-ins first); keys are unique per table."""

    def __init__(self, columns: Iterable[Column]) -> None:
        self.all = tuple(columns)
        for column, problem in problems(self.all):
            raise PluginError(f"{column!r} {problem}")

    def detail(self, document: str) -> tuple[DetailColumn, ...]:
        """The detail columns ``document`` shows, in order."""
        return tuple(c for c in self.all if isinstance(c, DetailColumn) and document in c.documents)

    def stats(self, document: str) -> tuple[StatsColumn, ...]:
        """The stats columns ``document`` shows, in order."""
        return tuple(c for c in self.all if isinstance(c, StatsColumn) and document in c.documents)

    def stat(self, key: str) -> StatsColumn:
        """The stats column ``key``."""
        return next(c for c in self.all if isinstance(c, StatsColumn) and c.key == key)


def problems(columns: Sequence[Column]) -> Iterator[tuple[Column, str]]:
    """What is wrong with registering ``columns`` together: ``(column, problem)``, the problem
    worded to follow the column's name; a clash is told of the later column."""
    seen: set[tuple[type, str]] = set()
    stats = {c.key for c in columns if isinstance(c, StatsColumn)}
    sql: dict[str, str] = {}
    for c in columns:
        if (type(c), c.key) in seen:
            yield c, "is registered twice"
        seen.add((type(c), c.key))
        if not isinstance(c, DetailColumn):
            continue
        if c.total is not None and c.total not in stats:
            yield c, f"totals a stats column nobody registered ({c.total!r})"
        if sql.setdefault(c.field.name, c.field.sql) != c.field.sql:
            yield c, f"reads a field named {c.field.name!r} that another column reads with other SQL"


def header_keys(
    header: Sequence[str], columns: Iterable[Column], wording: Callable[[str], str]
) -> list[str | None]:
    """The key of each header cell, or None for a cell no column of ``columns`` is worded as.

    ``wording(label_key)`` is the header text a column was written with (the document's
    template and language).  A text two columns share is ambiguous: :class:`ValueError`.
    """
    by_text: dict[str, str] = {}
    for c in columns:
        text = wording(c.label_key)
        if by_text.setdefault(text, c.key) != c.key:
            raise ValueError(f"the columns {by_text[text]!r} and {c.key!r} are both headed {text!r}")
    return [by_text.get(cell) for cell in header]


# -- reading the detail -------------------------------------------------------------------------


def fields_of(columns: Iterable[DetailColumn]) -> tuple[Field, ...]:
    """The fields ``columns`` read, each once, in the order first read."""
    found: dict[str, Field] = {}
    for c in columns:
        found.setdefault(c.field.name, c.field)
    return tuple(found.values())


#: How a document shows a detail kind: a mapping looked up, a function called, or None (as it is).
Converter = Mapping[Any, Any] | Callable[[Any], Any] | None


def line_of(
    columns: Sequence[DetailColumn], fields: Sequence[Field], convert: Mapping[str, Converter]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """The function that makes a document's line of ``columns`` from a row of ``fields``:
    ``convert[kind]`` applied to each column's field.

    Compiled from the plan into one function (as :mod:`dataclasses` compiles ``__init__``),
    so a million-row loop makes one call per line rather than one per cell; its source
    holds only row indexes and the names it is given here.
    """
    at = {f.name: i for i, f in enumerate(fields)}
    names: dict[str, Any] = {"__builtins__": {}}
    cells = []
    for n, c in enumerate(columns):
        i, f = at[c.field.name], convert[c.kind]
        if f is None:
            cells.append(f"r[{i}]")
        else:
            names[f"c{n}"] = f
            cells.append(f"c{n}[r[{i}]]" if isinstance(f, Mapping) else f"c{n}(r[{i}])")
    line: Callable[[tuple[Any, ...]], tuple[Any, ...]] = eval(f"lambda r: ({', '.join(cells)},)", names)
    return line


#: Rows a detail batch holds when they are built from records.
BATCH = 4096


@runtime_checkable
class DetailSource(Protocol):
    """A record source that can also read detail rows itself (the store does, in SQL)."""

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None, fields: Sequence[Field]
    ) -> Iterator[Sequence[tuple[Any, ...]]]: ...


def detail_batches(
    report: Report, fields: Sequence[Field], member: str | None = None
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The values of ``fields`` for each consumption and refund row of the report, in time order,
    a batch of rows at a time: the rows of :meth:`Report.rows`, for exporters that stream many.

    From the store, only those fields are selected and the type filter is applied in SQL;
    any other source goes through its records (each field's ``record``).  Same rows, same order.
    """
    source = report.source
    if source is None:
        return
    scope = member if member is not None else report.member_filter
    keys = None if scope is None else report.member_keys(scope)
    start, end = report.period.start_ts, report.period.end_ts
    if isinstance(source, DetailSource):
        yield from source.iter_detail(start, end, keys, fields)
        return
    getters = [f.record for f in fields]
    batch: list[tuple[Any, ...]] = []
    for r in source.iter_records(start, end, keys):
        if r.type == LogType.CONSUME or r.type == LogType.REFUND:
            batch.append(tuple([get(r) for get in getters]))
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


__all__ = [
    "BATCH",
    "BUILTIN_COLUMNS",
    "DETAIL_CSV",
    "DETAIL_KINDS",
    "DETAIL_XLSX",
    "SIGNED_QUOTA",
    "STATS_KINDS",
    "STATS_TABLES",
    "SUMMARY_CSV",
    "UNSUMMED",
    "XLSX_BY_MODEL",
    "XLSX_LINES",
    "XLSX_TOTALS",
    "Column",
    "Columns",
    "Converter",
    "DetailColumn",
    "DetailSource",
    "Field",
    "StatsColumn",
    "detail_batches",
    "fields_of",
    "header_keys",
    "line_of",
    "problems",
    "stored",
]
