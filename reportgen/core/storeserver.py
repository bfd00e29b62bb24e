"""Where a shared store is: a PostgreSQL database named by ``[store] dsn`` (a folder is a ``Path``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StoreServer:
    """``[store] dsn``: a PostgreSQL database holding the store, shared by a team.

    ``dsn`` never holds a password (a DSN with one is refused when the config is read), so it
    is what messages show; ``password`` comes from ``REPORTGEN_STORE_PASSWORD`` and is never
    shown (not in ``repr`` either).
    """

    dsn: str
    password: str | None = field(default=None, repr=False, compare=False)
    #: The schema holding the store's tables: ``public`` for the live store, a closed period's
    #: revision in a schema of its own (``closed_2026_04_r1``).
    schema: str = "public"

    def __str__(self) -> str:
        return self.dsn if self.schema == "public" else f"{self.dsn} (schema {self.schema})"
