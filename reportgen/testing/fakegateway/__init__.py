"""A local fake of the gateway's management API, and deterministic synthetic usage.

Ships in the package: the tests and ``reportgen demo`` both run against it.
"""

from .server import FAULT_KINDS, FLAVORS, FakeGateway, Faults, RequestRecord, default_status
from .synthetic import SyntheticTeam, Totals, expected_totals, iter_rows, team_month

__all__ = [
    "FAULT_KINDS",
    "FLAVORS",
    "FakeGateway",
    "Faults",
    "RequestRecord",
    "SyntheticTeam",
    "Totals",
    "default_status",
    "expected_totals",
    "iter_rows",
    "team_month",
]
