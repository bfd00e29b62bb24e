"""reportgen: an LLM API gateway's usage logs, collected exactly, exported for finance.

The names below are the public API for plugins and scripts; everything else may move.
"""

__version__ = "0.1.0"

from .core.periods import Period  # noqa: E402
from .core.records import UsageRecord  # noqa: E402
from .core.report import DetailRow, Report  # noqa: E402
from .core.stats import Line, Stats  # noqa: E402
from .hookspecs import ExportContext, Exporter, hookimpl  # noqa: E402

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
