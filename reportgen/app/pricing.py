"""Which ``/api/status`` each synced window is priced by, and what a change at the gateway means.

The operator can change ``quota_per_unit`` or the exchange rate at any time, and history is
not re-stamped.  A month (of the report timezone) is priced by what the gateway said when
its first rows were synced, and its later windows keep that price, so no stored period
changes its figures because ``/api/status`` said something else later.  A change is told in
one line naming the old and new value and the months that keep the old one; ``sync
--reprice`` prices the months it syncs at what the gateway says now (a closed one gets an
amendment: its documents change only when it is closed again).  A status whose exchange rate
was ignored (implausible) or absent keeps the rate pinned before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import DEFAULT_SOURCE
from ..core.records import GatewayStatus
from ..store import Store, closures, record_repricing

#: Months a change message names at most before "and N more".
_SHOWN = 6


@dataclass
class Pricing:
    """The prices of one sync of source ``name``: what it pins each window at, and what changed."""

    store: Store
    name: str
    now: GatewayStatus
    tz: ZoneInfo
    reprice: bool = False
    #: month start -> the price its windows already have (the month's first pin)
    _months: dict[int, GatewayStatus] = field(default_factory=dict)

    @classmethod
    def of(cls, store: Store, name: str, read: GatewayStatus, tz: ZoneInfo, reprice: bool) -> Pricing:
        """The sync's prices, from the status just ``read`` and the pins the store holds."""
        pins = store.window_prices(0, 2**62, source=name)
        now = read
        if read.usd_exchange_rate is None:  # ignored as implausible, or not said: the rate pinned before
            rate = next((st.usd_exchange_rate for *_, st in reversed(pins) if st.usd_exchange_rate), None)
            now = replace(read, usd_exchange_rate=rate)
        pricing = cls(store, name, now, tz, reprice)
        for _, lo, hi, status in pins:  # a pin may span months (a store's coverage priced by migration 10)
            month = _month(lo, tz)
            while month <= hi:
                pricing._months.setdefault(month, status)
                month = _month(month + 32 * 86400, tz)
        return pricing

    def price(self, lo: int) -> GatewayStatus:
        """The price of the window starting at ``lo``: its month's, unless repricing or none yet."""
        month = _month(lo, self.tz)
        if self.reprice or month not in self._months:
            self._months[month] = self.now
        return self._months[month]

    def notice(self, target: tuple[int, int]) -> str | None:
        """One line when months the store holds are priced otherwise than the gateway says now."""
        kept: dict[tuple[str, str], list[str]] = {}
        labels = {c.period.label for c in closures(self.store)}
        for month, status in sorted(self._months.items()):
            label = datetime.fromtimestamp(month, self.tz).strftime("%Y-%m")
            if label in labels:
                continue  # closed: its documents are frozen anyway (--reprice amends it)
            if self.reprice and _month(target[0], self.tz) <= month <= target[1]:
                continue
            for what, old, new in _differences(status, self.now):
                kept.setdefault((what, f"{old} -> {new}"), []).append(label)
        if not kept:
            return None
        parts = []
        for (what, change), months in kept.items():
            old, new = change.split(" -> ")
            shown = ", ".join(months[:_SHOWN]) + (
                f" and {len(months) - _SHOWN} more" if len(months) > _SHOWN else ""
            )
            parts.append(f"the gateway's {what} is now {new} (was {old}): {shown} keep {old}")
        return (
            ("" if self.name == DEFAULT_SOURCE else f"source {self.name}: ")
            + "; ".join(parts)
            + ", as priced when their rows were synced; `reportgen sync --period MONTH --reprice` prices one at "
            "what the gateway says now"
        )

    def amend_closed(self, span: tuple[int, int], at: int, sync_id: int) -> list[str]:
        """With ``reprice``: record an amendment for each closed period in ``span`` priced otherwise."""
        if not self.reprice:
            return []
        out = []
        for closure in closures(self.store):
            if closure.period.end_ts <= span[0] or closure.period.start_ts > span[1]:
                continue
            if closure.status is not None and not _differences(closure.status, self.now):
                continue
            record_repricing(self.store, closure, self.now, at, sync_id)
            out.append(closure.period.label)
        return out


def _differences(then: GatewayStatus, now: GatewayStatus) -> list[tuple[str, str, str]]:
    out = []
    if then.quota_per_unit != now.quota_per_unit:
        out.append(("quota_per_unit", str(then.quota_per_unit), str(now.quota_per_unit)))
    if now.usd_exchange_rate is not None and then.usd_exchange_rate != now.usd_exchange_rate:
        out.append(("usd_exchange_rate", str(then.usd_exchange_rate), str(now.usd_exchange_rate)))
    return out


def _month(ts: int, tz: ZoneInfo) -> int:
    """The start of the local month holding ``ts``."""
    local = datetime.fromtimestamp(ts, tz)
    return int(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())
