"""The plugin manager: built-in plugins, entry-point plugins, and the exporter, packet-document and column registries.

Built-ins are listed in :data:`DEFAULT_PLUGINS` and register through the same hooks as
third-party plugins from the ``reportgen`` entry-point group.  Loading is lazy and
idempotent.  ``REPORTGEN_LOAD_PLUGINS`` (comma list; empty = none) chooses which
entry-point plugins load; ``REPORTGEN_PLUGINS_STRICT=1`` makes a broken plugin fatal.
Every ``register_*`` hook is called through the plugin manager by :func:`collect`, one
plugin at a time, so one plugin's error costs one line, not the command;
``REPORTGEN_TRACE_PLUGINS=1`` prints which plugin registered what.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .core.columns import Column, Columns, problems
from .errors import PluginError, UsageError
from .hookspecs import DocumentRole, Exporter

ENTRY_POINT_GROUP = "reportgen"

T = TypeVar("T")

DEFAULT_PLUGINS = (
    "reportgen.exporters.columns",
    "reportgen.exporters.csv_exporter",
    "reportgen.exporters.xlsx",
    "reportgen.exporters.pdf",
    "reportgen.exporters.html",
    "reportgen.exporters.focus",
    "reportgen.flavors.builtin",
    "reportgen.app.packetdocs",
)

pm = pluggy.PluginManager("reportgen")
pm.add_hookspecs(hookspecs)

_loaded = False
_exporters: dict[str, Exporter] | None = None
_documents: dict[str, DocumentRole] | None = None
_columns: Columns | None = None


#: The distribution name on PyPI (the import package and the command are ``reportgen``).
DISTRIBUTION = "llm-gateway-reportgen"


def _reportgen_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


#: The ``Exporter.plugin`` of the built-in exporters.
BUILTIN = "reportgen"


def strict_plugins() -> bool:
    """``REPORTGEN_PLUGINS_STRICT=1``: a broken plugin is fatal, with its traceback (for plugin authors)."""
    return _strict()


def _strict() -> bool:
    return os.environ.get("REPORTGEN_PLUGINS_STRICT", "").lower() in ("1", "true", "yes")


def load_plugins() -> pluggy.PluginManager:
    """Register built-in and entry-point plugins once; later calls return the same manager."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        pm.register(module, name=name)
    wanted = os.environ.get("REPORTGEN_LOAD_PLUGINS")
    allowed = None if wanted is None else {p.strip() for p in wanted.split(",") if p.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            message = f"plugin {ep.name!r} ({ep.value}) failed to import: {type(exc).__name__}: {exc}"
            if _strict():
                raise PluginError(message) from exc
            print(f"Warning: {message}; skipped", file=sys.stderr)
            continue
        pm.register(plugin, name=ep.name)
        dist = getattr(ep, "dist", None)
        if dist is not None:
            _dist_of[ep.name] = (dist.metadata["Name"], dist.version)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook reportgen does not have: {exc}") from exc
    return pm


_dist_of: dict[str, tuple[str, str]] = {}


def _provider(plugin: Any) -> tuple[str, str]:
    name = pm.get_name(plugin) or repr(plugin)
    if name in _dist_of:
        return _dist_of[name]
    if name in DEFAULT_PLUGINS:
        return BUILTIN, _reportgen_version()
    return name, ""


def collect(hook: str, kind: type[T], what: str) -> list[tuple[T, str, str]]:
    """What every plugin registers through the ``register_*`` hook named ``hook``.

    Each plugin's implementation is called through the plugin manager on its own (a
    subset hook caller holding just that plugin), so a plugin that raises or registers
    something other than a ``kind`` is skipped with one line on stderr naming it, and the
    others still count (``REPORTGEN_PLUGINS_STRICT=1``: a :class:`PluginError` instead).
    ``REPORTGEN_TRACE_PLUGINS=1`` prints which plugin registered what.  Returns
    ``(object, plugin name, plugin version)`` in registration order; ``what`` names the
    kind in messages (``"exporter"``).
    """
    manager = load_plugins()
    caller = getattr(manager.hook, hook)
    everyone = [impl.plugin for impl in caller.get_hookimpls()]
    found: list[tuple[T, str, str]] = []
    for plugin in everyone:
        plugin_name, plugin_version = _provider(plugin)
        registered: list[object] = []
        only = manager.subset_hook_caller(hook, remove_plugins=[p for p in everyone if p is not plugin])
        try:
            only(register=registered.append)
            wrong = next((obj for obj in registered if not isinstance(obj, kind)), None)
            if wrong is not None:
                raise PluginError(f"plugin {plugin_name!r} registered {wrong!r}, not an {kind.__name__}")
        except Exception as exc:
            if plugin_name == BUILTIN:  # a built-in that fails is a bug: keep its traceback
                raise
            message = (
                str(exc)
                if isinstance(exc, PluginError)
                else (f"plugin {plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}")
            )
            if _strict():
                raise PluginError(message) from exc
            print(f"Warning: {message}; skipped", file=sys.stderr)
            continue
        for obj in registered:
            if _trace():
                label = getattr(obj, "name", None) or getattr(obj, "role", None) or repr(obj)
                print(f"reportgen: plugin {plugin_name!r} registered {what} {label!r}", file=sys.stderr)
            found.append((obj, plugin_name, plugin_version))  # type: ignore[arg-type]
    return found


def _trace() -> bool:
    return os.environ.get("REPORTGEN_TRACE_PLUGINS", "").lower() in ("1", "true", "yes")


def exporters() -> dict[str, Exporter]:
    """Every registered exporter by name; a name registered twice is an error naming both."""
    global _exporters
    if _exporters is not None:
        return _exporters
    found: dict[str, Exporter] = {}
    for exporter, plugin_name, plugin_version in collect("register_exporters", Exporter, "exporter"):
        exporter = _with_provider(exporter, plugin_name, plugin_version)
        if exporter.name in found:
            other = found[exporter.name]
            raise PluginError(
                f"exporter {exporter.name!r} is registered by both {other.plugin!r} and {plugin_name!r}"
            )
        found[exporter.name] = exporter
    _exporters = dict(sorted(found.items()))
    return _exporters


def columns() -> Columns:
    """Every registered column, detail and stats, built-ins first; a key registered twice in
    one table, or a column that clashes with another, is an error naming the plugins."""
    global _columns
    if _columns is not None:
        return _columns
    found = collect("register_columns", Column, "column")
    first: dict[tuple[type, str], str] = {}
    for column, plugin_name, _ in found:
        first.setdefault((type(column), column.key), plugin_name)
    for column, problem in problems([c for c, _, _ in found]):
        plugin_name = next(p for c, p, _ in found if c is column)
        if problem == "is registered twice":
            problem += f" (first by {first[type(column), column.key]!r})"
        raise PluginError(f"plugin {plugin_name!r}: {column!r} {problem}")
    _columns = Columns(c for c, _, _ in found)
    return _columns


def _with_provider(exporter: Exporter, plugin: str, plugin_version: str) -> Exporter:
    return replace(exporter, plugin=exporter.plugin or plugin, version=exporter.version or plugin_version)


def packet_documents() -> dict[str, DocumentRole]:
    """Every registered packet document by role, in registration order (the built-ins first).

    A role registered twice is an error naming both plugins.
    """
    global _documents
    if _documents is not None:
        return _documents
    found: dict[str, DocumentRole] = {}
    for role, plugin_name, plugin_version in collect("register_packet_documents", DocumentRole, "document"):
        role = replace(role, plugin=role.plugin or plugin_name, version=role.version or plugin_version)
        if role.role in found:
            other = found[role.role]
            raise PluginError(
                f"packet document {role.role!r} is registered by both {other.plugin!r} and {plugin_name!r}"
            )
        found[role.role] = role
    _documents = found
    return _documents


def select_exporters(formats: str | None, *, grant: bool = False) -> list[Exporter]:
    """The exporters named in a comma list (``None`` or ``all``: every exporter, or with ``grant``
    every one that writes a project's grant report)."""
    available = exporters()
    if not formats or formats.strip() == "all":
        return [e for e in available.values() if e.writes_grant or not grant]
    chosen: list[Exporter] = []
    by_lower = {name.lower(): name for name in available}
    for name in (n.strip() for n in formats.split(",")):
        if not name:
            continue
        name = by_lower.get(name.lower(), name)
        if name not in available:
            close = difflib.get_close_matches(name, available, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"unknown format {name!r}{hint}; installed: {', '.join(available)}")
        if available[name] not in chosen:
            chosen.append(available[name])
    if not chosen:
        raise UsageError(f"no format given; installed: {', '.join(available)}")
    return chosen


def check_options(chosen: list[Exporter], options: dict[str, str]) -> None:
    """Refuse an ``--option`` no chosen exporter reads (when every one declares its options)."""
    if any(e.options is None for e in chosen):
        return
    known = sorted({o for e in chosen for o in e.options or ()})
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = ", ".join(known) if known else "none"
            formats = ", ".join(e.name for e in chosen)
            raise UsageError(
                f"--option {name}: no chosen format reads it{hint}; options of {formats}: {listed}"
            )


def reset_for_tests() -> None:
    """Forget loaded plugins so a test can load a different set."""
    global _loaded, _exporters, _documents, _columns, pm
    _loaded = False
    _exporters = None
    _documents = None
    _columns = None
    _dist_of.clear()
    pm = pluggy.PluginManager("reportgen")
    pm.add_hookspecs(hookspecs)
