"""The gateway flavours: one registry of :class:`~reportgen.hookspecs.Flavor` objects.

Fed by the ``register_flavors`` hook (the built-ins in :mod:`.builtin` register through it
like a plugin's).  Everything flavour-specific is asked of it: the name a source
configures, what a gateway's answers say it is, its page size and rate limit, how its
credit rows read, its database's tables.  No flavour is named anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from typing import Any

from .. import plugins
from ..config import DEFAULT_SOURCE, GatewayConfig
from ..errors import ConfigError, PluginError
from ..hookspecs import CreditParser, Flavor

#: What ``gateway.flavor`` says when the flavour is told from the gateway's answers.
AUTO = "auto"

_cache: tuple[object, dict[str, Flavor]] | None = None


def registered() -> dict[str, Flavor]:
    """Every registered flavour by name, in registration order (the built-ins first)."""
    global _cache
    if _cache is not None and _cache[0] is plugins.pm:
        return _cache[1]
    found: dict[str, Flavor] = {}
    for flavor, plugin_name, plugin_version in plugins.collect("register_flavors", Flavor, "flavour"):
        if flavor.name in found:
            raise PluginError(
                f"flavour {flavor.name!r} is registered by both {found[flavor.name].plugin!r} and {plugin_name!r}"
            )
        found[flavor.name] = replace(
            flavor, plugin=flavor.plugin or plugin_name, version=flavor.version or plugin_version
        )
    _cache = (plugins.pm, found)
    return found


def named(name: str, setting: str = "gateway.flavor") -> Flavor | None:
    """The flavour a source's ``flavor`` setting names; None for ``auto``; a one-line
    :class:`~reportgen.errors.ConfigError` listing the known names otherwise."""
    if name == AUTO:
        return None
    known = registered()
    if name not in known:
        raise ConfigError(f"{setting} must be one of {', '.join((AUTO, *known))}, not {name!r}")
    return known[name]


def configured(gw: GatewayConfig) -> Flavor | None:
    """The flavour source ``gw`` names (None: ``auto``); an unknown name is a one-line
    :class:`~reportgen.errors.ConfigError` naming the setting and listing the known names."""
    return named(gw.flavor, f"{_setting(gw)}.flavor")


def default() -> Flavor:
    """The first registered flavour (new-api): for a store's rows whose flavour is not known."""
    return next(iter(registered().values()))


def credit_parser(name: str | None) -> CreditParser:
    """How the credit rows of a source that recorded flavour ``name`` read (unknown: the default's)."""
    return registered().get(name or "", default()).parse_credit


def page_sizes(flavor: Flavor | None) -> tuple[int, int]:
    """``(page_size to ask for, the smallest page a full bare-list page may be)``: the flavour's
    own, or across every registered flavour when it is not known yet."""
    sizes = [f.paging.size for f in ([flavor] if flavor else registered().values())]
    return max(sizes), min(sizes)


def rate_limit(
    flavor: Flavor | None, requests_per_window: int | None, window_seconds: int | None
) -> tuple[int, int]:
    """``(requests, per seconds)``: what the source configured, else its flavour's limit, else the
    strictest of every registered flavour (the gateway is not known yet)."""
    if requests_per_window is not None and window_seconds is not None:
        return requests_per_window, window_seconds
    candidates = [flavor] if flavor else list(registered().values())
    strictest = min(candidates, key=lambda f: f.requests_per_window / f.window_seconds)
    return (
        requests_per_window or strictest.requests_per_window,
        window_seconds or strictest.window_seconds,
    )


def detect(status: Mapping[str, Any] | None, row: Mapping[str, Any] | None, wrapped: bool = False) -> Flavor:
    """The flavour a gateway's answers point to: the first log ``row`` decides, the ``status``
    data breaks ties, then the order of registration.  A ``wrapped`` page (``{page, items}``)
    rules out the flavours whose pages are bare lists."""
    everyone = list(registered().values())
    candidates = [f for f in everyone if f.paging.wrapped or not wrapped] or everyone
    return max(
        candidates,  # max keeps the first of equals: the earliest registered
        key=lambda f: (
            f.row_score(row) if row is not None else 0,
            f.status_score(status) if status is not None else 0,
        ),
    )


def with_database(gw: GatewayConfig | None = None) -> list[Flavor]:
    """The flavours whose database source ``gw`` may read: the one it names, else every one that
    has a database; naming one without is a one-line :class:`~reportgen.errors.ConfigError`."""
    named_one = configured(gw) if gw is not None else None
    if named_one is not None and named_one.database is None:
        raise ConfigError(
            f'{_setting(gw)}.flavor {named_one.name!r} has no database to read: use source = "api" for '
            "it, or name the flavour of the gateway whose database this is"
        )
    return [f for f in ([named_one] if named_one else registered().values()) if f.database is not None]


def by_columns(flavors: list[Flavor], columns: AbstractSet[str]) -> Flavor | None:
    """Which of ``flavors`` a logs table with these (lower-case) columns belongs to, or None."""
    best = max(flavors, key=lambda f: f.database.score(columns) if f.database else 0, default=None)
    if best is None or best.database is None or best.database.score(columns) <= 0:
        return None
    return best


def _setting(gw: GatewayConfig | None) -> str:
    return "gateway" if gw is None or gw.name == DEFAULT_SOURCE else f"gateways.{gw.name}"


__all__ = [
    "AUTO",
    "by_columns",
    "configured",
    "credit_parser",
    "default",
    "detect",
    "named",
    "page_sizes",
    "rate_limit",
    "registered",
    "with_database",
]
