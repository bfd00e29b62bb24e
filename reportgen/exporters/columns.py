"""The built-in columns (:data:`reportgen.core.columns.BUILTIN_COLUMNS`), registered through the
same ``register_columns`` hook as a plugin's columns."""

from __future__ import annotations

from ..core.columns import BUILTIN_COLUMNS
from ..hookspecs import RegisterColumn, hookimpl


@hookimpl
def register_columns(register: RegisterColumn) -> None:
    for column in BUILTIN_COLUMNS:
        register(column)
