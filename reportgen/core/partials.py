"""What the store hands to aggregation: rows pre-grouped into :class:`Bucket` s, latencies, :class:`Partials`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


class Bucket(NamedTuple):
    """Rows of one key, model, local day, type and billing source, summed.

    Buckets are what the store hands to aggregation: grouping a million rows is done
    once, close to the data, and everything after it is pure arithmetic on buckets.
    A named tuple (immutable like the frozen records): a month has tens of thousands of
    buckets, and a tuple is made three times faster than a frozen dataclass.
    """

    token_name: str
    model_name: str
    day: date
    type: int
    subscription: bool
    rows: int
    quota: int
    prompt_tokens: int
    completion_tokens: int
    status_known: int = 0
    status_ok: int = 0
    unpriced: int = 0
    zero_quota_with_tokens: int = 0


@dataclass(frozen=True, slots=True)
class LatencyCount:
    """How many consumption rows of a group took ``latency_ms`` (bucketed) to answer."""

    key: str
    latency_ms: int
    count: int


class Partials:
    """Everything aggregation needs from the store for one period, pre-grouped.

    ``buckets`` are the rows grouped per key, model, local day, type and billing source.
    ``key_models`` and ``days``, when given, are the same rows summed coarser, all that
    :func:`~reportgen.core.aggregate.aggregate` reads: per key × model × type × billing
    source (``day`` is any day of the group) and per day × type × billing source
    (``model_name`` empty; ``token_name`` is one of the keys summed, which share whatever
    comes before a ':', i.e. a source's exchange rate); several entries of one group add up.
    The store gives them (a few thousand rows where a month has tens of thousands of
    buckets) and reads the buckets only when asked (``load``, while the view is open): a
    summary never needs them.  ``latency_by_key_model`` is keyed
    ``"token_name\\x00model_name"`` (in key order); ``latency_by_day`` by ISO date.  Two
    are equal when their buckets and latencies are.
    """

    __slots__ = ("_buckets", "_load", "days", "key_models", "latency_by_day", "latency_by_key_model")

    def __init__(
        self,
        buckets: tuple[Bucket, ...] | None = (),
        latency_by_key_model: tuple[LatencyCount, ...] = (),
        latency_by_day: tuple[LatencyCount, ...] = (),
        *,
        key_models: tuple[Bucket, ...] | None = None,
        days: tuple[Bucket, ...] | None = None,
        load: Callable[[], tuple[Bucket, ...]] | None = None,
    ) -> None:
        if buckets is None and load is None:
            raise ValueError("Partials needs its buckets or a way to load them")
        self._buckets = buckets
        self._load = load
        self.latency_by_key_model = latency_by_key_model
        self.latency_by_day = latency_by_day
        self.key_models = key_models
        self.days = days

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """Per key, model, local day, type and billing source (read on first use)."""
        if self._buckets is None:
            assert self._load is not None
            self._buckets, self._load = self._load(), None
        return self._buckets

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partials):
            return NotImplemented
        return (self.buckets, self.latency_by_key_model, self.latency_by_day) == (
            other.buckets,
            other.latency_by_key_model,
            other.latency_by_day,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        held = "not read" if self._buckets is None else f"{len(self._buckets)}"
        return f"Partials(buckets={held}, key_models={self.key_models is not None})"
