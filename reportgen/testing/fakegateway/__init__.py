"""A local fake of the gateway's management API, and deterministic synthetic usage.

Ships in the package: the tests, the benchmarks and ``reportgen demo`` run against it.
It serves every registered flavour (:mod:`.profiles`).
"""

from .faults import FAULT_KINDS, Faults, RequestRecord
from .profiles import PROFILES, Profile, default_status, profile_for
from .server import FakeGateway
from .synthetic import SyntheticTeam, Totals, expected_totals, iter_rows, team_month

__all__ = [
    "FAULT_KINDS",
    "PROFILES",
    "FakeGateway",
    "Faults",
    "Profile",
    "RequestRecord",
    "SyntheticTeam",
    "Totals",
    "default_status",
    "expected_totals",
    "iter_rows",
    "profile_for",
    "team_month",
]
