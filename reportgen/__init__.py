"""reportgen: an LLM API gateway's usage logs, collected exactly, exported for finance.

The names below are the public API for plugins and scripts; everything else may move.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.periods import Period
    from .core.records import UsageRecord
    from .core.report import DetailRow, Report
    from .core.stats import Line, Stats
    from .hookspecs import ExportContext, Exporter, hookimpl


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: ``reportgen --version`` and a command that needs
    little import little (issue 27's start-up)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .core.periods import Period
    from .core.records import UsageRecord
    from .core.report import DetailRow, Report
    from .core.stats import Line, Stats
    from .hookspecs import ExportContext, Exporter, hookimpl

    public = {
        "DetailRow": DetailRow, "ExportContext": ExportContext, "Exporter": Exporter, "Line": Line,
        "Period": Period, "Report": Report, "Stats": Stats, "UsageRecord": UsageRecord, "hookimpl": hookimpl,
    }  # fmt: skip
    globals().update(public)
    return public[name]


__all__ = [
    "DetailRow",
    "ExportContext",
    "Exporter",
    "Line",
    "Period",
    "Report",
    "Stats",
    "UsageRecord",
    "__version__",
    "hookimpl",
]
