"""What a closure records beside its rows, as the text the ``closures`` table keeps: the gateway's
``/api/status``, the further currencies' conversions, each source's rate, the member and project
mapping (TOML values, dates and times tagged so that they come back as they were)."""

from __future__ import annotations

import json
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from ..core.rates import Conversion, Exchange
from ..core.records import GatewayStatus


def source_rates_json(rates: dict[str, Exchange], at: datetime) -> str:
    return json.dumps(
        {
            name: {
                "rate": None if e.rate is None else str(e.rate),
                "source": e.source,
                "as_of": (e.as_of or at).isoformat(),
                "applies_to": e.applies_to,
            }
            for name, e in sorted(rates.items())
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def conversions_json(conversions: tuple[Conversion, ...]) -> str:
    return json.dumps(
        [
            {"code": c.code, "rate": str(c.rate), "source": c.source, "date": c.as_of.isoformat()}
            for c in conversions
        ],
        ensure_ascii=False,
    )


def conversions_from_json(text: str) -> tuple[Conversion, ...]:
    return tuple(
        Conversion(d["code"], Decimal(d["rate"]), d["source"], date.fromisoformat(d["date"]))
        for d in json.loads(text)
    )


def status_json(status: GatewayStatus) -> str:
    return json.dumps(
        {
            "quota_per_unit": str(status.quota_per_unit),
            "read_at": status.read_at,
            "usd_exchange_rate": None if status.usd_exchange_rate is None else str(status.usd_exchange_rate),
            "quota_display_type": status.quota_display_type,
            "version": status.version,
        },
        sort_keys=True,
    )


def status_from_json(text: str) -> GatewayStatus:
    d = json.loads(text)
    return GatewayStatus(
        quota_per_unit=Decimal(d["quota_per_unit"]),
        read_at=int(d["read_at"]),
        usd_exchange_rate=None if d.get("usd_exchange_rate") is None else Decimal(d["usd_exchange_rate"]),
        quota_display_type=d.get("quota_display_type"),
        version=d.get("version"),
    )


def toml_to_json(value: Any) -> Any:
    """TOML values as JSON, dates and times tagged so that :func:`toml_from_json` restores them."""
    if isinstance(value, dict):
        return {k: toml_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [toml_to_json(v) for v in value]
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dtime):
        return {"$time": value.isoformat()}
    return value


def toml_from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [toml_from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, text),) = value.items()
            parse = {
                "$datetime": datetime.fromisoformat,
                "$date": date.fromisoformat,
                "$time": dtime.fromisoformat,
            }
            if tag in parse:
                return parse[tag](text)
        return {k: toml_from_json(v) for k, v in value.items()}
    return value
