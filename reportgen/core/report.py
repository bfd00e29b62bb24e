"""The :class:`Report` exporters render, its detail rows and where its data came from.

Money is ``Decimal``, quota and tokens are ``int``, datetimes are timezone-aware.  Nothing
here does I/O: detail rows stream from a :class:`RecordSource` the report holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from .budget import GrantView, ProjectLine
from .corrections import Correction
from .findings import WindowFinding
from .money import convert, usd
from .partials import Partials
from .periods import Coverage, Part, Period
from .pricegroups import PriceGroup, TokenSums, token_sums, total_sums
from .pricelines import PriceStatement, price_statement
from .rates import Conversion, Exchange
from .reconciliation import Reconciliation
from .records import LogType, UsageRecord
from .split import DEFAULT_CLAIM_BASE, ClaimAmount, ClaimPart, MoneySplit, base_quota, money_split
from .stats import Line, Stats
from .wallet import Bridge


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


class RecordSource(Protocol):
    """Streams the stored rows of ``[start_ts, end_ts)`` in time order."""

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]: ...


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
    #: ``seq:hash`` of the store's audit log when the number was first issued (None: issued before
    #: documents printed it): rewriting the chain contradicts every document already handed out
    audit_head: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything one period's documents show, already aggregated.

    Exporters render a ``Report``; they never aggregate.  Detail rows are streamed from
    the store through :meth:`rows` (or, as the values of registered columns, through
    :func:`reportgen.core.columns.detail_batches`) so that memory does not grow with the row count.
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
    #: Rows the gateway served for the period's windows that the store did not keep as rows, by
    #: window and reason (documents name their count; see :mod:`reportgen.core.findings`).
    left_out: tuple[WindowFinding, ...] = ()
    #: Where each part of the period comes from: frozen (a closed period's snapshot) or live.
    basis: tuple[Part, ...] = ()
    #: The statement number and signing key of a packet (None: documents outside a packet).
    statement: Statement | None = None
    #: The projects a key's spend on a day is charged to, each with its percent,
    #: ``(key, member, day) -> (("alpha", 60), ("beta", 40))`` (empty for none); None when no
    #: project is configured.
    charged_to: Callable[[str, str, date], tuple[tuple[str, Decimal], ...]] | None = field(
        default=None, repr=False, compare=False
    )
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
    #: The period's consumption and refund rows grouped by key, model and the price they were
    #: charged at (token types, unit prices; empty for a project's report, charged by share).
    price_groups: tuple[PriceGroup, ...] = field(default=(), repr=False)

    def prices(self, member: str | None = None) -> PriceStatement:
        """Each model's lines (quantity × unit price = amount) and the price list, of one member or all."""
        keys = None if member is None else self.member_keys(member)
        return price_statement(self.price_groups, self.quota_per_unit, keys)

    def token_sums(self, member: str | None = None) -> dict[str, TokenSums]:
        """Token types per model (of one member, or all)."""
        return token_sums(self.price_groups, None if member is None else self.member_keys(member))

    def token_total(self, member: str | None = None) -> TokenSums:
        """Token types over every model (of one member, or all)."""
        return total_sums(self.price_groups, None if member is None else self.member_keys(member))

    #: What a claim is for (``[report] claim_base``): ``wallet`` (net wallet-paid spend, the
    #: default) or ``all`` (all net spend, subscription-billed usage included).
    claim_base: str = DEFAULT_CLAIM_BASE

    def split(self, stats: Stats) -> MoneySplit:
        """``stats`` in USD: consumption, refunds, net, wallet-paid and subscription-billed."""
        return money_split(stats, self.quota_per_unit)

    def claim_amount(self, member: str | None = None) -> ClaimAmount:
        """What a claim for the team (or ``member``; default: the report's member filter) is for,
        on :attr:`claim_base`: its USD, each source's part at its own rate when they differ."""
        member = member if member is not None else self.member_filter
        keys = set(self.member_keys(member)) if member is not None else None
        lines = [line for line in self.keys if keys is None or line.name in keys]
        if not lines and member is None:  # a report without key lines: its totals
            lines = [Line("", self.totals)]
        claimed = {name: 0 for name, _ in self.source_rates} if self.source_rates else {"": 0}
        net = 0
        for line in lines:
            source = self.source_of(line.name) if self.source_rates else ""
            claimed[source] += base_quota(line.stats, self.claim_base)
            net += line.stats.quota
        by_source = dict(self.source_rates)
        parts = tuple(
            ClaimPart(source, usd(quota, self.quota_per_unit), by_source.get(source, self.exchange))
            for source, quota in claimed.items()
        )
        total = sum(claimed.values())
        return ClaimAmount(
            self.claim_base, usd(total, self.quota_per_unit), parts, usd(net - total, self.quota_per_unit)
        )

    def source_of(self, key: str) -> str:
        """The source a key (as reports name it, ``NAME:key`` off the default source) belongs to."""
        head, sep, _ = key.partition(":")
        if sep and any(name == head for name, _ in (*self.source_accounts, *self.source_rates)):
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

    def source_rate(self, source: str) -> Decimal | None:
        """The CNY-per-USD rate that converts ``source``'s figures (the statement's, per source)."""
        if self.source_rates:
            return dict(self.source_rates).get(source, self.exchange).rate
        return self.exchange.rate

    def bridge_rates(self) -> dict[str, Decimal | None]:
        """Each bridge source's CNY-per-USD rate (None: not known)."""
        sources = self.bridge.sources if self.bridge is not None else ()
        return {s.source: self.source_rate(s.source) for s in sources}

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
