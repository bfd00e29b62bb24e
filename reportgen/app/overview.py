"""``reportgen summary``: a period's figures for the terminal, read through the one read path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..core.periods import Period
from ..core.report import Report
from ..read import Scope, open_period
from .quality import unsynced_lines
from .summary import report_json


@dataclass(frozen=True)
class Overview:
    """The report a summary shows (a closed period's frozen figures, like its documents), and
    ``summary --json``'s document when asked for."""

    report: Report
    document: dict[str, Any] | None = None


def overview(
    config: Config,
    period: Period,
    *,
    member: str | None = None,
    as_json: bool = False,
    notify: Callable[[str], None],
) -> Overview:
    """The period's overview for the team or ``member``; its notices and unsynced days are told first.

    The JSON document is built while the view is open (it reads the corrections of amended
    closed periods) and carries the rows' fingerprint; the table needs neither.
    """
    # The table and the JSON print no wallet bridge (``reportgen bridge`` does): it is not computed;
    # the table prints no unit price either (the JSON does).
    with open_period(
        config, period, Scope.of(member), fingerprint=as_json, with_bridge=False, prices=as_json
    ) as view:
        for line in (*view.notices, *unsynced_lines(view)):
            notify(line)
        return Overview(view.report, report_json(view.report) if as_json else None)
