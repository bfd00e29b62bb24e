"""A project's budget position and its grant's charged lines, as reports carry them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fnmatch import fnmatchcase

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Charge:
    """A member's or a key's spend charged to a project, ``share`` percent, on ``[start, end]``."""

    member: str | None
    key: str | None
    share: Decimal = HUNDRED
    start: date | None = None
    end: date | None = None

    @property
    def target(self) -> str:
        return f"member {self.member!r}" if self.member is not None else f"key {self.key!r}"


@dataclass(frozen=True, slots=True)
class BudgetCategory:
    """A budget line (预算科目) of a project: its amount, and which charged spend it takes.

    Spend goes to the first category, in the order configured, that names its key, its
    member or its model (a ``fnmatch`` pattern such as ``gpt-*``); spend no category names
    goes to the one category that names nothing (the default), and without one it is
    shown apart as unassigned, never hidden in another line.  ``name`` is empty for a
    project whose ``budget`` is one amount (the documents print their own word for it).
    """

    name: str
    amount: Decimal
    keys: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def default(self) -> bool:
        return not (self.keys or self.members or self.models)

    def takes(self, key: str, member: str, model: str) -> bool:
        return key in self.keys or member in self.members or any(fnmatchcase(model, p) for p in self.models)


@dataclass(frozen=True, slots=True)
class CategoryLine:
    """One budget category's figures in the budget currency (exact): 预算数, 本期支出, 累计支出.

    ``spent`` counts from the project's start through the as-of day, ``period_spent`` the
    report period's part of it.  ``assigned`` is False for the line of spend no category
    takes (its budget is 0).
    """

    name: str
    budget: Decimal
    period_spent: Decimal
    spent: Decimal
    assigned: bool = True

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.spent

    @property
    def share_used(self) -> Decimal | None:
        return self.spent / self.budget if self.budget else None

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget


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
    #: The runs of those days (first, last inclusive), named in the documents.
    unsynced: tuple[tuple[date, date], ...] = ()
    #: Per budget category (one line for a project with one budget amount), in config order,
    #: then the unassigned spend if any.
    categories: tuple[CategoryLine, ...] = ()

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget

    @property
    def overrun(self) -> Decimal:
        """What the spend exceeds the budget by (0 within budget): the claim box warns with it."""
        return max(self.spent - self.budget, Decimal(0))

    @property
    def run_out_after_end(self) -> bool:
        """True when the run-out date at the current rate falls after the project's end."""
        return self.run_out is not None and self.run_out > self.end


@dataclass(frozen=True, slots=True)
class GrantLine:
    """Charged spend of one month × member × model of a project (quota may be fractional)."""

    month: str
    member: str
    model: str
    quota: Decimal
    cost_usd: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class IssuedClaim:
    """A claim (a project packet) already issued from the register: number, period, amount."""

    number: str
    first: date
    last: date
    issued: date
    amount: Decimal | None  # exact, in ``currency``; None when the register did not record it
    currency: str


#: What a grant report is, by its period: the title says it (月度/季度/年度报告, 结题报告).
GRANT_KINDS = ("month", "quarter", "year", "final", "interim")


@dataclass(frozen=True)
class GrantView:
    """What a grant report adds: the budget lines, the charged breakdown, the claims, the notes.

    ``daily`` is the charged spend of each day from the project's start through its as-of
    day (exact, budget currency), what the burn-down draws; ``kind`` one of
    :data:`GRANT_KINDS`; ``claims`` the project's claims issued before this report.
    """

    project: ProjectLine
    lines: tuple[GrantLine, ...]
    justification: str = ""
    member_notes: tuple[tuple[str, str], ...] = ()
    charges: tuple[Charge, ...] = ()
    kind: str = "final"
    daily: tuple[tuple[date, Decimal], ...] = ()
    claims: tuple[IssuedClaim, ...] = ()
    #: The charged USD of each source (exact), when the sources convert at different rates.
    usd_by_source: tuple[tuple[str, Decimal], ...] = ()

    @property
    def spent(self) -> Decimal:
        """The charged total in the budget currency (the sum of the lines, exact)."""
        return sum((line.cost for line in self.lines), Decimal(0))
