"""Log rows and gateway facts as read: :class:`UsageRecord` (and a page of them, :class:`RowBatch`),
:class:`LogType`, :class:`GatewayStatus`, :class:`KeyInfo`.

Quota and tokens are ``int``, timestamps UTC epoch seconds.  Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

from .rawjson import content_text, dumps_row
from .tokens import TokenUsage


class LogType(enum.IntEnum):
    """The gateway's log row types (``type`` field)."""

    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    ERROR = 5
    REFUND = 6


#: The credit rows: top-ups, admin changes and system credits (their amount is in their text).
CREDIT_TYPES = frozenset({LogType.TOPUP, LogType.MANAGE, LogType.SYSTEM})


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One gateway log row, parsed tolerantly; ``raw`` keeps the row exactly as received."""

    created_at: int
    type: int
    token_name: str
    model_name: str
    quota: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    use_time_ms: int | None = None
    is_stream: bool = False
    request_id: str | None = None
    client: str | None = None
    http_status: int | None = None
    billing_source: str | None = None
    token_id: int | None = None
    group: str = ""
    username: str = ""
    channel: int | None = None
    has_price: bool = True
    raw: str = ""
    #: Token types and the pricing inputs the row logs (None: not read).
    usage: TokenUsage | None = None

    @property
    def subscription(self) -> bool:
        """True when the row was billed to a subscription rather than the wallet."""
        return self.billing_source == "subscription"


class RowBatch(Sequence[UsageRecord]):
    """A page of log rows parsed straight to the values the store writes: the database source's fast path.

    ``columns[j]`` holds field ``j`` of every row, the fields of a :class:`UsageRecord` but
    ``raw`` in their order (``reportgen.core.fingerprint.ROW_FIELDS``); ``values[i]``, built
    on demand, is row ``i``'s tuple.  Columns, not row tuples: the parser builds them, the
    fingerprint and the store read them, and they cross between processes ~2x faster.  The
    rows as received are kept too: ``rows[i]`` holds the values of ``fields`` (API field
    names), and ``raws[i]``, built on demand, is the raw JSON the API path keeps for the same
    item.  ``faithful`` says whether ``rows`` hold only values JSON carries exactly
    (:func:`reportgen.core.rawjson.faithful`), so the store may keep them as one table;
    ``packed`` is where the store may put that table, made ready before it writes
    (``Store.prepare``, which then drops ``rows``: a prepared batch is for the store alone).
    ``stored``, built once on demand, is each row's tuple as the store writes it and the
    fingerprint reads it.  ``credits`` are the credit rows' texts (``(i, content)`` of each
    top-up, admin and system row), which the store keeps beside their rows for the wallet
    bridge; taken from ``rows`` on demand, or set before ``rows`` are dropped.  Read as a
    sequence the batch yields the same records (built on demand).
    """

    __slots__ = (
        "_credits", "_stored", "columns", "copies", "digests", "faithful", "fields", "packed", "rows", "usage",
        "usage_columns",
    )  # fmt: skip

    def __init__(
        self,
        columns: Sequence[Sequence[Any]],
        fields: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        faithful: bool = False,
        usage: Sequence[TokenUsage] = (),
    ) -> None:
        self.columns = columns
        self.fields = fields
        self.rows = rows
        self.faithful = faithful
        #: Each row's token types and pricing inputs (``usage[i]`` of row ``i``).
        self.usage = usage
        self.packed: bytes | None = None
        #: Rows that repeat the row before them whole, kept (a source whose rows have no id:
        #: ClickHouse); the sync reports them, as a retried insert looks the same.
        self.copies = 0
        #: ``usage`` as columns (``usage_columns[k][i]``: field ``k`` of row ``i``'s usage), where a
        #: prepared batch keeps it instead: columns cross between processes ~3x faster than tuples.
        self.usage_columns: Sequence[Sequence[Any]] | None = None
        #: The sorted content digests of ``stored`` (``reportgen.core.fingerprint.page_digests``),
        #: where the sync's reading process computed them.
        self.digests: list[bytes] | None = None
        self._stored: list[tuple[Any, ...]] | None = None
        self._credits: list[tuple[int, str]] | None = None

    @classmethod
    def of_rows(
        cls,
        values: Sequence[Sequence[Any]],
        fields: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        usage: Sequence[TokenUsage] = (),
    ) -> RowBatch:
        """A batch of row tuples (each of ``ROW_FIELDS``)."""
        return cls(list(zip(*values, strict=True)) if values else [()] * 18, fields, rows, usage=usage)

    @property
    def values(self) -> list[tuple[Any, ...]]:
        """Each row's tuple of ``ROW_FIELDS``."""
        return list(zip(*self.columns, strict=True))

    @property
    def stored(self) -> list[tuple[Any, ...]]:
        """Each row's tuple of ``ROW_FIELDS`` with booleans as 0/1: what the store writes and
        the canonical line holds.  Built once (the store and the fingerprint share it)."""
        if self._stored is None:
            self._stored = self.stored_with()
        return self._stored

    def stored_with(self, *extra: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Each row's :attr:`stored` tuple followed by its value in each of ``extra`` columns (built
        in one pass: the store appends the usage columns so)."""
        c = self.columns
        return list(zip(*c[:8], map(int, c[8]), *c[9:17], map(int, c[17]), *extra, strict=True))

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """Pickled without :attr:`stored`, which is built again where it is needed."""
        return None, {name: getattr(self, name) for name in self.__slots__ if name != "_stored"}

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        self._stored = None
        for name, value in state[1].items():
            setattr(self, name, value)

    @property
    def credits(self) -> list[tuple[int, str]]:
        """``(i, content text)`` of each credit row (types 1, 3 and 4) of the batch."""
        if self._credits is None:
            at = [i for i, t in enumerate(self.columns[1]) if t in CREDIT_TYPES]
            where = self.fields.index("content") if at and "content" in self.fields else None
            self._credits = [(i, "" if where is None else content_text(self.rows[i][where])) for i in at]
        return self._credits

    @credits.setter
    def credits(self, value: list[tuple[int, str]]) -> None:
        self._credits = value

    @property
    def raws(self) -> list[str]:
        """Each row's raw JSON, as :func:`reportgen.core.rawjson.dumps_row` writes it."""
        fields = self.fields
        return [dumps_row(dict(zip(fields, row, strict=True))) for row in self.rows]

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, index: int) -> UsageRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[UsageRecord]: ...
    def __getitem__(self, index: int | slice) -> UsageRecord | list[UsageRecord]:
        raws = self.raws
        usage: Sequence[TokenUsage | None] = self.usage or [None] * len(raws)
        if isinstance(index, slice):
            return [
                UsageRecord(*(*v, raw, u))
                for v, raw, u in zip(self.values[index], raws[index], usage[index], strict=True)
            ]
        return UsageRecord(*(*self.values[index], raws[index], usage[index]))

    def __iter__(self) -> Iterator[UsageRecord]:
        usage: Sequence[TokenUsage | None] = self.usage or [None] * len(self)
        for values, raw, u in zip(self.values, self.raws, usage, strict=True):
            yield UsageRecord(*(*values, raw, u))


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """What ``/api/status`` said, and when it was read."""

    quota_per_unit: Decimal
    read_at: int
    usd_exchange_rate: Decimal | None = None
    quota_display_type: str | None = None
    version: str | None = None


DEFAULT_QUOTA_PER_UNIT = Decimal(500000)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One API key from ``/api/token/`` (the secret key itself is never kept)."""

    id: int
    name: str
    status: int = 1
    used_quota: int = 0
    remain_quota: int = 0
    unlimited_quota: bool = False
    group: str = ""
    created_time: int = 0
    accessed_time: int = 0
    expired_time: int = -1
