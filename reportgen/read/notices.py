"""What a view tells the user before anything is written (closed, mixed, amended periods), and
the checks that refuse a view whose closed parts cannot be read with the current settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..config import Config
from ..core.periods import Period
from ..core.records import DEFAULT_QUOTA_PER_UNIT
from ..errors import UsageError
from ..store import Amendment, Closure
from .closed import config_changes


def closed_notice(closure: Closure, config: Config, pending: Amendment | None, rates: bool = False) -> str:
    """Reading a closed period: the figures are frozen, and what changed since (config, rates, rows)."""
    label = closure.period.label
    text = (
        f"Notice: {label} is closed (revision {closure.revision}, {closure.generated_at:%Y-%m-%d %H:%M}): "
        "the figures are its frozen snapshot."
    )
    changed = config_changes(closure, config)
    if rates and "exchange rate" not in changed:
        changed.append("exchange rate")
    if changed:
        text += (
            f" The config changed since the close ({', '.join(changed)}) and does not apply to it; "
            f"`reportgen close {label} --reopen` re-closes it with the current config."
        )
    if pending is not None:
        text += " " + pending_notice(closure, pending).removeprefix("Notice: ")
    return text


def mixed_notice(period: Period, inside: Iterable[Closure]) -> str:
    """A period holding closed ones: which parts are frozen."""
    frozen = ", ".join(f"{c.period.label} (revision {c.revision})" for c in inside)
    return f"Notice: {period.label} includes closed {frozen}: those parts are frozen snapshots, the rest is live."


def pending_notice(closure: Closure, pending: Amendment) -> str:
    """Rows of a closed period changed in the store since the close."""
    label = closure.period.label
    return (
        f"Notice: the store has changed since {label} was closed: "
        f"{pending.describe(closure.quota_per_unit)}. The documents show the closed version; "
        f"`reportgen amendments --period {label}` lists the changes and `reportgen close {label} --reopen` "
        "re-closes with them applied."
    )


def check_timezone(closed: list[Closure], period: Period) -> None:
    """A closed period is read in the timezone it was closed in, or not at all."""
    for c in closed:
        if c.period.label == period.label and c.period.timezone != period.timezone:
            raise UsageError(
                f"{period.label} was closed in {c.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {c.period.timezone}"
            )


def check_quota_unit(frozen: list[Closure], status: Any) -> None:
    """Closed periods read together with live rows must count quota as the gateway counts it now."""
    qpu = status.quota_per_unit if status is not None else DEFAULT_QUOTA_PER_UNIT
    for c in frozen:
        if c.quota_per_unit != qpu:
            raise UsageError(
                f"closed {c.period.label} counts {c.quota_per_unit} quota per USD but the gateway now counts "
                f"{qpu}; report {c.period.label} and the other months separately"
            )
