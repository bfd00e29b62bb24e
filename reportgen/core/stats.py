"""The figures of a group (:class:`Stats`) and a breakdown's line (:class:`Line`).  Money is ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Stats:
    """The figures of one group (the whole period, a member, a key, a model, a day, ...)."""

    requests: int = 0
    errors: int = 0
    consumed_quota: int = 0
    refunded_quota: int = 0
    #: Consumption billed to a subscription (never charged to the wallet), and the refunds of it.
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
    subscription_refunded_quota: int = 0

    @property
    def quota(self) -> int:
        """Net quota: consumption minus refunds."""
        return self.consumed_quota - self.refunded_quota

    @property
    def subscription_net_quota(self) -> int:
        """Net quota billed to a subscription: its consumption minus its refunds."""
        return self.subscription_quota - self.subscription_refunded_quota

    @property
    def wallet_quota(self) -> int:
        """Net quota paid from the wallet: the net quota less what a subscription billed."""
        return self.quota - self.subscription_net_quota

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
