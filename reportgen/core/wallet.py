"""The wallet bridge: opening balance + credits − net wallet spend = closing balance, per source.

Pure.  Balances are what the gateway said at sync time (``/api/user/self`` ``quota``, or
its users table), each "after every row logged before ``read_at``"; a balance at a period
boundary is a read rolled through the stored rows in between, or not known
(:mod:`.balances`).  Credits (log types 1 top-up, 3 admin, 4 system) carry their amount
only in the row's text, which the flavour's ``parse_credit`` reads (``reportgen.flavors``);
a row whose amount cannot be read is named, never guessed.  Where the bridge does not
close, :func:`explain` says what of the data could account for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NamedTuple

from .money import cents, convert, printed_lines, rate_text
from .text import shorten


@dataclass(frozen=True, slots=True)
class Balance:
    """A wallet balance the gateway reported: remaining ``quota`` as of ``read_at``."""

    source: str
    read_at: int
    quota: int
    used_quota: int | None = None
    request_count: int | None = None
    origin: str = "api"  # api: /api/user/self; database: the users table


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A top-up or redemption as the gateway's own tables record it (database source)."""

    kind: str  # topup | redemption
    ref: str  # the table's id
    at: int
    quota: int
    money: str | None = None  # what was paid, as the gateway stored it
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment of a period (:mod:`.payments`): ``kind`` ``topup``, ``redemption`` or
    ``subscription`` (bought by card); ``quota`` credited to the wallet (None: none); ``paid``
    the money paid as the gateway states it, in ``currency`` when the method tells it; ``ref``
    the trade number or the redemption code's id; ``text`` the log row's (empty: only the
    gateway's record has it)."""

    at: int
    kind: str
    quota: int | None
    paid: str | None = None
    currency: str | None = None
    method: str | None = None
    ref: str | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class CreditRow:
    """A log row of type 1, 3 or 4 as stored (its amount is in ``content``).

    ``cny_per_usd`` is the gateway's display rate when the row was written (``/api/status``
    ``usd_exchange_rate``, the rate new-api prints a ``¥`` amount at); None when not known.
    """

    source: str
    created_at: int
    type: int
    quota: int
    content: str
    cny_per_usd: Decimal | None = None


#: Credit kinds in the order the bridge lists them (``subscription``: a subscription bought
#: with the wallet's balance, a negative amount).
CREDIT_KINDS = ("topup", "redemption", "admin", "system", "subscription")
#: What a credit row that moves no wallet quota reads as (a subscription bought by card, a
#: system notice without an amount): counted, never summed.
NO_WALLET = "none"
#: Characters of an unreadable credit row's text the bridge keeps to show (a row of 100,000 digits
#: is listed by its start).
SHOWN_TEXT = 200


@dataclass(frozen=True, slots=True)
class Credit:
    """What a flavour's credit parser read from one credit row.

    ``kind`` is one of :data:`CREDIT_KINDS` or :data:`NO_WALLET`; ``quota`` what the row added
    to the wallet (negative: taken away); ``unit`` how the text showed it (``usd``, ``cny``,
    ``points`` or ``quota``); ``cny_per_usd`` the display rate a ``¥`` amount was read at;
    ``paid`` the money paid as the text states it (``支付金额``), when it does.
    """

    kind: str
    quota: int
    unit: str = "usd"
    cny_per_usd: Decimal | None = None
    paid: str | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """What moved a wallet over a span: credits by kind, wallet and subscription spend, refunds."""

    credits: tuple[tuple[str, int], ...] = ()  # (kind, quota) summed, kinds in CREDIT_KINDS order
    unreadable: tuple[str, ...] = ()  # credit rows whose amount could not be read (their text)
    consumed_wallet: int = 0
    consumed_subscription: int = 0
    refunded: int = 0
    no_wallet: int = 0  # credit rows that move no wallet quota (a subscription bought by card)
    cny_rates: tuple[str, ...] = ()  # the display rates ``¥`` amounts were read at (CNY per USD)

    @property
    def credited(self) -> int:
        return sum(q for _, q in self.credits)

    @property
    def net_wallet(self) -> int:
        """Wallet-billed consumption minus refunds (subscription usage is not drawn from the wallet)."""
        return self.consumed_wallet - self.refunded

    @property
    def change(self) -> int:
        """How much the balance moved over the span, as far as the logs tell."""
        return self.credited - self.net_wallet


def as_credit(read: Credit | tuple[str, int] | None) -> Credit | None:
    """A parser's answer as a :class:`Credit` (a plugin's parser may answer ``(kind, quota)``);
    None for an unreadable row, or an answer naming no known kind."""
    if read is None:
        return None
    credit = read if isinstance(read, Credit) else Credit(read[0], int(read[1]), "quota")
    if credit.kind not in (*CREDIT_KINDS, NO_WALLET):
        return None
    return credit


def flow_of(
    rows: Sequence[CreditRow],
    consumed_wallet: int,
    consumed_subscription: int,
    refunded: int,
    qpu: Decimal,
    parse: Callable[[CreditRow, Decimal], Credit | tuple[str, int] | None],
) -> Flow:
    """A span's :class:`Flow` from its credit rows (read by ``parse``) and its consumption sums."""
    sums = dict.fromkeys(CREDIT_KINDS, 0)
    unreadable = []
    no_wallet = 0
    rates: set[Decimal] = set()
    for row in rows:
        credit = as_credit(parse(row, qpu))
        if credit is None:
            unreadable.append(shorten(row.content, SHOWN_TEXT))
        elif credit.kind == NO_WALLET:
            no_wallet += 1
        else:
            sums[credit.kind] += credit.quota
            if credit.cny_per_usd is not None:
                rates.add(credit.cny_per_usd)
    return Flow(
        tuple((k, sums[k]) for k in CREDIT_KINDS),
        tuple(unreadable),
        consumed_wallet,
        consumed_subscription,
        refunded,
        no_wallet,
        tuple(str(r) for r in sorted(rates)),
    )


@dataclass(frozen=True, slots=True)
class End:
    """A balance at a period boundary: a balance read rolled through the stored rows to it
    (:mod:`.balances`), or not known (``quota`` None) with the nearest read and the spans
    ``gaps`` the store lacks between it and the boundary."""

    quota: int | None  # None: no read reaches the boundary
    snapshot_at: int | None = None
    snapshot_quota: int | None = None
    rolled: int = 0  # quota added to the read's balance to reach the boundary
    gaps: tuple[tuple[int, int], ...] = ()  # [start, end) between the read and the boundary not in the store


#: Notes that state how a figure was read, not what could explain a residual.
STATED = frozenset({"display_rate", "one_read"})


@dataclass(frozen=True, slots=True)
class BridgeNote:
    """What could explain a residual, as a label key and its values: each document words it in
    its own language (labels.toml's ``bridge_note_KIND``)."""

    kind: str
    values: tuple[tuple[str, str], ...] = ()

    def text(self, labels: Mapping[str, str]) -> str:
        """The note in ``labels``' words: the ``bridge_`` labels of one language, prefix cut off."""
        values = dict(self.values)
        if "credit" in values:  # a credit kind (topup, redemption, ...) in the document's words
            values["credit"] = labels.get(f"credit_{values['credit']}", values["credit"])
        return labels[f"note_{self.kind}"].format(**values)


@dataclass(frozen=True, slots=True)
class SourceBridge:
    """One source's bridge over a period, in quota (money is quota ÷ quota per unit)."""

    source: str
    account: str
    opening: End
    flow: Flow
    closing: End
    records: tuple[tuple[str, int, int], ...] = ()  # (kind, count, quota) of the gateway's own records
    explanations: tuple[BridgeNote, ...] = ()
    one_read: bool = False  # both ends told by one balance read (the residual is 0 by construction)
    payments: tuple[Payment, ...] = ()  # the top-ups as the payments they are (see .payments)

    @property
    def expected_closing(self) -> int | None:
        """Opening + credits − net wallet spend; None when the opening or a credit's amount is not known."""
        if self.opening.quota is None or self.flow.unreadable:
            return None
        return self.opening.quota + self.flow.change

    @property
    def residual(self) -> int | None:
        """Observed closing − (opening + credits − net wallet spend); None when an end is unknown."""
        expected = self.expected_closing
        if expected is None or self.closing.quota is None:
            return None
        return self.closing.quota - expected

    @property
    def closes(self) -> bool:
        return self.residual == 0

    @property
    def unexplained(self) -> bool:
        """A residual that no known cause accounts for (``--strict`` makes it a finding)."""
        return bool(self.residual) and not any(n.kind not in STATED for n in self.explanations)


@dataclass(frozen=True, slots=True)
class Bridge:
    """The wallet bridge of a period: one :class:`SourceBridge` per source, and their sum."""

    start_ts: int
    end_ts: int
    quota_per_unit: Decimal
    sources: tuple[SourceBridge, ...] = field(default_factory=tuple)

    def total(self, getter: Callable[[SourceBridge], int | None]) -> int | None:
        values = [getter(s) for s in self.sources]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    frozen: bool = False  # read as frozen at a period's close (not serialised: the reader sets it)

    def usd(self, quota: int | None) -> Decimal | None:
        return None if quota is None else Decimal(quota) / self.quota_per_unit


def explain(
    bridge: SourceBridge, describe_gap: Callable[[int, int], str], describe_time: Callable[[int], str]
) -> SourceBridge:
    """Name what keeps an end from being known, what could account for the residual, and how a
    figure was read."""
    notes: list[BridgeNote] = []
    ends = [("opening", bridge.opening), ("closing", bridge.closing)]
    o, c = bridge.opening, bridge.closing
    if o.quota is None and c.quota is None and o.gaps and (o.snapshot_at, o.gaps) == (c.snapshot_at, c.gaps):
        ends = [("both", o)]  # one read, one span the store lacks: said once
    for label, end in ends:
        if end.quota is not None:
            continue
        if end.snapshot_at is None:
            notes.append(BridgeNote(f"no_snapshot_{label}"))
            continue
        when = ("when", describe_time(end.snapshot_at))
        for lo, hi in end.gaps:
            notes.append(BridgeNote(f"gap_{label}", (when, ("range", describe_gap(lo, hi)))))
        if not end.gaps:  # credit rows between the read and the boundary could not be read
            notes.append(BridgeNote(f"unrolled_{label}", (when,)))
    if bridge.one_read and bridge.closing.snapshot_at is not None:
        notes.append(BridgeNote("one_read", (("when", describe_time(bridge.closing.snapshot_at)),)))
    if bridge.flow.unreadable:
        shown = "; ".join(repr(t[:60]) for t in bridge.flow.unreadable[:3])
        notes.append(BridgeNote("unreadable", (("count", str(len(bridge.flow.unreadable))), ("rows", shown))))
    if bridge.flow.cny_rates:
        notes.append(BridgeNote("display_rate", (("rate", ", ".join(bridge.flow.cny_rates)),)))
    logged = {k: q for k, q in bridge.flow.credits}
    for kind, count, quota in bridge.records:
        if quota != logged.get(kind, 0):
            values = (
                ("credit", kind), ("count", str(count)), ("quota", str(quota)),
                ("logged", str(logged.get(kind, 0))), ("difference", str(quota - logged.get(kind, 0))),
            )  # fmt: skip
            notes.append(BridgeNote("records", values))
    return replace(bridge, explanations=tuple(notes))


def chain(
    parts: Sequence[Bridge], describe_gap: Callable[[int, int], str], describe_time: Callable[[int], str]
) -> Bridge:
    """The bridges of consecutive spans as one (a quarter of closed and live months): each
    source's opening from the first span, its closing from the last, the flows and the
    gateway's records summed, the notes said again for the whole (see :func:`explain`)."""
    first, last = parts[0], parts[-1]
    out = []
    for name in dict.fromkeys(s.source for b in parts for s in b.sources):
        mine = [s for b in parts for s in b.sources if s.source == name]
        credits: Counter[str] = Counter()
        records: dict[str, tuple[int, int]] = {}
        for s in mine:
            credits.update(dict(s.flow.credits))
            for kind, count, quota in s.records:
                had = records.get(kind, (0, 0))
                records[kind] = (had[0] + count, had[1] + quota)
        flow = Flow(
            tuple((k, credits[k]) for k in CREDIT_KINDS),
            tuple(t for s in mine for t in s.flow.unreadable),
            sum(s.flow.consumed_wallet for s in mine),
            sum(s.flow.consumed_subscription for s in mine),
            sum(s.flow.refunded for s in mine),
            sum(s.flow.no_wallet for s in mine),
            tuple(sorted({r for s in mine for r in s.flow.cny_rates}, key=Decimal)),
        )
        opening = next((s.opening for s in first.sources if s.source == name), End(None))
        closing = next((s.closing for s in last.sources if s.source == name), End(None))
        one = (
            opening.quota is not None
            and closing.quota is not None
            and opening.snapshot_at == closing.snapshot_at
        )
        bridge = SourceBridge(
            name, mine[0].account, opening, flow, closing,
            tuple((k, c, q) for k, (c, q) in sorted(records.items())), one_read=one,
            payments=tuple(p for s in mine for p in s.payments),
        )  # fmt: skip
        out.append(explain(bridge, describe_gap, describe_time))
    return Bridge(
        first.start_ts, last.end_ts, first.quota_per_unit, tuple(out), frozen=all(b.frozen for b in parts)
    )


def unexplained_text(bridge: SourceBridge, labels: Mapping[str, str]) -> str:
    """Why a residual is a finding, in ``labels``' words (see :meth:`BridgeNote.text`)."""
    residual = bridge.residual or 0
    kind = "unexplained_more" if residual > 0 else "unexplained_less"
    return BridgeNote(kind, (("source", bridge.source), ("quota", str(abs(residual))))).text(labels)


#: The bridge's lines, in order: (key, sign shown, is a subtotal).
LINES = (
    "opening", "topup", "redemption", "admin", "system", "subscription", "consumed_wallet", "refunded",
    "expected_closing", "closing", "residual", "consumed_subscription",
)  # fmt: skip


def line_values(s: SourceBridge) -> list[tuple[str, int | None]]:
    """``(line key, quota)`` of one source's bridge, signed as it adds up (None: not known).

    The ``subscription`` line (subscriptions bought with the balance) only when there were any."""
    credits = dict(s.flow.credits)
    bought = [("subscription", credits["subscription"])] if credits.get("subscription") else []
    return [
        ("opening", s.opening.quota),
        ("topup", credits.get("topup", 0)),
        ("redemption", credits.get("redemption", 0)),
        ("admin", credits.get("admin", 0)),
        ("system", credits.get("system", 0)),
        *bought,
        ("consumed_wallet", -s.flow.consumed_wallet),
        ("refunded", s.flow.refunded),
        ("expected_closing", s.expected_closing),
        ("closing", s.closing.quota),
        ("residual", s.residual),
        ("consumed_subscription", s.flow.consumed_subscription),
    ]


class BridgeLine(NamedTuple):
    """One printed line of a source's bridge: its quota (None: not known, or a rounding line),
    its USD and its CNY in cents (None: not known, no rate, or nothing to round)."""

    key: str
    quota: int | None
    usd: Decimal | None
    cny: Decimal | None = None


def _roundings(exact: Mapping[str, Decimal | None], flows: Sequence[str]) -> dict[str, Decimal]:
    """The rounding line printed before each subtotal whose lines' cents do not add up to it."""
    out = {}
    if exact["expected_closing"] is not None:
        out["expected_closing"] = printed_lines(
            [exact[k] or Decimal(0) for k in flows], exact["expected_closing"]
        ).rounding
    closing, expected, residual = exact["closing"], exact["expected_closing"], exact["residual"]
    if residual is not None and closing is not None and expected is not None:
        out["residual"] = printed_lines([closing, -expected], residual).rounding
    return out


def printed_bridge(bridge: Bridge, s: SourceBridge, rate: Decimal | None = None) -> list[BridgeLine]:
    """One source's bridge as printed: each figure signed as it adds up (one sign), in quota, USD
    and (with the source's ``rate``, CNY per USD) CNY, every figure its exact amount rounded
    half-up to the cent; a ``rounding`` line before a subtotal its lines' cents do not add up to
    (the closing by the logs, and the residual), in each currency on its own."""
    rows = line_values(s)
    usd = {key: bridge.usd(quota) for key, quota in rows}
    cny = {key: None if rate is None or v is None else convert(v, rate) for key, v in usd.items()}
    flows = [key for key, _ in rows[: [k for k, _ in rows].index("expected_closing")]]
    usd_rounding, cny_rounding = _roundings(usd, flows), _roundings(cny, flows) if rate is not None else {}
    out: list[BridgeLine] = []
    for key, quota in rows:
        r_usd, r_cny = usd_rounding.get(key, Decimal(0)), cny_rounding.get(key, Decimal(0))
        if r_usd or r_cny:
            out.append(BridgeLine("rounding", None, r_usd or None, r_cny or None))
        u, c = usd[key], cny[key]
        out.append(BridgeLine(key, quota, None if u is None else cents(u), None if c is None else cents(c)))
    return out


def cny_note(source: str, rate: Decimal | None, labels: Mapping[str, str]) -> str:
    """The rate a source's CNY column is at, or why it is blank, in ``labels``' words (``bridge_``)."""
    if rate is None:
        return labels["no_rate"].format(source=source)
    return labels["cny_rate"].format(rate=rate_text(rate), source=source)
