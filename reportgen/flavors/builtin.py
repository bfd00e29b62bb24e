"""The built-in flavours, registered through the same hook as a plugin's (gateway-api.md).

new-api (and its hosted Crazyrouter) and its parent one-api share the management API and
the database layout; they differ in what ``/api/status`` says, how a log row looks, how
they page and how fast they let a client go.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from ..hookspecs import Flavor, FlavorDatabase, Paging, RegisterFlavor, hookimpl
from . import credits

#: /api/status fields only new-api (and Crazyrouter) send.
_NEW_API_STATUS = ("usd_exchange_rate", "quota_display_type")


def _new_api_status(data: Mapping[str, Any]) -> bool:
    return any(key in data for key in _NEW_API_STATUS)


def _new_api_columns(columns: AbstractSet[str]) -> int:
    return int("use_time" in columns or "other" in columns)


def _new_api_version(columns: AbstractSet[str]) -> str:
    return "new-api (with request_id)" if "request_id" in columns else "new-api (before request_id)"


def _one_api_version(columns: AbstractSet[str]) -> str:
    if "elapsed_time" in columns:
        return "one-api v0.6 or later (elapsed_time in ms)"
    return "one-api before v0.6 (no latency column)"


NEW_API = Flavor(
    name="new-api",
    description="new-api (2024-08 and later: 1-based pages of up to 100)",
    status_score=lambda data: int(_new_api_status(data)),
    row_score=lambda row: int("other" in row),  # ``other`` as JSON text, "null" or ""
    parse_credit=credits.NEW_API,
    database=FlavorDatabase(score=_new_api_columns, describe=_new_api_version, exchange_rate=Decimal("7.3")),
    topups="/api/user/topup/self",
)

CRAZYROUTER = Flavor(
    name="crazyrouter",
    description="Crazyrouter, hosted on new-api (other as an object, cost_usd on each row)",
    status_score=lambda data: (
        2 * (_new_api_status(data) and "crazyrouter" in str(data.get("system_name") or "").lower())
    ),
    row_score=lambda row: 2 * (isinstance(row.get("other"), dict) or "cost_usd" in row),
    parse_credit=credits.NEW_API,
)

ONE_API = Flavor(
    name="one-api",
    description="one-api (0-based pages of a fixed 10, no other, 480 requests per 180 s)",
    status_score=lambda data: int(not _new_api_status(data)),
    row_score=lambda row: int("other" not in row),
    parse_credit=credits.ONE_API,
    paging=Paging(first=0, size=10, fixed=True, wrapped=False),
    requests_per_window=480,
    row_ids="none",
    database=FlavorDatabase(
        score=lambda columns: int(not _new_api_columns(columns)),
        describe=_one_api_version,
        log_columns=(
            "content",
            "elapsed_time",
            "is_stream",
            "channel_id",
            "token_id",
            "group",
            "ip",
            "other",
            "request_id",
        ),  # fmt: skip
        latency_ms="elapsed_time",
    ),
)


@hookimpl
def register_flavors(register: RegisterFlavor) -> None:
    for flavor in (NEW_API, CRAZYROUTER, ONE_API):
        register(flavor)
