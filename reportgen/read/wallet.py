"""A period's wallet bridge, computed from the store's wallet facts with each source's flavour."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from .. import flavors
from ..core.wallet import Bridge, CreditRow, Flow, SourceBridge, explain, flow_of, pick_snapshots, roll
from ..hookspecs import CreditParser
from ..store.coverage import uncovered
from ..store.wallet import WalletReads

#: A display rate as read: (read_at, CNY per USD).
Rate = tuple[int, Decimal]


def bridge_of(
    reader: WalletReads, start_ts: int, end_ts: int, quota_per_unit: Decimal, tz: ZoneInfo
) -> Bridge:
    """The bridge of ``[start_ts, end_ts)`` for each source ``reader`` reads."""
    accounts = reader.source_accounts()
    out = []
    for source in reader.source_names():
        # the flavour's wording of its credit rows
        parse = flavors.credit_parser(reader.source_flavor(source))

        rates = reader.display_rates(source)

        def flow(
            lo: int, hi: int, source: str = source, parse: CreditParser = parse, rates: list[Rate] = rates
        ) -> Flow:
            wallet, subscription, refunded = reader.spend_sums(source, lo, hi)
            rows = [with_rate(row, rates) for row in reader.credit_rows(source, lo, hi)]
            return flow_of(rows, wallet, subscription, refunded, quota_per_unit, parse)

        def gaps(lo: int, hi: int, source: str = source) -> list[tuple[int, int]]:
            if hi <= lo:
                return []
            return [(a, b + 1) for a, b in uncovered(reader.source_coverage(source), lo, hi - 1)]

        def when(lo: int, hi: int) -> str:
            return f"{datetime.fromtimestamp(lo, tz):%Y-%m-%d %H:%M:%S} – {datetime.fromtimestamp(hi, tz):%Y-%m-%d %H:%M:%S}"

        opening, closing = pick_snapshots(reader.balances(source), start_ts, end_ts)
        kinds: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for record in reader.wallet_records(source, start_ts, end_ts):
            kinds[record.kind] += record.quota
            counts[record.kind] += 1
        bridge = SourceBridge(
            source,
            accounts.get(source, ""),
            roll(opening, start_ts, flow, gaps),
            flow(start_ts, end_ts),
            roll(closing, end_ts, flow, gaps),
            tuple((k, counts[k], kinds[k]) for k in sorted(kinds)),
        )
        out.append(explain(bridge, when))
    return Bridge(start_ts, end_ts, quota_per_unit, tuple(out))


def with_rate(row: CreditRow, rates: list[Rate]) -> CreditRow:
    """``row`` with the display rate in force when it was written: the last ``/api/status`` read at
    or before it, else the first after (``rates``: ``(read_at, rate)``, oldest first)."""
    if not rates:
        return row
    at = bisect_right(rates, row.created_at, key=lambda r: r[0])
    return replace(row, cny_per_usd=rates[max(at - 1, 0)][1])
