"""``[projects.NAME]``: a project's dates, charges and budget (one amount, or budget categories).

::

    [projects.alpha]
    title = "Grant Alpha"
    code = "NSFC-2026-001"
    budget_currency = "CNY"            # USD | CNY (CNY uses the report's exchange rate)
    start = 2026-01-01
    end = 2026-12-31
    justification = "Model evaluation for work package 2."
    charges = [
      { member = "张三" },
      { key = "key-shared", share = 60 },
      { key = "key-bob", from = 2026-04-16 },
    ]

    [projects.alpha.budget]            # or one amount: budget = 500.00
    items = [
      { category = "测试化验加工费", amount = 300.00, models = ["gpt-*", "claude-*"] },
      { category = "数据采集费", amount = 150.00, keys = ["key-crawler"] },
      { category = "其他费用", amount = 50.00 },   # names nothing: takes the rest
    ]

A category takes the charged spend of the keys, members and models (``fnmatch`` patterns)
it names; spend several categories name goes to the first of them in this order; spend
none names goes to the one category that names nothing, and without such a category it
is printed as unassigned (未归类), never hidden in another line.  The budget is the sum of
the categories.  Every problem is one ConfigError naming the file and the key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.budget import HUNDRED, BudgetCategory, Charge
from ..core.projects import CURRENCIES, Project
from ..errors import ConfigError

_PROJECT_FIELDS = {"title", "code", "budget", "budget_currency", "start", "end", "justification", "charges"}
_CHARGE_FIELDS = {"member", "key", "share", "from", "to"}
_ITEM_FIELDS = {"category", "amount", "keys", "members", "models"}


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
    categories = _budget(spec["budget"], where, f"{at}.budget")
    budget = sum((c.amount for c in categories), Decimal(0))
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
    return Project(name, title, code, budget, currency, start, end, justification, charges, categories)


def _budget(spec: Any, where: str, at: str) -> tuple[BudgetCategory, ...]:
    """One amount (one unnamed category), or ``[…budget] items`` of categories."""
    if not isinstance(spec, dict):
        amount = _decimal(spec, where, at)
        if amount <= 0:
            raise ConfigError(f"{where}: {at} must be a positive amount, e.g. 500.00")
        return (BudgetCategory("", amount),)
    for key in spec:
        if key != "items":
            raise ConfigError(f"{where}: unknown setting {at}.{key} (known: items)")
    items = spec.get("items")
    if not isinstance(items, list) or not items:
        raise ConfigError(
            f'{where}: {at}.items must be a list like [{{ category = "业务费", amount = 300.00 }}]'
        )
    categories = tuple(_item(item, where, f"{at}.items[{i}]") for i, item in enumerate(items))
    names = [c.name for c in categories]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{where}: {at}.items: category {twice[0]!r} is listed twice")
    defaults = [c.name for c in categories if c.default]
    if len(defaults) > 1:
        raise ConfigError(
            f"{where}: {at}.items: only one category may name no keys, members or models (it takes the "
            f"spend no other names); {', '.join(map(repr, defaults))} all do"
        )
    return categories


def _item(spec: Any, where: str, at: str) -> BudgetCategory:
    _table(spec, where, at, _ITEM_FIELDS, '{ category = "业务费", amount = 300.00 }')
    for key in ("category", "amount"):
        if key not in spec:
            raise ConfigError(f"{where}: {at}.{key} is missing")
    name = _text(spec["category"], where, f"{at}.category").strip()
    if not name:
        raise ConfigError(f"{where}: {at}.category is empty")
    amount = _decimal(spec["amount"], where, f"{at}.amount")
    if amount <= 0:
        raise ConfigError(f"{where}: {at}.amount must be a positive amount, e.g. 300.00")
    lists = {key: _names(spec.get(key, []), where, f"{at}.{key}") for key in ("keys", "members", "models")}
    return BudgetCategory(name, amount, lists["keys"], lists["members"], lists["models"])


def _table(spec: Any, where: str, at: str, fields: Collection[str], example: str) -> None:
    """``spec`` is a TOML table holding only ``fields``, or a one-line ConfigError naming ``at``."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {at} must be a table like {example}")
    for key in spec:
        if key not in fields:
            raise ConfigError(f"{where}: unknown setting {at}.{key} (known: {', '.join(sorted(fields))})")


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f'{where}: {key} must be a list of names, like ["gpt-*"]')
    return tuple(value)


def _charge(spec: Any, where: str, at: str) -> Charge:
    _table(spec, where, at, _CHARGE_FIELDS, '{ key = "KEY", share = 60 }')
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
