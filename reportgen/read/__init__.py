"""The one read path: :func:`open_period` returns a period's figures, closed or live, for any scope.

Every command and document that shows figures goes through here.  A view reads the live
store inside one read transaction, so totals, detail rows, fingerprint and coverage
agree with each other even while a sync commits windows.  A period that is exactly one
closed period reads that period's frozen snapshot with the configuration it was closed
with; a longer period (a quarter, a year, a custom range, a project) reads each closed
period inside it from its snapshot and everything else live, and says which is which
(``Report.basis``).  Reading never writes.

:mod:`.view` holds what a view is (:class:`Scope`, :class:`PeriodView`); :mod:`.period`
the read path itself; :mod:`.timeline` the live rows and closed snapshots laid end to
end; :mod:`.report` a team or member report; :mod:`.projects` project and grant views;
:mod:`.notices` what a view tells the user and the checks that refuse one; :mod:`.closed`
the config a closed period is read with and what of it changed since;
:mod:`.rowcheck` re-checking rows for verify.
"""

from .period import open_period
from .projects import charged_to, find_project, project_period
from .rowcheck import RowCheck, check_rows, describe_changes
from .view import PeriodView, Scope

__all__ = [
    "PeriodView",
    "RowCheck",
    "Scope",
    "charged_to",
    "check_rows",
    "describe_changes",
    "find_project",
    "open_period",
    "project_period",
]
