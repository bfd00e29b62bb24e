"""Frozen records that flow through reportgen: log rows, gateway facts, periods, reports.

Money is ``Decimal``, quota and tokens are ``int``, timestamps are UTC epoch seconds and
datetimes are timezone-aware.  Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, overload
from zoneinfo import ZoneInfo

from .money import convert
from .rawjson import dumps_row
from .wallet import Bridge


class LogType(enum.IntEnum):
    """The gateway's log row types (``type`` field)."""

    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    ERROR = 5
    REFUND = 6


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One gateway log row, parsed tolerantly; ``raw`` keeps the row exactly as received."""

    created_at: int
    type: int
    token_name: str
    model_name: str
    quota: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    use_time_ms: int | None = None
    is_stream: bool = False
    request_id: str | None = None
    client: str | None = None
    http_status: int | None = None
    billing_source: str | None = None
    token_id: int | None = None
    group: str = ""
    username: str = ""
    channel: int | None = None
    has_price: bool = True
    raw: str = ""

    @property
    def subscription(self) -> bool:
        """True when the row was billed to a subscription rather than the wallet."""
        return self.billing_source == "subscription"


class RowBatch(Sequence[UsageRecord]):
    """A page of log rows parsed straight to the values the store writes: the database source's fast path.

    ``columns[j]`` holds field ``j`` of every row, the fields of a :class:`UsageRecord` but
    ``raw`` in their order (``reportgen.core.fingerprint.ROW_FIELDS``); ``values[i]``, built
    on demand, is row ``i``'s tuple.  Columns, not row tuples: the parser builds them, the
    fingerprint and the store read them, and they cross between processes ~2x faster.  The
    rows as received are kept too: ``rows[i]`` holds the values of ``fields`` (API field
    names), and ``raws[i]``, built on demand, is the raw JSON the API path keeps for the same
    item.  ``faithful`` says whether ``rows`` hold only values JSON carries exactly
    (:func:`reportgen.core.rawjson.faithful`), so the store may keep them as one table;
    ``packed`` is where the store may put that table, made ready before it writes
    (``Store.prepare``, which then drops ``rows``: a prepared batch is for the store alone).
    ``stored``, built once on demand, is each row's tuple as the store writes it and the
    fingerprint reads it.  Read as a sequence the batch yields the same records (built on
    demand).
    """

    __slots__ = ("_stored", "columns", "faithful", "fields", "packed", "rows")

    def __init__(
        self,
        columns: Sequence[Sequence[Any]],
        fields: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        faithful: bool = False,
    ) -> None:
        self.columns = columns
        self.fields = fields
        self.rows = rows
        self.faithful = faithful
        self.packed: bytes | None = None
        self._stored: list[tuple[Any, ...]] | None = None

    @classmethod
    def of_rows(
        cls, values: Sequence[Sequence[Any]], fields: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> RowBatch:
        """A batch of row tuples (each of ``ROW_FIELDS``)."""
        return cls(list(zip(*values, strict=True)) if values else [()] * 18, fields, rows)

    @property
    def values(self) -> list[tuple[Any, ...]]:
        """Each row's tuple of ``ROW_FIELDS``."""
        return list(zip(*self.columns, strict=True))

    @property
    def stored(self) -> list[tuple[Any, ...]]:
        """Each row's tuple of ``ROW_FIELDS`` with booleans as 0/1: what the store writes and
        the canonical line holds.  Built once (the store and the fingerprint share it)."""
        if self._stored is None:
            c = self.columns
            self._stored = list(zip(*c[:8], map(int, c[8]), *c[9:17], map(int, c[17]), strict=True))
        return self._stored

    @property
    def raws(self) -> list[str]:
        """Each row's raw JSON, as :func:`reportgen.core.rawjson.dumps_row` writes it."""
        fields = self.fields
        return [dumps_row(dict(zip(fields, row, strict=True))) for row in self.rows]

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, index: int) -> UsageRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[UsageRecord]: ...
    def __getitem__(self, index: int | slice) -> UsageRecord | list[UsageRecord]:
        raws = self.raws
        if isinstance(index, slice):
            return [UsageRecord(*(*v, raw)) for v, raw in zip(self.values[index], raws[index], strict=True)]
        return UsageRecord(*(*self.values[index], raws[index]))

    def __iter__(self) -> Iterator[UsageRecord]:
        for values, raw in zip(self.values, self.raws, strict=True):
            yield UsageRecord(*(*values, raw))


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """What ``/api/status`` said, and when it was read."""

    quota_per_unit: Decimal
    read_at: int
    usd_exchange_rate: Decimal | None = None
    quota_display_type: str | None = None
    version: str | None = None


DEFAULT_QUOTA_PER_UNIT = Decimal(500000)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which parts of a period the store holds: ``missing`` are ``[start, end)`` UTC epoch ranges."""

    missing: tuple[tuple[int, int], ...] = ()
    synced_any: bool = True

    @property
    def complete(self) -> bool:
        return not self.missing

    def ranges(self, tz: ZoneInfo) -> tuple[str, ...]:
        """Each missing range in local time: ``2026-04-16 – 2026-04-30`` (days inclusive), or with times."""
        out = []
        for start, end in self.missing:
            a = datetime.fromtimestamp(start, tz)
            b = datetime.fromtimestamp(end, tz)
            if a.time() == b.time() == datetime.min.time():
                last = date.fromordinal(b.date().toordinal() - 1)
                out.append(a.date().isoformat() if last == a.date() else f"{a.date()} – {last}")
            else:
                out.append(f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Part:
    """A part of a report's period and where its figures come from: live rows, or a closed snapshot."""

    start: datetime
    end: datetime
    closed_label: str | None = None
    revision: int | None = None
    closed_at: datetime | None = None

    @property
    def frozen(self) -> bool:
        return self.revision is not None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One API key from ``/api/token/`` (the secret key itself is never kept)."""

    id: int
    name: str
    status: int = 1
    used_quota: int = 0
    remain_quota: int = 0
    unlimited_quota: bool = False
    group: str = ""
    created_time: int = 0
    accessed_time: int = 0
    expired_time: int = -1


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of local time ``[start, end)`` cut in a named IANA timezone."""

    label: str
    start: datetime
    end: datetime

    @property
    def timezone(self) -> str:
        return str(self.start.tzinfo)

    @property
    def tz(self) -> ZoneInfo:
        assert isinstance(self.start.tzinfo, ZoneInfo)
        return self.start.tzinfo

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        """Exclusive end as UTC epoch seconds."""
        return int(self.end.timestamp())

    def contains(self, ts: int) -> bool:
        return self.start_ts <= ts < self.end_ts


class Bucket(NamedTuple):
    """Rows of one key, model, local day, type and billing source, summed.

    Buckets are what the store hands to aggregation: grouping a million rows is done
    once, close to the data, and everything after it is pure arithmetic on buckets.
    A named tuple (immutable like the frozen records): a month has tens of thousands of
    buckets, and a tuple is made three times faster than a frozen dataclass.
    """

    token_name: str
    model_name: str
    day: date
    type: int
    subscription: bool
    rows: int
    quota: int
    prompt_tokens: int
    completion_tokens: int
    status_known: int = 0
    status_ok: int = 0
    unpriced: int = 0
    zero_quota_with_tokens: int = 0


@dataclass(frozen=True, slots=True)
class LatencyCount:
    """How many consumption rows of a group took ``latency_ms`` (bucketed) to answer."""

    key: str
    latency_ms: int
    count: int


class Partials:
    """Everything aggregation needs from the store for one period, pre-grouped.

    ``buckets`` are the rows grouped per key, model, local day, type and billing source.
    ``key_models`` and ``days``, when given, are the same rows summed coarser, all that
    :func:`~reportgen.core.aggregate.aggregate` reads: per key × model × type × billing
    source (``day`` is any day of the group) and per day × type × billing source
    (``model_name`` empty; ``token_name`` is one of the keys summed, which share whatever
    comes before a ':', i.e. a source's exchange rate); several entries of one group add up.
    The store gives them (a few thousand rows where a month has tens of thousands of
    buckets) and reads the buckets only when asked (``load``, while the view is open): a
    summary never needs them.  ``latency_by_key_model`` is keyed
    ``"token_name\\x00model_name"`` (in key order); ``latency_by_day`` by ISO date.  Two
    are equal when their buckets and latencies are.
    """

    __slots__ = ("_buckets", "_load", "days", "key_models", "latency_by_day", "latency_by_key_model")

    def __init__(
        self,
        buckets: tuple[Bucket, ...] | None = (),
        latency_by_key_model: tuple[LatencyCount, ...] = (),
        latency_by_day: tuple[LatencyCount, ...] = (),
        *,
        key_models: tuple[Bucket, ...] | None = None,
        days: tuple[Bucket, ...] | None = None,
        load: Callable[[], tuple[Bucket, ...]] | None = None,
    ) -> None:
        if buckets is None and load is None:
            raise ValueError("Partials needs its buckets or a way to load them")
        self._buckets = buckets
        self._load = load
        self.latency_by_key_model = latency_by_key_model
        self.latency_by_day = latency_by_day
        self.key_models = key_models
        self.days = days

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """Per key, model, local day, type and billing source (read on first use)."""
        if self._buckets is None:
            assert self._load is not None
            self._buckets, self._load = self._load(), None
        return self._buckets

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partials):
            return NotImplemented
        return (self.buckets, self.latency_by_key_model, self.latency_by_day) == (
            other.buckets,
            other.latency_by_key_model,
            other.latency_by_day,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        held = "not read" if self._buckets is None else f"{len(self._buckets)}"
        return f"Partials(buckets={held}, key_models={self.key_models is not None})"


@dataclass(frozen=True, slots=True)
class Exchange:
    """The CNY-per-USD rate a report uses, where it came from and as of when.

    ``applies_to`` names the ``[report.rates]`` entry (``"2026-04"``) when the rate is the
    dated official rate set for the period, else None.
    """

    rate: Decimal | None
    source: str
    as_of: datetime | None = None
    applies_to: str | None = None


@dataclass(frozen=True, slots=True)
class DatedRate:
    """An official CNY-per-USD rate for a period, from ``[report.rates."2026-04"]``.

    ``period`` is the entry's label (a month, quarter or year); ``as_of`` the rate's date
    (e.g. the month-end central parity); ``source`` where finance takes it from.
    """

    period: str
    cny_per_usd: Decimal
    source: str
    as_of: date


@dataclass(frozen=True, slots=True)
class Conversion:
    """A further currency set in ``[report.currencies.CODE]``: ``rate`` units per 1 USD."""

    code: str
    rate: Decimal
    source: str
    as_of: date

    def convert(self, amount_usd: Decimal) -> Decimal:
        """``amount_usd`` in this currency, exact (quantize only when presenting)."""
        return convert(amount_usd, self.rate)


@dataclass(frozen=True, slots=True)
class Stats:
    """The figures of one group (the whole period, a member, a key, a model, a day, ...)."""

    requests: int = 0
    errors: int = 0
    consumed_quota: int = 0
    refunded_quota: int = 0
    subscription_quota: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_p50_ms: int | None = None
    latency_p95_ms: int | None = None
    status_known: int = 0
    status_ok: int = 0
    #: Net spend in CNY, exact, when the report converts each source at its own rate
    #: (:attr:`Report.source_rates`); None when one rate converts every amount.
    cost_cny: Decimal | None = None

    @property
    def quota(self) -> int:
        """Net quota: consumption minus refunds."""
        return self.consumed_quota - self.refunded_quota

    @property
    def success_rate(self) -> Decimal | None:
        """Share of rows with a known HTTP status that succeeded, or None if none known."""
        if not self.status_known:
            return None
        return Decimal(self.status_ok) / Decimal(self.status_known)

    @property
    def active(self) -> bool:
        return bool(self.requests or self.errors or self.refunded_quota)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a breakdown: a name (member, key, model or ISO day) and its figures."""

    name: str
    stats: Stats
    keys: tuple[str, ...] = ()
    model: str | None = None


@dataclass(frozen=True, slots=True)
class DetailRow:
    """A stored row as exporters see it: the record, its member and its local time."""

    record: UsageRecord
    member: str
    local_time: datetime

    @property
    def signed_quota(self) -> int:
        """Quota with refunds negative, so a column of them sums to net spend."""
        return -self.record.quota if self.record.type == LogType.REFUND else self.record.quota


#: A detail row as built-in exporters stream it: ``(created_at, token_name, model_name, type,
#: prompt_tokens, completion_tokens, signed quota, use_time_ms, client, request_id, http_status)``,
#: consumption and refunds only, refunds negative (see :meth:`Report.detail`).
DetailTuple = tuple[int, str, str, int, int, int, int, int | None, str | None, str | None, int | None]


class DetailSource(Protocol):
    """A record source that can also stream :data:`DetailTuple` rows itself (the store does, in SQL)."""

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[DetailTuple]: ...


class RecordSource(Protocol):
    """Streams the stored rows of ``[start_ts, end_ts)`` in time order."""

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]: ...


@dataclass(frozen=True, slots=True)
class Correction:
    """A row of a closed period that changed after its close: ``sign`` +1 added since, −1 removed since.

    ``closed`` is the closed period it corrects and ``revision`` the revision it differs from;
    the row is as the store holds it (added) or as the snapshot held it (removed).
    """

    sign: int
    record: UsageRecord
    closed: Period
    revision: int


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a report's data came from (never the access token)."""

    base_url: str = ""
    user_id: int | None = None
    flavor: str = ""
    synced_at: datetime | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    """A packet's issue: its number from the store's register, and the signing key's fingerprint."""

    number: str
    signer_key: str | None = None  # SHA-256 (hex) of the Ed25519 public key; None: unsigned


@dataclass(frozen=True, slots=True)
class ProjectLine:
    """One project's budget position as of ``as_of`` (see :mod:`reportgen.projects`).

    Money is exact ``Decimal`` in the budget currency (``currency``); ``spent`` counts the
    project's charged spend from ``start`` through ``as_of``, ``period_spent`` the part of
    it inside the report's period.  ``outside`` is spend on the project's keys and members
    outside its dates within the report's period: flagged, never counted.
    """

    name: str
    title: str
    code: str
    currency: str
    budget: Decimal
    start: date
    end: date
    as_of: date | None
    spent: Decimal
    period_spent: Decimal
    remaining: Decimal
    share_used: Decimal | None
    burn_per_day: Decimal | None
    run_out: date | None
    outside: Decimal = Decimal(0)
    outside_days: tuple[date, ...] = ()
    unsynced_days: int = 0  # days of start..as_of the store does not fully hold: spent is a floor

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget


@dataclass(frozen=True, slots=True)
class GrantLine:
    """Charged spend of one month × member × model of a project (quota may be fractional)."""

    month: str
    member: str
    model: str
    quota: Decimal
    cost_usd: Decimal
    cost: Decimal


@dataclass(frozen=True)
class GrantView:
    """What a grant closing report adds: the budget line, the charged breakdown, the notes."""

    project: ProjectLine
    lines: tuple[GrantLine, ...]
    justification: str = ""
    member_notes: tuple[tuple[str, str], ...] = ()
    charges: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReconcileLine:
    """One key's (or, with ``key`` None, the total's) store sums against the gateway's."""

    key: str | None
    store_consumed: int
    store_refunded: int
    store_current_user: int
    gateway_stat: int | None
    status: str  # "ok" | "explained" | "unexplained"
    notes: tuple[str, ...] = ()
    used_quota: int | None = None
    lifetime_consumed: int | None = None

    @property
    def store_net(self) -> int:
        return self.store_consumed - self.store_refunded


@dataclass(frozen=True)
class Reconciliation:
    """The result of ``reportgen reconcile`` for one period; ``ok`` when nothing is unexplained."""

    period_label: str
    start_ts: int
    end_ts: int
    checked_at: int
    username: str
    total: ReconcileLine
    keys: tuple[ReconcileLine, ...]
    notes: tuple[str, ...] = ()
    fingerprint: str = ""

    @property
    def unexplained(self) -> tuple[ReconcileLine, ...]:
        return tuple(x for x in (*self.keys, self.total) if x.status == "unexplained")

    @property
    def ok(self) -> bool:
        return not self.unexplained


@dataclass(frozen=True)
class Report:
    """Everything one period's documents show, already aggregated.

    Exporters render a ``Report``; they never aggregate.  Detail rows are streamed from
    the store through :meth:`rows` so that memory does not grow with the row count.
    """

    period: Period
    quota_per_unit: Decimal
    exchange: Exchange
    totals: Stats
    members: tuple[Line, ...]
    keys: tuple[Line, ...]
    models: tuple[Line, ...]
    days: tuple[Line, ...]
    member_models: tuple[Line, ...]
    generated_at: datetime
    provenance: Provenance = field(default_factory=Provenance)
    member_filter: str | None = None
    key_to_member: dict[str, str] = field(default_factory=dict)
    source: RecordSource | None = field(default=None, repr=False, compare=False)
    #: The grouped rows the figures were computed from (checks reuse them instead of regrouping).
    partials: Partials | None = field(default=None, repr=False, compare=False)
    projects: tuple[ProjectLine, ...] = ()
    grant: GrantView | None = None
    reconciliation: Reconciliation | None = None
    #: Further currencies from ``[report.currencies]`` (CNY is ``exchange``).
    conversions: tuple[Conversion, ...] = ()
    #: Which parts of the period the store holds (documents print a banner when incomplete).
    coverage: Coverage = field(default_factory=Coverage)
    #: Where each part of the period comes from: frozen (a closed period's snapshot) or live.
    basis: tuple[Part, ...] = ()
    #: The statement number and signing key of a packet (None: documents outside a packet).
    statement: Statement | None = None
    #: The projects a key's spend on a day is charged to, ``(key, member, day) -> "alpha=60%; beta=40%"``
    #: ("" for none); None when no project is configured.
    charged_to: Callable[[str, str, date], str] | None = field(default=None, repr=False, compare=False)
    #: The wallet bridge of the period (team views only; None for a member or project).
    bridge: Bridge | None = None
    #: ``(source name, "URL#USER")`` of every source read, in name order (one: ``default``).
    source_accounts: tuple[tuple[str, str], ...] = ()

    #: ``(source, Exchange)`` when the sources read convert to CNY at different rates, each
    #: source's spend at its own (``exchange`` then has no rate); empty when one rate applies.
    source_rates: tuple[tuple[str, Exchange], ...] = ()
    #: Rows of closed periods inside this one that changed since their close (pending
    #: amendments), streamed while the view is open; None when there are none.
    corrections: Callable[[], Iterator[Correction]] | None = field(default=None, repr=False, compare=False)

    def source_of(self, key: str) -> str:
        """The source a key (as reports name it, ``NAME:key`` off the default source) belongs to."""
        head, sep, _ = key.partition(":")
        if sep and any(name == head for name, _ in self.source_accounts):
            return head
        return "default"

    def cny(self, amount_usd: Decimal) -> Decimal | None:
        """``amount_usd`` in CNY at the report's rate, exact; None when no one rate is known
        (with :attr:`source_rates`, convert figures through :meth:`cny_of` or :meth:`rate_of`)."""
        return None if self.exchange.rate is None else convert(amount_usd, self.exchange.rate)

    def cny_of(self, stats: Stats) -> Decimal | None:
        """A line's net spend in CNY, exact: each source's part at its own rate when they differ."""
        if self.source_rates:
            return stats.cost_cny
        return self.cny(stats.cost_usd)

    def rate_of(self, key: str) -> Decimal | None:
        """The CNY-per-USD rate that converts the spend of ``key`` (its source's)."""
        if self.source_rates:
            return dict(self.source_rates)[self.source_of(key)].rate
        return self.exchange.rate

    @property
    def closed(self) -> Part | None:
        """The closure when the whole period is one closed period, else None."""
        if len(self.basis) == 1 and self.basis[0].frozen:
            return self.basis[0]
        return None

    def member_of(self, token_name: str) -> str:
        return self.key_to_member.get(token_name, token_name)

    def member_keys(self, member: str) -> tuple[str, ...]:
        for line in self.members:
            if line.name == member:
                return line.keys
        return ()

    def _detail_keys(self, member: str | None) -> tuple[str, ...] | None:
        if member is not None:
            return self.member_keys(member)
        if self.member_filter is not None:
            return self.member_keys(self.member_filter)
        return None

    def detail(self, member: str | None = None) -> Iterator[DetailTuple]:
        """The rows of :meth:`rows` as plain tuples (:data:`DetailTuple`), for exporters that stream many.

        From the store, only the needed columns are read and the type filter and sign are
        applied in SQL; any other source goes through its records.  Same rows, same order.
        """
        if self.source is None:
            return
        keys = self._detail_keys(member)
        start, end = self.period.start_ts, self.period.end_ts
        fast = getattr(self.source, "iter_detail", None)
        if fast is not None:
            yield from fast(start, end, keys)
            return
        for r in self.source.iter_records(start, end, keys):
            if r.type in (LogType.CONSUME, LogType.REFUND):
                yield (
                    r.created_at, r.token_name, r.model_name, r.type, r.prompt_tokens, r.completion_tokens,
                    -r.quota if r.type == LogType.REFUND else r.quota, r.use_time_ms, r.client, r.request_id,
                    r.http_status,
                )  # fmt: skip

    def rows(self, member: str | None = None) -> Iterator[DetailRow]:
        """Consumption and refund rows of the period in time order, optionally one member's."""
        if self.source is None:
            return
        keys = self.member_keys(member) if member is not None else None
        if member is None and self.member_filter is not None:
            keys = self.member_keys(self.member_filter)
        tz = self.period.tz
        for record in self.source.iter_records(self.period.start_ts, self.period.end_ts, keys):
            if record.type not in (LogType.CONSUME, LogType.REFUND):
                continue
            yield DetailRow(
                record=record,
                member=self.member_of(record.token_name),
                local_time=datetime.fromtimestamp(record.created_at, tz),
            )
