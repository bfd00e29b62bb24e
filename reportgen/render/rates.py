"""How documents name a rate's source and date: in words, never a config key or an API path."""

from __future__ import annotations

from collections.abc import Callable

from ..core.rates import Exchange

#: The source text ``[report] exchange_rate`` (or a source's) carries when no ``exchange_rate_source`` is set.
_CONFIG_SUFFIX = "] exchange_rate"
_GATEWAY_SOURCE = "gateway /api/status usd_exchange_rate"


def rate_source_text(ex: Exchange, label: Callable[[str], str]) -> str:
    """Where ``ex`` comes from, in the document's words (``label(key)``): the gateway's published
    rate, the organisation's configured rate, or the source the configuration names."""
    if ex.source == _GATEWAY_SOURCE:
        return label("rate_source_gateway")
    if ex.source.endswith(_CONFIG_SUFFIX):
        return label("rate_source_config")
    return ex.source
