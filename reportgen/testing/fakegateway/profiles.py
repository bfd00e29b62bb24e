"""How the fake gateway speaks a flavour: its ``/api/status``, paging, auth and rows.

A :class:`Profile` serves one registered flavour, paging as ``Flavor.paging`` says unless
it says otherwise.  The built-in flavours have one each, and ``new-api-legacy`` is new-api
before 2024-08 (zero-based bare lists, row ids ``db id % 1024``).  Any other registered
flavour is served by :func:`profile_for` with its own paging and new-api's rows; a test
that needs more (its own status or row shape) passes its own profile to the fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...flavors import registered
from ...flavors.builtin import CRAZYROUTER, NEW_API, ONE_API
from ...hookspecs import Paging

#: Canonical row -> the row as the flavour serves it: (row without its id, insert sequence,
#: quota per unit).  Canonical rows are new-api's, with ``other`` as a dict.
Render = Callable[[dict[str, Any], int, float], dict[str, Any]]

_CRAZYROUTER_ONLY = ("client", "request_id", "request_method", "http_status")
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def other_as_text(row: dict[str, Any], seq: int, quota_per_unit: float) -> dict[str, Any]:
    """new-api: ``other`` as JSON text (``"null"`` or ``""`` when empty), ``use_time`` whole seconds."""
    other = row.pop("other", None) or {}
    kept = {k: v for k, v in other.items() if k not in _CRAZYROUTER_ONLY}
    row["other"] = COMPACT(kept) if kept else ("null" if seq % 2 else "")
    row["use_time"] = int(row.get("use_time") or 0)
    return row


def other_as_object(row: dict[str, Any], seq: int, quota_per_unit: float) -> dict[str, Any]:
    """Crazyrouter: ``other`` an object holding the request id, float ``use_time``, ``cost_usd``,
    no ``token_id``."""
    kept = dict(row.pop("other", None) or {})
    request_id = row.pop("request_id", None)
    if request_id:
        kept.setdefault("request_id", request_id)
    row.pop("token_id", None)
    row["use_time"] = round(float(row.get("use_time") or 0), 3)
    row["cost_usd"] = (row.get("quota") or 0) / quota_per_unit
    row["other"] = kept
    return row


def no_other(row: dict[str, Any], seq: int, quota_per_unit: float) -> dict[str, Any]:
    """one-api: no ``other``, no ``request_id``, whole-second ``use_time``."""
    row.pop("other", None)
    row.pop("request_id", None)
    row["use_time"] = int(row.get("use_time") or 0)
    return row


def position(seq: int, k: int) -> int:
    """new-api's ``id`` on ``/api/log/self``: the row's position in the listing, from 1."""
    return k + 1


@dataclass(frozen=True)
class Profile:
    """One flavour (or version of one) as the fake serves it.

    ``status`` is the ``/api/status`` data (its ``quota_per_unit`` set by the fake);
    ``paging`` None pages as the flavour does; ``user_header`` checks ``New-Api-User``;
    ``render`` shapes each row and ``row_id(seq, k)`` says its ``id`` (``seq``: insert
    order, ``k``: position in the listing from 0).  ``credit_forms`` is which credit texts the
    gateway writes: ``"current"`` (new-api's: payments, subscriptions, check-ins, the admin
    add/subtract/override since 2026-04-09) or ``"legacy"`` (one-api's few forms).
    """

    flavor: str
    name: str = ""
    status: Mapping[str, Any] = field(default_factory=dict)
    paging: Paging | None = None
    user_header: bool = True
    render: Render = other_as_text
    row_id: Callable[[int, int], int] = position
    credit_forms: str = "current"

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.flavor)

    def status_for(self, quota_per_unit: float) -> dict[str, Any]:
        return {**self.status, "quota_per_unit": quota_per_unit}

    def pages(self) -> Paging:
        """How this profile pages: its own rule, else its flavour's."""
        return self.paging or registered()[self.flavor].paging

    @property
    def topups(self) -> str | None:
        """The path of the caller's own top-up records, when its flavour serves one."""
        return registered()[self.flavor].topups


_NEW_API_STATUS = {
    "version": "v0.9.6",
    "system_name": "New API",
    "quota_per_unit": 500000,
    "quota_display_type": "USD",
    "display_in_currency": True,
    "usd_exchange_rate": 7.3,
    "custom_currency_symbol": "¤",
    "custom_currency_exchange_rate": 1,
    "start_time": 1767225600,
}

#: The built-in profiles by name.
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(NEW_API.name, status=_NEW_API_STATUS),
        Profile(
            NEW_API.name,
            "new-api-legacy",
            status={**_NEW_API_STATUS, "version": "v0.2.9"},
            paging=Paging(first=0, size=100, wrapped=False),
            row_id=lambda seq, k: seq % 1024,
        ),
        Profile(
            CRAZYROUTER.name, status={**_NEW_API_STATUS, "system_name": "Crazyrouter"}, render=other_as_object
        ),
        Profile(
            ONE_API.name,
            status={
                "version": "v0.6.10",
                "system_name": "One API",
                "quota_per_unit": 500000,
                "display_in_currency": True,
                "start_time": 1767225600,
            },
            user_header=False,
            render=no_other,
            row_id=lambda seq, k: 0,
            credit_forms="legacy",
        ),
    )
}


def profile_for(flavor: str | Profile | None = None) -> Profile:
    """A built-in profile by name, a registered flavour's (new-api's rows, its own paging), or
    ``flavor`` itself; None: new-api's."""
    if isinstance(flavor, Profile):
        return flavor
    if flavor is None:
        return PROFILES[NEW_API.name]
    if flavor in PROFILES:
        return PROFILES[flavor]
    known = registered()
    if flavor in known:
        status = {"version": "v1.0.0", "system_name": known[flavor].description, "quota_per_unit": 500000}
        return Profile(flavor, status=status)
    raise ValueError(f"unknown flavor {flavor!r} (known: {', '.join(dict.fromkeys([*PROFILES, *known]))})")


def default_status(flavor: str | None = None, quota_per_unit: float = 500000) -> dict[str, Any]:
    """What ``/api/status`` says for a flavour (one-api has no exchange rate fields)."""
    return profile_for(flavor).status_for(quota_per_unit)
