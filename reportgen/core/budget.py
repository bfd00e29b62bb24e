"""A project's budget position and its grant's charged lines, as reports carry them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


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

    @property
    def spent(self) -> Decimal:
        """The charged total in the budget currency (the sum of the lines, exact)."""
        return sum((line.cost for line in self.lines), Decimal(0))
