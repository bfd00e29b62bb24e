"""Which gateway wrote this database: new-api or one-api, told from the ``logs`` table's columns.

Pure: given column names and declared types, say which flavour and version it looks like,
which columns to read, and under which API field name each one arrives (so that a
database row becomes exactly the dict ``/api/log/self`` would have returned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DatabaseSourceError

#: Columns every new-api and one-api ``logs`` table has (model/log.go of both).
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
#: Read when present, in this order; ``channel_id`` is the API's ``channel``.
OPTIONAL_LOG_COLUMNS = (
    "content",
    "use_time",
    "elapsed_time",
    "is_stream",
    "channel_id",
    "token_id",
    "group",
    "ip",
    "other",
    "request_id",
)
_API_NAMES = {"channel_id": "channel"}
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
    """How to read one ``logs`` table."""

    flavor: str  # "new-api" | "one-api": the same names the API client reports
    looks_like: str  # e.g. "new-api (with request_id)", shown to the user
    columns: tuple[str, ...]  # database column names, in SELECT order
    fields: tuple[str, ...]  # the API field name of each column
    elapsed_ms: int | None  # position of one-api's elapsed_time (ms), converted to use_time (s)

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
        if self.elapsed_ms is not None:
            for item in items:
                ms = item.get("elapsed_time")
                # one-api's API has no use_time: derive it so both flavours share one parser.
                item["use_time"] = None if ms is None else ms / 1000
        return items


def detect_log_schema(columns: dict[str, str], where: str) -> LogSchema:
    """The schema of a ``logs`` table with ``columns`` (name -> declared type); one-line errors."""
    names = {c.lower(): c for c in columns}
    for required in REQUIRED_LOG_COLUMNS:
        if required not in names:
            raise DatabaseSourceError(
                f"{where}: table logs has no column {required!r}, so it is not a new-api or one-api log "
                f"table (its columns: {', '.join(sorted(columns))[:300]})"
            )
    created_type = columns[names["created_at"]]
    if not any(t in created_type for t in _INTEGER_TYPES):
        raise DatabaseSourceError(
            f"{where}: logs.created_at is {created_type!r}, not Unix seconds in an integer column as "
            "new-api and one-api write it"
        )
    present = [c for c in (*REQUIRED_LOG_COLUMNS, *OPTIONAL_LOG_COLUMNS) if c in names]
    if "use_time" in names or "other" in names:
        flavor = "new-api"
        looks_like = "new-api (with request_id)" if "request_id" in names else "new-api (before request_id)"
    else:
        flavor = "one-api"
        if "elapsed_time" in names:
            looks_like = "one-api v0.6 or later (elapsed_time in ms)"
        else:
            looks_like = "one-api before v0.6 (no latency column)"
    if flavor == "new-api" and "elapsed_time" in present:
        present.remove("elapsed_time")  # use_time is new-api's latency
    return LogSchema(
        flavor=flavor,
        looks_like=looks_like,
        columns=tuple(names[c] for c in present),
        fields=tuple(_API_NAMES.get(c, c) for c in present),
        elapsed_ms=present.index("elapsed_time") if "elapsed_time" in present else None,
    )


def token_columns(columns: dict[str, str], where: str) -> tuple[tuple[str, ...], bool]:
    """The ``tokens`` columns to read, and whether rows are soft-deleted (``deleted_at``)."""
    names = {c.lower(): c for c in columns}
    for required in REQUIRED_TOKEN_COLUMNS:
        if required not in names:
            raise DatabaseSourceError(f"{where}: table tokens has no column {required!r}")
    present = [c for c in (*REQUIRED_TOKEN_COLUMNS, *OPTIONAL_TOKEN_COLUMNS) if c in names]
    return tuple(names[c] for c in present), "deleted_at" in names
