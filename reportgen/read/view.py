"""What a view is: its :class:`Scope` (team, member or project) and the :class:`PeriodView` it yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from ..config import Config
from ..core.periods import Coverage
from ..core.report import Report
from ..errors import UsageError
from ..store import Amendment, Closure
from .timeline import Timeline


@dataclass(frozen=True)
class Scope:
    """Whose figures a view shows: the team, one member, or one project's charged spend."""

    kind: str = "team"  # team | member | project
    name: str | None = None

    @classmethod
    def of(cls, member: str | None = None, project: str | None = None) -> Scope:
        if member is not None and project is not None:
            raise UsageError("give either --member or --project, not both")
        if member is not None:
            return cls("member", member)
        if project is not None:
            return cls("project", project)
        return cls()

    @property
    def filters(self) -> dict[str, str]:
        """The filters as a packet manifest records them."""
        return {} if self.name is None else {self.kind: self.name}


@dataclass(frozen=True)
class PeriodView:
    """A period's report and the facts about it every command and document shares.

    ``config`` is the configuration the figures were built with (a closed period's frozen
    mapping and rate); ``token_names`` the keys a member or project view covers (None:
    every key); ``notices`` what the user should hear before anything is written.
    """

    report: Report
    scope: Scope
    config: Config
    token_names: tuple[str, ...] | None
    row_count: int
    used_keys: tuple[str, ...]
    empty_days: tuple[date, ...]
    closure: Closure | None = None
    pending: Amendment | None = None
    notices: tuple[str, ...] = ()
    #: For a project: per key, the local days (first, last inclusive) charged to it.
    charged: dict[str, tuple[tuple[date, date], ...]] | None = None
    #: The rows behind the figures (read while the view is open).
    timeline: Timeline | None = field(default=None, repr=False, compare=False)

    @property
    def coverage(self) -> Coverage:
        return self.report.coverage

    def canonical_rows(self) -> Iterator[tuple[bytes, str]]:
        """The fingerprinted rows in canonical form, digest order (while the view is open)."""
        assert self.timeline is not None
        p = self.report.period
        return self.timeline.canonical_rows(p.start_ts, p.end_ts, self.token_names)
