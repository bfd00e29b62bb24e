"""Projects and budgets: ``[projects.NAME]`` in reportgen.toml, and charged spend per project.

A project (a grant or a cost centre) has a budget in USD or CNY, inclusive start and end
dates in the report timezone, and *charges*: members and keys charged to it, each
optionally from/to a date (a key moves between projects on a date) and with a percentage
``share`` (a shared key split 60/40 across two projects)::

    [projects.alpha]
    title = "Grant Alpha"
    code = "NSFC-2026-001"
    budget = 500.00
    budget_currency = "USD"            # USD | CNY (CNY uses the report's exchange rate)
    start = 2026-01-01
    end = 2026-12-31
    justification = "Model evaluation for work package 2."
    charges = [
      { member = "张三" },
      { key = "key-shared", share = 60 },
      { key = "key-bob", from = 2026-04-16 },
    ]

Allocation works on the store's buckets (key × model × local day), so it is exact per day.
A split makes fractional quota: charged quota is ``quota × share / 100`` as an exact
``Decimal`` and money is derived from it exactly; nothing is rounded here.  Documents
round to the cent when they print (the PDF by the largest-remainder method), so the two
halves of a split key may each round by up to half a cent.  Spend on a project's keys or
members outside the project's dates is never counted to it; it is reported as
``outside`` so that someone looks at it.

Everything here is pure: no I/O.  :mod:`reportgen.project_reports` feeds it from the store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConfigError
from .budget import GrantLine, ProjectLine
from .partials import Bucket
from .records import LogType

CURRENCIES = ("USD", "CNY")
_PROJECT_FIELDS = {"title", "code", "budget", "budget_currency", "start", "end", "justification", "charges"}
_CHARGE_FIELDS = {"member", "key", "share", "from", "to"}
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

    def describe(self) -> str:
        """``key 'key-shared' 60% from 2026-04-16`` (for documents)."""
        text = self.member if self.member is not None else self.key or ""
        if self.share != HUNDRED:
            text += f" {_plain(self.share)}%"
        if self.start is not None:
            text += f" from {self.start.isoformat()}"
        if self.end is not None:
            text += f" to {self.end.isoformat()}"
        return text


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


# -- config ----------------------------------------------------------------------------
def parse_projects(table: Any, members: Mapping[str, tuple[str, ...]], where: str) -> tuple[Project, ...]:
    """Validate ``[projects.*]``; every problem is one ConfigError naming the file and the key."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [projects] must be a table of [projects.NAME] tables")
    projects = tuple(_project(name, spec, where) for name, spec in table.items())
    _check_shares(projects, members, where)
    return projects


def _project(name: str, spec: Any, where: str) -> Project:
    at = f"projects.{_toml_key(name)}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: [{at}] must be a table (title, budget, start, end, charges)")
    for key in spec:
        if key not in _PROJECT_FIELDS:
            raise ConfigError(
                f"{where}: unknown setting {at}.{key} (known: {', '.join(sorted(_PROJECT_FIELDS))})"
            )
    for key in ("budget", "start", "end", "charges"):
        if key not in spec:
            raise ConfigError(f"{where}: {at}.{key} is missing")
    title = _text(spec.get("title", name), where, f"{at}.title")
    code = _text(spec.get("code", ""), where, f"{at}.code")
    justification = _text(spec.get("justification", ""), where, f"{at}.justification")
    budget = _decimal(spec["budget"], where, f"{at}.budget")
    if budget <= 0:
        raise ConfigError(f"{where}: {at}.budget must be a positive amount, e.g. 500.00")
    currency = spec.get("budget_currency", "USD")
    if currency not in CURRENCIES:
        raise ConfigError(
            f"{where}: {at}.budget_currency must be one of {', '.join(CURRENCIES)}, not {currency!r}"
        )
    start = _date(spec["start"], where, f"{at}.start")
    end = _date(spec["end"], where, f"{at}.end")
    if end < start:
        raise ConfigError(f"{where}: {at}.end {end} is before {at}.start {start}")
    raw_charges = spec["charges"]
    if not isinstance(raw_charges, list) or not raw_charges:
        raise ConfigError(
            f'{where}: {at}.charges must be a list like [{{ member = "NAME" }}, {{ key = "KEY" }}]'
        )
    charges = tuple(_charge(c, where, f"{at}.charges[{i}]") for i, c in enumerate(raw_charges))
    return Project(name, title, code, budget, currency, start, end, justification, charges)


def _charge(spec: Any, where: str, at: str) -> Charge:
    if not isinstance(spec, dict):
        raise ConfigError(f'{where}: {at} must be a table like {{ key = "KEY", share = 60 }}')
    for key in spec:
        if key not in _CHARGE_FIELDS:
            raise ConfigError(
                f"{where}: unknown setting {at}.{key} (known: {', '.join(sorted(_CHARGE_FIELDS))})"
            )
    if ("member" in spec) == ("key" in spec):
        raise ConfigError(f'{where}: {at} needs exactly one of member = "NAME" or key = "KEY"')
    member = _text(spec["member"], where, f"{at}.member") if "member" in spec else None
    key = _text(spec["key"], where, f"{at}.key") if "key" in spec else None
    if not (member or key):
        raise ConfigError(f"{where}: {at}: the member or key name is empty")
    share = _decimal(spec.get("share", 100), where, f"{at}.share")
    if not 0 < share <= HUNDRED:
        raise ConfigError(f"{where}: {at}.share must be a percentage above 0 and at most 100, not {share}")
    start = _date(spec["from"], where, f"{at}.from") if "from" in spec else None
    end = _date(spec["to"], where, f"{at}.to") if "to" in spec else None
    if start is not None and end is not None and end < start:
        raise ConfigError(f"{where}: {at}.to {end} is before {at}.from {start}")
    return Charge(member, key, share, start, end)


def _check_shares(projects: tuple[Project, ...], members: Mapping[str, tuple[str, ...]], where: str) -> None:
    """No key may be charged more than 100 % on any day, across all projects."""
    spans: dict[str, list[tuple[date, date, Decimal, str]]] = defaultdict(list)
    for p in projects:
        for c in p.charges:
            lo, hi = p.span(c)
            if hi < lo:
                continue
            names = (c.key,) if c.key is not None else members.get(c.member or "", (c.member or "",))
            for key in names:
                if key:
                    spans[key].append((lo, hi, c.share, p.name))
    for key, items in spans.items():
        for day, _, _, _ in items:  # the total only rises where a span starts
            active = [(share, name) for lo, hi, share, name in items if lo <= day <= hi]
            total = sum((s for s, _ in active), Decimal(0))
            if total > HUNDRED:
                parts = ", ".join(f"{name} {_plain(s)}%" for s, name in active)
                raise ConfigError(
                    f"{where}: projects: key {key!r} is charged {_plain(total)}% on {day} ({parts}); "
                    "the shares of one key may add up to at most 100% on any day"
                )


def _toml_key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() and name.isascii() else f'"{name}"'


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value


def _decimal(value: Any, where: str, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: {key} must be a number")
    try:
        # str() first: a TOML float 500.1 must become Decimal("500.1"), not its binary value.
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise ConfigError(f"{where}: {key} must be a finite number")
    return result


def _date(value: Any, where: str, key: str) -> date:
    if isinstance(value, datetime):
        raise ConfigError(f"{where}: {key} must be a date without a time, e.g. 2026-04-16")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: {key} must be a date like 2026-04-16, not {value!r}")


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def member_notes(members_table: Any) -> dict[str, str]:
    """``justification`` of each ``[members."NAME"]`` that has one (validated by the config parser)."""
    if not isinstance(members_table, dict):
        return {}
    return {
        name: spec["justification"]
        for name, spec in members_table.items()
        if isinstance(spec, dict) and isinstance(spec.get("justification"), str) and spec["justification"]
    }


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
) -> tuple[dict[date, Decimal], dict[date, Decimal]]:
    """Charged quota per day inside the project's dates, and flagged quota per day outside them,
    each weighed in the budget currency (:meth:`Money.factor`: a CNY budget's quota carries its key's rate)."""
    inside: dict[date, Decimal] = defaultdict(Decimal)
    outside: dict[date, Decimal] = defaultdict(Decimal)
    for b in buckets:
        net = _net(b)
        if not net:
            continue
        member = key_to_member.get(b.token_name, b.token_name)
        share = project.share(b.token_name, member, b.day)
        if share:
            inside[b.day] += (
                Decimal(net) * share / HUNDRED * money.factor(b.token_name, project.currency, project.name)
            )
        elif project.outside(b.token_name, member, b.day):
            weight = money.factor(b.token_name, project.currency, project.name)
            outside[b.day] += Decimal(net) * project.matching(b.token_name, member, b.day) / HUNDRED * weight
    return inside, outside


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

    ``buckets`` must cover the project's days up to that day and the report period.
    Burn rate is spent ÷ elapsed days (start through as-of, inclusive); the run-out date
    is the first day cumulative spend reaches the budget: the actual day when it already
    has, else as-of + ⌈remaining ÷ burn rate⌉ days at the current rate.
    """
    first, last = period_days
    inside, outside = charged_by_day(project, buckets, key_to_member, money)
    as_of: date | None = min(last, project.end, today)
    if as_of is not None and as_of < project.start:
        as_of = None

    def cost(weighed: Decimal) -> Decimal:
        return money.usd(weighed)  # weighed quota is in the budget currency already

    spent = period_spent = Decimal(0)
    run_out: date | None = None
    running = Decimal(0)
    for day in sorted(inside):
        if as_of is None or day > as_of:
            continue
        running += inside[day]
        if run_out is None and cost(running) >= project.budget:
            run_out = day
        if first <= day <= last:
            period_spent += inside[day]
    spent = cost(running)
    period_spent = cost(period_spent)
    remaining = project.budget - spent
    burn = None
    if as_of is not None:
        burn = spent / Decimal((as_of - project.start).days + 1)
        if run_out is None and burn > 0:
            run_out = as_of + timedelta(days=math.ceil(remaining / burn))
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
    )


def grant_lines(
    project: Project, buckets: Iterable[Bucket], key_to_member: Mapping[str, str], money: Money
) -> tuple[GrantLine, ...]:
    """Charged spend by month × member × model, months in order, then members and models by name."""
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for b in buckets:
        net = _net(b)
        member = key_to_member.get(b.token_name, b.token_name)
        share = project.share(b.token_name, member, b.day) if net else Decimal(0)
        if share:
            charged = Decimal(net) * share / HUNDRED
            acc = sums[(f"{b.day:%Y-%m}", member, b.model_name)]
            acc[0] += charged
            acc[1] += charged * money.factor(b.token_name, project.currency, project.name)
    return tuple(
        GrantLine(month, member, model, quota, money.usd(quota), money.usd(weighed))
        for (month, member, model), (quota, weighed) in sorted(sums.items())
    )
