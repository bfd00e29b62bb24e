"""Money split: consumption, refunds and net, wallet-paid apart from subscription-billed; the claim base.

A claim (报销) is for what left the wallet: usage billed to a subscription was paid when the
subscription was bought, so the default claim base is ``wallet`` (net wallet-paid spend);
``[report] claim_base = "all"`` claims the whole net spend.  Amounts are exact ``Decimal``;
round only when printing (:mod:`reportgen.core.money`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .money import Printed, PrintedConversion, convert, convert_parts_for_print, usd
from .rates import Exchange
from .stats import Stats

#: The claim bases ``[report] claim_base`` accepts: net wallet-paid spend, or all net spend.
CLAIM_BASES = ("wallet", "all")
DEFAULT_CLAIM_BASE = "wallet"


@dataclass(frozen=True, slots=True)
class MoneySplit:
    """A group's spend in USD, exact: ``consumption − refunds = net = wallet + subscription``."""

    consumption: Decimal
    refunds: Decimal
    net: Decimal
    wallet: Decimal
    subscription: Decimal


def money_split(stats: Stats, quota_per_unit: Decimal) -> MoneySplit:
    """The split of ``stats``' quota in USD at ``quota_per_unit``."""
    return MoneySplit(
        consumption=usd(stats.consumed_quota, quota_per_unit),
        refunds=usd(stats.refunded_quota, quota_per_unit),
        net=usd(stats.quota, quota_per_unit),
        wallet=usd(stats.wallet_quota, quota_per_unit),
        subscription=usd(stats.subscription_net_quota, quota_per_unit),
    )


def base_quota(stats: Stats, base: str) -> int:
    """The net quota a claim on ``base`` is for: wallet-paid (``wallet``) or all (``all``)."""
    return stats.wallet_quota if base == "wallet" else stats.quota


@dataclass(frozen=True, slots=True)
class ClaimPart:
    """The part of a claim that one rate converts: one source's (or, with one rate, all of it)."""

    source: str
    usd: Decimal
    exchange: Exchange

    @property
    def cny(self) -> Decimal | None:
        return None if self.exchange.rate is None else convert(self.usd, self.exchange.rate)


@dataclass(frozen=True, slots=True)
class ClaimAmount:
    """What a claim form is for, on its base: the USD, each rate's part, and the CNY, all exact.

    ``parts`` has one entry when one rate converts every source, else one per source at its
    own rate (their CNY sum is ``cny``).  ``left_out`` is the net USD the base leaves out
    (subscription-billed usage when the base is ``wallet``; 0 for ``all``).
    """

    base: str
    usd: Decimal
    parts: tuple[ClaimPart, ...]
    left_out: Decimal

    @property
    def cny(self) -> Decimal | None:
        """The claim in CNY, exact (each part at its rate); None when any part has no rate."""
        amounts = [p.cny for p in self.parts]
        if not amounts or any(a is None for a in amounts):
            return None
        return sum((a for a in amounts if a is not None), Decimal(0))

    def printed(self) -> tuple[tuple[PrintedConversion, ...], Printed] | None:
        """Each part as printed (原币 × 汇率 = 折合, with its 折算差额) and the parts footed to the
        printed CNY total with a rounding line; None without every rate."""
        if self.cny is None:
            return None
        return convert_parts_for_print([(p.usd, p.exchange.rate) for p in self.parts if p.exchange.rate])
