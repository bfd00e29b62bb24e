"""``reportgen bridge``: the wallet bridge of a period, read through the one read path."""

from __future__ import annotations

from ..config import Config
from ..core.periods import Period
from ..core.wallet import Bridge, unexplained_text
from ..errors import QualityError
from ..read import open_period
from ..templating import wording


def run_bridge(config: Config, period: Period) -> Bridge:
    """The period's bridge per source (a closed period's as frozen at its close)."""
    with open_period(config, period, fingerprint=False) as view:
        bridge = view.report.bridge
    assert bridge is not None  # a team view always has one
    return bridge


def enforce_bridge(bridge: Bridge, strict: bool) -> None:
    """With ``strict``, a residual no recorded fact explains is a finding (exit 7)."""
    bad = [s for s in bridge.sources if s.unexplained]
    if strict and bad:
        labels = wording("en").group("bridge_")
        raise QualityError("--strict: " + "; ".join(unexplained_text(s, labels) for s in bad))
