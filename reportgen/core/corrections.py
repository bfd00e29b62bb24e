"""Corrections to a closed period: the rows its live store holds now and its snapshot did not, and back.

A closed period's documents show its frozen rows.  When a later sync changes them (a
late row, a re-fetched window), the difference is a multiset of whole rows: each row the
store holds now and the snapshot did not was *added* since the close (+1), each row the
snapshot held and the store no longer does was *removed* (−1).  Frozen rows plus these
signed rows are exactly the live rows, so frozen totals plus corrections equal the live
totals.  A changed row is one removed and one added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .fingerprint import parse_row
from .periods import Period
from .records import LogType, UsageRecord


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
class CorrectionTotals:
    """What the corrections add to a closed period's frozen totals (quota signed like ``Stats``)."""

    rows_added: int = 0
    rows_removed: int = 0
    requests: int = 0
    consumed_quota: int = 0
    refunded_quota: int = 0
    subscription_quota: int = 0
    cny_quota: Decimal | None = None  # Σ net quota × its source's rate; None when a rate is unknown

    def cny(self, quota_per_unit: Decimal) -> Decimal | None:
        """The net spend in CNY, each row at its source's rate."""
        return None if self.cny_quota is None else self.cny_quota / quota_per_unit

    @property
    def quota(self) -> int:
        """Net quota: consumption minus refunds."""
        return self.consumed_quota - self.refunded_quota


def correction_totals(
    corrections: Iterable[Correction], rate_of: Callable[[str], Decimal | None] = lambda key: None
) -> CorrectionTotals:
    """The corrections summed the way a period's totals are (consumption, refunds, subscription use)."""
    added = removed = requests = consumed = refunded = subscription = 0
    cny: Decimal | None = Decimal(0)
    for c in corrections:
        r = c.record
        rate = rate_of(r.token_name)
        if r.type in (LogType.CONSUME, LogType.REFUND) and cny is not None:
            cny = (
                None
                if rate is None
                else cny + c.sign * (r.quota if r.type == LogType.CONSUME else -r.quota) * rate
            )
        if c.sign > 0:
            added += 1
        else:
            removed += 1
        if r.type == LogType.CONSUME:
            requests += c.sign
            consumed += c.sign * r.quota
            if r.subscription:
                subscription += c.sign * r.quota
        elif r.type == LogType.REFUND:
            refunded += c.sign * r.quota
    return CorrectionTotals(added, removed, requests, consumed, refunded, subscription, cny)


def changed_rows(
    then: Iterable[tuple[bytes, str]], now: Iterable[tuple[bytes, str]]
) -> Iterator[tuple[int, UsageRecord]]:
    """``(+1, row)`` for each row only in ``now``, ``(-1, row)`` for each only in ``then``.

    Both are ``(digest, canonical line)`` streams in digest order (what the fingerprint
    hashes), so equal rows pair off one for one and multiplicity is kept.
    """
    a, b = iter(then), iter(now)
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            assert x is not None
            yield -1, record_of(parse_row(x[1]))
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            yield 1, record_of(parse_row(y[1]))
            y = next(b, None)
        else:
            x, y = next(a, None), next(b, None)


def record_of(values: tuple[Any, ...]) -> UsageRecord:
    """A canonical row's values (:data:`~reportgen.core.fingerprint.ROW_FIELDS`) as a record."""
    v = list(values)
    v[8] = bool(v[8])  # is_stream
    v[17] = bool(v[17])  # has_price
    return UsageRecord(*v)
