"""Who bills a FOCUS row and what it is allocated to: each source's gateway as provider, billing
account and service (distinct per source), and the row's allocation as FOCUS ``Tags``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from ..core.report import Report

#: The source of a report that names no sources (one ``[gateway]``): reports name its keys bare.
DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class Account:
    """A source's gateway as FOCUS sees it: the provider (its host), the billing account (the
    gateway user, at host:port and path) and the service (one per source)."""

    source: str
    provider: str
    account_id: str
    account_name: str
    service: str


def _where(url: str) -> tuple[str, str]:
    """``(host, host:port/path)`` of a gateway URL or a database DSN (no user or password)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return url or "unknown gateway", url or "unknown gateway"
    if not host:  # a file database (sqlite:///path): its path names it
        place = parts.path or url or "unknown gateway"
        return place, place
    hostport = f"[{host}]" if ":" in host else host
    if port is not None:
        hostport += f":{port}"
    return host, hostport + parts.path.rstrip("/")


def _account(source: str, account: str, named: bool) -> Account:
    """The account of ``source`` from its store binding ``"URL#USER"`` (USER ``None``: a database
    source reading users by name, named in the URL's query)."""
    url, _, user = account.rpartition("#") if "#" in account else (account, "", "")
    host, place = _where(url)
    query = urlsplit(url).query if "?" in url else ""
    who = user if user and user != "None" else query
    account_id = f"{place}#{who}" if who else place
    service = f"{place} LLM API"
    return Account(
        source=source,
        provider=host,
        account_id=account_id,
        account_name=f"{place} user {who}" if who else place,
        service=f"{service} ({source})" if named else service,
    )


def accounts(report: Report) -> dict[str, Account]:
    """``{source name: Account}`` of every source the report read (``default`` for a lone one)."""
    bound = dict(report.source_accounts)
    if not bound:  # a report not read from a store
        prov = report.provenance
        bound = {DEFAULT_SOURCE: f"{prov.base_url}#{'' if prov.user_id is None else prov.user_id}"}
    found = {name: _account(name, text, name != DEFAULT_SOURCE) for name, text in sorted(bound.items())}
    seen: dict[str, int] = {}
    for a in found.values():
        seen[a.account_id] = seen.get(a.account_id, 0) + 1
    # Two sources reading one account stay two billing accounts: the source name tells them apart.
    return {
        name: a if seen[a.account_id] == 1 else _renamed(a, f"{a.account_id}@{name}")
        for name, a in found.items()
    }


def _renamed(a: Account, account_id: str) -> Account:
    return Account(a.source, a.provider, account_id, f"{a.account_name} ({a.source})", a.service)


def shares_of(report: Report) -> Callable[[str, str, date], tuple[tuple[str, Decimal], ...]]:
    """``(key, member, local day) -> ((project, percent), ...)``, cached: the projects the key's
    spend on that day is charged to (empty when none, or no project is configured)."""
    charged = report.charged_to
    if charged is None:
        return lambda key, member, day: ()
    cache: dict[tuple[str, str, date], tuple[tuple[str, Decimal], ...]] = {}

    def shares(key: str, member: str, day: date) -> tuple[tuple[str, Decimal], ...]:
        found = cache.get((key, member, day))
        if found is None:
            found = cache[(key, member, day)] = charged(key, member, day)
        return found

    return shares


def tags(
    member: str, key: str, source: str, shares: tuple[tuple[str, Decimal], ...], text: Callable[[object], str]
) -> str:
    """FOCUS ``Tags`` (a JSON object, one user-defined scheme so no prefix): ``member``, ``key``,
    ``source``; ``project`` when one project takes the whole charge; ``project:NAME`` with the
    percent charged to NAME for every project charged (``60`` and ``40`` for a split)."""
    found: dict[str, str | int | float] = {"member": text(member), "key": text(key), "source": text(source)}
    if len(shares) == 1 and shares[0][1] == 100:
        found["project"] = text(shares[0][0])
    for name, percent in shares:
        whole = percent.normalize()
        found[f"project:{text(name)}"] = int(whole) if whole == whole.to_integral_value() else float(whole)
    return json.dumps(found, ensure_ascii=False, separators=(",", ":"))
