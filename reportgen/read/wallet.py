"""A period's wallet bridge, computed from the store's wallet facts with each source's flavour."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from .. import flavors
from ..core.balances import tell_ends
from ..core.payments import payments_of
from ..core.wallet import Bridge, CreditRow, Flow, SourceBridge, as_credit, chain, explain, flow_of
from ..core.walletjson import bridge_from_json
from ..hookspecs import CreditParser
from ..store import BRIDGE_META
from ..store.coverage import uncovered
from ..store.wallet import WalletReads
from .timeline import Timeline

#: A display rate as read: (read_at, CNY per USD).
Rate = tuple[int, Decimal]


def bridge_of(
    reader: WalletReads, start_ts: int, end_ts: int, quota_per_unit: Decimal, tz: ZoneInfo
) -> Bridge:
    """The bridge of ``[start_ts, end_ts)`` for each source ``reader`` reads."""
    accounts = reader.source_accounts()
    out = []
    for source in reader.source_names():
        # the flavour's wording of its credit rows, each row with the display rate of its time
        parse = flavors.credit_parser(reader.source_flavor(source))
        rates = reader.display_rates(source)
        covered = reader.source_coverage(source)

        def flow(
            lo: int, hi: int, source: str = source, parse: CreditParser = parse, rates: list[Rate] = rates
        ) -> Flow:
            wallet, subscription, refunded = reader.spend_sums(source, lo, hi)
            rows = [with_rate(row, rates) for row in reader.credit_rows(source, lo, hi)]
            return flow_of(rows, wallet, subscription, refunded, quota_per_unit, parse)

        def gaps(lo: int, hi: int, covered: list[tuple[int, int]] = covered) -> list[tuple[int, int]]:
            if hi <= lo:
                return []
            return [(a, b + 1) for a, b in uncovered(covered, lo, hi - 1)]

        opening, closing, one_read = tell_ends(reader.balances(source), start_ts, end_ts, flow, gaps)
        kinds: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        records = reader.wallet_records(source, start_ts, end_ts)
        for record in records:
            kinds[record.kind] += record.quota
            counts[record.kind] += 1
        read = []  # the top-up rows with what they credited: the payments
        for row in reader.credit_rows(source, start_ts, end_ts):
            credit = as_credit(parse(with_rate(row, rates), quota_per_unit)) if row.type == 1 else None
            if credit is not None:
                read.append((row, credit))
        bridge = SourceBridge(
            source,
            accounts.get(source, ""),
            opening,
            flow(start_ts, end_ts),
            closing,
            tuple((k, counts[k], kinds[k]) for k in sorted(kinds)),
            one_read=one_read,
            payments=payments_of(read, records),
        )
        out.append(explain(bridge, *_describe(tz)))
    return Bridge(start_ts, end_ts, quota_per_unit, tuple(out))


def period_bridge(
    timeline: Timeline,
    start_ts: int,
    end_ts: int,
    quota_per_unit: Decimal,
    tz: ZoneInfo,
    names: Sequence[str],
) -> Bridge | None:
    """The bridge of ``[start_ts, end_ts)`` read piece by piece: a closed period wholly inside it
    as frozen at its close, the rest computed from the store it is read from (a closed
    snapshot's own for a part of a closed period, else the live store); the pieces chained.
    Only the sources ``names``."""
    parts = []
    for piece, lo, hi in timeline.cut(start_ts, end_ts):
        c = piece.closure
        if c is not None and (lo, hi) == (c.period.start_ts, c.period.end_ts):
            text = piece.reader.get_meta(BRIDGE_META)
            if text is None:
                return None  # closed before bridges were kept: none is made up now
            part = replace(bridge_from_json(json.loads(text)), frozen=True)
        else:
            part = bridge_of(piece.reader, lo, hi, quota_per_unit, tz)
        parts.append(replace(part, sources=tuple(s for s in part.sources if s.source in names)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else chain(parts, *_describe(tz))


def _describe(tz: ZoneInfo) -> tuple[Callable[[int, int], str], Callable[[int], str]]:
    """How notes name a span and a moment: local time of the report's zone."""

    def at(ts: int) -> str:
        return f"{datetime.fromtimestamp(ts, tz):%Y-%m-%d %H:%M:%S}"

    return (lambda lo, hi: f"{at(lo)} – {at(hi)}"), at


def with_rate(row: CreditRow, rates: list[Rate]) -> CreditRow:
    """``row`` with the display rate in force when it was written: the last ``/api/status`` read at
    or before it, else the first after (``rates``: ``(read_at, rate)``, oldest first)."""
    if not rates:
        return row
    at = bisect_right(rates, row.created_at, key=lambda r: r[0])
    return replace(row, cny_per_usd=rates[max(at - 1, 0)][1])
