"""Which flavour's gateway wrote this database, told from its logs table's columns.

Pure: given column names and declared types, say which registered flavour and version it
looks like (``Flavor.database``), which columns to read, and under which API field name
each one arrives (so that a database row becomes exactly the dict ``/api/log/self`` would
have returned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import flavors
from ..errors import DatabaseSourceError
from ..hookspecs import Flavor, FlavorDatabase

#: Columns the logs table of every flavour of the family has (model/log.go of new-api and
#: one-api): the keyset, the filters and the figures are read from them.
REQUIRED_LOG_COLUMNS = (
    "id",
    "user_id",
    "created_at",
    "type",
    "username",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
)
REQUIRED_TOKEN_COLUMNS = ("id", "user_id", "name")
OPTIONAL_TOKEN_COLUMNS = (
    "status",
    "used_quota",
    "remain_quota",
    "unlimited_quota",
    "group",
    "created_time",
    "accessed_time",
    "expired_time",
)
_INTEGER_TYPES = ("int", "serial")  # int, integer, bigint, smallint, tinyint, int(11), bigserial ...


@dataclass(frozen=True)
class LogSchema:
    """How to read one logs table."""

    flavor: str  # the flavour's name: the same the API client reports
    looks_like: str  # e.g. "new-api (with request_id)", shown to the user
    columns: tuple[str, ...]  # database column names, in SELECT order
    fields: tuple[str, ...]  # the API field name of each column
    elapsed_ms: int | None  # position of a latency column in ms (one-api's), read as use_time (s)
    tables: FlavorDatabase  # the flavour's table names

    @property
    def api_fields(self) -> tuple[str, ...]:
        """The API field of each value of :meth:`api_rows`: ``fields``, and one-api's derived ``use_time``."""
        return self.fields if self.elapsed_ms is None else (*self.fields, "use_time")

    def api_rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Database rows as tuples of :attr:`api_fields`: the values of :meth:`to_items`, without a dict each."""
        at = self.elapsed_ms
        if at is None:
            return rows
        return [(*row, None if row[at] is None else row[at] / 1000) for row in rows]

    def to_items(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Database rows as ``/api/log/self`` items: what :meth:`api_rows` holds, as dicts (the
        form ``parse_log_row`` reads; the tests hold the sync's fast path to it)."""
        fields = self.fields
        items = [dict(zip(fields, row, strict=True)) for row in rows]
        at = self.elapsed_ms
        if at is not None:
            for item, row in zip(items, rows, strict=True):
                # a latency in ms (one-api's API has no use_time): derive it so all share one parser.
                item["use_time"] = None if row[at] is None else row[at] / 1000
        return items


def detect_log_schema(
    columns: dict[str, str], where: str, candidates: list[Flavor] | None = None, table: str = "logs"
) -> LogSchema:
    """The schema of a logs table with ``columns`` (name -> declared type), told among
    ``candidates`` (default: every flavour with a database); one-line errors."""
    candidates = flavors.with_database() if candidates is None else candidates
    known = ", ".join(f.name for f in candidates)
    names = {c.lower(): c for c in columns}
    for required in REQUIRED_LOG_COLUMNS:
        if required not in names:
            raise DatabaseSourceError(
                f"{where}: table {table} has no column {required!r}, so it is not the log table of a "
                f"known flavour ({known}; its columns: {', '.join(sorted(columns))[:300]})"
            )
    created_type = columns[names["created_at"]]
    if not any(t in created_type for t in _INTEGER_TYPES):
        raise DatabaseSourceError(
            f"{where}: {table}.created_at is {created_type!r}, not Unix seconds in an integer column as "
            f"the gateways ({known}) write it"
        )
    flavor = flavors.by_columns(candidates, names.keys())
    if flavor is None or flavor.database is None:
        raise DatabaseSourceError(
            f"{where}: table {table} looks like the log table of no known flavour ({known}; its columns: "
            f"{', '.join(sorted(columns))[:300]})"
        )
    db = flavor.database
    present = [c for c in (*REQUIRED_LOG_COLUMNS, *db.log_columns) if c in names]
    renamed = dict(db.renamed)
    return LogSchema(
        flavor=flavor.name,
        looks_like=db.describe(names.keys()),
        columns=tuple(names[c] for c in present),
        fields=tuple(renamed.get(c, c) for c in present),
        elapsed_ms=present.index(db.latency_ms) if db.latency_ms in present else None,
        tables=db,
    )


def token_columns(columns: dict[str, str], where: str) -> tuple[tuple[str, ...], bool]:
    """The ``tokens`` columns to read, and whether rows are soft-deleted (``deleted_at``)."""
    names = {c.lower(): c for c in columns}
    for required in REQUIRED_TOKEN_COLUMNS:
        if required not in names:
            raise DatabaseSourceError(f"{where}: table tokens has no column {required!r}")
    present = [c for c in (*REQUIRED_TOKEN_COLUMNS, *OPTIONAL_TOKEN_COLUMNS) if c in names]
    return tuple(names[c] for c in present), "deleted_at" in names
