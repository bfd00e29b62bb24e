"""A reconciliation (:class:`Reconciliation`, one :class:`ReconcileLine` per key) and its plain JSON and back
(``reconcile --json``, and how the store keeps it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ReconcileLine:
    """One key's (or, with ``key`` None, the total's) store sums against the gateway's."""

    key: str | None
    store_consumed: int
    store_refunded: int
    store_current_user: int
    gateway_stat: int | None
    status: str  # "ok" | "explained" | "unexplained"
    notes: tuple[str, ...] = ()
    used_quota: int | None = None
    lifetime_consumed: int | None = None

    @property
    def store_net(self) -> int:
        return self.store_consumed - self.store_refunded


@dataclass(frozen=True)
class Reconciliation:
    """The result of ``reportgen reconcile`` for one period; ``ok`` when nothing is unexplained."""

    period_label: str
    start_ts: int
    end_ts: int
    checked_at: int
    username: str
    total: ReconcileLine
    keys: tuple[ReconcileLine, ...]
    notes: tuple[str, ...] = ()
    fingerprint: str = ""

    @property
    def unexplained(self) -> tuple[ReconcileLine, ...]:
        return tuple(x for x in (*self.keys, self.total) if x.status == "unexplained")

    @property
    def ok(self) -> bool:
        return not self.unexplained


_LINE_FIELDS = (
    "key",
    "store_consumed",
    "store_refunded",
    "store_current_user",
    "gateway_stat",
    "status",
    "notes",
    "used_quota",
    "lifetime_consumed",
)


def _line_json(line: ReconcileLine) -> dict[str, Any]:
    out = {f: getattr(line, f) for f in _LINE_FIELDS}
    out["notes"] = list(line.notes)
    out["store_net"] = line.store_net
    return out


def reconciliation_json(result: Reconciliation) -> dict[str, Any]:
    """Plain JSON types; quota is an int."""
    return {
        "period": result.period_label,
        "start_ts": result.start_ts,
        "end_ts": result.end_ts,
        "checked_at": result.checked_at,
        "username": result.username,
        "ok": result.ok,
        "unexplained": [x.key if x.key is not None else "(total)" for x in result.unexplained],
        "notes": list(result.notes),
        "fingerprint": result.fingerprint,
        "total": _line_json(result.total),
        "keys": [_line_json(x) for x in result.keys],
    }


def reconciliation_from_json(data: dict[str, Any]) -> Reconciliation:
    def line(d: dict[str, Any]) -> ReconcileLine:
        values: dict[str, Any] = {f: d.get(f) for f in _LINE_FIELDS}
        values["notes"] = tuple(d.get("notes") or ())
        return ReconcileLine(**values)

    return Reconciliation(
        period_label=data["period"],
        start_ts=data["start_ts"],
        end_ts=data["end_ts"],
        checked_at=data["checked_at"],
        username=data.get("username", ""),
        total=line(data["total"]),
        keys=tuple(line(d) for d in data["keys"]),
        notes=tuple(data.get("notes") or ()),
        fingerprint=data.get("fingerprint", ""),
    )
