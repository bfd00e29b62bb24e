"""A wallet bridge as plain JSON (``bridge --json``, and how a closed period keeps it) and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from .money import CENT, fixed
from .wallet import Bridge, BridgeNote, End, Flow, Payment, SourceBridge, printed_bridge


def bridge_json(
    bridge: Bridge,
    labels: Mapping[str, str] | None = None,
    rates: Mapping[str, Decimal | None] | None = None,
) -> dict[str, Any]:
    """The bridge as plain JSON (quota as int, money as decimal strings); with ``labels`` (see
    :meth:`BridgeNote.text`) each source's notes also as text, under ``explanations``; with
    ``rates`` (each source's CNY per USD) each source's ``cny_per_usd`` and its lines as
    printed (``printed``: USD and CNY in cents, rounding lines included)."""

    def usd(q: int | None) -> str | None:
        return fixed(bridge.usd(q))

    out = []
    for s in bridge.sources:
        out.append(
            {
                "source": s.source,
                "account": s.account,
                "opening": {**asdict(s.opening), "usd": usd(s.opening.quota)},
                "credits": {k: q for k, q in s.flow.credits},
                "credited": s.flow.credited,
                "unreadable_credit_rows": list(s.flow.unreadable),
                "no_wallet_credit_rows": s.flow.no_wallet,
                "cny_rates": list(s.flow.cny_rates),
                "consumed_wallet": s.flow.consumed_wallet,
                "consumed_subscription": s.flow.consumed_subscription,
                "refunded": s.flow.refunded,
                "net_wallet": s.flow.net_wallet,
                "expected_closing": s.expected_closing,
                "closing": {**asdict(s.closing), "usd": usd(s.closing.quota)},
                "residual": s.residual,
                "residual_usd": usd(s.residual),
                "closes": s.closes,
                "records": [{"kind": k, "count": c, "quota": q} for k, c, q in s.records],
                **(
                    {} if labels is None else {"explanations": [note.text(labels) for note in s.explanations]}
                ),
                "notes": [{"kind": note.kind, **dict(note.values)} for note in s.explanations],
                "unexplained": s.unexplained,
                "one_read": s.one_read,
                "payments": [asdict(p) for p in s.payments],
                **({} if rates is None else _printed(bridge, s, rates.get(s.source))),
            }
        )
    return {
        "start_ts": bridge.start_ts,
        "end_ts": bridge.end_ts,
        "quota_per_unit": str(bridge.quota_per_unit),
        "sources": out,
        "residual": bridge.total(lambda s: s.residual),
    }


def bridge_from_json(data: dict[str, Any]) -> Bridge:
    """The inverse of :func:`bridge_json` (a closed period keeps its bridge as JSON)."""

    def end(d: dict[str, Any]) -> End:
        return End(
            d["quota"], d["snapshot_at"], d["snapshot_quota"], d["rolled"], tuple(tuple(g) for g in d["gaps"])
        )

    sources = []
    for s in data["sources"]:
        flow = Flow(
            tuple((k, int(q)) for k, q in s["credits"].items()),
            tuple(s["unreadable_credit_rows"]),
            s["consumed_wallet"],
            s["consumed_subscription"],
            s["refunded"],
            s.get("no_wallet_credit_rows", 0),
            tuple(s.get("cny_rates", ())),
        )
        sources.append(
            SourceBridge(
                s["source"],
                s["account"],
                end(s["opening"]),
                flow,
                end(s["closing"]),
                tuple((r["kind"], r["count"], r["quota"]) for r in s["records"]),
                _notes(s),
                s.get("one_read", False),
                tuple(Payment(**p) for p in s.get("payments", ())),
            )
        )
    return Bridge(data["start_ts"], data["end_ts"], Decimal(data["quota_per_unit"]), tuple(sources))


def _printed(bridge: Bridge, s: SourceBridge, rate: Decimal | None) -> dict[str, Any]:
    lines = [
        {"line": line.key, "quota": line.quota, "usd": fixed(line.usd, CENT), "cny": fixed(line.cny, CENT)}
        for line in printed_bridge(bridge, s, rate)
    ]
    return {"cny_per_usd": None if rate is None else str(rate), "printed": lines}


def _notes(data: dict[str, Any]) -> tuple[BridgeNote, ...]:
    if "notes" in data:
        return tuple(
            BridgeNote(n["kind"], tuple((k, str(v)) for k, v in n.items() if k != "kind"))
            for n in data["notes"]
        )
    # kept before notes were worded per language: the English text as it was
    return tuple(BridgeNote("text", (("text", text),)) for text in data["explanations"])
