"""Projects and budgets: a project's charges, budget categories and charged spend.

A project (a grant or a cost centre) has a budget in USD or CNY, inclusive start and end
dates in the report timezone, and *charges*: members and keys charged to it, each
optionally from/to a date (a key moves between projects on a date) and with a percentage
``share`` (a shared key split 60/40 across two projects).  Its budget is one amount or
budget categories (预算科目), each taking the spend of the keys, members or models it
names (see :class:`~reportgen.core.budget.BudgetCategory`; ``reportgen.config.projects``
reads them from ``[projects.NAME]``).

Allocation works on the store's buckets (key × model × local day), so it is exact per day.
A split makes fractional quota: charged quota is ``quota × share / 100`` as an exact
``Decimal`` and money is derived from it exactly; nothing is rounded here.  Documents
round to the cent when they print (the PDF by the largest-remainder method), so the two
halves of a split key may each round by up to half a cent.  Spend on a project's keys or
members outside the project's dates is never counted to it; it is reported as
``outside`` so that someone looks at it.

Everything here is pure: no I/O.  :mod:`reportgen.read.projects` feeds it from the store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ..errors import ConfigError
from .budget import HUNDRED, BudgetCategory, CategoryLine, Charge, GrantLine, ProjectLine
from .partials import Bucket
from .records import LogType

CURRENCIES = ("USD", "CNY")


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    title: str
    code: str
    budget: Decimal
    currency: str
    start: date
    end: date
    justification: str
    charges: tuple[Charge, ...]
    #: The budget categories, adding up to ``budget`` (one unnamed one for a single amount).
    categories: tuple[BudgetCategory, ...] = ()

    def category(self, key: str, member: str, model: str) -> str | None:
        """The category that takes this spend: the first naming it, else the default; None: unassigned."""
        for c in self.categories:
            if not c.default and c.takes(key, member, model):
                return c.name
        return next((c.name for c in self.categories if c.default), None)

    def span(self, charge: Charge) -> tuple[date, date]:
        """The days a charge counts to this project: its own dates clipped to the project's."""
        lo = max(self.start, charge.start) if charge.start else self.start
        hi = min(self.end, charge.end) if charge.end else self.end
        return lo, hi

    def share(self, key: str, member: str, day: date) -> Decimal:
        """Percent of ``key``'s spend on ``day`` charged to this project (0 outside its dates)."""
        if not self.start <= day <= self.end:
            return Decimal(0)
        return self.matching(key, member, day)

    def outside(self, key: str, member: str, day: date) -> bool:
        """True when a charge names this key or member on ``day`` but the project is not running."""
        return not self.start <= day <= self.end and self.matching(key, member, day) > 0

    def matching(self, key: str, member: str, day: date) -> Decimal:
        total = Decimal(0)
        for c in self.charges:
            if (
                (c.key == key or c.member == member)
                and (c.start is None or c.start <= day)
                and (c.end is None or day <= c.end)
            ):
                total += c.share
        return total

    def keys(self, members: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        """Every key name a charge may reach (a member's configured keys, or the member's name)."""
        out: list[str] = []
        for c in self.charges:
            names = (c.key,) if c.key is not None else members.get(c.member or "", (c.member or "",))
            out += [n for n in names if n not in out]
        return tuple(out)


# -- allocation ------------------------------------------------------------------------
def _net(b: Bucket) -> int:
    if b.type == LogType.CONSUME:
        return b.quota
    if b.type == LogType.REFUND:
        return -b.quota
    return 0


@dataclass(frozen=True, slots=True)
class Money:
    """Converts charged quota to USD and to a budget currency, exactly.

    ``rate_of`` gives a key's own CNY rate when the sources read convert at different rates
    (:meth:`reportgen.core.report.Report.rate_of`); ``cny_per_usd`` is the one rate otherwise.
    """

    quota_per_unit: Decimal
    cny_per_usd: Decimal | None
    rate_of: Callable[[str], Decimal | None] | None = None

    def usd(self, quota: Decimal) -> Decimal:
        return quota / self.quota_per_unit

    def factor(self, key: str, currency: str, project: str) -> Decimal:
        """What one quota unit of ``key``'s spend weighs in ``currency``, as quota: 1 for USD, the key's rate for CNY."""
        if currency == "USD":
            return Decimal(1)
        rate = self.rate_of(key) if self.rate_of is not None else self.cny_per_usd
        if rate is None:
            raise ConfigError(
                f"projects.{project}: budget_currency CNY needs an exchange rate; set [report] exchange_rate "
                "(the gateway reported none)"
            )
        return rate


def charged_by_day(
    project: Project, buckets: Iterable[Bucket], key_to_member: Mapping[str, str], money: Money
) -> tuple[dict[tuple[date, str | None], Decimal], dict[date, Decimal]]:
    """Charged quota per day and budget category inside the project's dates (category None:
    unassigned), and flagged quota per day outside them, each weighed in the budget currency
    (:meth:`Money.factor`: a CNY budget's quota carries its key's rate)."""
    inside: dict[tuple[date, str | None], Decimal] = defaultdict(Decimal)
    outside: dict[date, Decimal] = defaultdict(Decimal)
    for b in buckets:
        net = _net(b)
        if not net:
            continue
        member = key_to_member.get(b.token_name, b.token_name)
        share = project.share(b.token_name, member, b.day)
        if share:
            category = project.category(b.token_name, member, b.model_name)
            weight = money.factor(b.token_name, project.currency, project.name)
            inside[(b.day, category)] += Decimal(net) * share / HUNDRED * weight
        elif project.outside(b.token_name, member, b.day):
            weight = money.factor(b.token_name, project.currency, project.name)
            outside[b.day] += Decimal(net) * project.matching(b.token_name, member, b.day) / HUNDRED * weight
    return inside, outside


def as_of_day(project: Project, last: date, today: date) -> date | None:
    """The day a project's figures run to: the period's last day, its end or today, whichever is first
    (None before the project starts)."""
    as_of = min(last, project.end, today)
    return None if as_of < project.start else as_of


def project_line(
    project: Project,
    buckets: Iterable[Bucket],
    *,
    key_to_member: Mapping[str, str],
    money: Money,
    period_days: tuple[date, date],
    today: date,
) -> ProjectLine:
    """The budget position of ``project`` as of the report period's last day (or today, if earlier).

    ``buckets`` must cover the project's days from its start through that day: ``spent``
    is cumulative since the start, ``period_spent`` the part inside ``period_days``.  Burn
    rate is spent ÷ elapsed days (start through as-of, inclusive); the run-out date is the
    first day cumulative spend reaches the budget: the actual day when it already has, else
    as-of + ⌈remaining ÷ burn rate⌉ days at the current rate (it may fall after the end).
    """
    first, last = period_days
    inside, outside = charged_by_day(project, buckets, key_to_member, money)
    as_of = as_of_day(project, last, today)

    def cost(weighed: Decimal) -> Decimal:
        return money.usd(weighed)  # weighed quota is in the budget currency already

    by_day: dict[date, Decimal] = defaultdict(Decimal)
    spent_by: dict[str | None, Decimal] = defaultdict(Decimal)
    period_by: dict[str | None, Decimal] = defaultdict(Decimal)
    for (day, category), quota in inside.items():
        if as_of is None or day > as_of:
            continue
        by_day[day] += quota
        spent_by[category] += quota
        if first <= day <= last:
            period_by[category] += quota
    run_out: date | None = None
    running = Decimal(0)
    for day in sorted(by_day):
        running += by_day[day]
        if run_out is None and cost(running) >= project.budget:
            run_out = day
    spent = cost(running)
    period_spent = cost(sum(period_by.values(), Decimal(0)))
    remaining = project.budget - spent
    burn = None
    if as_of is not None:
        burn = spent / Decimal((as_of - project.start).days + 1)
        if run_out is None and burn > 0:
            run_out = as_of + timedelta(days=math.ceil(remaining / burn))
    categories = [
        CategoryLine(c.name, c.amount, cost(period_by[c.name]), cost(spent_by[c.name]))
        for c in project.categories
    ]
    if None in spent_by:
        categories.append(CategoryLine("", Decimal(0), cost(period_by[None]), cost(spent_by[None]), False))
    flagged = [d for d in sorted(outside) if first <= d <= last]
    return ProjectLine(
        name=project.name,
        title=project.title,
        code=project.code,
        currency=project.currency,
        budget=project.budget,
        start=project.start,
        end=project.end,
        as_of=as_of,
        spent=spent,
        period_spent=period_spent,
        remaining=remaining,
        share_used=spent / project.budget,
        burn_per_day=burn,
        run_out=run_out,
        outside=cost(sum((outside[d] for d in flagged), Decimal(0))),
        outside_days=tuple(flagged),
        categories=tuple(categories),
    )


def daily_spend(
    project: Project, buckets: Iterable[Bucket], key_to_member: Mapping[str, str], money: Money, as_of: date
) -> tuple[tuple[date, Decimal], ...]:
    """The charged spend of every day from the project's start through ``as_of`` (0 on quiet days)."""
    inside, _ = charged_by_day(project, buckets, key_to_member, money)
    weighed: dict[date, Decimal] = defaultdict(Decimal)
    for (day, _category), q in inside.items():
        weighed[day] += q
    out = []
    day = project.start
    while day <= as_of:
        out.append((day, money.usd(weighed[day])))
        day += timedelta(days=1)
    return tuple(out)


def grant_kind(project: Project, first: date, last: date) -> str:
    """What a report of ``[first, last]`` is for ``project``: ``final`` when it reaches the project's
    end, else ``month``, ``quarter`` or ``year`` when it is one (clipped to the project's dates), else
    ``interim``."""
    if last >= project.end:
        return "final"
    opens = first.day == 1 or first == project.start
    if not opens or (last + timedelta(days=1)).day != 1:
        return "interim"
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months == 1:
        return "month"
    if (
        months == 3
        and first.month % 3 == 1
        or (first == project.start and last.month % 3 == 0 and months < 3)
    ):
        return "quarter"
    if months == 12 and first.month == 1 or (first == project.start and last.month == 12 and months < 12):
        return "year"
    return "interim"


def grant_lines(
    project: Project, buckets: Iterable[Bucket], key_to_member: Mapping[str, str], money: Money
) -> tuple[GrantLine, ...]:
    """Charged spend by month × member × model, months in order, then members and models by name."""
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for b, member, charged in _charged(project, buckets, key_to_member):
        acc = sums[(f"{b.day:%Y-%m}", member, b.model_name)]
        acc[0] += charged
        acc[1] += charged * money.factor(b.token_name, project.currency, project.name)
    return tuple(
        GrantLine(month, member, model, quota, money.usd(quota), money.usd(weighed))
        for (month, member, model), (quota, weighed) in sorted(sums.items())
    )


def charged_usd_by_source(
    project: Project,
    buckets: Iterable[Bucket],
    key_to_member: Mapping[str, str],
    money: Money,
    source_of: Callable[[str], str],
) -> tuple[tuple[str, Decimal], ...]:
    """The charged USD of each source (exact, sources by name): what a claim converts at each
    source's own rate when the sources read convert at different rates."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for b, _member, charged in _charged(project, buckets, key_to_member):
        sums[source_of(b.token_name)] += charged
    return tuple((source, money.usd(quota)) for source, quota in sorted(sums.items()))


def _charged(
    project: Project, buckets: Iterable[Bucket], key_to_member: Mapping[str, str]
) -> Iterator[tuple[Bucket, str, Decimal]]:
    """Each bucket the project is charged a share of, with its member and the charged quota."""
    for b in buckets:
        net = _net(b)
        member = key_to_member.get(b.token_name, b.token_name)
        share = project.share(b.token_name, member, b.day) if net else Decimal(0)
        if share:
            yield b, member, Decimal(net) * share / HUNDRED
